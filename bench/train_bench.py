#!/usr/bin/python3
"""Whole-training, busy-neighbour and predict benchmarks: Ember vs libtorch vs PyTorch.

Run through bench/train_bench.sh, which builds the programs and passes their paths; see
bench/README.md ("Whole training and predict") for what is measured and how to read the tables.

  train_bench.py MODE [options]     MODE: train | load | predict | all

Every program runs as its own process, interleaved (ember, libtorch, pytorch, ember, ...), each
configuration --runs times; the best run counts. Raw results (every run) go to OUT_DIR/*.json,
one markdown table per mode to stdout.
"""
import argparse
import json
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time

TRAIN_SAMPLES = 60000

# Multiply-accumulates per sample of the forward pass, layer by layer (conv: H*W*Cout*kh*kw*Cin
# with SAME padding at stride 1; dense: in*out). Bias adds, ReLU, pooling, dropout and the loss
# are not counted.
LAYER_MACS = {
    "mlp": [("dense 784x256", 784 * 256), ("dense 256x128", 256 * 128), ("dense 128x10", 128 * 10)],
    "cnn": [("conv 5x5 1->32 @28x28", 28 * 28 * 32 * 5 * 5 * 1), ("conv 5x5 32->64 @14x14", 14 * 14 * 64 * 5 * 5 * 32),
            ("dense 3136x1024", 7 * 7 * 64 * 1024), ("dense 1024x10", 1024 * 10)],
}


def train_flops_per_sample(model):
    """Forward + backward = 3 x forward (2 FLOP per MAC): backward is one product for the input
    gradient and one for the weight gradient per layer."""
    return 3 * 2 * sum(m for _, m in LAYER_MACS[model])


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def die(msg):
    log(f"train_bench: {msg}")
    sys.exit(1)


# ---------------------------------------------------------------- machine state


def cpu_times():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return idle, sum(v[:8])


def idle_pct(seconds=2.0):
    """Share of the CPUs idle over `seconds`: other processes on the cores make every number noisy."""
    i0, t0 = cpu_times()
    time.sleep(seconds)
    i1, t1 = cpu_times()
    return 100.0 * (i1 - i0) / max(1, t1 - t0)


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cpu": model, "cores": os.cpu_count(), "kernel": platform.release(),
            "env": {k: v for k, v in os.environ.items() if k.startswith(("OMP_", "GOMP_", "OPENBLAS_", "MKL_", "KMP_"))}}


def load_state(label):
    la = os.getloadavg()
    s = {"when": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "loadavg": la, "idle_pct": idle_pct()}
    log(f"== {label}: {s['when']}, load average {la[0]:.2f} {la[1]:.2f} {la[2]:.2f}, CPUs {s['idle_pct']:.0f}% idle")
    return s


# ---------------------------------------------------------------- sgemm peak


def sgemm_peak(args):
    """Ember's f32 matmul 1024^3 (bench_ops_bench BM_Sgemm_Ember) at 1 and 2 threads: the best
    repetition's GFLOP/s per thread count."""
    cmd = [args.ops_bench, "--benchmark_filter=^BM_Sgemm_Ember/", "--benchmark_repetitions=3", "--benchmark_format=json"]
    log("   sgemm: " + " ".join(cmd))
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        die(f"{args.ops_bench} failed:\n{p.stderr[-2000:]}")
    best = {}
    for b in json.loads(p.stdout)["benchmarks"]:
        if b.get("run_type") != "iteration":
            continue
        th = next(x.split(":")[1] for x in b["name"].split("/") if x.startswith("threads:"))
        best[th] = max(best.get(th, 0.0), b["GFLOP/s"])
    log("   sgemm GFLOP/s: " + ", ".join(f"{t} thr {g:.1f}" for t, g in sorted(best.items())))
    return best


# ---------------------------------------------------------------- running one training process


def run_timed(cmd, env=None):
    """Runs cmd; returns wall seconds, [(seconds since start, stdout line)], stderr, exit status.
    stdout is read line by line as it arrives, so epoch lines get their arrival time."""
    with tempfile.TemporaryFile(mode="w+") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=env)
        lines = [(time.perf_counter() - t0, line.rstrip("\n")) for line in p.stdout]
        rc = p.wait()
        wall = time.perf_counter() - t0
        err.seek(0)
        return wall, lines, err.read(), rc


def parse_train(lines, epochs):
    """Epoch line times and the final test metrics from `ember train --verbose 2` or a peer."""
    epoch_t, acc, epoch_lines = [], None, []
    for t, line in lines:
        low = line.lower()
        if low.startswith("epoch ") and f"/{epochs}" in line.split()[1]:
            epoch_t.append(t)
            epoch_lines.append(line)
        if line.startswith("test_loss="):
            acc = float(line.split("test_accuracy=")[1].split()[0])
    return epoch_t, acc, epoch_lines


class Config:
    """One program at one thread count: ember (threads 0 = its default), libtorch, pytorch."""

    def __init__(self, impl, threads, layout=None):
        self.impl, self.threads, self.layout = impl, threads, layout

    @property
    def name(self):
        th = "default" if self.threads == 0 else str(self.threads)
        return f"{self.impl}@{th}" + (f"/{self.layout}" if self.layout and self.layout != "nchw" else "")

    def train_cmd(self, args, model, epochs):
        if self.impl == "ember":
            cmd = [args.ember, "train", "--model", model, "--data", f"fashion-mnist:{args.data}", "--epochs", str(epochs),
                   "--verbose", "2"]
            return cmd + (["--threads", str(self.threads)] if self.threads else [])
        head = [args.libtorch] if self.impl == "libtorch" else [args.python, args.torch_script]
        return head + ["train", "--model", model, "--epochs", str(epochs), "--threads", str(self.threads),
                       "--layout", self.layout or "nchw"]


def train_once(args, cfg, model, epochs, tag):
    env = dict(os.environ, FASHION_MNIST_DIR=args.data)
    cmd = cfg.train_cmd(args, model, epochs)
    wall, lines, err, rc = run_timed(cmd, env)
    if rc != 0:
        die(f"{' '.join(cmd)} exited with status {rc}:\n{err[-3000:]}")
    epoch_t, acc, epoch_lines = parse_train(lines, epochs)
    if len(epoch_t) != epochs or acc is None:
        die(f"{' '.join(cmd)}: expected {epochs} epoch lines and test_accuracy, got:\n" + "\n".join(l for _, l in lines[-10:]))
    r = {"config": cfg.name, "impl": cfg.impl, "threads": cfg.threads, "layout": cfg.layout, "model": model,
         "epochs": epochs, "wall_s": wall, "epoch_end_s": epoch_t, "test_accuracy": acc, "epoch_lines": epoch_lines,
         "process_samples_per_s": epochs * TRAIN_SAMPLES / wall}
    if epochs >= 2:  # steady state: from the end of the first epoch to the end of the last
        r["loop_samples_per_s"] = (epochs - 1) * TRAIN_SAMPLES / (epoch_t[-1] - epoch_t[0])
    loop = f", loop {r['loop_samples_per_s']:.0f}/s" if "loop_samples_per_s" in r else ""
    log(f"   {tag} {model} {cfg.name}: {wall:.2f} s, {r['process_samples_per_s']:.0f} samples/s{loop}, "
        f"test_accuracy {acc:.4f}")
    return r


def best_runs(runs):
    """Per (model, config): the run with the shortest wall time, plus the best loop rate over the runs."""
    groups = {}
    for r in runs:
        groups.setdefault((r["model"], r["config"]), []).append(r)
    best = {}
    for k, rs in groups.items():
        b = dict(min(rs, key=lambda r: r["wall_s"]))
        loops = [r["loop_samples_per_s"] for r in rs if "loop_samples_per_s" in r]
        b["best_loop_samples_per_s"] = max(loops) if loops else None
        b["runs"] = len(rs)
        best[k] = b
    return best


# ---------------------------------------------------------------- layout probe


def probe_layouts(args, impls):
    """For the cnn: each peer's faster memory format for training at each thread count."""
    out = {}
    for impl in impls:
        for th in args.peer_threads:
            head = [args.libtorch] if impl == "libtorch" else [args.python, args.torch_script]
            p = subprocess.run(head + ["layout", "--model", "cnn", "--threads", str(th)], capture_output=True, text=True)
            if p.returncode != 0:
                die(f"{impl} layout probe failed:\n{p.stderr[-2000:]}")
            out[(impl, th)] = p.stdout.strip().splitlines()[-1]
            log(f"   {impl} cnn layout at {th} thr: {out[(impl, th)]} ({'; '.join(p.stderr.strip().splitlines())})")
    return out


# ---------------------------------------------------------------- modes


def peers_available(args):
    impls = []
    if args.libtorch and os.access(args.libtorch, os.X_OK):
        impls.append("libtorch")
    else:
        log("   libtorch_train not built: no libtorch column")
    if subprocess.run([args.python, "-c", "import torch"], capture_output=True).returncode == 0:
        impls.append("pytorch")
    else:
        log(f"   {args.python} cannot import torch: no PyTorch column")
    return impls


DISPLAY = {"ember": "Ember", "libtorch": "libtorch (C++)", "pytorch": "PyTorch (Python)"}


def fmt_rate(x):
    return "-" if x is None else f"{x:,.0f}"


def mode_train(args, report):
    log("== train: whole `ember train` runs and their libtorch / PyTorch equivalents")
    impls = peers_available(args)
    for m in args.models:
        f = train_flops_per_sample(m)
        parts = " + ".join(f"{n} {2 * macs / 1e6:.3f}" for n, macs in LAYER_MACS[m])
        log(f"   {m}: forward MFLOP/sample = {parts} = {f / 3e6:.3f}; x3 (fwd+bwd) = {f / 1e6:.3f} MFLOP/sample")
    state0 = load_state("before")
    peak = sgemm_peak(args)
    layouts = probe_layouts(args, impls) if "cnn" in args.models else {}
    configs = [Config("ember", 0)] + [Config("ember", t) for t in args.ember_threads]
    for impl in impls:
        configs += [Config(impl, t) for t in args.peer_threads]
    runs = []
    total = args.runs * len(args.models) * len(configs)
    i = 0
    for rep in range(args.runs):
        for m in args.models:
            epochs = args.epochs_mlp if m == "mlp" else args.epochs_cnn
            for c in configs:
                cfg = Config(c.impl, c.threads, layouts.get((c.impl, c.threads)) if m == "cnn" else None)
                i += 1
                runs.append(train_once(args, cfg, m, epochs, f"[{i}/{total}] run {rep + 1}/{args.runs}"))
    peak2 = sgemm_peak(args)
    for th, g in peak2.items():
        peak[th] = max(peak.get(th, 0), g)
    state1 = load_state("after")
    limit = max(peak.values())
    best = best_runs(runs)
    report["train"] = {"machine_before": state0, "machine_after": state1, "sgemm_gflops": peak,
                       "flop_limit_gflops": limit, "runs": runs,
                       "flops_per_sample": {m: train_flops_per_sample(m) for m in args.models}}

    lines = [f"Whole training, best of {args.runs} runs (interleaved). FLOP limit = the best sgemm measured in this run: "
             f"{limit:.0f} GFLOP/s ({', '.join(f'{t} thr {g:.0f}' for t, g in sorted(peak.items()))}). "
             f"Load: {state0['loadavg'][0]:.2f} and {state0['idle_pct']:.0f}% idle before, "
             f"{state1['loadavg'][0]:.2f} and {state1['idle_pct']:.0f}% idle after. Training FLOP per sample (3 × the "
             f"forward's conv and dense MACs × 2): " + ", ".join(f"{m} {train_flops_per_sample(m) / 1e6:.3f} MFLOP"
                                                               for m in args.models) + "."
             + (f" OpenBLAS kernels (the peers' dense products): OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']}."
                if os.environ.get("OPENBLAS_CORETYPE") else ""), "",
             "| model | epochs | program | threads | layout | process samples/s | loop samples/s | Ember ÷ this (process / loop) "
             "| % FLOP limit (process / loop) | test acc |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for m in args.models:
        f = train_flops_per_sample(m)
        ember = best.get((m, "ember@default"))
        rows = [ember] + [best[(m, Config("ember", t).name)] for t in args.ember_threads]
        for impl in impls:
            cands = [b for (mm, name), b in best.items() if mm == m and b["impl"] == impl]
            rows.append(min(cands, key=lambda b: b["wall_s"]))  # best thread count (and its layout)
        for r in rows:
            proc, loop = r["process_samples_per_s"], r.get("best_loop_samples_per_s")
            if r["impl"] == "ember":
                ratio = "—" if r is ember else f"{ember['process_samples_per_s'] / proc:.2f}× / " + (
                    f"{ember['best_loop_samples_per_s'] / loop:.2f}×" if loop else "-")
            else:
                ratio = f"**{ember['process_samples_per_s'] / proc:.2f}×** / " + (
                    f"{ember['best_loop_samples_per_s'] / loop:.2f}×" if loop and ember.get("best_loop_samples_per_s") else "-")
            pct = f"{100 * proc * f / (limit * 1e9):.0f} % / " + (f"{100 * loop * f / (limit * 1e9):.0f} %" if loop else "-")
            th = "default (" + str(os.cpu_count()) + ")" if r["threads"] == 0 else str(r["threads"])
            if r["impl"] != "ember":
                th += f" (best of {', '.join(map(str, args.peer_threads))})"
            name = DISPLAY[r["impl"]]
            lines.append(f"| {m} | {r['epochs']} | {name} | {th} | {r['layout'] or ('NHWC' if r['impl'] == 'ember' else 'nchw')} "
                         f"| {fmt_rate(proc)} | {fmt_rate(loop)} | {ratio} | {pct} | {r['test_accuracy']:.4f} |")
    others = [f"{b['model']} {b['config']} {fmt_rate(b['process_samples_per_s'])}/s"
              for (m, n), b in sorted(best.items()) if b["impl"] != "ember"]
    lines += ["", "Every peer configuration (process samples/s, best run): " + "; ".join(others) + "."]
    warn = []
    for m in args.models:
        e = best.get((m, "ember@default"))
        for (mm, n), b in best.items():
            if mm == m and abs(b["test_accuracy"] - e["test_accuracy"]) > 0.02:
                warn.append(f"{m} {n}: test accuracy {b['test_accuracy']:.4f} vs Ember's {e['test_accuracy']:.4f}")
    if warn:
        lines.append("**Accuracy differs by more than 0.02 — check that the programs do the same work:** " + "; ".join(warn))
    return "\n".join(lines)


NEIGHBOURS = []


def stop_neighbours():
    while NEIGHBOURS:
        p = NEIGHBOURS.pop()
        p.kill()
        p.wait()
    if os.path.exists(PIDFILE[0]):
        os.remove(PIDFILE[0])


PIDFILE = [""]


def start_neighbours(n, out_dir):
    """n busy processes (`yes > /dev/null`); their pids also go to OUT_DIR/neighbours.pids, which
    train_bench.sh's trap reads should this script die without cleaning up."""
    PIDFILE[0] = os.path.join(out_dir, "neighbours.pids")
    for _ in range(n):
        NEIGHBOURS.append(subprocess.Popen(["yes"], stdout=subprocess.DEVNULL))
    with open(PIDFILE[0], "w") as f:
        f.write("\n".join(str(p.pid) for p in NEIGHBOURS) + "\n")
    time.sleep(0.5)


def mode_load(args, report):
    log("== load: `ember train` at the default thread count and at --threads 1 beside N busy processes")
    state0 = load_state("before")
    runs = []
    total = len(args.load) * args.runs * 2 * 2
    i = 0
    for n in args.load:
        log(f"   -- {n} neighbour(s)")
        start_neighbours(n, args.out_dir)
        try:
            for rep in range(args.runs):
                for m, epochs in (("mlp", 2), ("cnn", 1)):
                    for th in (0, 1):
                        i += 1
                        r = train_once(args, Config("ember", th), m, epochs, f"[{i}/{total}] load {n} run {rep + 1}/{args.runs}")
                        r["neighbours"] = n
                        runs.append(r)
        finally:
            stop_neighbours()
    state1 = load_state("after")
    report["load"] = {"machine_before": state0, "machine_after": state1, "runs": runs}
    best = {}
    for r in runs:
        k = (r["neighbours"], r["model"], r["threads"])
        if k not in best or r["wall_s"] < best[k]:
            best[k] = r["wall_s"]
    lines = [f"`ember train` beside N `yes > /dev/null` processes; whole process wall time, best of {args.runs} "
             f"(interleaved: default threads, then --threads 1). mlp: 2 epochs; cnn: 1 epoch. "
             f"Load before: {state0['loadavg'][0]:.2f}, {state0['idle_pct']:.0f}% idle.", "",
             f"| neighbours | model | default threads ({os.cpu_count()}) | --threads 1 | default ÷ threads 1 | default vs no neighbours |",
             "|---|---|---|---|---|---|"]
    for n in args.load:
        for m in ("mlp", "cnn"):
            d, one = best[(n, m, 0)], best[(n, m, 1)]
            base = best.get((0, m, 0))
            verdict = "ok" if d <= one else "**slower**"
            lines.append(f"| {n} | {m} | {d:.2f} s | {one:.2f} s | {d / one:.2f} ({verdict}) | "
                         + (f"{d / base:.2f}×" if base else "-") + " |")
    return "\n".join(lines)


def mode_predict(args, report):
    log("== predict: batch-128 throughput and batch-1 latency (median per call)")
    impls = peers_available(args)
    state0 = load_state("before")
    configs = [("ember", 0)] + [("ember", t) for t in args.ember_threads]
    configs += [(impl, t) for impl in impls for t in args.peer_threads]
    runs = []
    for rep in range(args.runs):
        for impl, th in configs:
            with tempfile.NamedTemporaryFile(suffix=".json") as tmp:
                if impl == "ember":
                    cmd = [args.predict] + (["--threads", str(th)] if th else [])
                elif impl == "libtorch":
                    cmd = [args.libtorch, "predict", "--threads", str(th)]
                else:
                    cmd = [args.python, args.torch_script, "predict", "--threads", str(th)]
                cmd += ["--json", tmp.name]
                p = subprocess.run(cmd, capture_output=True, text=True)
                if p.returncode != 0:
                    die(f"{' '.join(cmd)} failed:\n{p.stderr[-2000:]}")
                r = json.load(open(tmp.name))
            r.update({"impl": impl, "requested_threads": th, "run": rep + 1})
            runs.append(r)
            log(f"   run {rep + 1}/{args.runs} {impl}@{th or 'default'}: " + ", ".join(
                f"{k} {v['s_per_call'] * 1e3:.3f} ms" for k, v in r["results"].items()))
    state1 = load_state("after")
    report["predict"] = {"machine_before": state0, "machine_after": state1, "runs": runs}
    best = {}  # (column, key) -> (s_per_call, threads, layout), over runs and (peers) thread counts
    for r in runs:
        col = r["impl"] if r["impl"] != "ember" or r["requested_threads"] == 0 else f"ember@{r['requested_threads']}"
        for k, v in r["results"].items():
            cur = best.get((col, k))
            if cur is None or v["s_per_call"] < cur[0]:
                best[(col, k)] = (v["s_per_call"], r["threads"], v["layout"])
    extra = [f"ember@{t}" for t in args.ember_threads]
    head = f"| model | batch | Ember ({os.cpu_count()} thr, default) |" + "".join(f" Ember ({c.split('@')[1]} thr) |" for c in extra)
    head += "".join(f" {DISPLAY[i]} | Ember ÷ {DISPLAY[i]} |" for i in impls)
    lines = [f"Model forward without gradients, median time per call (best of {args.runs} runs); Ember at its default "
             f"thread count, peers at their best of {', '.join(map(str, args.peer_threads))} threads (named) and best "
             f"layout. Batch 128: samples/s; batch 1: latency per call. Ember ÷ peer = peer time / Ember time (above 1: "
             f"Ember faster). Load: {state0['loadavg'][0]:.2f}, {state0['idle_pct']:.0f}% idle before.", "",
             head, "|---|---|---|" + "---|" * len(extra) + "---|---|" * len(impls)]
    for m in ("mlp", "cnn"):
        for b in (128, 1):
            k = f"{m}/batch{b}"
            e = best[("ember", k)]

            def cell(v):
                return f"{b / v[0]:,.0f} samples/s" if b > 1 else f"{v[0] * 1e6:,.0f} µs"
            row = f"| {m} | {b} | {cell(e)} |" + "".join(f" {cell(best[(c, k)])} |" for c in extra)
            for i in impls:
                p = best[(i, k)]
                row += f" {cell(p)} ({p[1]} thr, {p[2]}) | **{p[0] / e[0]:.2f}×** |"
            lines.append(row)
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["train", "load", "predict", "all"])
    p.add_argument("--runs", type=int, default=2, help="runs per configuration; the best counts (default 2)")
    p.add_argument("--models", default="mlp,cnn")
    p.add_argument("--epochs-mlp", type=int, default=3)
    p.add_argument("--epochs-cnn", type=int, default=2)
    p.add_argument("--peer-threads", default="1,2", help="thread counts tried for libtorch and PyTorch")
    p.add_argument("--ember-threads", default="", help="extra Ember thread counts, for information (e.g. 1,2)")
    p.add_argument("--load", default="0,1,2", help="load mode: numbers of busy neighbour processes")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--ember", required=True)
    p.add_argument("--ops-bench", required=True)
    p.add_argument("--predict", required=True)
    p.add_argument("--libtorch", default="")
    p.add_argument("--python", default="/usr/bin/python3")
    p.add_argument("--torch-script", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_train.py"))
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    args = p.parse_args()
    ints = lambda s: [int(x) for x in s.split(",") if x.strip()]
    args.models = [m for m in args.models.split(",") if m]
    args.peer_threads, args.ember_threads, args.load = ints(args.peer_threads), ints(args.ember_threads), ints(args.load)
    if any(m not in LAYER_MACS for m in args.models):
        die(f"--models: mlp and/or cnn, got {args.models}")
    if args.runs < 1 or args.epochs_mlp < 1 or args.epochs_cnn < 1:
        die("--runs and --epochs-*: at least 1")
    os.makedirs(args.out_dir, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that `finally` stops the neighbours

    modes = ["train", "load", "predict"] if args.mode == "all" else [args.mode]
    tables = {}
    for mode in modes:
        report = {"machine": machine(), "args": {k: v for k, v in vars(args).items()}}
        tables[mode] = {"train": mode_train, "load": mode_load, "predict": mode_predict}[mode](args, report)
        path = os.path.join(args.out_dir, f"{mode}.json")
        with open(path, "w") as f:
            json.dump(report, f, indent=1)
        log(f"   raw results: {path}")
    for mode in modes:
        print(f"\n### {mode}\n\n{tables[mode]}")


if __name__ == "__main__":
    main()
