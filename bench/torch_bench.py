#!/usr/bin/python3
"""PyTorch side of bench/run_all.sh: the shapes of bench/ops_bench.cpp, timed from Python.

Run with Debian's interpreter (/usr/bin/python3, python3-torch). For each benchmark and thread
count (torch.set_num_threads(1) and (2)): one warm-up block, then REPEATS timed blocks of enough
iterations to last >= MIN_BLOCK_S each; the reported time per call is the median over the blocks
(time.perf_counter). Prints a table; --json FILE also writes the numbers for run_all.sh.

Convolutions use PyTorch's own layout, NCHW with OIHW filters, and are also timed with
channels_last tensors; the faster of the two is reported (and named). SAME padding with a 5x5
kernel at stride 1 is symmetric (2 each side), so padding=2 matches TensorFlow's SAME exactly.
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F

REPEATS = 5
MIN_BLOCK_S = 0.25

GEMM = 1024
ELEMS = 1 << 20
# (batch, height, width, in_channels, kernel, out_channels), as in ops_bench.cpp
CONV = {"conv1": (128, 28, 28, 1, 5, 32), "conv2": (128, 14, 14, 32, 5, 64)}


def median_time(fn):
    """Median seconds per call of fn() over REPEATS blocks, after a warm-up block."""
    fn()
    n, t0 = 0, time.perf_counter()
    while True:  # warm-up that also sizes the blocks
        fn()
        n += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= MIN_BLOCK_S / 2:
            break
    iters = max(1, int(n * MIN_BLOCK_S / elapsed))
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        times.append((time.perf_counter() - t0) / iters)
    return statistics.median(times)


def conv_flops(shape):
    n, h, w, cin, k, cout = shape
    return 2.0 * n * h * w * cout * k * k * cin


def conv_tensors(shape, channels_last, requires_grad):
    n, h, w, cin, k, cout = shape
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, cin, h, w, generator=g)
    wt = torch.randn(cout, cin, k, k, generator=g)
    dy = torch.randn(n, cout, h, w, generator=g)
    if channels_last:
        x, wt, dy = (t.contiguous(memory_format=torch.channels_last) for t in (x, wt, dy))
    x.requires_grad_(requires_grad)
    wt.requires_grad_(requires_grad)
    return x, wt, dy


def bench_conv(shape, backward):
    """Best of NCHW and channels_last: (seconds, layout name)."""
    pad = shape[4] // 2
    best = None
    for channels_last in (False, True):
        x, wt, dy = conv_tensors(shape, channels_last, backward)
        if backward:
            def step():
                y = F.conv2d(x, wt, padding=pad)
                y.backward(dy)
                x.grad = None  # as an optimizer's zero_grad(set_to_none=True): no accumulation timed
                wt.grad = None
        else:
            def step():
                with torch.no_grad():
                    F.conv2d(x, wt, padding=pad)
        t = median_time(step)
        layout = "channels_last" if channels_last else "NCHW"
        if best is None or t < best[0]:
            best = (t, layout)
    return best


def run(threads):
    torch.set_num_threads(threads)
    res = {}
    g = torch.Generator().manual_seed(0)

    a, b = torch.randn(GEMM, GEMM, generator=g), torch.randn(GEMM, GEMM, generator=g)
    t = median_time(lambda: torch.mm(a, b))
    res["sgemm_1024"] = {"time_s": t, "gflops": 2.0 * GEMM**3 / t * 1e-9}

    for name, shape in CONV.items():
        t, layout = bench_conv(shape, backward=True)
        res[f"{name}_fwd_bwd"] = {"time_s": t, "gflops": 3 * conv_flops(shape) / t * 1e-9, "layout": layout}
        t, layout = bench_conv(shape, backward=False)
        res[f"{name}_fwd"] = {"time_s": t, "gflops": conv_flops(shape) / t * 1e-9, "layout": layout}

    x, y = torch.randn(ELEMS, generator=g), torch.randn(ELEMS, generator=g)
    t = median_time(lambda: torch.add(x, y))
    res["add_1M"] = {"time_s": t, "gbs": 3.0 * 4 * ELEMS / t * 1e-9}
    t = median_time(lambda: torch.relu(x))
    res["relu_1M"] = {"time_s": t, "gbs": 2.0 * 4 * ELEMS / t * 1e-9}
    for op, f in (("exp", torch.exp), ("sigmoid", torch.sigmoid), ("tanh", torch.tanh),
                  ("softplus", F.softplus)):
        t = median_time(lambda: f(x))
        res[f"{op}_1M"] = {"time_s": t, "gbs": 2.0 * 4 * ELEMS / t * 1e-9}
    xp = x.abs() + 1e-3  # log on positive inputs
    t = median_time(lambda: torch.log(xp))
    res["log_1M"] = {"time_s": t, "gbs": 2.0 * 4 * ELEMS / t * 1e-9}

    s, u = torch.full((1,), 1.5), torch.full((1,), 2.5)
    res["add_overhead"] = {"time_s": median_time(lambda: torch.add(s, u))}
    s.requires_grad_()
    u.requires_grad_()
    res["add_overhead_grad"] = {"time_s": median_time(lambda: torch.add(s, u))}
    return res


def fmt(name, r):
    t = r["time_s"]
    if "gflops" in r:
        extra = f"{r['gflops']:8.1f} GFLOP/s"
    elif "gbs" in r:
        extra = f"{r['gbs']:8.1f} GB/s"
    else:
        extra = ""
    if t >= 1e-3:
        tt = f"{t * 1e3:10.3f} ms"
    elif t >= 1e-6:
        tt = f"{t * 1e6:10.2f} us"
    else:
        tt = f"{t * 1e9:10.0f} ns"
    layout = f"  ({r['layout']})" if "layout" in r else ""
    return f"{name:20s} {tt} {extra}{layout}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--json", help="write the results here as JSON")
    args = ap.parse_args()
    out = {"torch_version": torch.__version__, "results": {}}
    for threads in args.threads:
        res = run(threads)
        out["results"][str(threads)] = res
        print(f"PyTorch {torch.__version__}, torch.set_num_threads({threads})")
        for name, r in res.items():
            print("  " + fmt(name, r))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
