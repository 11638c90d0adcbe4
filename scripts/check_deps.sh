#!/usr/bin/env bash
# Checks that everything the build, the tests and the benchmarks need is installed, and names the
# Debian package of whatever is missing (exit status 1), so that a missing package fails here
# rather than later in CMake's configure step. Run by scripts/setup.sh after it installs.
set -uo pipefail
cd "$(dirname "$0")/.."
lib=/usr/lib/x86_64-linux-gnu
problems=()

# file  package-that-provides-it
files=(
  "/usr/bin/g++ g++"
  "/usr/bin/cmake cmake"
  "/usr/bin/ninja ninja-build"
  "/usr/bin/pkg-config pkg-config"
  "/usr/include/gtest/gtest.h libgtest-dev"
  "/usr/include/gmock/gmock.h libgtest-dev"
  "/usr/include/benchmark/benchmark.h libbenchmark-dev"
  "$lib/openblas-openmp/libopenblas.so libopenblas-openmp-dev"
  "/usr/include/oneapi/dnnl/dnnl.hpp libdnnl-dev"
  "$lib/cmake/dnnl/dnnl-config.cmake libdnnl-dev"
  "/usr/include/CL/cl.h ocl-icd-opencl-dev"
  "$lib/libOpenCL.so ocl-icd-opencl-dev"
  "/usr/include/nlohmann/json.hpp nlohmann-json3-dev"
  "/usr/include/nlohmann/json_fwd.hpp nlohmann-json3-dev"
  "/usr/include/hdf5/serial/hdf5.h libhdf5-dev"
  "/usr/include/zlib.h zlib1g-dev"
  "/usr/include/libdeflate.h libdeflate-dev"
  "$lib/libdeflate.so libdeflate-dev"
  "/usr/include/stb/stb_image.h libstb-dev"
  "/usr/include/CLI/CLI.hpp libcli11-dev"
  "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz dataset-fashion-mnist"
  "/usr/share/games/fortunes/computers fortunes"
  "/usr/bin/chromium chromium"
)
for entry in "${files[@]}"; do
  read -r path package <<<"$entry"
  [[ -e "$path" ]] || problems+=("missing $path: apt-get install $package")
done

# Python modules for the fixture generators and benchmarks (Debian's interpreter, not PATH's).
for entry in "torch python3-torch" "torchvision python3-torchvision" "PIL python3-pil" "numpy python3-numpy" "h5py python3-h5py"; do
  read -r module package <<<"$entry"
  /usr/bin/python3 -c "import $module" 2>/dev/null || problems+=("python module $module missing: apt-get install $package")
done

# CMake packages, each configured on its own so that one failing config (or a dependency it pulls
# in) is attributed to the right Debian package.
if command -v cmake >/dev/null && command -v g++ >/dev/null; then
  probe_dir=$(mktemp -d)
  trap 'rm -rf "$probe_dir"' EXIT
  for entry in "OpenMP g++" "dnnl libdnnl-dev+ocl-icd-opencl-dev" "nlohmann_json nlohmann-json3-dev" \
               "CLI11 libcli11-dev" "ZLIB zlib1g-dev" "GTest libgtest-dev" "benchmark libbenchmark-dev" \
               "HDF5 libhdf5-dev"; do
    read -r name package <<<"$entry"
    if ! cmake -S scripts/deps_probe -B "$probe_dir" -DPROBE="$name" >"$probe_dir/log" 2>&1; then
      reason=$(grep -m1 -E "Could NOT find|Could not find" "$probe_dir/log" | sed 's/^ *//')
      problems+=("CMake package $name does not load (${reason:-see cmake output}): apt-get install ${package//+/ }")
    fi
  done
fi

if ((${#problems[@]})); then
  echo "scripts/check_deps.sh: the build cannot work on this machine:" >&2
  printf '  %s\n' "${problems[@]}" >&2
  exit 1
fi
echo "scripts/check_deps.sh: every build, test and benchmark dependency is present"
