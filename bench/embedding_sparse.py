#!/usr/bin/python3
"""PyTorch peer of bench/embedding_sparse.cpp: one SGD step (lr 0.01) on a [V, D] embedding table,
loss = sum(lookup * c), with torch.nn.functional.embedding(sparse=True) against sparse=False.
Usage: embedding_sparse.py [V D batch steps threads]"""
import statistics
import sys
import time

import torch


def median_step_ms(sparse, V, D, batch, steps):
    g = torch.Generator().manual_seed(1)
    table = (torch.randn(V, D, generator=g) * 0.01).requires_grad_()
    c = torch.randn(batch, D, generator=g)
    opt = torch.optim.SGD([table], lr=0.01)
    times = []
    for s in range(steps + 3):
        ids = torch.randint(0, V, (batch,), generator=g)
        t0 = time.perf_counter()
        out = torch.nn.functional.embedding(ids, table, sparse=sparse)
        (out * c).sum().backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        t = (time.perf_counter() - t0) * 1e3
        if s >= 3:
            times.append(t)
    return statistics.median(times)


def main():
    a = [int(x) for x in sys.argv[1:]] + [50000, 128, 1024, 50, 1][len(sys.argv) - 1:]
    V, D, batch, steps, threads = a[:5]
    torch.set_num_threads(threads)
    dense = median_step_ms(False, V, D, batch, steps)
    rows = median_step_ms(True, V, D, batch, steps)
    print(f"torch dense (sparse=False):         {dense:8.3f} ms")
    print(f"torch sparse (sparse=True):         {rows:8.3f} ms   ({dense / rows:.1f}x faster)")


if __name__ == "__main__":
    main()
