#!/usr/bin/env bash
# Issue 16: one CIFAR-style ResNet-18 training step at batch 128 — Ember vs PyTorch vs libtorch,
# interleaved in one run. See bench/README.md ("ResNet-18 training step").
#
#   bench/resnet18_bench.sh [--no-build] [--runs R] [--threads 1,2] [--steps N] [--warmup W]
#                           [--layouts nchw,channels_last] [--batch B]
#
# Defaults: 3 runs, 1 and 2 threads, 10 timed steps after 2 warm-up steps per process, the peers in
# both memory layouts (the faster one is compared), batch 128. Each run starts every program once per
# thread count, in the order Ember, PyTorch, libtorch (A B C A B C ...), one process each; a program
# prints one JSON line (median step of its timed steps), kept in $OUT_DIR/runs.jsonl. The table
# gives, per thread count, the median over the runs of those medians.
#
# Environment: BUILD_DIR (default build-bench), LIBTORCH_BUILD_DIR (default build-libtorch-bench),
# JOBS (ninja -j, default 2), OUT_DIR (default $BUILD_DIR/resnet18-bench-results).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
LIBTORCH_BUILD_DIR=${LIBTORCH_BUILD_DIR:-$ROOT/build-libtorch-bench}
JOBS=${JOBS:-2}
OUT_DIR=${OUT_DIR:-$BUILD_DIR/resnet18-bench-results}
PYTHON=/usr/bin/python3  # Debian's interpreter, the one with python3-torch and torchvision
source "$ROOT/bench/openblas_core.sh"  # the peers' OpenBLAS kernels (see that file)

usage() {
  echo "usage: bench/resnet18_bench.sh [--no-build] [--runs R] [--threads 1,2] [--steps N] [--warmup W]" \
       "[--layouts nchw,channels_last] [--batch B]" >&2
  exit 2
}
BUILD=1 RUNS=3 THREADS=1,2 STEPS=10 WARMUP=2 LAYOUTS=nchw,channels_last BATCH=128
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-build) BUILD=0; shift; continue ;;
    --runs|--threads|--steps|--warmup|--layouts|--batch) [[ $# -ge 2 ]] || usage ;;
    *) echo "resnet18_bench.sh: unknown option '$1'" >&2; usage ;;
  esac
  case "$1" in
    --runs) RUNS=$2 ;; --threads) THREADS=$2 ;; --steps) STEPS=$2 ;; --warmup) WARMUP=$2 ;;
    --layouts) LAYOUTS=$2 ;; --batch) BATCH=$2 ;;
  esac
  shift 2
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "resnet18_bench.sh: --runs expects a positive integer, got '$RUNS'" >&2; exit 2; }
[[ "$THREADS" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || { echo "resnet18_bench.sh: --threads expects a list like 1,2, got '$THREADS'" >&2; exit 2; }
for l in ${LAYOUTS//,/ }; do
  [[ "$l" == nchw || "$l" == channels_last ]] || { echo "resnet18_bench.sh: --layouts takes nchw and/or channels_last, got '$l'" >&2; exit 2; }
done

EMBER_BIN=$BUILD_DIR/bench/bench_resnet18_step
LIBTORCH_BIN=$LIBTORCH_BUILD_DIR/libtorch_resnet18_step

# build SOURCE_DIR BUILD_DIR TARGET: configure (Release, ccache when present) and build one target.
build() {
  echo "== building $3 (Release) in $2" >&2
  local launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S "$1" -B "$2" -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >/dev/null && ninja -C "$2" -j"$JOBS" "$3" >&2
}
if ((BUILD)); then
  build "$ROOT" "$BUILD_DIR" bench_resnet18_step || exit 1
  if [[ ! -d /usr/lib/x86_64-linux-gnu/cmake/Torch ]]; then
    echo "== libtorch-dev not installed (bash scripts/setup.sh --bench): no libtorch column" >&2
  elif ! build "$ROOT/bench/libtorch" "$LIBTORCH_BUILD_DIR" libtorch_resnet18_step; then
    echo "   libtorch_resnet18_step did not build (optional): no libtorch column" >&2
  fi
fi
[[ -x "$EMBER_BIN" ]] || { echo "resnet18_bench.sh: $EMBER_BIN is missing: run without --no-build" >&2; exit 1; }
HAVE_TORCH=1
"$PYTHON" -c "import torch, torchvision" 2>/dev/null || { HAVE_TORCH=0; echo "== no torch/torchvision for $PYTHON: no PyTorch column" >&2; }
HAVE_LIBTORCH=0
[[ -x "$LIBTORCH_BIN" ]] && HAVE_LIBTORCH=1

mkdir -p "$OUT_DIR"
JSONL=$OUT_DIR/runs.jsonl
: >"$JSONL"
echo "== machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores; load:$(uptime | sed 's/.*load average://')" >&2

# One program run: its JSON line, tagged with the run number, appended to runs.jsonl.
run() {
  local r=$1; shift
  echo "-- run $r: $*" >&2
  local line
  line=$("$@" --steps "$STEPS" --warmup "$WARMUP" --batch "$BATCH") || { echo "resnet18_bench.sh: failed: $*" >&2; exit 1; }
  echo "   $line" >&2
  echo "{\"run\": $r, ${line#\{}" >>"$JSONL"
}
for ((r = 1; r <= RUNS; ++r)); do
  for t in ${THREADS//,/ }; do
    run "$r" "$EMBER_BIN" --threads "$t"
    for l in ${LAYOUTS//,/ }; do
      if ((HAVE_TORCH)); then run "$r" "$PYTHON" "$ROOT/bench/resnet18_step.py" --threads "$t" --layout "$l"; fi
      if ((HAVE_LIBTORCH)); then run "$r" "$LIBTORCH_BIN" --threads "$t" --layout "$l"; fi
    done
  done
done
echo "== load after the runs:$(uptime | sed 's/.*load average://')" >&2

"$PYTHON" - "$JSONL" <<'EOF' | tee "$OUT_DIR/table.md"
import json, statistics, sys

rows = [json.loads(line) for line in open(sys.argv[1])]
# (impl, threads, layout) -> the per-run median step times in ms
runs = {}
for r in rows:
    runs.setdefault((r["impl"], r["threads"], r["layout"]), []).append(r["step_ms"])
batch = rows[0]["batch"]
params = {r["impl"]: r["params"] for r in rows}
names = {"ember": "Ember", "pytorch": "PyTorch", "libtorch": "libtorch"}

def best(impl, threads):
    """(median over runs in ms, layout) of the impl's faster layout at this thread count."""
    cands = [(statistics.median(v), k[2]) for k, v in runs.items() if k[0] == impl and k[1] == threads]
    return min(cands) if cands else None

print(f"ResNet-18 (CIFAR stem, 32x32x3, 10 classes) training step, batch {batch}, SGD momentum 0.9, "
      f"sparse cross-entropy from logits. Step = median over {max(r['run'] for r in rows)} runs of each "
      f"process's median of {rows[0]['steps']} timed steps. Parameters: "
      + ", ".join(f"{names[i]} {p:,}" for i, p in params.items()) + ".")
print("Faster peer / Ember = the faster of PyTorch and libtorch's step time / Ember's: above 1.00x Ember is faster; the issue wants >= 1.5x.\n")
peers = [i for i in ("pytorch", "libtorch") if any(k[0] == i for k in runs)]
head = ["threads", "Ember ms", "Ember samples/s"] + sum([[f"{names[p]} ms", f"{names[p]} samples/s"] for p in peers], []) \
       + ["faster peer / Ember", ">= 1.5x"]
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for threads in sorted({k[1] for k in runs}):
    e = best("ember", threads)
    if e is None:
        continue
    cells = [str(threads), f"{e[0]:.1f}", f"{batch / e[0] * 1e3:.1f}"]
    fastest = None
    for p in peers:
        b = best(p, threads)
        cells += [f"{b[0]:.1f} ({b[1]})", f"{batch / b[0] * 1e3:.1f}"] if b else ["-", "-"]
        if b and (fastest is None or b[0] < fastest[0]):
            fastest = (b[0], p)
    if fastest:
        ratio = fastest[0] / e[0]
        cells += [f"{ratio:.2f}x (vs {names[fastest[1]]})", "MET" if ratio >= 1.5 else "MISSED"]
    else:
        cells += ["-", "-"]
    print("| " + " | ".join(cells) + " |")

# Each program at its own best thread count (and layout), named.
def best_overall(impl):
    """(ms, threads, layout) of the impl's best thread count and layout."""
    return min((ms, t, layout) for (i, t, layout), v in runs.items() if i == impl for ms in [statistics.median(v)])

overall = {i: best_overall(i) for i in ["ember"] + peers if any(k[0] == i for k in runs)}
if "ember" in overall and peers:
    e = overall["ember"]
    p = min(peers, key=lambda i: overall[i][0])
    ratio = overall[p][0] / e[0]
    print(f"\nEach at its best thread count: Ember {e[0]:.1f} ms ({e[1]} thr) vs {names[p]} {overall[p][0]:.1f} ms "
          f"({overall[p][1]} thr, {overall[p][2]}): {ratio:.2f}x, {'MET' if ratio >= 1.5 else 'MISSED'} (>= 1.5x)")

print("\nEvery program, layout and thread count (per-run medians, ms):\n")
print("| impl | layout | threads | median | runs |")
print("|---|---|---|---|---|")
for (impl, threads, layout), v in sorted(runs.items(), key=lambda kv: (kv[0][1], kv[0][0], kv[0][2])):
    print(f"| {names[impl]} | {layout} | {threads} | {statistics.median(v):.1f} | {', '.join(f'{x:.1f}' for x in v)} |")
EOF
echo "raw JSON lines: $JSONL; table: $OUT_DIR/table.md" >&2
