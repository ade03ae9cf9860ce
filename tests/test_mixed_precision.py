"""MixedPrecision on chapter 5's CNN: the scaler skips a step with an inf gradient and halves its scale (GradScaler('cpu'),
and 'cuda' when a GPU is there), autocast is left when a batch raises, clipping sees unscaled gradients, the scaler's state
goes through state_dict, and the warning about a CPU without bfloat16 instructions comes once per process."""
import math, subprocess, sys, textwrap, warnings
import pytest
import torch
from torch import nn

from accel_sgd.batchnorm import BatchNorm
from accel_sgd.data import DataLoaders, TensorBatchDataset, batch_loader
from accel_sgd.hooks import simple_cnn
from accel_sgd.learner import Callback, Learner
from accel_sgd.scale import GradientClip, MixedPrecision, cpu_has_native_bf16

DEVICES = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])


def cnn_learner(cbs, device='cpu', n=64, bs=16):
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g)
    dl = batch_loader(TensorBatchDataset(x.to(device), y.to(device)), bs, shuffle=False)
    torch.manual_seed(0)
    return Learner(simple_cnn(BatchNorm, channels=(1, 8, 16, 32)), DataLoaders(dl, dl), nn.functional.cross_entropy, lr=1e-2, cbs=cbs,
                   progress=False, device=device)

class InjectInf(Callback):
    "An inf in the first parameter's gradient at batch `at` of the first epoch; records which batches stepped."
    def __init__(self, at): self.at = at
    def before_fit(self): self.stepped = []
    def after_backward(self):
        if self.epoch == 0 and self.iter == self.at: next(self.model.parameters()).grad.view(-1)[0] = math.inf
    def after_step(self): self.stepped.append(self.iter)

class Weights(Callback):
    order = 90
    def before_fit(self): self.seen = []
    def after_batch(self):
        if self.training: self.seen.append(torch.cat([p.detach().flatten().clone() for p in self.model.parameters()]))


@pytest.mark.parametrize('device', DEVICES)
def test_scaler_skips_the_inf_step_on_chapter_5s_cnn(device):
    mp = MixedPrecision(torch.float16, init_scale=2.**8)
    learn = cnn_learner([mp, InjectInf(at=2), Weights()], device).fit(1)
    assert learn.inject_inf.stepped == [0, 1, 3]
    w = learn.weights.seen
    assert torch.equal(w[1], w[2]) and not torch.equal(w[2], w[3])   # the skipped step left the weights alone
    assert mp.n_skipped == 1 and mp.scaler.get_scale() == 2.**7
    assert learn.train_iter == 3 and len(learn.recorder.losses) == 3
    assert all(p.dtype == torch.float32 for p in learn.model.parameters())

def test_autocast_is_left_when_a_batch_raises():
    class Boom(Callback):
        def after_pred(self): raise RuntimeError('boom in after_pred')
    learn = cnn_learner([MixedPrecision(torch.bfloat16), Boom()])
    with pytest.raises(RuntimeError, match='boom'): learn.fit(1)
    assert not torch.is_autocast_enabled('cpu')
    assert not {'forward_ctx', 'backward', 'step'} & set(learn.__dict__)   # the learner's own methods again

def test_clipping_sees_unscaled_gradients():
    fp16 = cnn_learner([MixedPrecision(torch.float16, init_scale=2.**12), GradientClip(0.1)]).fit(1)
    fp32 = cnn_learner([GradientClip(0.1)]).fit(1)
    a, b = fp16.gradient_clip.norms[0], fp32.gradient_clip.norms[0]
    assert abs(a - b) < 0.05 * b, (a, b)          # scaled gradients would be 4096 times larger

def test_scaler_state_round_trip():
    mp = MixedPrecision(torch.float16, init_scale=2.**8)
    cnn_learner([mp, InjectInf(at=0)]).fit(1)
    sd = mp.state_dict()
    assert sd['scaler']['scale'] == 2.**7
    fresh = MixedPrecision(torch.float16); fresh.load_state_dict(sd)
    learn = cnn_learner([fresh], n=16).fit(1)
    assert fresh.scaler.get_scale() == 2.**7
    with pytest.raises(ValueError, match='dtype'): MixedPrecision(torch.float32)

def test_bf16_warning_comes_once_per_process():
    code = textwrap.dedent("""
        import warnings, torch, accel_sgd.scale as S
        from accel_sgd.learner import synth_learner
        S.cpu_has_native_bf16 = lambda cpuinfo=None: False      # as on a CPU without avx512_bf16 or amx_bf16
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter('always')
            for _ in range(2): synth_learner(cbs=[S.MixedPrecision()]).fit(1)
        msgs = [str(x.message) for x in w if 'bfloat16 instructions' in str(x.message)]
        assert len(msgs) == 1, msgs
    """)
    res = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env={'OMP_NUM_THREADS': '1', 'PATH': ''})
    assert res.returncode == 0, res.stderr

def test_cpuinfo_flags():
    assert cpu_has_native_bf16('flags\t: fpu sse avx2 avx512f avx512bw') is False
    assert cpu_has_native_bf16('flags\t: fpu avx512_bf16') and cpu_has_native_bf16('flags\t: amx_bf16 amx_tile')
