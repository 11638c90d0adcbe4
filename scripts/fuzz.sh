#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang-16 (ASan + UBSan + coverage; only the library and
# the targets, in build-fuzz/) and runs each for SECONDS (default 30) on its seed corpus, one at a
# time, printing each target's execution count. Exit status 1 if any target finds a crash, leak,
# timeout or out-of-memory; the input that did it is in build-fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     e.g. scripts/fuzz.sh 600 safetensors_fuzz
#
# Needs `bash scripts/setup.sh --fuzz` (clang-16, its sanitizer/fuzzer runtimes, libomp-16).
# New corpus entries found during a run stay in build-fuzz/corpus/<target>/ (not committed); the
# committed seeds are fuzz/corpus/<corpus>/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift || true
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "scripts/fuzz.sh: SECONDS must be a number, got '$seconds'" >&2; exit 2; }

# target -> seed corpus folder under fuzz/corpus, and optional dictionary.
declare -A corpus=([safetensors_fuzz]=safetensors [idx_fuzz]=idx [idx_gz_fuzz]=idx_gz [keras_json_fuzz]=keras_json
                  [keras_json_predict_fuzz]=keras_json
                  [npy_fuzz]=npy [checkpoint_index_fuzz]=checkpoint_index [keras_h5_fuzz]=keras_h5
                  [cifar_fuzz]=cifar [csv_fuzz]=csv [npz_fuzz]=npz [event_file_fuzz]=event_file
                  [meta_graph_fuzz]=meta_graph)
declare -A dict=([safetensors_fuzz]=fuzz/safetensors.dict [keras_json_fuzz]=fuzz/keras_json.dict
                [keras_json_predict_fuzz]=fuzz/keras_json.dict)
# Targets that keep each input in a file of their own before running it (fuzz_file.hpp's ShmFile),
# PID standing for the process: where a crash left its input when libFuzzer could write none.
declare -A kept_input=([keras_h5_fuzz]=/dev/shm/ember-keras-h5-fuzz-PID.h5
                      [keras_json_predict_fuzz]=/dev/shm/ember-keras-json-predict-fuzz-PID.json)
# LeakSanitizer suppressions for leaks inside third-party libraries (see the file).
declare -A lsan=([keras_h5_fuzz]=fuzz/lsan_hdf5.supp)
# Extra libFuzzer flags. keras_h5_fuzz: libhdf5 itself can spin on a corrupt global heap; the
# child-process check (src/io/hdf5_check.cpp) cuts that at 3 s of CPU time, which on a busy machine
# can still pass libFuzzer's wall-clock -timeout (an input is opened twice: 6 s of CPU, 18 s of wall
# time measured next to two other jobs), so it gets a longer timeout, runs in fork mode and counts
# timeouts (each one so far was such an input: `ember predict --model FILE.h5` reports "libhdf5 hung").
declare -A extra=([keras_h5_fuzz]="-fork=1 -ignore_timeouts=1 -timeout=30")
targets=("$@")
((${#targets[@]})) || targets=(safetensors_fuzz idx_fuzz idx_gz_fuzz keras_json_fuzz npy_fuzz checkpoint_index_fuzz
                              cifar_fuzz csv_fuzz npz_fuzz keras_h5_fuzz meta_graph_fuzz)
for t in "${targets[@]}"; do
  [[ -n "${corpus[$t]:-}" ]] || { echo "scripts/fuzz.sh: unknown target '$t' (known: ${!corpus[*]})" >&2; exit 2; }
done

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
start=$(date +%s)
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++-16 -DCMAKE_C_COMPILER=clang-16 \
  -DEMBER_FUZZ=ON -DEMBER_BUILD_BENCH=OFF -DEMBER_BUILD_EXAMPLES=OFF "${launcher[@]}" >/dev/null
ninja -C build-fuzz -j2 "${targets[@]}"
echo "fuzz build: $(($(date +%s) - start)) s"

status=0
for t in "${targets[@]}"; do
  work=build-fuzz/corpus/$t
  artifacts=build-fuzz/artifacts/$t
  mkdir -p "$work" "$artifacts"
  args=(-max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 -artifact_prefix="$artifacts/")
  [[ -n "${dict[$t]:-}" ]] && args+=(-dict="${dict[$t]}")
  [[ -n "${extra[$t]:-}" ]] && read -r -a more <<<"${extra[$t]}" && args+=("${more[@]}")
  log=build-fuzz/$t.log
  # detect_leaks: a leak is a finding too. The caching allocator is off under ASan (core/sanitizers.hpp).
  lsan_options=
  [[ -n "${lsan[$t]:-}" ]] && lsan_options=suppressions=$PWD/${lsan[$t]}
  sanitizer_env=(ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 LSAN_OPTIONS=$lsan_options)
  found=0
  env "${sanitizer_env[@]}" "build-fuzz/$t" "${args[@]}" "$work" "fuzz/corpus/${corpus[$t]}" >"$log" 2>&1 || found=1
  # Fork mode: the last "#N:" line (its log also holds the stats of an inner process that crashed).
  runs=$(grep -ao '^#[0-9]*: ' "$log" | tail -1 | tr -dc '0-9' || true)
  [[ -n $runs ]] || runs=$(grep -ao 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  counts=
  [[ -n "${extra[$t]:-}" ]] && counts=" ($(grep -ao 'oom/timeout/crash: [0-9/]*' "$log" | tail -1 || echo 'oom/timeout/crash: ?'))"
  if ((!found)); then
    echo "$t: $runs executions in ${seconds} s, corpus $(ls "$work" | wc -l) files: ok$counts"
    continue
  fi
  # The inputs the log names. Only those: the HDF5 check's forked children (src/io/hdf5_check.cpp)
  # inherit libFuzzer's crash and malloc-limit handlers, so they leave crash-/oom- files in
  # $artifacts for inputs that were refused cleanly; their stderr is /dev/null, so no log names them.
  mapfile -t inputs < <(grep -ao 'Test unit written to [^ ]*' "$log" | awk '{print $5}' | sort -u)
  # When the crash report itself crashed ("nested bug"), libFuzzer wrote no input; a target in
  # kept_input still has it in its file, named after the process that died.
  if ((${#inputs[@]} == 0)) && [[ -n "${kept_input[$t]:-}" ]]; then
    for pid in $(grep -ao '^==[0-9]*==' "$log" | tr -dc '0-9\n' | sort -u); do
      kept=${kept_input[$t]/PID/$pid}
      if [[ -f $kept ]]; then
        cp "$kept" "$artifacts/crash-unnamed-$pid"
        inputs+=("$artifacts/crash-unnamed-$pid")
      fi
    done
  fi
  # A finding counts when its input fails again on its own (up to 3 replays, the run's own flags), as
  # CIFuzz and ClusterFuzz count them: once (stop 38) CI's keras_h5_fuzz run failed and 26 minutes of
  # runs here found nothing. One that does not reproduce, or has no input to replay, is still printed
  # in full below.
  reproduced=0
  replays=()
  timeout=$(printf '%s\n' "${args[@]}" | grep -- '^-timeout=' | tail -1)
  for f in "${inputs[@]}"; do
    [[ -f $f ]] || continue
    for try in 1 2 3; do
      if env "${sanitizer_env[@]}" "build-fuzz/$t" -rss_limit_mb=2048 "$timeout" "$f" >"$log.replay" 2>&1; then
        replays+=("replay $try of $(basename "$f"): ran clean")
      else
        replays+=("replay $try of $(basename "$f"): failed again"); reproduced=1; break
      fi
    done
  done
  if ((reproduced)); then
    result="FOUND SOMETHING (see $log and $artifacts/)"
    status=1
  elif ((${#inputs[@]} == 0)); then
    result="a crash with no input to replay (printed below; not counted)"
  else
    result="a finding that did not reproduce in 3 replays of its input (printed below; not counted)"
  fi
  echo "$t: $runs executions in ${seconds} s, corpus $(ls "$work" | wc -l) files: $result$counts"
  # CI keeps only what this script prints, not build-fuzz/: print the report (in fork mode it is the
  # inner process's log, which libFuzzer copies into ours) and each input, gzip + base64 on one
  # line, so that a finding on a machine we cannot see can be replayed here:
  #   echo 'BASE64' | base64 -d | gunzip > input && build-fuzz/TARGET input
  grep -a -E '^==[0-9]+== ?(ERROR|WARNING: .*Sanitizer)|^SUMMARY:|^ *#[0-9]+ 0x|runtime error:|^INFO: exiting|Test unit written|^(MS|artifact_prefix):' "$log" |
    grep -av 'external symbolizer' | head -60 | sed "s/^/  $t| /" || true
  if ((${#inputs[@]} == 0)); then
    echo "  $t| no input named in the log; its last lines:"
    tail -20 "$log" | sed "s/^/  $t| /"
  fi
  for f in "${inputs[@]}"; do
    [[ -f $f ]] || continue
    encoded=$(gzip -9c "$f" | base64 -w0)
    if ((${#encoded} <= 65536)); then echo "  $t| input $(basename "$f") (gzip+base64): $encoded"
    else echo "  $t| input $(basename "$f"): $(stat -c %s "$f") bytes, too big to print"; fi
  done
  for r in "${replays[@]}"; do echo "  $t| $r"; done
done
exit $status
