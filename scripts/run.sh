#!/usr/bin/env bash
# The main job: installs dependencies, builds, and trains the built-in MLP on Fashion-MNIST.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
./build/ember train --model mlp --data fashion-mnist --epochs 10 --out out/mlp
