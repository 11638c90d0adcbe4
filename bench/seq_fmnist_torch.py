"""PyTorch peer of examples/sequential_fashion_mnist.cpp: the 5-epoch accuracy comparison (issue 15).

    /usr/bin/python3 bench/seq_fmnist_torch.py [--epochs E] [--limit N] [--threads T] [--seed S]
                                               [--cell lstm|gru|rnn] [--data DIR]

Each 28x28 Fashion-MNIST image is a sequence of 28 rows of 28 pixels (/255), read by a recurrent
layer of 128 units (nn.LSTM by default), whose last output feeds Linear(128, 10) logits. The recipe
and the initialisation where it matters follow Keras's, as Ember's example uses them: kernels
glorot_uniform (per gate block, as Keras draws one [input, 4*units] matrix: the same bound), the
recurrent kernels orthogonal, biases zero with unit_forget_bias (the LSTM's forget-gate bias 1;
torch's second bias vector stays 0), Dense glorot_uniform / zero bias;
the same parameters as Keras: Keras's LSTM and SimpleRNN have ONE bias vector where torch has two
(bias_ih + bias_hh, whose sum is the Keras bias), and under Adam two vectors trained on the same
gradient move the sum twice as fast — a different recipe. So torch's bias_hh is frozen at 0 for lstm
and rnn (the GRU keeps both: Keras's reset_after GRU has an input and a recurrent bias too);
`--two-biases` trains both, as a plain nn.LSTM would; Adam (lr 1e-3, eps 1e-7),
batch 128, shuffled each epoch, E epochs (default 5) on the first N training images (default all
60,000). Prints per-epoch loss and accuracy, then `test_loss=... test_accuracy=...` (the example's
last line) and the training wall time.
"""
import argparse
import gzip
import os
import struct
import sys
import time

import numpy as np
import torch

from torch_step_common import positive

DATA_DIRS = [os.environ.get("EMBER_DATA", ""), "/usr/share/datasets/fashion-mnist"]


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    _, _, dtype, ndim = struct.unpack(">BBBB", data[:4])
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(data_dir, stem):
    dirs = [data_dir] if data_dir else [d for d in DATA_DIRS if d]
    for d in dirs:
        for name in (stem, stem + ".gz"):
            p = os.path.join(d, name)
            if os.path.exists(p):
                return p
    sys.exit(f"seq_fmnist_torch.py: {stem}(.gz) not found in {', '.join(dirs)} (install dataset-fashion-mnist or pass --data DIR)")


class Model(torch.nn.Module):
    def __init__(self, cell, units=128, two_biases=False):
        super().__init__()
        kind = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell]
        self.rnn = kind(28, units, batch_first=True)
        self.out = torch.nn.Linear(units, 10)
        gates = {"lstm": 4, "gru": 3, "rnn": 1}[cell]
        with torch.no_grad():
            # Keras: one glorot_uniform [28, gates*units] kernel, so the bound uses fan_out = gates*units.
            bound = (6.0 / (28 + gates * units)) ** 0.5
            self.rnn.weight_ih_l0.uniform_(-bound, bound)
            # Keras's orthogonal initializer draws the whole recurrent kernel [units, gates*units]
            # (orthogonal rows); torch's weight_hh_l0 is its transpose.
            w = torch.empty(units, gates * units)
            torch.nn.init.orthogonal_(w)
            self.rnn.weight_hh_l0.copy_(w.T)
            self.rnn.bias_ih_l0.zero_()
            self.rnn.bias_hh_l0.zero_()
            if cell == "lstm":
                self.rnn.bias_ih_l0[units:2 * units] = 1.0  # unit_forget_bias
            if cell != "gru" and not two_biases:
                self.rnn.bias_hh_l0.requires_grad_(False)  # Keras's single bias: bias_ih alone
            torch.nn.init.xavier_uniform_(self.out.weight)
            self.out.bias.zero_()

    def forward(self, x):
        seq, _ = self.rnn(x)
        return self.out(seq[:, -1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=positive(1), default=5)
    ap.add_argument("--limit", type=positive(1), default=60000, help="training images used (the first N)")
    ap.add_argument("--threads", type=positive(1), default=1)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--cell", choices=("lstm", "gru", "rnn"), default="lstm")
    ap.add_argument("--data", default="", help="folder with the Fashion-MNIST IDX files")
    ap.add_argument("--two-biases", action="store_true",
                    help="train torch's bias_hh as well (not Keras's model: see the docstring)")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    x = torch.from_numpy(read_idx(find(a.data, "train-images-idx3-ubyte")).astype(np.float32) / 255)[:a.limit]
    y = torch.from_numpy(read_idx(find(a.data, "train-labels-idx1-ubyte")).astype(np.int64))[:a.limit]
    xt = torch.from_numpy(read_idx(find(a.data, "t10k-images-idx3-ubyte")).astype(np.float32) / 255)
    yt = torch.from_numpy(read_idx(find(a.data, "t10k-labels-idx1-ubyte")).astype(np.int64))

    model = Model(a.cell, two_biases=a.two_biases)
    trainable = [p for p in model.parameters() if p.requires_grad]
    print(f"trainable parameters: {sum(p.numel() for p in trainable)}", flush=True)
    opt = torch.optim.Adam(trainable, lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()
    start = time.perf_counter()
    for epoch in range(a.epochs):
        model.train()
        perm = torch.randperm(len(x))
        total, correct, seen = 0.0, 0, 0
        for i in range(0, len(x), 128):
            idx = perm[i:i + 128]
            opt.zero_grad(set_to_none=True)
            logits = model(x[idx])
            loss = loss_fn(logits, y[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            correct += (logits.argmax(1) == y[idx]).sum().item()
            seen += len(idx)
        print(f"epoch {epoch + 1}/{a.epochs}: loss={total / seen:.4f} accuracy={correct / seen:.4f} "
              f"({time.perf_counter() - start:.1f} s)", flush=True)
    train_s = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        total, correct = 0.0, 0
        for i in range(0, len(xt), 1024):
            logits = model(xt[i:i + 1024])
            total += loss_fn(logits, yt[i:i + 1024]).item() * len(logits)
            correct += (logits.argmax(1) == yt[i:i + 1024]).sum().item()
    print(f"test_loss={total / len(xt):.4f} test_accuracy={correct / len(xt):.4f}")
    print(f"train_wall_s={train_s:.1f} epochs={a.epochs} images={len(x)} threads={torch.get_num_threads()}")


if __name__ == "__main__":
    main()
