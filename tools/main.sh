#!/usr/bin/env bash
# Quick start, command 1: set up, then run the main job (chapter 1's baseline training, end to end, offline).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
exec .venv/bin/accel-sgd-baseline "$@"
