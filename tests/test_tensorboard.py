"TensorBoardCallback's logs, read back through TensorBoard's own reader and through a running `tensorboard` server."
import json, os, signal, socket, subprocess, sys, time, urllib.parse, urllib.request
from pathlib import Path

import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
import pytest
import torch

from accel_sgd.learner import Callback, synth_learner
from accel_sgd.interpret import PhaseTimer, GradientStats
from accel_sgd.tensorboard import TensorBoardCallback, load_events, read_scalars

BIN = Path(sys.executable).parent


class Doodle(Callback):
    "A callback with the `figures()` protocol: one figure per epoch."
    def figures(self):
        fig, ax = plt.subplots(figsize=(2, 2)); ax.plot([0, self.epoch + 1]); ax.set_title(f'epoch {self.epoch}')
        return {'line': fig}


def mae(pred, targ): return (pred - targ).abs().mean()


@pytest.fixture
def logged_run(tmp_path):
    "A 2-epoch synthetic run with a metric, a timer, gradient statistics and a figure callback, logged under tmp_path/'runs'."
    tb = TensorBoardCallback(log_dir=tmp_path / 'runs', name='synth run', hparams={'note': 'pytest'}, hist_every=5)
    learn = synth_learner(n_train=6, metrics=[mae], cbs=[tb, PhaseTimer(show=False), GradientStats(), Doodle()])
    learn.fit(2)
    return learn, tb


def test_event_files_hold_every_tag_and_value(logged_run):
    learn, tb = logged_run
    rec, timer = learn.recorder, learn.phase_timer
    assert tb.run_dir.parent.name == 'runs' and tb.run_dir.name.endswith('_synth-run')
    scalars = read_scalars(tb.run_dir)
    expected = {'train/loss': rec.losses, 'train/smooth_loss': rec.smooth_losses, 'lr/group0': [r[0] for r in rec.lrs],
                'mom/group0': [r[0] for r in rec.moms]}
    expected.update({f'epoch/{k}': [getattr(v, k) for v in rec.values] for k in ('train_loss', 'valid_loss', 'mae', 'time')})
    expected.update({f'time/{k}': [r[k] for r in timer.rows] for k in ('data', 'forward', 'loss', 'backward', 'step', 'other', 'valid')})
    expected.update({'hparam/train_loss': [rec.values[-1].train_loss], 'hparam/valid_loss': [rec.values[-1].valid_loss],
                     'hparam/mae': [rec.values[-1].mae]})
    assert set(scalars) == set(expected)
    for tag, values in expected.items():
        got = [v for _, v in scalars[tag]]
        assert torch.allclose(torch.tensor(got), torch.tensor(values, dtype=torch.float32), rtol=1e-5, atol=1e-7), tag
    assert [s for s, _ in scalars['train/loss']] == list(range(12))
    assert [s for s, _ in scalars['epoch/valid_loss']] == [0, 1]

    ea = load_events(tb.run_dir)
    tags = ea.Tags()
    assert set(tags['histograms']) == {'weights/weight', 'weights/bias', 'grads/weight', 'grads/bias'}
    assert [e.step for e in ea.Histograms('weights/weight')] == [0, 5, 10]
    # the histogram of the first batch's gradient holds the one weight's gradient
    assert ea.Histograms('grads/weight')[0].histogram_value.num == 1
    assert set(tags['images']) == {'doodle/line', 'gradient_stats/grad_norms'}
    assert [e.step for e in ea.Images('doodle/line')] == [0, 1]
    assert ea.Images('doodle/line')[0].encoded_image_string[:4] == b'\x89PNG'
    text = ea.Tensors('timing/text_summary')[-1].tensor_proto.string_val[0].decode()
    assert 'backward' in text and '% train' in text

    from tensorboard.plugins.hparams import plugin_data_pb2
    start = plugin_data_pb2.HParamsPluginData.FromString(
        ea.PluginTagToContent('hparams')['_hparams_/session_start_info']).session_start_info
    hp = {k: getattr(v, v.WhichOneof('kind')) for k, v in start.hparams.items()}
    assert hp == {'lr': 0.1, 'n_epoch': 2, 'opt_func': 'Adam', 'model': 'Linear', 'note': 'pytest'}


def test_runs_get_their_own_directories(tmp_path):
    dirs = []
    for lr in (0.1, 0.01):
        tb = TensorBoardCallback(log_dir=tmp_path, name='same name', hist_every=0)
        synth_learner(cbs=[tb]).fit(1, lr=lr); dirs.append(tb.run_dir)
    assert dirs[0] != dirs[1] and all(d.parent == tmp_path for d in dirs)
    assert [read_scalars(d)['lr/group0'][0][1] for d in dirs] == pytest.approx([0.1, 0.01])
    assert 'histograms' not in load_events(dirs[0]).Tags() or not load_events(dirs[0]).Tags()['histograms']


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def _get(port, path):
    with urllib.request.urlopen(f'http://127.0.0.1:{port}{path}', timeout=5) as r: return json.loads(r.read())


@pytest.fixture
def tensorboard_server(tmp_path):
    "A real `tensorboard` process on a free port over tmp_path/'runs'; killed by its PID however the test ends."
    port, log = _free_port(), open(tmp_path / 'tensorboard.log', 'w')
    proc = subprocess.Popen([str(BIN / 'tensorboard'), '--logdir', str(tmp_path / 'runs'), '--host', '127.0.0.1', '--port', str(port),
                             '--load_fast', 'false', '--reload_interval', '1'], stdout=log, stderr=subprocess.STDOUT)
    try: yield port, proc, tmp_path / 'tensorboard.log'
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try: proc.wait(timeout=15)
        except subprocess.TimeoutExpired: os.kill(proc.pid, signal.SIGKILL); proc.wait(timeout=15)
        log.close()
        assert proc.returncode is not None


def test_dashboard_serves_the_run(logged_run, tensorboard_server):
    learn, tb = logged_run
    port, proc, log = tensorboard_server
    run = tb.run_dir.name
    deadline, tags, err = time.time() + 90, {}, None
    while time.time() < deadline:
        assert proc.poll() is None, f"tensorboard exited with {proc.returncode}:\n{log.read_text()[-2000:]}"
        try:
            tags = _get(port, '/data/plugin/scalars/tags')
            if run in tags and 'hparam/mae' in tags[run]: break
        except OSError as e: err = e   # not listening yet
        time.sleep(0.5)
    else: pytest.fail(f"the server did not list run {run!r} with its tags within 90 s (last error {err!r}, tags {tags}):\n{log.read_text()[-2000:]}")
    assert run in _get(port, '/data/runs')
    assert {'train/loss', 'train/smooth_loss', 'lr/group0', 'epoch/valid_loss', 'epoch/mae', 'time/backward'} <= set(tags[run])
    q = urllib.parse.urlencode({'run': run, 'tag': 'train/loss'})
    series = _get(port, f'/data/plugin/scalars/scalars?{q}')
    assert [s for _, s, _ in series] == list(range(12))
    assert torch.allclose(torch.tensor([v for _, _, v in series]), torch.tensor(learn.recorder.losses), rtol=1e-5)


def test_figures_made_without_pyplot_are_logged(tmp_path):
    "Chapter 9's callbacks draw on `matplotlib.figure.Figure` directly (no pyplot state); those must be logged too."
    from matplotlib.figure import Figure

    class Pic(Callback):
        def figures(self):
            fig = Figure(figsize=(2, 2)); fig.subplots().plot([0, self.epoch]); return {'a': fig, 'b': Figure(figsize=(1, 1))}

    tb = TensorBoardCallback(log_dir=tmp_path, hist_every=0)
    synth_learner(cbs=[tb, Pic()]).fit(2)
    ea = load_events(tb.run_dir)
    assert sorted(ea.Tags()['images']) == ['pic/a', 'pic/b']
    assert [e.step for e in ea.Images('pic/a')] == [0, 1]
