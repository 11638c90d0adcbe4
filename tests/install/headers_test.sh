#!/usr/bin/env bash
# Every public header compiles on its own (as the first and only include of a file), against the
# installed tree: a header that leans on an include its users happen to make first fails here.
# Usage: headers_test.sh PREFIX   (run by CTest after the install test has filled PREFIX)
set -uo pipefail
prefix=$1
cd "$prefix/include"
headers=$(find ember -name '*.hpp' | sort)
[[ -n "$headers" ]] || { echo "no headers under $prefix/include"; exit 1; }
failed=0
check() {
  printf '#include <%s>\n' "$1" | c++ -std=c++20 -fopenmp -Wall -Wextra -Werror -Wno-unused-parameter \
      -I"$prefix/include" -x c++ -fsyntax-only - 2>&1 || { echo "FAILED: $1 does not compile alone"; return 1; }
}
export -f check
export prefix
echo "$headers" | xargs -P 2 -I{} bash -c 'check {}' || failed=1
count=$(echo "$headers" | wc -l)
if ((failed)); then exit 1; fi
echo "all $count public headers compile alone"
