"bench/capstone_vs_fastai.py: the capstone recipe in accel_sgd and in fastai, side by side (fastai lives in .venv-fastai)."
import importlib.util, json, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT/'bench'/'capstone_vs_fastai.py'
FASTAI_PY = ROOT/'.venv-fastai'/'bin'/'python'


def load_bench():
    spec = importlib.util.spec_from_file_location('capstone_vs_fastai', BENCH)
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return mod


def test_describe_capstone_model():
    "The description the fastai side rebuilds from: conv-BN-ReLU blocks, pooling, flatten, linear, in capstone_model's order."
    from accel_sgd.capstone import capstone_model
    spec = load_bench().describe(capstone_model(8))
    kinds = [c['type'] for c in spec['children']]
    assert kinds[-3:] == ['avgpool', 'flatten', 'linear'] and set(kinds[:-3]) == {'conv_bn_relu'}, kinds
    assert spec['children'][0]['ni'] == 1 and spec['children'][-1]['nf'] == 10


def test_describe_fused_bn_relu():
    "With BatchNormReLU (the ReLU inside the norm layer) the blocks read the same: conv-BN-ReLU, as fastai's ConvLayer."
    from accel_sgd.capstone import capstone_model, BatchNormReLU
    plain, fused = load_bench().describe(capstone_model(8)), load_bench().describe(capstone_model(8, norm=BatchNormReLU))
    assert fused == plain


def test_describe_refuses_unknown_layers():
    from torch import nn
    with pytest.raises(ValueError, match="cannot rebuild GELU"):
        load_bench().describe(nn.Sequential(nn.Linear(2, 2), nn.GELU()))


def test_refuses_recipe_settings_it_cannot_reproduce(monkeypatch):
    import accel_sgd.capstone as cap
    monkeypatch.setitem(cap.RECIPE, 'mixup', 0.2)
    with pytest.raises(SystemExit, match=r"cannot reproduce in fastai yet: \['mixup'\]"):
        load_bench().main(['--seeds', '1', '--subset', '500'])


def test_says_how_to_make_the_fastai_venv(monkeypatch, tmp_path):
    bench = load_bench()
    monkeypatch.setattr(bench, 'FASTAI_PY', tmp_path/'nowhere'/'bin'/'python')
    with pytest.raises(SystemExit, match="tools/fastai_venv.sh"):
        bench.main(['--seeds', '1', '--subset', '500'])


@pytest.mark.skipif(not FASTAI_PY.exists(), reason="no .venv-fastai (make it with `bash tools/fastai_venv.sh`); CI has none")
def test_bench_smoke(tmp_path):
    "One seed, one epoch on 500 pictures: both sides train from the same weights and random state, so their losses agree."
    out = tmp_path/'bench.json'
    r = subprocess.run([sys.executable, str(BENCH), '--subset', '500', '--epochs', '1', '--seeds', '1', '--json', str(out)],
                       capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert 'ratio fit' in r.stdout and 'time ratio accel_sgd/fastai, fit: median' in r.stdout, r.stdout
    res = json.loads(out.read_text())
    (row,) = res['rows']
    a, f = row['accel'], row['fastai']
    assert a['same_init'] and a['same_rng'], a
    assert f['lib'].startswith('fastai 2.') and a['torch'] == f['torch'], (a, f)
    assert min(a['secs'], f['secs'], a['train_secs'], f['train_secs']) > 0 and row['ratio'] == pytest.approx(a['secs'] / f['secs'])
    assert a['train_secs'] < a['secs'] and a['clock_secs'] == pytest.approx(a['train_secs'], rel=0.05)   # the capstone's TrainClock
    for side in (a, f): assert 5 < side['acc'] <= 100 and 5 < side['acc_tta'] <= 100, side
    # the same first batches from the same weights: the same label-smoothed losses, step by step
    assert len(a['first_losses']) == len(f['first_losses']) == 2
    assert a['first_losses'] == pytest.approx(f['first_losses'], rel=1e-4), (a['first_losses'], f['first_losses'])
    assert a['valid_loss'] == pytest.approx(f['valid_loss'], rel=1e-3), (a['valid_loss'], f['valid_loss'])
    # (accuracies after two steps are near chance and move by whole pictures, 0.2 points each: the losses are the check)
    assert a['shared'] == pytest.approx([a['acc'], a['acc_tta']], abs=0.01)
