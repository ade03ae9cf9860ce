"Grad-CAM's public contract, and its peak on the synthetic patch task over several seeds."
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from accel_sgd.hooks import simple_cnn
from accel_sgd.interpret import grad_cam, heatmap_peak
from accel_sgd.learner import Learner, accuracy


def patch_data(n, seed=0, size=16, patch=4):
    "Dim noise; classes 0-3 add a bright 4x4 patch in that quadrant, class 4 none (as in chapter 9b)."
    g = torch.Generator().manual_seed(seed)
    x = 0.1 * torch.rand(n, 1, size, size, generator=g)
    y = torch.randint(0, 5, (n,), generator=g)
    half = size // 2
    r = (y // 2 % 2) * half + torch.randint(0, half - patch + 1, (n,), generator=g)
    c = (y % 2) * half + torch.randint(0, half - patch + 1, (n,), generator=g)
    for i in (y < 4).nonzero()[:, 0]: x[i, 0, r[i]:r[i] + patch, c[i]:c[i] + patch] = 1.
    return x, y, r, c


class AddCoords(nn.Module):
    def forward(self, x):
        n, _, h, w = x.shape
        rows = torch.linspace(-1, 1, h).view(1, 1, h, 1).expand(n, 1, h, w)
        cols = torch.linspace(-1, 1, w).view(1, 1, 1, w).expand(n, 1, h, w)
        return torch.cat([x, rows, cols], 1)


def block(ni, nf, stride=1): return nn.Sequential(nn.Conv2d(ni, nf, 3, stride=stride, padding=1), nn.ReLU())


class Batches:
    def __init__(self, x, y, bs=64): self.x, self.y, self.bs = x, y, bs
    def __iter__(self): return ((self.x[i:i + self.bs], self.y[i:i + self.bs]) for i in range(0, len(self.x), self.bs))
    def __len__(self): return -(-len(self.x) // self.bs)


def on_patch_share(seed):
    torch.manual_seed(seed)
    model = nn.Sequential(AddCoords(), block(3, 16), block(16, 16, stride=2), block(16, 16),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 5))
    xt, yt, *_ = patch_data(1024, seed=seed)
    xv, yv, rv, cv = patch_data(250, seed=seed + 100)
    dls = type('DLs', (), dict(train=Batches(xt, yt), valid=Batches(xv, yv)))()
    learn = Learner(model, dls, F.cross_entropy, lr=3e-3, metrics=[accuracy], progress=False, device='cpu')
    learn.fit(8)
    has = yv < 4
    peak, r, c = heatmap_peak(grad_cam(model, xv[has], model[2])), rv[has], cv[has]
    hit = (peak[:, 0] >= r) & (peak[:, 0] < r + 4) & (peak[:, 1] >= c) & (peak[:, 1] < c + 4)
    return learn.recorder.values[-1].accuracy, hit.float().mean().item()


def test_peak_falls_on_the_patch_over_seeds():
    results = [on_patch_share(seed) for seed in (1, 2, 3)]   # seed 0 is the chapter's
    print(results)
    assert all(acc > 0.95 for acc, _ in results), results
    # one seed of four we tried put the peak on the patch for 87% of pictures, the others 100%: the bound leaves that room
    assert all(share > 0.8 for _, share in results) and sum(s for _, s in results) / 3 > 0.9, results


def test_contract_and_cleanup():
    m = simple_cnn().train()
    x = torch.randn(2, 1, 28, 28)
    cams = grad_cam(m, x, '1')
    assert cams.shape == (2, 28, 28) and cams.min() >= 0 and cams.max() <= 1
    assert grad_cam(m, x[0], m[1], target=3).shape == (28, 28)
    assert torch.allclose(grad_cam(m, x, '1', target=m(x).argmax(1)), cams)   # target=None is the predicted class
    assert m.training and all(p.grad is None for p in m.parameters())
    for bad, msg in [(dict(layer='nope'), "its conv layers are"), (dict(layer='5'), 'not (N, C, h, w)'),
                     (dict(layer='1', target=[1, 2, 3]), 'target must be')]:
        with pytest.raises((KeyError, ValueError), match=msg.replace('(', r'\(').replace(')', r'\)')): grad_cam(m, x, **bad)
        assert sum(len(mod._forward_hooks) for mod in m.modules()) == 0 and m.training


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device: sync detection is CUDA-only')
def test_gradient_stats_never_sync_on_cuda():
    "torch raises on any synchronising operation in sync-debug mode 'error': recording must not trigger one."
    from accel_sgd.interpret import grad_stats
    model = nn.Sequential(*[nn.Linear(64, 64) for _ in range(8)]).cuda()
    model(torch.randn(32, 64, device='cuda')).sum().backward()
    params = list(model.parameters())
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode('error')
    try: stats = [grad_stats(params) for _ in range(5)]
    finally: torch.cuda.set_sync_debug_mode('default')
    ref = torch.stack([torch.stack([p.grad.min(), p.grad.mean(), p.grad.max(), p.grad.norm()]) for p in params]).cpu()
    assert torch.allclose(torch.stack(stats).cpu(), ref.expand(5, -1, -1))


def test_grad_cam_under_no_grad_and_inference_mode():
    "Called from an evaluation loop (no_grad) or with an input made in inference mode, grad_cam still computes its gradients."
    torch.manual_seed(0); m = simple_cnn(); x = torch.randn(2, 1, 28, 28)
    want = grad_cam(m, x, '1')
    with torch.no_grad(): assert torch.equal(grad_cam(m, x, '1'), want)
    with torch.inference_mode():
        xi = x.clone(); got = grad_cam(m, xi, '1')
    assert torch.equal(got, want) and got.shape == (2, 28, 28)
