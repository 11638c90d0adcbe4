#!/usr/bin/env bash
# The whole test suite: installs dependencies, builds, runs every test (except the opt-in label
# `long`), then runs the suite again under AddressSanitizer + UndefinedBehaviorSanitizer, then the
# data tests under ThreadSanitizer, then runs
# every libFuzzer target in fuzz/ for 30 s on its seed corpus (clang-16: setup.sh --fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --fuzz
bash scripts/build.sh
# label long: the opt-in checks of several minutes each (run them with `ctest -L long`).
(cd build && ctest --output-on-failure -j2 --timeout 600 -LE long)
bash scripts/build.sh --sanitize
# The sanitizer build skips the slow end-to-end training checks (label: slow).
# allocator_may_return_null: a failed allocation returns null as in a normal build (a test checks
# that a tensor too large for memory becomes an ember::MemoryError, not an abort).
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure -j2 --timeout 900 -LE slow)
# The data tests (the Dataset pipeline's worker threads: early exit, exceptions, parallel map,
# prefetch) under ThreadSanitizer; only test_data and what it links are built. No suppressions are
# needed: the workers synchronise with std::mutex / condition_variable, which TSan sees, and they
# run kernels with one OpenMP thread (libgomp, not built with TSan, could report false races).
bash scripts/build.sh --tsan test_data
# OMP_NUM_THREADS=1: the kernels' OpenMP threads (libgomp and OpenBLAS, not built with TSan) are
# invisible to it, so their work looked like races (seen in LAPACK dsyevd under ImageDataGenerator.fit);
# the pipeline's own threads, which this stage is for, are std::threads and stay checked.
(cd build-tsan && OMP_NUM_THREADS=1 TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 ctest --output-on-failure -j2 --timeout 900 -L '^data$')
# The fuzz targets, briefly (their long runs are by hand: fuzz/README.md). Builds only the library
# and the targets with clang.
bash scripts/fuzz.sh 30
