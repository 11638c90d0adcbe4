#!/usr/bin/env bash
# Loader benchmark (issue 12): decode + augment + batch of the 60,000 Fashion-MNIST training PNGs,
# Ember's input pipeline (bench_loader_bench) vs torch.utils.data.DataLoader + torchvision
# (torch_loader.py), the same work with the same number of workers, interleaved, best of N.
#
#   bench/loader_bench.sh [--no-build] [--runs N] [--workers 1,2]
#
# Environment: BUILD_DIR (default build-bench), PNG_DIR (default /tmp/ember-fmnist-png; written by
# bench/make_png_folder.py when missing).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
PNG_DIR=${PNG_DIR:-/tmp/ember-fmnist-png}
PYTHON=/usr/bin/python3
source "$ROOT/bench/openblas_core.sh"  # the peers' OpenBLAS kernels (see that file)
BUILD=1 RUNS=2 WORKERS=1,2
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-build) BUILD=0 ;;
    --runs) RUNS=$2; shift ;;
    --workers) WORKERS=$2; shift ;;
    *) echo "loader_bench.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
  shift
done
if ((BUILD)); then
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  ninja -C "$BUILD_DIR" bench_loader_bench >&2
fi
[[ -d "$PNG_DIR/train" ]] || "$PYTHON" "$ROOT/bench/make_png_folder.py" "$PNG_DIR"
echo "== loader: $(date -u '+%F %T UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
declare -A best
for w in ${WORKERS//,/ }; do
  for ((r = 1; r <= RUNS; ++r)); do
    e=$("$BUILD_DIR/bench/bench_loader_bench" "$PNG_DIR/train" --workers "$w")
    t=$("$PYTHON" "$ROOT/bench/torch_loader.py" "$PNG_DIR/train" --workers "$w")
    echo "   workers $w run $r: ember $e" >&2
    echo "   workers $w run $r: torch $t" >&2
    for kind in ember torch; do
      line=$([[ $kind == ember ]] && echo "$e" || echo "$t")
      rate=$(sed -E 's/.*"images_per_s": ([0-9.]+).*/\1/' <<<"$line")
      key="$kind@$w"
      if [[ -z "${best[$key]:-}" ]] || awk -v a="$rate" -v b="${best[$key]}" 'BEGIN{exit !(a>b)}'; then best[$key]=$rate; fi
    done
  done
done
echo "== after: $(date -u '+%F %T UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo
echo "| workers | Ember images/s (best of $RUNS) | DataLoader + torchvision images/s | Ember ÷ PyTorch |"
echo "|---|---|---|---|"
for w in ${WORKERS//,/ }; do
  awk -v w="$w" -v e="${best[ember@$w]}" -v t="${best[torch@$w]}" 'BEGIN{printf "| %s | %.0f | %.0f | %.2f× |\n", w, e, t, e / t}'
done
