#!/usr/bin/python3
"""The character-level language model of examples/char_lm.cpp, in PyTorch, with the same settings.

  char_lm_torch.py [--model lstm|gru|transformer] [--quick] [--epochs N] [--max-chars N]
                   [--data PATH] [--seed S] [--threads T] [--learning-rate LR] [--batch-size B]
                   [--clipnorm C] [--init-from FILE.safetensors] [--order-from FILE.npy]

Same as the Ember example (see its header and README "Character-level language model"):
  text     data::read_text's rules: every regular file under the folder in sorted path order,
           names ending .dat/.u8 skipped, files holding a NUL byte skipped, lines that are only
           "%" dropped, a newline added between files when one does not end with one; the first
           --max-chars bytes; vocabulary = the distinct bytes, sorted.
  split    the first floor(0.9 n) ids train, the rest validate; windows of seq_len inputs with the
           next characters as targets, non-overlapping (stride = seq_len) in both parts.
  model    lstm/gru: Embedding(V, 64) -> LSTM/GRU(units) -> Linear(V); transformer: Embedding(V, d)
           + learned positions [seq_len, d] -> 2 pre-norm blocks (causal self-attention with 4
           heads, key_dim d/4; feed-forward 4d ReLU; LayerNorm eps 1e-5) -> LayerNorm -> Linear(V).
  init     Keras's (as Ember): Embedding U(-0.05, 0.05); kernels glorot_uniform with Keras's fans
           (for the attention kernels [d, H, k]: fan_in = H d, fan_out = k d); recurrent kernels
           orthogonal; biases 0, the LSTM forget gate's 1 (in bias_ih; bias_hh 0); positions
           N(0, 0.05^2).
  biases   Keras's LSTM has ONE bias vector, torch's two (bias_ih + bias_hh = the Keras bias); under
           Adam two vectors trained on one gradient move their sum twice as fast (and count twice in
           the clipping norm) — a different recipe. So the LSTM's bias_hh is frozen at 0: the same
           trainable parameters as Keras. The GRU keeps both (Keras's reset_after GRU has two).
           --two-biases trains both, as a plain nn.LSTM would.
  training Adam(lr 1e-2; transformer 2e-3, which trained better than 1e-2 in a --quick run;
           betas (0.9, 0.999), eps 1e-7), the gradient clipped to global norm 5 (Keras's
           global_clipnorm; torch's clip_grad_norm_), batch 64, shuffled each epoch, the loss
           averaged over all steps (cross-entropy of the logits); validation loss = the mean over
           every validation character; bits per character = nats / ln 2.
Default: 1,000,000 characters, seq_len 100, LSTM(256) / d = 128, 3 epochs; --quick: 200,000
characters, seq_len 50, LSTM(128) / d = 64, 2 epochs. --learning-rate, --batch-size, --clipnorm
change those three in both programs. Threads: --threads (default 1: on this 2-core machine, shared
with other work, 2 threads were many times slower than 1; try both on a quiet machine).
Prints one line per epoch: "epoch E/N: train_bpc=... val_bpc=... (S s)".
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

FORTUNES = "/usr/share/games/fortunes"


def read_text(path):
    if os.path.isdir(path):
        files = []
        for root, _dirs, names in os.walk(path, followlinks=False):
            for name in names:
                full = os.path.join(root, name)
                if os.path.isfile(full) and not name.endswith((".dat", ".u8")):
                    files.append(full)
        files.sort(key=lambda p: p.encode())
    else:
        files = [path]
    text = bytearray()
    for f in files:
        with open(f, "rb") as fh:
            data = fh.read()
        if b"\0" in data:
            continue
        kept = [line for line in data.splitlines(keepends=True) if line.rstrip(b"\n").rstrip(b"\r") != b"%"]
        data = b"".join(kept)
        if text and data and text[-1:] != b"\n":
            text += b"\n"
        text += data
    return bytes(text)


def windows(ids, length, stride):
    count = (len(ids) - length - 1) // stride + 1
    starts = np.arange(count) * stride
    idx = starts[:, None] + np.arange(length)[None, :]
    return torch.from_numpy(ids[idx]), torch.from_numpy(ids[idx + 1])


def glorot_keras_(t, shape):
    """U(-l, l), l = sqrt(6 / (fan_in + fan_out)) with Keras's fans of the Keras-layout `shape`."""
    if len(shape) == 2:
        fan_in, fan_out = shape
    else:
        rf = math.prod(shape[:-2])
        fan_in, fan_out = shape[-2] * rf, shape[-1] * rf
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        t.uniform_(-limit, limit)


def init_recurrent(rnn, kind, units, input_size):
    gates = 4 if kind == "lstm" else 3
    glorot_keras_(rnn.weight_ih_l0, (input_size, gates * units))
    # Keras: orthogonal [units, gates*units]; torch holds its transpose.
    w = torch.empty(units, gates * units)
    nn.init.orthogonal_(w)
    with torch.no_grad():
        rnn.weight_hh_l0.copy_(w.t())
        rnn.bias_ih_l0.zero_()
        rnn.bias_hh_l0.zero_()
        if kind == "lstm":
            rnn.bias_ih_l0[units:2 * units] = 1.0  # unit_forget_bias


class RecurrentLM(nn.Module):
    def __init__(self, kind, vocab, emb, units, two_biases=False):
        super().__init__()
        self.embedding = nn.Embedding(vocab, emb)
        nn.init.uniform_(self.embedding.weight, -0.05, 0.05)
        cls = nn.LSTM if kind == "lstm" else nn.GRU
        self.rnn = cls(emb, units, batch_first=True)
        init_recurrent(self.rnn, kind, units, emb)
        if kind == "lstm" and not two_biases:
            self.rnn.bias_hh_l0.requires_grad_(False)  # Keras's single bias: bias_ih alone
        self.logits = nn.Linear(units, vocab)
        glorot_keras_(self.logits.weight, (vocab, units))  # symmetric in the fans
        nn.init.zeros_(self.logits.bias)

    def forward(self, x):
        h, _ = self.rnn(self.embedding(x))
        return self.logits(h)


class Block(nn.Module):
    def __init__(self, d, heads, ff):
        super().__init__()
        self.heads, self.k = heads, d // heads
        self.norm1 = nn.LayerNorm(d, eps=1e-5)
        self.q, self.kk, self.v = (nn.Linear(d, d) for _ in range(3))
        self.o = nn.Linear(d, d)
        for lin in (self.q, self.kk, self.v):
            glorot_keras_(lin.weight, (d, heads, self.k))
            nn.init.zeros_(lin.bias)
        glorot_keras_(self.o.weight, (heads, self.k, d))
        nn.init.zeros_(self.o.bias)
        self.norm2 = nn.LayerNorm(d, eps=1e-5)
        self.ff1, self.ff2 = nn.Linear(d, ff), nn.Linear(ff, d)
        glorot_keras_(self.ff1.weight, (d, ff))
        glorot_keras_(self.ff2.weight, (ff, d))
        nn.init.zeros_(self.ff1.bias)
        nn.init.zeros_(self.ff2.bias)

    def forward(self, x):
        b, t, d = x.shape
        n = self.norm1(x)
        split = lambda y: y.view(b, t, self.heads, self.k).transpose(1, 2)
        q, k, v = split(self.q(n)), split(self.kk(n)), split(self.v(n))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.k)
        causal = torch.ones(t, t, dtype=torch.bool).tril()  # position i attends to j <= i
        att = torch.softmax(scores.masked_fill(~causal, float("-inf")), dim=-1) @ v
        x = x + self.o(att.transpose(1, 2).reshape(b, t, d))
        return x + self.ff2(F.relu(self.ff1(self.norm2(x))))


class TransformerLM(nn.Module):
    def __init__(self, vocab, seq_len, d, layers, heads, ff):
        super().__init__()
        self.embedding = nn.Embedding(vocab, d)
        nn.init.uniform_(self.embedding.weight, -0.05, 0.05)
        self.positions = nn.Parameter(torch.randn(seq_len, d) * 0.05)
        self.blocks = nn.ModuleList(Block(d, heads, ff) for _ in range(layers))
        self.norm = nn.LayerNorm(d, eps=1e-5)
        self.logits = nn.Linear(d, vocab)
        glorot_keras_(self.logits.weight, (vocab, d))
        nn.init.zeros_(self.logits.bias)

    def forward(self, x):
        h = self.embedding(x) + self.positions[: x.shape[1]]
        for block in self.blocks:
            h = block(h)
        return self.logits(self.norm(h))


def read_safetensors(path):
    """name -> float32 array of a safetensors file (the format is an 8-byte little-endian header
    length, a JSON header of dtype/shape/offsets, then the raw data)."""
    with open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        if e["dtype"] != "F32":
            raise SystemExit(f"{path}: {name} is {e['dtype']}, expected F32")
        a, b = e["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=np.float32).reshape(e["shape"]).copy()
    return out


def load_ember_init(model, kind, path):
    """Copies Ember's initial weights (Keras names and layouts, example_char_lm --save-init) into the
    PyTorch model, so both start from the very same point."""
    w = {k: torch.from_numpy(v) for k, v in read_safetensors(path).items()}
    used = set()

    def take(name):
        used.add(name)
        return w[name]

    with torch.no_grad():
        model.embedding.weight.copy_(take("embedding/embeddings"))
        model.logits.weight.copy_(take("logits/kernel").t())
        model.logits.bias.copy_(take("logits/bias"))
        if kind in ("lstm", "gru"):
            r = model.rnn
            kernel, recurrent, bias = take(f"{kind}_1/kernel"), take(f"{kind}_1/recurrent_kernel"), take(f"{kind}_1/bias")
            u = recurrent.shape[0]
            if kind == "gru":  # Keras gate order z, r, h; torch r, z, n
                swap = lambda t: torch.cat([t[..., u:2 * u], t[..., :u], t[..., 2 * u:]], dim=-1)
                kernel, recurrent, bias = swap(kernel), swap(recurrent), swap(bias)
                r.bias_ih_l0.copy_(bias[0])
                r.bias_hh_l0.copy_(bias[1])
            else:
                r.bias_ih_l0.copy_(bias)
                r.bias_hh_l0.zero_()
            r.weight_ih_l0.copy_(kernel.t())
            r.weight_hh_l0.copy_(recurrent.t())
        else:
            model.positions.copy_(take("position_embedding/embeddings"))
            for i, blk in enumerate(model.blocks, start=1):
                p = f"block{i}_"
                for lin, sub in ((blk.q, "query"), (blk.kk, "key"), (blk.v, "value")):
                    k = take(f"{p}attention/{sub}/kernel")  # [d, H, k]
                    lin.weight.copy_(k.reshape(k.shape[0], -1).t())
                    lin.bias.copy_(take(f"{p}attention/{sub}/bias").reshape(-1))
                o = take(f"{p}attention/attention_output/kernel")  # [H, k, d]
                blk.o.weight.copy_(o.reshape(-1, o.shape[-1]).t())
                blk.o.bias.copy_(take(f"{p}attention/attention_output/bias"))
                for norm, name in ((blk.norm1, "norm1"), (blk.norm2, "norm2")):
                    norm.weight.copy_(take(f"{p}{name}/gamma"))
                    norm.bias.copy_(take(f"{p}{name}/beta"))
                for lin, name in ((blk.ff1, "ff1"), (blk.ff2, "ff2")):
                    lin.weight.copy_(take(f"{p}{name}/kernel").t())
                    lin.bias.copy_(take(f"{p}{name}/bias"))
            model.norm.weight.copy_(take("final_norm/gamma"))
            model.norm.bias.copy_(take("final_norm/beta"))
    left = set(w) - used
    if left:
        raise SystemExit(f"{path}: weights not used: {sorted(left)}")


def mean_loss(model, x, y, batch):
    model.eval()
    total = 0.0
    with torch.no_grad():
        for s in range(0, len(x), batch):
            out = model(x[s:s + batch])
            total += F.cross_entropy(out.reshape(-1, out.shape[-1]), y[s:s + batch].reshape(-1), reduction="sum").item()
    model.train()
    return total / y.numel()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=["lstm", "gru", "transformer"], default="lstm")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--max-chars", type=int)
    ap.add_argument("--data", default=FORTUNES)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--learning-rate", type=float, help="default 1e-2 (lstm, gru), 2e-3 (transformer)")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--init-from", help="start from Ember's initial weights (example_char_lm --save-init FILE)")
    ap.add_argument("--clipnorm", type=float, default=5.0, help="global gradient-norm clip (0: none)")
    ap.add_argument("--order-from", help="each epoch's batch order from Ember's run (example_char_lm --save-order FILE)")
    ap.add_argument("--two-biases", action="store_true",
                    help="train the LSTM's bias_hh as well (not Keras's model: see the docstring)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    max_chars = a.max_chars or (200000 if a.quick else 1000000)
    epochs = a.epochs or (2 if a.quick else 3)
    seq_len = 50 if a.quick else 100

    text = read_text(a.data)
    total = len(text)
    text = text[:max_chars]
    chars = sorted(set(text))
    lookup = np.zeros(256, dtype=np.int64)
    lookup[chars] = np.arange(len(chars))
    ids = lookup[np.frombuffer(text, dtype=np.uint8)]
    split = int(math.floor(len(ids) * 0.9))
    train_x, train_y = windows(ids[:split], seq_len, seq_len)
    val_x, val_y = windows(ids[split:], seq_len, seq_len)
    vocab = len(chars)
    print(f"text: {total} characters from {a.data}, the first {len(text)} used (last 10% validate); vocabulary {vocab}")
    print(f"windows of {seq_len}: {len(train_x)} training, {len(val_x)} validation")

    if a.model == "transformer":
        d = 64 if a.quick else 128
        model = TransformerLM(vocab, seq_len, d, 2, 4, 4 * d)
    else:
        model = RecurrentLM(a.model, vocab, 64, 128 if a.quick else 256, a.two_biases)
    if a.init_from:
        load_ember_init(model, a.model, a.init_from)
        print(f"initial weights from {a.init_from}")
    trainable = [p for p in model.parameters() if p.requires_grad]
    print(f"parameters: {sum(p.numel() for p in trainable)} trainable")
    lr = a.learning_rate or (2e-3 if a.model == "transformer" else 1e-2)
    opt = torch.optim.Adam(trainable, lr=lr, betas=(0.9, 0.999), eps=1e-7)
    batch = a.batch_size
    orders = None
    if a.order_from:
        orders = np.load(a.order_from)
        if orders.shape != (epochs, len(train_x)) or not all(
                np.array_equal(np.sort(o), np.arange(len(train_x))) for o in orders):
            raise SystemExit(f"{a.order_from}: expected {epochs} permutations of {len(train_x)} windows, "
                             f"got an array of shape {orders.shape}")
        print(f"batch orders from {a.order_from}")
    for epoch in range(1, epochs + 1):
        start = time.time()
        order = torch.from_numpy(orders[epoch - 1]) if orders is not None else torch.randperm(len(train_x))
        total_loss, steps = 0.0, 0
        for s in range(0, len(order), batch):
            idx = order[s:s + batch]
            out = model(train_x[idx])
            loss = F.cross_entropy(out.reshape(-1, vocab), train_y[idx].reshape(-1))
            opt.zero_grad()
            loss.backward()
            if a.clipnorm > 0:
                torch.nn.utils.clip_grad_norm_(trainable, a.clipnorm)
            opt.step()
            total_loss += loss.item() * len(idx)
            steps += len(idx)
        val = mean_loss(model, val_x, val_y, 256)
        print(f"epoch {epoch}/{epochs}: train_bpc={total_loss / steps / math.log(2):.4f} "
              f"val_bpc={val / math.log(2):.4f} ({time.time() - start:.1f} s)", flush=True)
    print(f"final val_bpc={val / math.log(2):.4f}")


if __name__ == "__main__":
    main()
