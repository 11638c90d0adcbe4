"""What the PyTorch step benchmarks (resnet18_step.py, rnn_step.py) and seq_fmnist_torch.py share:
argument checks, percentiles and the timed training-step loop, written once."""
import argparse
import time


def percentile(sorted_values, q):
    """Linear interpolation between the closest ranks of an ascending list (q in [0, 1])."""
    pos = q * (len(sorted_values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def positive(minimum):
    """An argparse type: an integer >= minimum."""
    def parse(text):
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text}")
        return value
    return parse


def time_training_steps(model, opt, loss_fn, x, y, warmup, steps):
    """Runs `warmup` untimed then `steps` timed training steps; returns (sorted seconds, last loss)."""
    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(warmup):
        step()
    times = []
    loss = float("nan")
    for _ in range(steps):
        t0 = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times, loss
