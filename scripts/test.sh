#!/usr/bin/env bash
# The whole test suite: installs dependencies, builds, runs every test, then runs the suite again
# under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
(cd build && ctest --output-on-failure -j2 --timeout 600)
bash scripts/build.sh --sanitize
# The sanitizer build skips the slow end-to-end training checks (label: slow).
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure -j2 --timeout 900 -LE slow)
