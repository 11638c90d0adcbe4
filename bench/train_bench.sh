#!/usr/bin/env bash
# Whole-training, busy-neighbour and predict benchmarks: Ember vs libtorch (C++) vs PyTorch (Python),
# interleaved, best of N. See bench/README.md ("Whole training and predict").
#
#   bench/train_bench.sh [MODE] [--no-build] [train_bench.py options]
#
#   MODE       train (default) | load | predict | all
#   --no-build reuse the binaries already built
#   options    --runs N (default 2), --models mlp,cnn, --epochs-mlp 3, --epochs-cnn 2,
#              --peer-threads 1,2, --ember-threads 1,2 (extra Ember rows, for information),
#              --load 0,1,2 (load mode: numbers of `yes > /dev/null` neighbours)
#
# Environment: BUILD_DIR (default build-bench), LIBTORCH_BUILD_DIR (default build-libtorch-bench),
# JOBS (ninja -j, default 2), OUT_DIR (raw JSON and the tables; default $BUILD_DIR/train-bench-results),
# EMBER_DATA (as for `ember train`: $EMBER_DATA/fashion-mnist is used when it exists).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
LIBTORCH_BUILD_DIR=${LIBTORCH_BUILD_DIR:-$ROOT/build-libtorch-bench}
JOBS=${JOBS:-2}
OUT_DIR=${OUT_DIR:-$BUILD_DIR/train-bench-results}
PYTHON=/usr/bin/python3  # Debian's interpreter, the one with python3-torch
source "$ROOT/bench/openblas_core.sh"  # the peers' OpenBLAS kernels (see that file)

MODE=train
if [[ $# -gt 0 && "$1" != -* ]]; then MODE=$1; shift; fi
case "$MODE" in train|load|predict|all) ;; *) echo "train_bench.sh: unknown mode '$MODE' (train, load, predict, all)" >&2; exit 2 ;; esac
BUILD=1
ARGS=()
for a in "$@"; do
  if [[ "$a" == "--no-build" ]]; then BUILD=0; else ARGS+=("$a"); fi
done

DATA=/usr/share/datasets/fashion-mnist
[[ -n "${EMBER_DATA:-}" && -d "$EMBER_DATA/fashion-mnist" ]] && DATA=$EMBER_DATA/fashion-mnist
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  if [[ ! -e "$DATA/$f.gz" && ! -e "$DATA/$f" ]]; then
    echo "train_bench.sh: Fashion-MNIST not found ($DATA/$f.gz): install Debian's dataset-fashion-mnist or set EMBER_DATA" >&2
    exit 1
  fi
done
[[ -x "$PYTHON" ]] || { echo "train_bench.sh: $PYTHON not found" >&2; exit 1; }

EMBER_BIN=$BUILD_DIR/ember
OPS_BIN=$BUILD_DIR/bench/bench_ops_bench
PREDICT_BIN=$BUILD_DIR/bench/bench_predict_bench
LIBTORCH_BIN=$LIBTORCH_BUILD_DIR/libtorch_train

if ((BUILD)); then
  echo "== building ember, bench_ops_bench, bench_predict_bench (Release) in $BUILD_DIR" >&2
  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >/dev/null
  ninja -C "$BUILD_DIR" -j"$JOBS" ember bench_ops_bench bench_predict_bench >&2
  if [[ -d /usr/lib/x86_64-linux-gnu/cmake/Torch ]]; then
    echo "== building libtorch_train in $LIBTORCH_BUILD_DIR (optional)" >&2
    if ! { cmake -S "$ROOT/bench/libtorch" -B "$LIBTORCH_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >/dev/null &&
           ninja -C "$LIBTORCH_BUILD_DIR" -j"$JOBS" libtorch_train >&2; }; then
      echo "   libtorch_train did not build; the tables will have no libtorch column" >&2
    fi
  else
    echo "== libtorch-dev not installed: no libtorch column" >&2
  fi
fi
for b in "$EMBER_BIN" "$OPS_BIN" "$PREDICT_BIN"; do
  [[ -x "$b" ]] || { echo "train_bench.sh: $b is missing: run without --no-build" >&2; exit 1; }
done
LIBTORCH_ARG=()
[[ -x "$LIBTORCH_BIN" ]] && LIBTORCH_ARG=(--libtorch "$LIBTORCH_BIN")

mkdir -p "$OUT_DIR"
# Load mode: train_bench.py starts the `yes` neighbours, stops them itself and writes their pids
# here; should it die without cleaning up, the trap stops them (only processes still named yes).
PIDS=$OUT_DIR/neighbours.pids
stop_neighbours() {
  if [[ -f "$PIDS" ]]; then
    while read -r pid; do
      [[ -n "$pid" && "$(cat "/proc/$pid/comm" 2>/dev/null)" == yes ]] && kill "$pid" 2>/dev/null || true
    done <"$PIDS"
    rm -f "$PIDS"
  fi
}
trap stop_neighbours EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
stop_neighbours

"$PYTHON" "$ROOT/bench/train_bench.py" "$MODE" --out-dir "$OUT_DIR" --data "$DATA" --ember "$EMBER_BIN" \
  --ops-bench "$OPS_BIN" --predict "$PREDICT_BIN" "${LIBTORCH_ARG[@]}" --python "$PYTHON" "${ARGS[@]}" |
  tee "$OUT_DIR/tables-$MODE.md"
