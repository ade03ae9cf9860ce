"The `accel-sgd` command as a user runs it: the main job (train), predict on picture files, baseline, bad arguments, Ctrl-C."
import signal, subprocess
import numpy as np
import pytest
import torch
from PIL import Image
from conftest import BIN
from accel_sgd.data import find_fashion_mnist, load_fashion_mnist
from accel_sgd.capstone import load_model, tta_probs
from accel_sgd.cli import load_picture, main

needs_data = pytest.mark.skipif(find_fashion_mnist() is None, reason="Fashion-MNIST is not installed here")
PLOTS = ('loss', 'schedule', 'lr_find', 'confusion', 'worst')


def run(*args):
    return subprocess.run([str(BIN/'accel-sgd'), *map(str, args)], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    "One short training run for the whole file (lr_find included): its output directory and result."
    out = tmp_path_factory.mktemp('capstone')/'out'
    return out, run('train', '--subset', '2000', '--epochs', '3', '--out', out)


def test_help_lists_commands_and_options(capsys):
    res = run('--help')
    assert res.returncode == 0 and all(c in res.stdout for c in ('train', 'baseline', 'predict')), res.stdout
    for argv, options in ((['train', '--help'], ['--epochs', '--lr', '--seed', '--device', '--out', '--subset', '--no-progress', '--resume']),
                          (['predict', '--help'], ['MODEL', 'IMAGE', '--top', '--no-invert', '--invert', '--device'])):
        with pytest.raises(SystemExit) as e: main(argv)
        out = capsys.readouterr().out
        assert e.value.code == 0 and all(o in out for o in options), out


@needs_data
def test_train_writes_plots_model_and_checkpoint(trained):
    out, res = trained
    assert res.returncode == 0, res.stderr
    assert '\r' not in res.stdout and '█' not in res.stdout, 'progress bar redraws in a log'   # stdout is a pipe: plain lines
    assert [l.split(':')[0] for l in res.stdout.splitlines() if l.startswith('epoch ')] == ['epoch 1/3', 'epoch 2/3', 'epoch 3/3']
    assert 'lr_find suggests' in res.stdout and 'final accuracy' in res.stdout and 'with flip TTA' in res.stdout
    for f in [*(f'{p}.png' for p in PLOTS), 'model.pt', 'checkpoint.pt']:
        assert str(out/f) in res.stdout, f"{f}: path not printed"
        assert (out/f).stat().st_size > 1000, f
    assert all((out/f'{p}.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n' for p in PLOTS)
    ck = torch.load(out/'checkpoint.pt', weights_only=True)
    assert (ck['loop']['epoch'], ck['loop']['n_epoch']) == (3, 3)


def write_pictures(d, n=12):
    "The first `n` validation pictures as files: grey and colour, PNG and JPEG, 28x28, 84x84 and 100x80, one negated; and their labels."
    xs, ys = load_fashion_mnist()[1]
    files = []
    for i in range(n):
        im = Image.fromarray(xs[i].numpy())
        if i % 2: im = im.convert('RGB')
        if i % 4 == 2: im = im.resize((84, 84), Image.Resampling.BICUBIC)
        if i % 4 == 3: im = im.resize((100, 80), Image.Resampling.BICUBIC)
        if i == 4: im = Image.fromarray(255 - np.asarray(im))   # a dark object on white
        files.append(d/f"v{i}.{'jpg' if i % 3 == 1 else 'png'}")
        im.save(files[-1])
    return files, [int(y) for y in ys[:n]]


@needs_data
def test_predict_prints_top_classes_and_reports_bad_files(trained, tmp_path):
    out, res = trained
    assert res.returncode == 0, res.stderr
    files, labels = write_pictures(tmp_path)
    (tmp_path/'notes.png').write_text('not a picture')
    bad = [tmp_path/'missing.png', tmp_path/'notes.png', tmp_path]
    pred = run('predict', out/'model.pt', bad[0], *files[:6], bad[1], *files[6:], bad[2])
    assert pred.returncode == 1, pred.stderr                     # some failed; the others are still classified
    errs = pred.stderr.splitlines()
    assert len(errs) == 3 and all(str(b) in e for b, e in zip(bad, errs)), pred.stderr
    assert 'no such file' in errs[0] and 'not a picture' in errs[1] and 'is a directory' in errs[2] and 'Traceback' not in pred.stderr
    lines = pred.stdout.splitlines()
    assert [l.split(': ', 1)[0] for l in lines] == list(map(str, files))
    model, meta = load_model(out/'model.pt', 'cpu')
    tops = [[c.rsplit(' ', 1) for c in l.split(': ', 1)[1].split('  (')[0].split(', ')] for l in lines]
    assert all(len(t) == 3 and float(t[0][1][:-1]) >= float(t[1][1][:-1]) >= float(t[2][1][:-1]) for t in tops), lines
    for f, t in zip(files, tops):   # the same class as the model gives in this process on the same tensor
        x, _ = load_picture(f, meta['mean'], meta['std'])
        probs = tta_probs(model, x, meta['tta'])[0]
        assert t[0][0] == meta['classes'][int(probs.argmax())] and abs(float(t[0][1][:-1]) - 100 * float(probs.max())) < 0.06, (f, t)
    assert '(light background: negated)' in lines[4] and sum('negated' in l for l in lines) == 1
    right = sum(t[0][0] == meta['classes'][y] for t, y in zip(tops, labels))
    assert right >= 7, f"only {right} of {len(files)} right: {[t[0][0] for t in tops]} vs {[meta['classes'][y] for y in labels]}"


@needs_data
def test_predict_top_and_no_invert(trained, tmp_path, capsys):
    out, _ = trained
    files, _ = write_pictures(tmp_path, 5)
    for flags, n, negated in ((['--top', '5', '--no-invert'], 5, False), (['--top', '1'], 1, True), (['--invert'], 3, True)):
        assert main(['predict', out/'model.pt', files[4], *flags]) == 0   # in this process
        line = capsys.readouterr().out
        assert len(line.split(': ', 1)[1].split(', ')) == n and ('negated' in line) == negated, (flags, line)


def test_bad_arguments_one_line_exit_2(tmp_path, capsys):
    (tmp_path/'notes.png').write_text('not a picture')
    for args, says in ((['--epochs', '0'], 'must be a positive whole number'),
                       (['predict', tmp_path/'missing.pt', tmp_path/'notes.png'], 'no model file')):   # through the installed command
        res = run(*args)
        assert res.returncode == 2 and res.stdout == '' and says in res.stderr and len(res.stderr.splitlines()) == 1, (args, res)
    for args, says in ((['train', '--lr', 'inf'], 'must be a finite number above 0'), (['--epochs', '2.5'], 'must be a positive whole number'),
                       (['--device', 'gpu'], 'must be auto, cpu or cuda'), (['--subset', '-3'], 'must be a positive whole number'),
                       (['--out', tmp_path/'notes.png'], 'is not a directory'), (['--colour'], 'unrecognized arguments'),
                       (['predict', tmp_path/'notes.png', tmp_path/'notes.png'], 'not a model file'),
                       (['predict', tmp_path/'notes.png'], 'the following arguments are required: IMAGE')):
        with pytest.raises(SystemExit) as e: main(args)   # in this process: no start-up per case
        out, err = capsys.readouterr()
        assert e.value.code == 2 and out == '' and says in err and len(err.splitlines()) == 1, (args, err)


@needs_data
def test_progress_bar_in_a_terminal(tmp_path):
    "With a terminal on stdout (a pseudo-terminal here), fastprogress's bars instead of the plain epoch lines."
    import os, pty
    master, slave = pty.openpty()
    proc = subprocess.Popen([str(BIN/'accel-sgd'), 'train', '--subset', '500', '--epochs', '2', '--lr', '1e-2', '--out', str(tmp_path)],
                            stdout=slave, stderr=subprocess.PIPE)
    os.close(slave)
    out = b''
    while True:
        try: chunk = os.read(master, 1 << 16)
        except OSError: break   # EIO: the command has ended and closed the terminal
        if not chunk: break
        out += chunk
    os.close(master)
    assert proc.wait(timeout=120) == 0, proc.stderr.read()
    text = out.decode(errors='replace')
    assert 'Epoch 1/2' in text and 'epoch 1/2:' not in text and 'final accuracy' in text, text[-2000:]


@needs_data
def test_baseline_keeps_its_flags():
    res = run('baseline', '--epochs', '1', '--subset', '500')
    assert res.returncode == 0 and 'chapter 1 baseline' in res.stdout and 'final accuracy' in res.stdout, res


@needs_data
def test_ctrl_c_says_which_checkpoint_is_saved_and_resume_finishes(tmp_path):
    """A real SIGINT after the second epoch's line: exit 130, one line naming the checkpoint of the last completed epoch (the line is
    printed before the checkpoint is written, so that is the first or the second); then --resume finishes the run."""
    proc = subprocess.Popen([str(BIN/'accel-sgd'), 'train', '--subset', '500', '--epochs', '8', '--lr', '1e-2', '--out', str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if line.startswith('epoch 2/8'): proc.send_signal(signal.SIGINT); break
    rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and len(err.splitlines()) == 1 and 'Traceback' not in err, (proc.returncode, err)
    done = torch.load(tmp_path/'checkpoint.pt', weights_only=True)['loop']['epoch']
    assert f"the checkpoint of epoch {done} (the last completed) is {tmp_path/'checkpoint.pt'}" in err and done in (1, 2), err
    assert err.strip().endswith(f"continue with: accel-sgd train --resume --out {tmp_path}") and not (tmp_path/'model.pt').exists()
    res = run('train', '--resume', '--out', tmp_path)
    assert res.returncode == 0 and (tmp_path/'model.pt').exists(), res.stderr
    assert [l.split(':')[0] for l in res.stdout.splitlines() if l.startswith('epoch ')] == [f'epoch {e}/8' for e in range(done + 1, 9)]
