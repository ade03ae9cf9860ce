"Whatever a user imports first, in a fresh interpreter, every method the course adds to `Learner` is there."
import subprocess, sys
import pytest

MODULES = ['data', 'quiz', 'sgd_loop', 'optimizer', 'learner', 'schedule', 'hooks', 'batchnorm', 'lr_find', 'transfer']
# Methods later chapters add to Learner with `@patch`.
PATCHED = ['fit_one_cycle', 'lr_find', 'freeze', 'unfreeze', 'freeze_to', 'fine_tune']


@pytest.mark.parametrize('module', MODULES)
def test_one_import_gives_every_learner_method(module):
    code = (f"import accel_sgd.{module}\nfrom accel_sgd.learner import Learner\n"
            f"missing = [m for m in {PATCHED!r} if not hasattr(Learner, m)]\n"
            "assert not missing, f'Learner lacks {missing}'\n")
    res = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert res.returncode == 0, f"after `import accel_sgd.{module}` alone:\n{res.stderr}"
