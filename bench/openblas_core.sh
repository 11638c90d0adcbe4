# Sourced by the benchmark scripts that run PyTorch or libtorch beside Ember.
#
# Debian's OpenBLAS 0.3.21 does not recognise some newer CPUs (Intel family 6 model 207, for one)
# and falls back to its SSE3 "Prescott" kernels. PyTorch's and libtorch's dense layers and LSTM
# products go through that OpenBLAS, so on such a host they ran at a fifth of the machine's sgemm
# (30 against 133 GFLOP/s for a 1024³ product at one thread), and Ember (oneDNN's sgemm) looked
# better than it is. Here the peers get the newest kernel family the CPU can run. A caller's own
# OPENBLAS_CORETYPE is kept; the choice is printed so that a report can say it.
if [[ -z "${OPENBLAS_CORETYPE:-}" ]]; then
  openblas_detected=$(/usr/bin/python3 -c 'import ctypes
lib = ctypes.CDLL("libopenblas.so.0")
lib.openblas_get_corename.restype = ctypes.c_char_p
print(lib.openblas_get_corename().decode())' 2>/dev/null || true)
  if [[ "$openblas_detected" == Prescott ]]; then
    if grep -qw avx512f /proc/cpuinfo; then
      export OPENBLAS_CORETYPE=SkylakeX
    elif grep -qw avx2 /proc/cpuinfo; then
      export OPENBLAS_CORETYPE=Haswell
    fi
    if [[ -n "${OPENBLAS_CORETYPE:-}" ]]; then
      echo "== OpenBLAS took this CPU for a Prescott (SSE3): OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE for every program" >&2
    fi
  fi
  unset openblas_detected
fi
