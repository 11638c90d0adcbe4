#!/usr/bin/env bash
# The main job: installs dependencies, builds, and trains the built-in CNN on Fashion-MNIST
# (5 epochs: about 2.5 minutes on 2 cores, test accuracy ≈ 0.917).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh ember_tool  # the tool only; scripts/test.sh builds the rest
./build/ember train --model cnn --data fashion-mnist --epochs 5 --out out/cnn
