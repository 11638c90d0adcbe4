#!/usr/bin/python3
"""PyTorch peer of `ember train` and of bench/predict_bench.cpp, run by bench/train_bench.sh.

Run with Debian's interpreter (/usr/bin/python3, python3-torch).

  torch_train.py train   --model mlp|cnn --epochs N --threads T [--layout nchw|channels_last]
  torch_train.py layout  --model cnn --threads T          # the faster layout for training, by a short probe
  torch_train.py predict --threads T [--json FILE]         # batch-128 throughput, batch-1 latency

`train` does the work `ember train --model M --data fashion-mnist --epochs N` does (defaults):
Fashion-MNIST from the Debian IDX files scaled to [0, 1] (uint8 / 255), all 60000 training images
(no validation split), reshuffled each epoch, batch 128 (the last batch 96), sparse softmax
cross-entropy from logits (mean), Adam (lr 1e-3, betas 0.9 / 0.999, eps 1e-7) with the
learning rate set before each step to Keras's CosineDecay(1e-3, decay_steps = steps * epochs),
Glorot-uniform kernels and zero biases, the running loss and accuracy of the epoch, one pass over
the 10000 test images at batch 128 after each epoch (Ember validates on the test split by
default), and at the end an evaluation of the test split at batch 256. One line per epoch is
printed and flushed ("epoch k/N ..."): the driver timestamps these lines to time the training
loop. The last line is "test_loss=... test_accuracy=...", as ember prints it.

Differences that do not change the work: PyTorch's Adam puts epsilon outside the bias-corrected
root (Keras/Ember: eps * sqrt(1 - beta_2^t) in PyTorch terms); Flatten orders NCHW features
(c, h, w) where Ember's NHWC is (h, w, c), which is a permutation of Dense weights.
"""
import argparse
import gzip
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA_DIR = os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")


def read_idx(path):
    if not os.path.exists(path):
        sys.exit(f"torch_train.py: {path} not found (install Debian's dataset-fashion-mnist or set FASHION_MNIST_DIR)")
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_split(kind):
    x = read_idx(os.path.join(DATA_DIR, f"{kind}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(DATA_DIR, f"{kind}-labels-idx1-ubyte.gz"))
    # [N, 1, 28, 28] float32 in [0, 1]: Ember's images_to_float (NHWC with C = 1 is the same memory)
    return torch.from_numpy(x.astype(np.float32) / 255.0).unsqueeze(1), torch.from_numpy(y.astype(np.int64))


def build(name):
    if name == "mlp":
        m = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                          nn.Linear(128, 10))
    elif name == "cnn":
        # SAME padding for a 5x5 kernel at stride 1 is 2 on every side.
        m = nn.Sequential(nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(7 * 7 * 64, 1024), nn.ReLU(), nn.Dropout(0.4), nn.Linear(1024, 10))
    else:
        sys.exit(f"torch_train.py: unknown model {name!r} (mlp, cnn)")
    for mod in m.modules():  # Keras's initializers
        if isinstance(mod, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(mod.weight)
            nn.init.zeros_(mod.bias)
    return m


def memory_format(layout):
    return torch.channels_last if layout == "channels_last" else torch.contiguous_format


def cosine(step, decay_steps, lr=1e-3):
    return lr * 0.5 * (1.0 + math.cos(math.pi * min(step, decay_steps) / decay_steps))


def evaluate(model, x, y, batch):
    model.eval()
    total, correct = 0.0, 0
    with torch.no_grad():
        for s in range(0, x.shape[0], batch):
            out = model(x[s:s + batch])
            yb = y[s:s + batch]
            total += F.cross_entropy(out, yb, reduction="sum").item()
            correct += (out.argmax(1) == yb).sum().item()
    return total / x.shape[0], correct / x.shape[0]


def train(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(42)
    mf = memory_format(args.layout)
    x, y = load_split("train")
    xt, yt = load_split("t10k")
    x, xt = x.contiguous(memory_format=mf), xt.contiguous(memory_format=mf)
    model = build(args.model).to(memory_format=mf)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    n, batch = x.shape[0], 128
    steps = (n + batch - 1) // batch
    decay_steps, it = steps * args.epochs, 0
    print(f"pytorch {torch.__version__} model={args.model} threads={args.threads} layout={args.layout}", flush=True)
    for epoch in range(args.epochs):
        model.train()
        t0 = time.perf_counter()
        order = torch.randperm(n)
        loss_sum, correct = 0.0, 0
        for s in range(steps):
            idx = order[s * batch:(s + 1) * batch]
            xb, yb = x[idx], y[idx]
            out = model(xb)
            loss = F.cross_entropy(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            for g in opt.param_groups:
                g["lr"] = cosine(it, decay_steps)
            opt.step()
            it += 1
            loss_sum += loss.item() * yb.shape[0]
            correct += (out.argmax(1) == yb).sum().item()
        t_train = time.perf_counter() - t0
        val_loss, val_acc = evaluate(model, xt, yt, batch)
        print(f"epoch {epoch + 1}/{args.epochs} loss={loss_sum / n:.4f} accuracy={correct / n:.4f} "
              f"val_loss={val_loss:.4f} val_accuracy={val_acc:.4f} train_s={t_train:.3f} "
              f"epoch_s={time.perf_counter() - t0:.3f}", flush=True)
    loss, acc = evaluate(model, xt, yt, 256)
    print(f"test_loss={loss:.6f} test_accuracy={acc:.6f}", flush=True)


def layout(args):
    """Times PROBE_STEPS training steps (after 3 warm-up steps) in each layout; prints the faster."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    best = None
    for lay in ("nchw", "channels_last"):
        mf = memory_format(lay)
        model = build(args.model).to(memory_format=mf)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
        xb = torch.rand(128, 1, 28, 28).contiguous(memory_format=mf)
        yb = torch.randint(0, 10, (128,))
        times = []
        for i in range(3 + args.steps):
            t0 = time.perf_counter()
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss.item()
            if i >= 3:
                times.append(time.perf_counter() - t0)
        t = statistics.median(times)
        print(f"{lay} {t * 1e3:.2f} ms/step", file=sys.stderr)
        if best is None or t < best[1]:
            best = (lay, t)
    print(best[0])


def time_calls(fn, min_s, min_calls):
    """Median seconds per call over at least min_calls calls and min_s seconds (after 5 warm-up calls)."""
    for _ in range(5):
        fn()
    times, start = [], time.perf_counter()
    while len(times) < min_calls or time.perf_counter() - start < min_s:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), len(times)


def predict(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    results = {}
    for name in ("mlp", "cnn"):
        layouts = ("nchw", "channels_last") if name == "cnn" else ("nchw",)
        for lay in layouts:
            mf = memory_format(lay)
            model = build(name).to(memory_format=mf).eval()
            for batch, min_calls in ((128, 20), (1, 200)):
                x = torch.rand(batch, 1, 28, 28).contiguous(memory_format=mf)
                with torch.inference_mode():
                    t, calls = time_calls(lambda: model(x), args.min_seconds, min_calls)
                key = f"{name}/batch{batch}"
                r = {"s_per_call": t, "calls": calls, "layout": lay, "samples_per_s": batch / t}
                print(f"{key} {lay}: {t * 1e3:.3f} ms/call, {batch / t:.0f} samples/s ({calls} calls)", file=sys.stderr)
                if key not in results or t < results[key]["s_per_call"]:
                    results[key] = r
    out = {"peer": "pytorch", "version": torch.__version__, "threads": args.threads, "results": results}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    else:
        print(json.dumps(out, indent=1))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--model", required=True, choices=["mlp", "cnn"])
    t.add_argument("--epochs", type=int, default=3)
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--layout", default="nchw", choices=["nchw", "channels_last"])
    lo = sub.add_parser("layout")
    lo.add_argument("--model", default="cnn", choices=["mlp", "cnn"])
    lo.add_argument("--threads", type=int, default=1)
    lo.add_argument("--steps", type=int, default=15)
    pr = sub.add_parser("predict")
    pr.add_argument("--threads", type=int, default=1)
    pr.add_argument("--min-seconds", type=float, default=1.0)
    pr.add_argument("--json")
    args = p.parse_args()
    {"train": train, "layout": layout, "predict": predict}[args.cmd](args)


if __name__ == "__main__":
    main()
