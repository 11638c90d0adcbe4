#!/bin/sh
# Ember's row-gradient embedding step and PyTorch's sparse embedding, side by side (same settings).
# Usage: bench/embedding_sparse.sh [V D batch steps threads]; needs build/bench/bench_embedding_sparse
# (ninja -C build bench_embedding_sparse).
set -e
here=$(cd "$(dirname "$0")" && pwd)
bin=${BENCH_BIN:-$here/../build/bench/bench_embedding_sparse}
"$bin" "$@"
/usr/bin/python3 "$here/embedding_sparse.py" "$@"
