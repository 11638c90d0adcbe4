#!/usr/bin/env bash
# Installs everything Ember needs to build, test and benchmark on Debian 12 (run as root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
packages=(
  g++ cmake ninja-build pkg-config
  libgtest-dev libbenchmark-dev
  libopenblas-openmp-dev libdnnl-dev
  nlohmann-json3-dev libhdf5-dev zlib1g-dev libstb-dev libcli11-dev
  dataset-fashion-mnist
  python3-torch python3-numpy python3-h5py
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
