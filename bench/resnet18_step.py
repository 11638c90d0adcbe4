"""PyTorch peer of bench/resnet18_step.cpp: one CIFAR-style ResNet-18 training step at batch 128.

    /usr/bin/python3 bench/resnet18_step.py [--steps N] [--warmup W] [--threads T] [--batch B]
                                            [--layout nchw|channels_last]

torchvision.models.resnet18(num_classes=10) with the CIFAR stem (conv1 replaced by a 3x3 stride-1
padding-1 convolution without bias, maxpool by Identity): 11,173,962 parameters, asserted. SGD (lr
0.1, momentum 0.9), CrossEntropyLoss on the logits, train mode. One fixed random batch in [0, 1)
with labels in 0..9; W untimed steps, then N timed ones, each: zero_grad (set to none), forward,
loss, backward, optimizer step, loss.item() (as Ember's train_on_batch returns the loss). Prints one
JSON line like bench/resnet18_step.cpp: impl, version, threads, batch, steps, step_ms (median),
p10_ms, p90_ms (linear between ranks), samples_per_s, params, layout.
"""
import argparse
import json
import sys

import torch
import torchvision

from torch_step_common import percentile, positive, time_training_steps

PARAMS = 11_173_962


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=positive(1), default=20)
    ap.add_argument("--warmup", type=positive(0), default=3)
    ap.add_argument("--threads", type=positive(1), default=1)
    ap.add_argument("--batch", type=positive(1), default=128)
    ap.add_argument("--layout", choices=("nchw", "channels_last"), default="nchw")
    a = ap.parse_args()  # bad arguments: usage on stderr, exit status 2

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    fmt = torch.channels_last if a.layout == "channels_last" else torch.contiguous_format
    model = torchvision.models.resnet18(num_classes=10)
    model.conv1 = torch.nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    model.maxpool = torch.nn.Identity()
    params = sum(p.numel() for p in model.parameters())
    assert params == PARAMS, f"CIFAR ResNet-18 should have {PARAMS} parameters, has {params}"
    model = model.to(memory_format=fmt).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.rand(a.batch, 3, 32, 32).contiguous(memory_format=fmt)
    y = torch.randint(0, 10, (a.batch,), dtype=torch.int64)

    times, loss = time_training_steps(model, opt, loss_fn, x, y, a.warmup, a.steps)
    median = percentile(times, 0.5)
    print(f"pytorch resnet18 step: last loss {loss:.4f}", file=sys.stderr)
    print(json.dumps({
        "impl": "pytorch", "version": torch.__version__, "threads": torch.get_num_threads(), "batch": a.batch,
        "steps": a.steps, "step_ms": round(median * 1e3, 4), "p10_ms": round(percentile(times, 0.1) * 1e3, 4),
        "p90_ms": round(percentile(times, 0.9) * 1e3, 4), "samples_per_s": round(a.batch / median, 2),
        "params": params, "layout": a.layout,
    }), flush=True)


if __name__ == "__main__":
    main()
