#!/usr/bin/env bash
# A separate virtual environment, .venv-fastai/, for bench/capstone_vs_fastai.py's fastai side.
#
# Why separate: fastai 2.8 requires fastcore<1.9 and torch<2.9, while this project uses fastcore 2.x (nbdev 3)
# and the PyTorch pinned in tools/constraints.txt. So this venv gets the SAME torch/torchvision as .venv
# (the pins in tools/constraints.txt), then fastai with --no-deps, then the dependencies fastai needs to
# import and train, at versions fastai accepts (fastcore 1.8.x). Only the bench's fastai subprocess runs here;
# accel_sgd itself is not installed in it. Idempotent: a second run only checks.
#   FASTAI=<requirement or wheel path> picks the fastai to install (default fastai==2.8.4).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
FASTAI=${FASTAI:-fastai==2.8.4}
V=.venv-fastai

[ -x $V/bin/python ] || "$PY" -m venv $V
stamp=$V/.fastai-setup
want=$(printf '%s\n' "$FASTAI" | cat - tools/constraints.txt "$0" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "fastai_venv: installing torch (tools/constraints.txt) and $FASTAI into $V"
  log=$V/pip-install.log
  pip() { $V/bin/python -m pip "$@"; }
  if ! { pip install --upgrade pip &&
         pip install -c tools/constraints.txt torch torchvision &&
         pip install --no-deps "$FASTAI" &&
         # what `import fastai.basics` and fastai.vision need, at versions fastai 2.8 accepts; not spacy (fastai.text only)
         pip install -c tools/constraints.txt 'fastcore>=1.8,<1.9' 'fasttransform>=0.0.2' 'fastprogress>=0.2.4' \
             'fastdownload>=0.0.5,<2' plum-dispatch pandas matplotlib 'pillow>=9' pyyaml requests packaging \
             cloudpickle scikit-learn scipy; } >"$log" 2>&1; then
    tail -40 "$log" >&2; echo "fastai_venv: pip failed; the whole log is in $log" >&2; exit 1
  fi
  echo "$want" > "$stamp"
fi
$V/bin/python - <<'EOF'
import importlib.metadata as md
print('fastai_venv: ready:', ', '.join(f'{p} {md.version(p)}' for p in ('fastai', 'fastcore', 'torch', 'torchvision')))
EOF
