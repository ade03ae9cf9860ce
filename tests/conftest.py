import shutil, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent   # the .venv's bin/: nbdev-export, accel-sgd-baseline, ...


@pytest.fixture
def tree_copy(tmp_path):
    "A copy of the parts of the repository nbdev works on, to run nbdev's commands without touching the checkout."
    for name in ('nbs', 'accel_sgd'):
        shutil.copytree(ROOT/name, tmp_path/name, ignore=shutil.ignore_patterns('__pycache__', '.ipynb_checkpoints'))
    shutil.copy(ROOT/'pyproject.toml', tmp_path)
    return tmp_path
