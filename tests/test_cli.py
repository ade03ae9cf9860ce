"The main command, `accel-sgd-baseline`, as a user runs it."
import subprocess
import pytest
from accel_sgd.data import find_fashion_mnist
from accel_sgd.sgd_loop import main
from conftest import BIN

needs_data = pytest.mark.skipif(find_fashion_mnist() is None, reason="Fashion-MNIST is not installed here")


def run(*args):
    return subprocess.run([str(BIN/'accel-sgd-baseline'), *args], capture_output=True, text=True)


@needs_data
def test_short_run_prints_table(tmp_path):
    res = run('--epochs', '2', '--subset', '300', '--lr', '0.05', '--no-progress', '--cpu', '--plot', str(tmp_path/'loss.png'))
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    head = next(i for i, l in enumerate(lines) if l.split()[:2] == ['epoch', 'train_loss'])
    rows = [l.split() for l in lines[head + 1:head + 3]]
    assert [r[0] for r in rows] == ['0', '1']                    # numbered from 0, as the Learner numbers epochs
    assert float(rows[1][2]) < float(rows[0][2]) + 0.05          # validation loss does not blow up
    assert 'final accuracy' in lines[-2] and lines[-1] == f"loss plot saved to {tmp_path/'loss.png'}"
    assert (tmp_path/'loss.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


@needs_data
def test_bad_arguments_say_what_is_wrong():
    res = run('--epochs', '0', '--no-progress')
    assert res.returncode == 2 and 'epochs must be a positive integer' in res.stderr, res.stderr
    res = run('--bs', '-3', '--no-progress')
    assert res.returncode == 2 and 'bs must be a positive integer' in res.stderr, res.stderr


def refused(capsys, *args):
    "Run the command in this process (no torch start-up per case); its exit status and stderr."
    with pytest.raises(SystemExit) as e: main([*args, '--epochs', '1', '--subset', '100', '--no-progress', '--cpu'])
    out, err = capsys.readouterr()
    assert 'epoch' not in out, out                                 # refused before training
    return e.value.code, err


def test_learning_rate_that_cannot_train_is_refused(capsys):
    "`--lr nan` used to print a table of nan and exit 0; now it stops before loading anything."
    res = run('--lr', 'nan', '--epochs', '1', '--subset', '100', '--no-progress', '--cpu')
    assert res.returncode == 2 and 'lr must be a finite positive number' in res.stderr, (res.returncode, res.stdout, res.stderr)
    assert 'epoch' not in res.stdout and 'Traceback' not in res.stderr
    for lr in ('inf', '-inf', '0', '-0.1'):
        code, err = refused(capsys, f'--lr={lr}')
        assert code == 2 and 'lr must be a finite positive number' in err, (lr, code, err)


def test_plot_path_is_checked_before_training(capsys, tmp_path):
    "A plot that cannot be saved used to fail with a traceback after the whole training; now it fails before it."
    res = run('--plot', '/nonexistent/x.png', '--epochs', '1', '--subset', '100', '--no-progress', '--cpu')
    assert res.returncode == 2 and 'the directory /nonexistent does not exist' in res.stderr, (res.returncode, res.stderr)
    assert 'epoch' not in res.stdout and 'Traceback' not in res.stderr
    for plot, says in ((tmp_path, 'is a directory'), (tmp_path/'loss.txt', 'end the file name with one of')):
        code, err = refused(capsys, '--plot', str(plot))
        assert code == 2 and says in err, (plot, code, err)


@needs_data
def test_fit_baseline_takes_numpy_and_torch_scalars():
    import numpy as np, torch
    from accel_sgd.sgd_loop import fit_baseline
    kw = dict(subset=200, progress=False, verbose=False, device='cpu')
    ref = fit_baseline(epochs=1, lr=0.05, **kw).rows
    for epochs, lr in ((np.int64(1), np.float32(0.05)), (torch.tensor(1), torch.tensor(0.05, dtype=torch.float64))):
        rows = fit_baseline(epochs=epochs, lr=lr, **{**kw, 'subset': np.int64(200)}).rows
        assert [r['valid_loss'] for r in rows] == [r['valid_loss'] for r in ref]
    with pytest.raises(ValueError, match='lr must be a finite positive number'): fit_baseline(lr=float('nan'), **kw)
