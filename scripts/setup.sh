#!/usr/bin/env bash
# Installs everything Ember needs to build, test and benchmark on Debian 12 (run as root), then
# checks that every header, library and CMake package the build needs is really there, naming
# the Debian package of anything missing.
#
# Packages are installed with --no-install-recommends, so a package that the build needs only
# because another one *recommends* it must be listed here by name: libdnnl-dev's CMake config
# calls find_package(OpenCL), yet Debian's libdnnl-dev only recommends ocl-icd-opencl-dev. A
# machine where it was once installed by hand hides the missing line; the checks below do not.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
packages=(
  g++ cmake ninja-build pkg-config
  libgtest-dev libbenchmark-dev
  libopenblas-openmp-dev libdnnl-dev ocl-icd-opencl-dev
  nlohmann-json3-dev libhdf5-dev zlib1g-dev libdeflate-dev libstb-dev libcli11-dev
  dataset-fashion-mnist
  fortunes  # English text for the language-model examples (/usr/share/games/fortunes, 2.5 MB)
  python3-torch python3-torchvision python3-pil python3-numpy python3-h5py
  chromium  # headless: the HTML report's browser test (tests/tools/report_browser.hpp)
)
# --fuzz: also the clang toolchain for the libFuzzer targets in fuzz/ (not needed to build or test).
# --bench: also libtorch's C++ headers, for the libtorch columns of bench/ (run_all.sh, train_bench.sh).
fuzz=0
for arg in "$@"; do
  case "$arg" in
    --fuzz) fuzz=1; packages+=(clang-16 libclang-rt-16-dev libfuzzer-16-dev libomp-16-dev) ;;
    --bench) packages+=(libtorch-dev) ;;
    *) echo "scripts/setup.sh: unknown option '$arg' (expected --fuzz and/or --bench)" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

bash scripts/check_deps.sh
if ((fuzz)); then
  for tool in /usr/bin/clang++-16 /usr/lib/llvm-16/lib/clang/16/lib/linux/libclang_rt.fuzzer-x86_64.a; do
    [[ -e "$tool" ]] || { echo "scripts/setup.sh: missing $tool (clang-16 / libclang-rt-16-dev)" >&2; exit 1; }
  done
fi
