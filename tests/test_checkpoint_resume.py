"In-process resume checks that the chapter leaves out: with progress bars on, and from the checkpoint at the end of the fit."
import random
import numpy as np
import pytest
import torch
from torch import nn
from accel_sgd.learner import Learner, Callback
from accel_sgd.data import TensorBatchDataset, batch_loader, DataLoaders
from accel_sgd.schedule import ParamScheduler, one_cycle_scheds
from accel_sgd.checkpoint import CheckpointCallback


class CrashAt(Callback):
    def __init__(self, step): self.step = step
    def after_loss(self):
        if self.training and self.train_iter == self.step: raise RuntimeError('crash')


def learner(seed=0, progress=True):
    torch.manual_seed(seed); np.random.seed(seed); random.seed(seed)
    x = torch.randn(96, 4, generator=torch.Generator().manual_seed(0)); y = (x[:, 0] > 0).long()
    dls = DataLoaders(batch_loader(TensorBatchDataset(x[:64], y[:64]), 8, shuffle=True), batch_loader(TensorBatchDataset(x[64:], y[64:]), 16, shuffle=False))
    return Learner(nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.3), nn.Linear(8, 2)), dls, nn.functional.cross_entropy, progress=progress, device='cpu')


def fit3(learn, cbs=(), **kw): return learn.fit(3, cbs=[ParamScheduler(one_cycle_scheds(1e-2))] + list(cbs), **kw)


def same(a, b):
    assert a.recorder.losses == b.recorder.losses
    assert all(torch.equal(p, q) for p, q in zip(a.model.parameters(), b.model.parameters()))


@pytest.mark.parametrize('crash', [3, 11, 16])
def test_resume_with_progress_bars(tmp_path, crash):
    ref = fit3(learner())
    try: fit3(learner(), [CheckpointCallback(tmp_path/'ck.pt', every_n_batches=1), CrashAt(crash)])
    except RuntimeError: pass
    same(fit3(learner(1), [CheckpointCallback(tmp_path/'ck.pt', every_n_batches=1)], resume=tmp_path/'ck.pt'), ref)


def test_resume_from_the_end_does_nothing_more(tmp_path):
    ref = fit3(learner(progress=False), [CheckpointCallback(tmp_path/'ck.pt')])
    again = fit3(learner(1, progress=False), resume=tmp_path/'ck.pt')
    same(again, ref)
    assert [type(c).__name__ for c in again.cbs] == ['TrainEvalCallback', 'Recorder'], "the ResumeCallback leaves with the fit"
    assert 'start_epoch' not in again.__dict__ and 'start_iter' not in again.__dict__


def _written(tmp_path, n_epoch=2, **kw):
    l = learner(progress=False, **kw); path = tmp_path/'c.pt'
    l.fit(n_epoch, cbs=[CheckpointCallback(path)])
    return path


def _weights(l): return [p.detach().clone() for p in l.model.parameters()]


def test_a_refused_resume_changes_nothing(tmp_path):
    "A resume refused for its length or its optimizer type leaves the learner's weights and optimizer as they were."
    path = _written(tmp_path)
    l = learner(progress=False); l.fit(1); w = _weights(l)
    with pytest.raises(ValueError, match=r'written by fit\(2\), this is fit\(3\)'): l.fit(3, resume=path)
    assert all(torch.equal(a, b) for a, b in zip(w, _weights(l)))
    t = learner(progress=False); t.opt_func = torch.optim.SGD; t.fit(1); w = _weights(t)
    with pytest.raises(ValueError, match='resume with the same opt_func'): t.fit(2, resume=path)
    assert all(torch.equal(a, b) for a, b in zip(w, _weights(t)))


def test_damaged_checkpoint_and_missing_directory_are_named(tmp_path):
    from accel_sgd.checkpoint import load_checkpoint, save_checkpoint
    path = _written(tmp_path)
    bad = tmp_path/'bad.pt'; bad.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match='damaged or not a checkpoint'): load_checkpoint(learner(progress=False), bad)
    (tmp_path/'empty.pt').write_bytes(b'')
    with pytest.raises(ValueError, match='damaged or not a checkpoint'): load_checkpoint(learner(progress=False), tmp_path/'empty.pt')
    l = learner(progress=False); l.fit(1)
    with pytest.raises(FileNotFoundError, match='does not exist'): save_checkpoint(l, tmp_path/'nowhere'/'c.pt')


def test_lr_with_resume_warns(tmp_path):
    path = _written(tmp_path)
    with pytest.warns(UserWarning, match='lr is ignored'): learner(progress=False).fit(2, lr=0.5, resume=path)
