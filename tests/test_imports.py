"Whatever a user imports first, in a fresh interpreter, every method the course adds to `Learner` is there."
import subprocess, sys
import pytest

MODULES = ['data', 'quiz', 'sgd_loop', 'optimizer', 'fast', 'learner', 'schedule', 'hooks', 'batchnorm', 'lr_find', 'transfer', 'optimizers_beyond', 'metrics', 'interpret', 'tensorboard', 'anomaly', 'checkpoint', 'scale', 'capstone']
# Methods later chapters add to Learner with `@patch`.
PATCHED = ['fit_one_cycle', 'lr_find', 'freeze', 'unfreeze', 'freeze_to', 'fine_tune', 'resume_from']


@pytest.mark.parametrize('module', MODULES)
def test_one_import_gives_every_learner_method(module):
    code = (f"import accel_sgd.{module}\nfrom accel_sgd.learner import Learner\n"
            f"missing = [m for m in {PATCHED!r} if not hasattr(Learner, m)]\n"
            "assert not missing, f'Learner lacks {missing}'\n")
    res = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert res.returncode == 0, f"after `import accel_sgd.{module}` alone:\n{res.stderr}"


def test_all_gives_every_public_name():
    "`from accel_sgd.all import *` gives every name in every module's `__all__`, and lists every module."
    import pkgutil, accel_sgd
    modules = [m.name for m in pkgutil.iter_modules(accel_sgd.__path__) if not m.name.startswith('_') and m.name not in ('all', 'questions')]   # questions: quiz data, found by quiz.questionnaires()
    code = ("import importlib\nns = {}\nexec('from accel_sgd.all import *', ns)\nmissing = []\n"
            f"for m in {modules!r}:\n"
            "    mod = importlib.import_module('accel_sgd.' + m)\n"
            "    missing += [f'{m}.{n}' for n in getattr(mod, '__all__', []) if n not in ns]\n"
            "assert not missing, f'accel_sgd.all lacks {missing}'\n")
    res = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_modules_listed_in_init():
    "The package's __init__ imports every module, so no chapter's patches depend on what a user imports."
    import pkgutil, accel_sgd
    import ast
    tree = ast.parse(open(accel_sgd.__path__[0] + '/__init__.py').read())
    imported = {a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 1 for a in node.names}
    modules = [m.name for m in pkgutil.iter_modules(accel_sgd.__path__) if not m.name.startswith('_') and m.name not in ('all', 'questions')]   # questions: quiz data, found by quiz.questionnaires()
    missing = [m for m in modules if m not in imported]
    assert not missing, f"accel_sgd/__init__.py does not import {missing}"


def test_no_public_name_in_two_modules():
    "Two modules exporting one name would make `from accel_sgd.all import *` silently keep only the later one."
    import collections, importlib
    owners = collections.defaultdict(list)
    for m in MODULES:
        for n in getattr(importlib.import_module(f'accel_sgd.{m}'), '__all__', []): owners[n].append(m)
    twice = {n: ms for n, ms in owners.items() if len(ms) > 1}
    assert not twice, f"names exported by more than one module: {twice}"
