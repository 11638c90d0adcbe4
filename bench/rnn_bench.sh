#!/usr/bin/env bash
# Issue 15: one training step of the sequential Fashion-MNIST model (28 steps of 28 pixels,
# LSTM(128) / GRU(128) / SimpleRNN(128) -> Dense(10), Adam, batch 128) — Ember vs PyTorch,
# interleaved in one run. See bench/README.md ("Recurrent training step").
#
#   bench/rnn_bench.sh [--no-build] [--runs R] [--threads 1,2] [--cells lstm,gru,rnn] [--steps N]
#                      [--warmup W] [--batch B]
#
# Defaults: 3 runs, 1 and 2 threads, all three cells, 20 timed steps after 3 warm-up steps per
# process, batch 128. Each run starts, per thread count and cell, Ember then PyTorch (one process
# each, A B A B ...); a program prints one JSON line (the median of its timed steps), kept in
# $OUT_DIR/runs.jsonl. The table gives, per cell and thread count, the median over the runs of those
# medians and the ratio PyTorch / Ember (above 1 Ember is faster; the issue wants >= 1.5x for LSTM).
#
# Environment: BUILD_DIR (default build-bench), JOBS (ninja -j, default 2), OUT_DIR (default
# $BUILD_DIR/rnn-bench-results).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
JOBS=${JOBS:-2}
OUT_DIR=${OUT_DIR:-$BUILD_DIR/rnn-bench-results}
PYTHON=/usr/bin/python3  # Debian's interpreter, the one with python3-torch
source "$ROOT/bench/openblas_core.sh"  # the peers' OpenBLAS kernels (see that file)

usage() {
  echo "usage: bench/rnn_bench.sh [--no-build] [--runs R] [--threads 1,2] [--cells lstm,gru,rnn] [--steps N]" \
       "[--warmup W] [--batch B]" >&2
  exit 2
}
BUILD=1 RUNS=3 THREADS=1,2 CELLS=lstm,gru,rnn STEPS=20 WARMUP=3 BATCH=128
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-build) BUILD=0; shift; continue ;;
    --runs|--threads|--cells|--steps|--warmup|--batch) [[ $# -ge 2 ]] || usage ;;
    *) echo "rnn_bench.sh: unknown option '$1'" >&2; usage ;;
  esac
  case "$1" in
    --runs) RUNS=$2 ;; --threads) THREADS=$2 ;; --cells) CELLS=$2 ;; --steps) STEPS=$2 ;; --warmup) WARMUP=$2 ;;
    --batch) BATCH=$2 ;;
  esac
  shift 2
done
for n in "$RUNS" "$STEPS" "$BATCH"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "rnn_bench.sh: --runs, --steps and --batch expect positive integers, got '$n'" >&2; exit 2; }
done
[[ "$WARMUP" =~ ^[0-9]+$ ]] || { echo "rnn_bench.sh: --warmup expects an integer >= 0, got '$WARMUP'" >&2; exit 2; }
[[ "$THREADS" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || { echo "rnn_bench.sh: --threads expects a list like 1,2, got '$THREADS'" >&2; exit 2; }
for c in ${CELLS//,/ }; do
  [[ "$c" == lstm || "$c" == gru || "$c" == rnn ]] || { echo "rnn_bench.sh: --cells takes lstm, gru and/or rnn, got '$c'" >&2; exit 2; }
done

EMBER_BIN=$BUILD_DIR/bench/bench_rnn_step
if ((BUILD)); then
  echo "== building bench_rnn_step (Release) in $BUILD_DIR" >&2
  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >/dev/null
  ninja -C "$BUILD_DIR" -j"$JOBS" bench_rnn_step >&2
fi
[[ -x "$EMBER_BIN" ]] || { echo "rnn_bench.sh: $EMBER_BIN is missing: run without --no-build" >&2; exit 1; }
HAVE_TORCH=1
"$PYTHON" -c "import torch" 2>/dev/null || { HAVE_TORCH=0; echo "== no torch for $PYTHON: no PyTorch column" >&2; }

mkdir -p "$OUT_DIR"
JSONL=$OUT_DIR/runs.jsonl
: >"$JSONL"
echo "== machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores; load:$(uptime | sed 's/.*load average://')" >&2

# One program run: its JSON line, tagged with the run number, appended to runs.jsonl.
run() {
  local r=$1; shift
  echo "-- run $r: $*" >&2
  local line
  line=$("$@" --steps "$STEPS" --warmup "$WARMUP" --batch "$BATCH") || { echo "rnn_bench.sh: failed: $*" >&2; exit 1; }
  echo "   $line" >&2
  echo "{\"run\": $r, ${line#\{}" >>"$JSONL"
}
for ((r = 1; r <= RUNS; ++r)); do
  for t in ${THREADS//,/ }; do
    for c in ${CELLS//,/ }; do
      run "$r" "$EMBER_BIN" --threads "$t" --cell "$c"
      if ((HAVE_TORCH)); then run "$r" "$PYTHON" "$ROOT/bench/rnn_step.py" --threads "$t" --cell "$c"; fi
    done
  done
done
echo "== load after the runs:$(uptime | sed 's/.*load average://')" >&2

"$PYTHON" - "$JSONL" <<'PYEOF' | tee "$OUT_DIR/table.md"
import json, statistics, sys

rows = [json.loads(line) for line in open(sys.argv[1])]
runs = {}  # (impl, cell, threads) -> per-run median step times (ms)
params = {}
for r in rows:
    runs.setdefault((r["impl"], r["cell"], r["threads"]), []).append(r["step_ms"])
    params[(r["impl"], r["cell"])] = r["params"]
batch = rows[0]["batch"]
names = {"lstm": "LSTM(128)", "gru": "GRU(128)", "rnn": "SimpleRNN(128)"}
print(f"Sequential Fashion-MNIST training step (28 steps x 28 features -> recurrent 128 units -> Dense 10), "
      f"batch {batch}, Adam 1e-3, sparse cross-entropy from logits. Step = median over "
      f"{max(r['run'] for r in rows)} runs of each process's median of {rows[0]['steps']} timed steps. "
      "PyTorch / Ember above 1.00x: Ember is faster; the issue wants >= 1.5x (LSTM).\n")
print("| cell | threads | Ember ms | PyTorch ms | PyTorch / Ember | >= 1.5x | Ember runs | PyTorch runs |")
print("|---|---|---|---|---|---|---|---|")
for cell in ("lstm", "gru", "rnn"):
    for threads in sorted({k[2] for k in runs if k[1] == cell}):
        e, p = runs.get(("ember", cell, threads)), runs.get(("pytorch", cell, threads))
        if not e:
            continue
        em = statistics.median(e)
        cells = [names[cell], str(threads), f"{em:.1f}"]
        if p:
            pm = statistics.median(p)
            cells += [f"{pm:.1f}", f"{pm / em:.2f}x", "MET" if pm / em >= 1.5 else "MISSED"]
        else:
            cells += ["-", "-", "-"]
        cells += [", ".join(f"{x:.1f}" for x in e), ", ".join(f"{x:.1f}" for x in p) if p else "-"]
        print("| " + " | ".join(cells) + " |")
print("\nParameters: " + "; ".join(f"{names[c]} Ember {params[('ember', c)]:,}" +
                                   (f", PyTorch {params[('pytorch', c)]:,}" if ("pytorch", c) in params else "")
                                   for c in ("lstm", "gru", "rnn") if ("ember", c) in params) +
      " (PyTorch's LSTM and RNN carry two bias vectors).")
PYEOF
echo "raw JSON lines: $JSONL; table: $OUT_DIR/table.md" >&2
