#!/usr/bin/env bash
# Ember vs PyTorch (Python) vs libtorch (C++), side by side, in one run. See bench/README.md.
#
#   bench/run_all.sh              build (Release), run everything, print the table
#   bench/run_all.sh --no-build   reuse the binaries already built
#
# Environment: BUILD_DIR (default build-bench), LIBTORCH_BUILD_DIR (default build-libtorch-bench),
# JOBS (ninja -j, default 2), OUT_DIR (raw JSON results; default $BUILD_DIR/bench-results).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
LIBTORCH_BUILD_DIR=${LIBTORCH_BUILD_DIR:-$ROOT/build-libtorch-bench}
JOBS=${JOBS:-2}
OUT_DIR=${OUT_DIR:-$BUILD_DIR/bench-results}
PYTHON=/usr/bin/python3  # Debian's interpreter, the one with python3-torch
source "$ROOT/bench/openblas_core.sh"  # the peers' OpenBLAS kernels (see that file)
BUILD=1
[[ "${1:-}" == "--no-build" ]] && BUILD=0

# Medians of 5 repetitions, only the aggregates reported (mean/median/stddev/cv per benchmark).
GBENCH_FLAGS=(--benchmark_repetitions=5 --benchmark_report_aggregates_only=true)

EMBER_BIN=$BUILD_DIR/bench/bench_ops_bench
LIBTORCH_BIN=$LIBTORCH_BUILD_DIR/libtorch_bench

if ((BUILD)); then
  echo "== building bench_ops_bench (Release) in $BUILD_DIR"
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  ninja -C "$BUILD_DIR" -j"$JOBS" bench_ops_bench
  if [[ -d /usr/lib/x86_64-linux-gnu/cmake/Torch ]]; then
    echo "== building libtorch_bench in $LIBTORCH_BUILD_DIR (optional)"
    if ! { cmake -S "$ROOT/bench/libtorch" -B "$LIBTORCH_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null &&
           ninja -C "$LIBTORCH_BUILD_DIR" -j"$JOBS"; }; then
      echo "   libtorch_bench did not build; the table will have no libtorch column" >&2
    fi
  fi
fi
mkdir -p "$OUT_DIR"
rm -f "$OUT_DIR"/{ember,torch,libtorch}.json

# Share of the CPUs idle over 2 s: with another busy process on the cores, OpenMP's spinning
# barriers make every 2-thread number (Ember's and PyTorch's alike) meaningless.
idle_pct() {
  local a b
  read -ra a < <(grep '^cpu ' /proc/stat); sleep 2; read -ra b < <(grep '^cpu ' /proc/stat)
  local busy=0 idle=$(( (b[4] + b[5]) - (a[4] + a[5]) ))
  for i in 1 2 3 6 7 8; do busy=$(( busy + b[i] - a[i] )); done
  echo $(( 100 * idle / (idle + busy + 1) ))
}
echo "== machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores; load:$(uptime | sed 's/.*load average://'); idle $(idle_pct)%"

echo "== Ember: $EMBER_BIN ${GBENCH_FLAGS[*]}"
"$EMBER_BIN" "${GBENCH_FLAGS[@]}" --benchmark_out="$OUT_DIR/ember.json" --benchmark_out_format=json

echo "== PyTorch: bench/torch_bench.py"
"$PYTHON" "$ROOT/bench/torch_bench.py" --json "$OUT_DIR/torch.json"

if [[ -x "$LIBTORCH_BIN" ]]; then
  echo "== libtorch: $LIBTORCH_BIN"
  "$LIBTORCH_BIN" --json "$OUT_DIR/libtorch.json"
fi

echo "== load after the runs:$(uptime | sed 's/.*load average://')"
echo
"$PYTHON" - "$OUT_DIR" <<'EOF'
import json, os, sys

out = sys.argv[1]
ember = json.load(open(os.path.join(out, "ember.json")))
peers = {}
for name, label in (("torch", "PyTorch"), ("libtorch", "libtorch")):
    path = os.path.join(out, name + ".json")
    if os.path.exists(path):
        peers[label] = json.load(open(path))["results"]

SCALE = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
# Google Benchmark name -> the key shared with torch_bench.py / libtorch_bench.cpp
KEYS = {
    "BM_Sgemm_Ember": "sgemm_1024", "BM_Sgemm_OpenBLAS": "sgemm_1024 [OpenBLAS direct]",
    "BM_Conv1_FwdBwd": "conv1_fwd_bwd", "BM_Conv1_FwdBwd_Kernels": "conv1_fwd_bwd [raw kernels]",
    "BM_Conv2_FwdBwd": "conv2_fwd_bwd", "BM_Conv2_FwdBwd_Kernels": "conv2_fwd_bwd [raw kernels]",
    "BM_Conv1_Fwd": "conv1_fwd", "BM_Conv2_Fwd": "conv2_fwd",
    "BM_Conv1_Layer": "conv1_layer", "BM_Conv1_Layer_Kernels": "conv1_layer [raw kernels]",
    "BM_Conv2_Layer": "conv2_layer", "BM_Conv2_Layer_Kernels": "conv2_layer [raw kernels]",
    "BM_Add_1M": "add_1M", "BM_Relu_1M": "relu_1M",
    "BM_Exp_1M": "exp_1M", "BM_Sigmoid_1M": "sigmoid_1M", "BM_Tanh_1M": "tanh_1M",
    "BM_Softplus_1M": "softplus_1M", "BM_Log_1M": "log_1M",
    "BM_Add_Overhead": "add_overhead", "BM_Add_Overhead_Grad": "add_overhead_grad",
}
ORDER = ["sgemm_1024", "sgemm_1024 [OpenBLAS direct]",
         "conv1_fwd_bwd", "conv1_fwd_bwd [raw kernels]", "conv1_fwd",
         "conv2_fwd_bwd", "conv2_fwd_bwd [raw kernels]", "conv2_fwd",
         "conv1_layer", "conv1_layer [raw kernels]", "conv2_layer", "conv2_layer [raw kernels]",
         "add_1M", "relu_1M", "exp_1M", "sigmoid_1M", "tanh_1M", "softplus_1M", "log_1M", "add_overhead", "add_overhead_grad"]

em = {}  # (key, threads) -> {"time_s", rate...}
for b in ember["benchmarks"]:
    if b.get("aggregate_name") != "median":
        continue
    parts = b["run_name"].split("/")
    key = KEYS.get(parts[0])
    threads = next(p.split(":")[1] for p in parts if p.startswith("threads:"))
    r = {"time_s": b["real_time"] * SCALE[b["time_unit"]]}
    if "GFLOP/s" in b: r["gflops"] = b["GFLOP/s"]
    if "GB/s" in b: r["gbs"] = b["GB/s"]
    em[(key, threads)] = r

def t(s):
    if s is None: return "-"
    if s >= 1e-3: return f"{s * 1e3:.3f} ms"
    if s >= 1e-6: return f"{s * 1e6:.2f} us"
    return f"{s * 1e9:.0f} ns"

def rate(r):
    if r is None: return ""
    if "gflops" in r: return f"{r['gflops']:.1f} GFLOP/s"
    if "gbs" in r: return f"{r['gbs']:.1f} GB/s"
    return ""

labels = list(peers)
head = ["op", "thr", "Ember", ""] + sum([[l, "", f"{l}/Ember"] for l in labels], [])
rows = []
for key in ORDER:
    for threads in ("1", "2"):
        e = em.get((key, threads))
        if e is None: continue
        row = [key, threads, t(e["time_s"]), rate(e)]
        for l in labels:
            p = peers[l].get(threads, {}).get(key.split(" ")[0]) if " " not in key else None
            row += [t(p["time_s"]) if p else "", (rate(p) + (f" {p['layout']}" if p and "layout" in p else "")) if p else "",
                    f"{p['time_s'] / e['time_s']:.2f}x" if p else ""]
        rows.append(row)
w = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
line = lambda r: "  ".join(str(x).ljust(n) for x, n in zip(r, w)).rstrip()
print("Medians. Ember: Google Benchmark, 5 repetitions. PyTorch/libtorch: median of 5 timed blocks.")
print("PEER/Ember = peer time / Ember time: above 1.00x Ember is faster, below 1.00x it is slower.")
print(line(head))
print(line(["-" * n for n in w]))
for r in rows: print(line(r))

print("\nTargets")
def verdict(ok): return "MET" if ok else "MISSED"
for th in ("1", "2"):
    e, o = em.get(("sgemm_1024", th)), em.get(("sgemm_1024 [OpenBLAS direct]", th))
    if e and o:
        q = o["time_s"] / e["time_s"]
        print(f"  sgemm 1024^3, {th} thr: Ember {e['gflops']:.1f} vs OpenBLAS direct {o['gflops']:.1f} GFLOP/s = {q:.1%} (>= 90%): {verdict(q >= 0.90)}")
tp = peers.get("PyTorch", {})
for conv in ("conv1_fwd_bwd", "conv2_fwd_bwd"):
    for th in ("1", "2"):
        e, p = em.get((conv, th)), tp.get(th, {}).get(conv)
        if e and p:
            print(f"  {conv}, {th} thr: Ember {t(e['time_s'])} vs PyTorch {t(p['time_s'])} ({p['layout']}): {verdict(e['time_s'] <= p['time_s'])}")
    eb = min((em[(conv, th)]["time_s"], th) for th in ("1", "2") if (conv, th) in em)
    pb = min((tp[th][conv]["time_s"], th) for th in ("1", "2") if conv in tp.get(th, {})) if tp else None
    if pb:
        print(f"  {conv}, each at its best thread count: Ember {t(eb[0])} ({eb[1]} thr) vs PyTorch {t(pb[0])} ({pb[1]} thr): {verdict(eb[0] <= pb[0])}")
for key in ("add_overhead", "add_overhead_grad"):
    for th in ("1", "2"):
        e = em.get((key, th))
        if e:
            print(f"  {key}, {th} thr: {t(e['time_s'])} (< 2 us): {verdict(e['time_s'] < 2e-6)}")
EOF
