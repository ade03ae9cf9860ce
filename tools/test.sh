#!/usr/bin/env bash
# Quick start, command 2: set up, then run every notebook through nbdev-test and tests/ through pytest.
# The last line printed is "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
exec .venv/bin/python tools/run_tests.py "$@"
