"The main command, `accel-sgd-baseline`, as a user runs it."
import subprocess
import pytest
from accel_sgd.data import find_fashion_mnist
from conftest import BIN

needs_data = pytest.mark.skipif(find_fashion_mnist() is None, reason="Fashion-MNIST is not installed here")


def run(*args):
    return subprocess.run([str(BIN/'accel-sgd-baseline'), *args], capture_output=True, text=True)


@needs_data
def test_short_run_prints_table():
    res = run('--epochs', '2', '--subset', '300', '--lr', '0.05', '--no-progress', '--cpu')
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    head = next(i for i, l in enumerate(lines) if l.split()[:2] == ['epoch', 'train_loss'])
    rows = [l.split() for l in lines[head + 1:head + 3]]
    assert [r[0] for r in rows] == ['1', '2']
    assert float(rows[1][2]) < float(rows[0][2]) + 0.05          # validation loss does not blow up
    assert 'final accuracy' in lines[-1]


@needs_data
def test_bad_arguments_say_what_is_wrong():
    res = run('--epochs', '0', '--no-progress')
    assert res.returncode == 2 and 'epochs must be a positive integer' in res.stderr, res.stderr
    res = run('--bs', '-3', '--no-progress')
    assert res.returncode == 2 and 'bs must be a positive integer' in res.stderr, res.stderr
