"""Chapter 12's BatchNormReLU in a fresh interpreter: its C kernel is built into the cache folder on first use, and where
no compiler works the layer warns once and falls back to FastBatchNorm and a ReLU, with the same results."""
import os, subprocess, sys, textwrap
from pathlib import Path

SCRIPT = textwrap.dedent("""
    import warnings, torch, torch.nn.functional as F
    from torch import nn
    from accel_sgd.capstone import BatchNormReLU, bn_relu_kernel
    torch.manual_seed(0)
    x = (torch.randn(16, 8, 6, 6) * 2 + 1).contiguous(memory_format=torch.channels_last)
    ours, ref = BatchNormReLU(8), nn.BatchNorm2d(8)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
        y = ours(xa); y.sum().backward(); ours(x * 3)              # two training calls: still one warning
    yr = F.relu(ref(xb)); yr.sum().backward(); ref(x * 3)
    assert torch.allclose(y, yr, atol=1e-5) and torch.allclose(xa.grad, xb.grad, atol=1e-5)
    assert torch.allclose(ours.running_mean, ref.running_mean, atol=1e-5) and torch.allclose(ours.running_var, ref.running_var, atol=1e-5)
    print('kernel' if bn_relu_kernel() is not None else 'fallback', len([m for m in w if 'could not build' in str(m.message)]))
""")


def run(tmp_path, **env):
    e = {**os.environ, 'ACCEL_SGD_CACHE': str(tmp_path/'cache'), 'OMP_NUM_THREADS': '2', **env}
    r = subprocess.run([sys.executable, '-c', SCRIPT], capture_output=True, text=True, env=e, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout.split()


def test_kernel_built_into_cache(tmp_path):
    assert run(tmp_path) == ['kernel', '0']
    built = list((tmp_path/'cache').glob('bn_relu_*.so'))
    assert len(built) == 1 and not [p for p in (tmp_path/'cache').iterdir() if p.is_dir()]   # no temporary folder left behind
    assert run(tmp_path) == ['kernel', '0']                                                  # the second process reuses it
    assert list((tmp_path/'cache').glob('bn_relu_*.so')) == built


def test_no_compiler_falls_back_with_one_warning(tmp_path):
    assert run(tmp_path, CC=str(tmp_path/'no-such-compiler')) == ['fallback', '1']
    assert not list((tmp_path/'cache').glob('bn_relu_*.so'))


DETERMINISM = textwrap.dedent("""
    import torch
    from accel_sgd.capstone import BatchNormReLU, bn_relu_kernel
    torch.set_num_threads(3)   # more threads than cores: the order in which they finish varies most
    torch.manual_seed(0)
    x = (torch.randn(64, 24, 10, 10) * 3 + 5).contiguous(memory_format=torch.channels_last)
    g = torch.randn_like(x)
    def once():
        layer = BatchNormReLU(24); xx = x.clone().requires_grad_()
        (layer(xx) * g).sum().backward()
        return [xx.grad, layer.weight.grad, layer.bias.grad, layer.running_mean, layer.running_var]
    first = once()
    same = all(all(torch.equal(a, b) for a, b in zip(first, once())) for _ in range(20))
    print(torch.get_num_threads(), bn_relu_kernel() is not None, same)
""")


def test_same_bits_every_run_with_three_threads(tmp_path):
    "With three threads the order in which threads finish varies; the sums are added in thread order, so the bits do not."
    e = {**os.environ, 'ACCEL_SGD_CACHE': str(tmp_path/'cache')}
    r = subprocess.run([sys.executable, '-c', DETERMINISM], capture_output=True, text=True, env=e, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split() == ['3', 'True', 'True']


def test_kernel_without_relu_is_batch_norm():
    "The kernel's relu=False path (batch norm alone), which no layer of the course uses yet, against torch's batch norm."
    import torch, torch.nn.functional as F
    from accel_sgd.capstone import BatchNormReLUFunction, bn_relu_kernel
    if bn_relu_kernel() is None: import pytest; pytest.skip('no C compiler here')
    torch.manual_seed(0)
    x = (torch.randn(16, 8, 5, 5) * 2 - 1).contiguous(memory_format=torch.channels_last)
    w, b, g = torch.rand(8) + .5, torch.randn(8), torch.randn_like(x)
    grads = []
    for f in (lambda x, w, b: BatchNormReLUFunction.apply(x, w, b, 1e-5, False)[0], lambda x, w, b: F.batch_norm(x, None, None, w, b, True)):
        xx, ww, bb = x.clone().requires_grad_(), w.clone().requires_grad_(), b.clone().requires_grad_()
        y = f(xx, ww, bb); (y * g).sum().backward()
        grads.append([y.detach(), xx.grad, ww.grad, bb.grad])
    for ours, ref in zip(*grads): assert torch.allclose(ours, ref, atol=1e-4), (ours - ref).abs().max()
    assert (grads[0][0] < 0).any()   # no ReLU applied
