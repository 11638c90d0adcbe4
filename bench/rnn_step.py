"""PyTorch peer of bench/rnn_step.cpp: one training step of the sequential Fashion-MNIST model.

    /usr/bin/python3 bench/rnn_step.py [--cell lstm|gru|rnn] [--steps N] [--warmup W] [--threads T]
                                       [--batch B] [--units U]

nn.LSTM / nn.GRU / nn.RNN (tanh), batch_first, one layer of U units over [B, 28, 28], the last
step's output into nn.Linear(U, 10). Adam (lr 1e-3, eps 1e-7 as Keras), CrossEntropyLoss on the
logits. One fixed random batch in [0, 1) with labels in 0..9; W untimed steps, then N timed ones,
each: zero_grad (set to none), forward, loss, backward, optimizer step, loss.item() (as Ember's
train_on_batch returns the loss). Prints one JSON line like bench/rnn_step.cpp. PyTorch keeps two
biases per gate (bias_ih, bias_hh), so its parameter count is larger than Keras's by 4·U (LSTM),
or U (RNN); the GRU counts match Keras's reset_after GRU.
"""
import argparse
import json
import sys

import torch

from torch_step_common import percentile, positive, time_training_steps


class Model(torch.nn.Module):
    def __init__(self, cell, units):
        super().__init__()
        kind = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell]
        self.rnn = kind(28, units, batch_first=True)
        self.out = torch.nn.Linear(units, 10)

    def forward(self, x):
        seq, _ = self.rnn(x)
        return self.out(seq[:, -1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cell", choices=("lstm", "gru", "rnn"), default="lstm")
    ap.add_argument("--steps", type=positive(1), default=20)
    ap.add_argument("--warmup", type=positive(0), default=3)
    ap.add_argument("--threads", type=positive(1), default=1)
    ap.add_argument("--batch", type=positive(1), default=128)
    ap.add_argument("--units", type=positive(1), default=128)
    a = ap.parse_args()  # bad arguments: usage on stderr, exit status 2

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = Model(a.cell, a.units).train()
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.rand(a.batch, 28, 28)
    y = torch.randint(0, 10, (a.batch,), dtype=torch.int64)

    times, loss = time_training_steps(model, opt, loss_fn, x, y, a.warmup, a.steps)
    median = percentile(times, 0.5)
    print(f"pytorch {a.cell} step: last loss {loss:.4f}", file=sys.stderr)
    print(json.dumps({
        "impl": "pytorch", "version": torch.__version__, "cell": a.cell, "threads": torch.get_num_threads(),
        "batch": a.batch, "units": a.units, "steps": a.steps, "step_ms": round(median * 1e3, 4),
        "p10_ms": round(percentile(times, 0.1) * 1e3, 4), "p90_ms": round(percentile(times, 0.9) * 1e3, 4),
        "samples_per_s": round(a.batch / median, 2), "params": params,
    }), flush=True)


if __name__ == "__main__":
    main()
