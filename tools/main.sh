#!/usr/bin/env bash
# Quick start, command 1: set up, then run the main job: the capstone (lr_find, fit_one_cycle, table, plots, model), end to end, offline.
# Arguments go to `accel-sgd` (e.g. --epochs 5, --out DIR; `baseline` for chapter 1's baseline; see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
exec .venv/bin/accel-sgd "$@"
