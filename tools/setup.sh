#!/usr/bin/env bash
# Idempotent set-up, shared by tools/main.sh and tools/test.sh:
#   1. the real Fashion-MNIST from Debian's `dataset-fashion-mnist`, and a C++ compiler for torch.compile's
#      CPU kernels (chapter 2's compiled optimizer), when missing and we may install them,
#   2. a virtual environment in .venv/ with the PyTorch builds pinned in tools/constraints.txt,
#   3. this package, editable, with its dev extras (nbdev, jupyter, pytest) and its docs extras (Sphinx,
#      myst-nb, sphinx-book-theme, Playwright) for the course website, Debian's chromium for its browser test,
#      and npm (which fetches MathJax once) when missing.
# A second run only checks: pip runs again when pyproject.toml or the constraints change.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo "$@"; else return 1; fi; }
apt_install() { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }

if [ -z "${ACCEL_SGD_DATA:-}" ] && [ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  if command -v apt-get >/dev/null && apt_install dataset-fashion-mnist; then
    echo "setup: installed Debian's dataset-fashion-mnist"
  else
    echo "setup: Fashion-MNIST is not installed and could not be installed here;" \
         "run 'sudo apt-get install dataset-fashion-mnist', set ACCEL_SGD_DATA, or let torchvision download it on first use." >&2
  fi
fi

if ! command -v g++ >/dev/null; then
  if command -v apt-get >/dev/null && apt_install g++; then
    echo "setup: installed g++ (torch.compile and chapter 12's batch-norm kernel need a C compiler on the CPU)"
  else
    echo "setup: no C++ compiler (g++) and none could be installed here; torch.compile, and with it" \
         "Optimizer(..., compile=True), will fail on the CPU until one is, and chapter 12's BatchNormReLU falls back" \
         "to its slower Python path: run 'sudo apt-get install g++'." >&2
  fi
fi

if [ -z "${ACCEL_SGD_CHROMIUM:-}" ] && ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
  if command -v apt-get >/dev/null && apt_install chromium; then
    echo "setup: installed Debian's chromium (tests/test_site.py opens the course website in it)"
  else
    echo "setup: no Chromium and none could be installed here; tests/test_site.py will be skipped until one is:" \
         "run 'sudo apt-get install chromium' or set ACCEL_SGD_CHROMIUM to a Chromium binary." >&2
  fi
fi

if ! command -v npm >/dev/null; then   # tools/build_site.sh fetches MathJax with `npm pack` once
  if command -v apt-get >/dev/null && apt_install npm; then
    echo "setup: installed npm (the course website's build fetches MathJax from the npm registry once)"
  else
    echo "setup: no npm and none could be installed here; tools/build_site.sh needs it once to fetch MathJax:" \
         "run 'sudo apt-get install npm'." >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  if ! "$PY" -c 'import ensurepip' 2>/dev/null; then   # Debian/Ubuntu ship venv's pip separately
    apt_install python3-venv || { echo "setup: $PY cannot make a venv; install python3-venv" >&2; exit 1; }
  fi
  "$PY" -m venv .venv
fi

stamp=.venv/.accel_sgd-setup
want=$(cat pyproject.toml tools/constraints.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing into .venv (PyTorch takes a few minutes the first time)"
  log=.venv/pip-install.log
  if ! { .venv/bin/python -m pip install --upgrade pip && .venv/bin/python -m pip install -c tools/constraints.txt -e '.[dev,docs]'; } >"$log" 2>&1; then
    tail -40 "$log" >&2; echo "setup: pip failed; the whole log is in $log" >&2; exit 1
  fi
  echo "$want" > "$stamp"
fi
