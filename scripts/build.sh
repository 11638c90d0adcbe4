#!/usr/bin/env bash
# Configures and builds Ember in build/ (Release), or build-asan/ with `--sanitize`, or build-tsan/
# (ThreadSanitizer) with `--tsan`.
# Any further arguments are ninja targets (default: everything), e.g. `scripts/build.sh ember_tool`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "--sanitize" ]]; then
  shift
  # Debug (-O0 -g): the sanitized build compiles in 5 min instead of 13 at -O2 on 2 cores, and its
  # tests still run in ~80 s; the optimized code paths are tested by the Release build.
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DEMBER_SANITIZE=ON \
        -DEMBER_BUILD_BENCH=OFF -DEMBER_BUILD_EXAMPLES=OFF >/dev/null
  ninja -C build-asan "$@"
elif [[ "${1:-}" == "--tsan" ]]; then
  shift
  # ThreadSanitizer, for the data pipeline's worker threads (scripts/test.sh builds only test_data).
  # Debug for the same reason as the ASan build: it compiles much faster.
  cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DEMBER_TSAN=ON \
        -DEMBER_BUILD_BENCH=OFF -DEMBER_BUILD_EXAMPLES=OFF >/dev/null
  ninja -C build-tsan "$@"
else
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  ninja -C build "$@"
fi
