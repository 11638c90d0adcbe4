#!/usr/bin/env bash
# Cost of writing TensorBoard events (issue 13): `ember train` with and without `--tensorboard`
# (the tool's settings: epoch scalars, a histogram of every weight each epoch, the graph), runs
# interleaved, the same seed and threads. Prints each run's wall time and its per-epoch lines, then
# the best time of each kind and the relative cost (tensorboard - plain) / plain.
#
#   bench/tensorboard_cost.sh [--no-build] [--runs N] [--model cnn] [--epochs 2] [--data fashion-mnist] [--threads T]
#
# Smoke test (not a measurement): bench/tensorboard_cost.sh --runs 1 --model mlp --epochs 1
# Environment: BUILD_DIR (default build-bench).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
BUILD=1 RUNS=3 MODEL=cnn EPOCHS=2 DATA=fashion-mnist THREADS=2
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-build) BUILD=0 ;;
    --runs) RUNS=$2; shift ;;
    --model) MODEL=$2; shift ;;
    --epochs) EPOCHS=$2; shift ;;
    --data) DATA=$2; shift ;;
    --threads) THREADS=$2; shift ;;
    *) echo "tensorboard_cost.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
  shift
done
if ((BUILD)); then
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  ninja -C "$BUILD_DIR" ember_tool >&2
fi
EMBER="$BUILD_DIR/ember"
WORK=$(mktemp -d /tmp/ember-tb-cost.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
echo "== tensorboard cost: $MODEL on $DATA, $EPOCHS epochs, $THREADS threads, $(date -u '+%F %T UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
best_plain="" best_tb=""
for ((r = 1; r <= RUNS; ++r)); do
  for kind in plain tensorboard; do
    extra=()
    [[ $kind == tensorboard ]] && extra=(--tensorboard "$WORK/logs-$r")
    t0=$(date +%s.%N)
    "$EMBER" train --model "$MODEL" --data "$DATA" --epochs "$EPOCHS" --threads "$THREADS" --seed 1 --verbose 2 \
      "${extra[@]}" --out "$WORK/out-$kind-$r" >"$WORK/log" 2>&1 || { cat "$WORK/log" >&2; exit 1; }
    t1=$(date +%s.%N)
    secs=$(awk "BEGIN { print $t1 - $t0 }")
    printf '   run %d %-11s %8.2f s\n' "$r" "$kind" "$secs"
    grep '^Epoch' "$WORK/log" | sed 's/^/      /'
    if [[ $kind == plain ]]; then
      best_plain=$(awk "BEGIN { b = \"$best_plain\"; print (b == \"\" || $secs < b + 0) ? $secs : b }")
    else
      best_tb=$(awk "BEGIN { b = \"$best_tb\"; print (b == \"\" || $secs < b + 0) ? $secs : b }")
    fi
  done
done
du -sh "$WORK/logs-1" | sed 's/^/   event files: /'
printf 'best: plain %.2f s, tensorboard %.2f s, cost %+.2f %%\n' "$best_plain" "$best_tb" \
  "$(awk "BEGIN { print ($best_tb - $best_plain) * 100 / $best_plain }")"
