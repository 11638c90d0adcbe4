#!/usr/bin/env bash
# The main job: installs dependencies, builds, and trains on Fashion-MNIST.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
./build/examples/example_softmax_regression
