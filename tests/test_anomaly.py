"The anomaly callback at the public surface: on chapter 5's CNN, a NaN from one layer's forward pass, and an Inf gradient from sqrt at 0."
import torch
from torch import nn
from accel_sgd.learner import Learner, Callback, SynthDataLoaders
from accel_sgd.hooks import simple_cnn
from accel_sgd.anomaly import AnomalyCallback


class Images:
    "Four training batches and one validation batch of random 28x28 images."
    def __init__(self):
        g = torch.Generator().manual_seed(0)
        b = lambda: (torch.randn(8, 1, 28, 28, generator=g), torch.randint(0, 10, (8,), generator=g))
        self.train, self.valid = [b() for _ in range(4)], [b()]


class PoisonAt(Callback):
    "From training step `step` on, a forward hook makes module `path`'s output NaN."
    def __init__(self, path, step): self.path, self.step, self.h = path, step, None
    def before_batch(self):
        if self.training and self.train_iter == self.step and self.h is None:
            self.h = dict(self.model.named_modules())[self.path].register_forward_hook(lambda m, i, o: o * float('nan'))
    def after_fit(self):
        if self.h is not None: self.h.remove()


def test_forward_nan_in_a_cnn_names_the_conv():
    torch.manual_seed(0)
    learn = Learner(simple_cnn(nn.BatchNorm2d), Images(), nn.functional.cross_entropy, progress=False, device='cpu')
    cb = AnomalyCallback()
    learn.fit(2, cbs=[PoisonAt('2.0', 6), cb])
    r = cb.report
    assert (r.step, r.epoch, r.batch, r.phase, r.module) == (6, 1, 2, 'forward', '2.0'), r
    assert len(learn.recorder.losses) == 6 and all(torch.isfinite(torch.tensor(learn.recorder.losses)))
    assert all(torch.isfinite(p).all() for p in learn.model.parameters())
    assert torch.equal(cb.bad_batch[0], learn.dls.train[2][0])


class Root(nn.Module):
    "sqrt(x - x + c): finite forward, infinite gradient when c = 0."
    c = 1.
    def forward(self, x): return torch.sqrt(x - x.detach() + self.c)


def test_backward_inf_from_sqrt_names_the_module_and_op():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(1, 4), nn.Sequential(nn.Tanh(), Root()), nn.Linear(4, 1))
    class ZeroAt(Callback):
        def before_batch(self): model[1][1].c = 0. if self.training and self.train_iter == 3 else 1.
    learn = Learner(model, SynthDataLoaders(4, 1), nn.functional.mse_loss, lr=0.01, progress=False, device='cpu')
    before = None
    class Keep(Callback):
        def before_batch(self):
            nonlocal before
            if self.training and self.train_iter == 3: before = [p.detach().clone() for p in model.parameters()]
    cb = AnomalyCallback(verbose=False)
    learn.fit(2, cbs=[ZeroAt(), Keep(), cb])
    r = cb.report
    assert (r.step, r.phase, r.module, r.op) == (3, 'backward', '1.1', 'SqrtBackward0'), r
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before)), "the model must be left as before the bad step"
    assert len(learn.recorder.losses) == 3


def test_scaler_overflow_is_not_an_anomaly():
    "Under float16 with a GradScaler, an inf gradient makes the scaler skip a step; the anomaly check must let training go on."
    import torch
    from accel_sgd.learner import synth_learner
    from accel_sgd.anomaly import AnomalyCallback
    from accel_sgd.scale import MixedPrecision
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        plain = synth_learner(cbs=[MixedPrecision(torch.float16)]); plain.fit(2)
        both = synth_learner(cbs=[MixedPrecision(torch.float16), AnomalyCallback()]); both.fit(2)
    assert len(both.recorder.losses) == len(plain.recorder.losses) > 0
