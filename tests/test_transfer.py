"Chapter 7's public surface: splitters that cover the model, freezing that keeps groups and optimizer state, fine_tune, freeze_to, ResNet-18."
import pytest
import torch
from torch import nn

import accel_sgd  # noqa: F401  (every chapter's methods on Learner)
from accel_sgd.batchnorm import BatchNorm
from accel_sgd.hooks import simple_cnn
from accel_sgd.learner import Learner
from accel_sgd.transfer import body_head_splitter, cnn_body, cnn_head, replace_head, resnet18_body_head


def ids(groups): return [[id(p) for p in g] for g in groups]
def held(learn): return ids(pg['params'] for pg in learn.opt.param_groups)


def covers_once(groups, model):
    seen = [id(p) for g in groups for p in g]
    return len(seen) == len(set(seen)) and set(seen) == {id(p) for p in model.parameters()}


def tiny_learner(n_out=3):
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    batches = [(torch.randn(8, 1, 28, 28, generator=g), torch.randint(0, n_out, (8,), generator=g)) for _ in range(3)]
    dls = type('DLs', (), {'train': batches, 'valid': batches[:1]})()
    return Learner(nn.Sequential(cnn_body(), cnn_head(64, n_out)), dls, nn.functional.cross_entropy, lr=1e-2,
                   progress=False, splitter=body_head_splitter, device='cpu')


def test_splitter_refuses_a_flat_model_and_covers_a_wrapped_one():
    flat = simple_cnn(BatchNorm)
    with pytest.raises(TypeError, match=r'expects nn\.Sequential\(body, head\)'): body_head_splitter(flat)
    wrapped = nn.Sequential(flat[:-2], flat[-2:])
    groups = body_head_splitter(wrapped)
    assert covers_once(groups, wrapped) and sum(p.numel() for g in groups for p in g) == 30274


def test_freeze_unfreeze_keep_groups_and_adam_state():
    learn = tiny_learner(); learn.fit(1)
    n_state = len(learn.opt.state)
    assert n_state == len(list(learn.model.parameters()))
    for change in (learn.freeze, learn.unfreeze):
        change()
        assert held(learn) == ids(body_head_splitter(learn.model))
        assert len(learn.opt.state) == n_state


def test_freeze_covers_what_trains():
    learn = tiny_learner(); learn.freeze()
    trainable = {id(p) for p in learn.model.parameters() if p.requires_grad}
    assert trainable <= {i for g in held(learn) for i in g}
    assert {id(p) for p in learn.model[1].parameters()} <= trainable


def test_new_head_on_a_trained_learner_trains():
    learn = tiny_learner(); learn.fit(1)
    learn.model = replace_head(learn.model, cnn_head(64, 3))
    start = learn.model[1][0][0].weight.detach().clone()
    learn.freeze(); learn.fit(1)
    assert not torch.equal(learn.model[1][0][0].weight, start)


def test_freeze_to_and_fine_tune():
    learn = tiny_learner()
    learn.freeze_to(3, train_bn=False)
    groups = body_head_splitter(learn.model)
    assert [all(p.requires_grad for p in g) for g in groups] == [False, False, False, True, True]
    with pytest.raises(ValueError, match='from -5 to 4'): learn.freeze_to(5)
    learn.fine_tune(1, base_lr=1e-2)
    assert all(p.requires_grad for p in learn.model.parameters())


def test_resnet18_groups_none_empty_and_stable(tmp_path):
    torchvision = pytest.importorskip('torchvision')
    torch.save(torchvision.models.resnet18().state_dict(), tmp_path / 'rn.pth')
    model = resnet18_body_head(5, tmp_path / 'rn.pth')
    groups = body_head_splitter(model)
    assert len(groups) == 6 and all(groups) and covers_once(groups, model)
    dls = type('DLs', (), {'train': [(torch.randn(4, 3, 28, 28), torch.randint(0, 5, (4,)))], 'valid': []})()
    learn = Learner(model, dls, nn.functional.cross_entropy, splitter=body_head_splitter, progress=False, device='cpu')
    learn.freeze(); frozen = held(learn)
    learn.unfreeze()
    assert held(learn) == frozen == ids(groups)
