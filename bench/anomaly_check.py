"""The cost of chapter 10a's per-step check (`AnomalyCallback`) and of always-on `torch.autograd.detect_anomaly`,
on chapter 5's CNN (`simple_cnn` with the course's `BatchNorm`), batches of 64 Fashion-MNIST-sized images.

Three variants train the same model for `--steps` steps: plain, with `AnomalyCallback()`, and plain under
`torch.autograd.set_detect_anomaly(True)`. Rounds are interleaved (each round times every variant once, in a rotated
order), so that the machine's noise spreads over all of them; we print each variant's time per step against the plain
one as a ratio, median and min over rounds. A whole-fit ratio cannot resolve a cost under 1 %, so we also time the
callback's own work alone (the buffer and RNG copies of `before_batch`, and `before_step`'s check) on the same
model's gradients, and divide it by the plain step's median time.

Timings mean something only on a quiet machine: run it when nothing else runs.

    OMP_NUM_THREADS=1 .venv/bin/python bench/anomaly_check.py [--rounds 7] [--steps 30] [--device cpu]
"""
import argparse, statistics, time
import torch
from torch import nn
from accel_sgd.learner import Learner
from accel_sgd.hooks import simple_cnn
from accel_sgd.batchnorm import BatchNorm
from accel_sgd.anomaly import AnomalyCallback


class Loaders:
    "`steps` training batches and one validation batch of random images, made once."
    def __init__(self, steps, bs, device):
        g = torch.Generator().manual_seed(0)
        batch = lambda: (torch.randn(bs, 1, 28, 28, generator=g).to(device), torch.randint(0, 10, (bs,), generator=g).to(device))
        self.train, self.valid = [batch() for _ in range(steps)], [batch()]


def sync(device):
    if device.type == 'cuda': torch.cuda.synchronize()


def time_fit(variant, dls, device) -> float:
    "Seconds per training step of one epoch of `variant`, on a fresh model (the optimizer's state created by a first fit)."
    torch.manual_seed(0)
    learn = Learner(simple_cnn(BatchNorm).to(device), dls, nn.functional.cross_entropy, progress=False, device=device)
    cbs = [AnomalyCallback()] if variant == 'check' else []
    learn.fit(1, cbs=cbs)                               # warm-up
    sync(device); t = time.perf_counter()
    with torch.autograd.set_detect_anomaly(variant == 'detect_anomaly'): learn.fit(1, cbs=cbs)
    sync(device)
    return (time.perf_counter() - t) / len(dls.train)


def time_check_alone(dls, device, n=200) -> float:
    "Seconds per step of the callback's own work: before_batch's copies and before_step's check, on real gradients."
    torch.manual_seed(0)
    learn = Learner(simple_cnn(BatchNorm).to(device), dls, nn.functional.cross_entropy, progress=False, device=device)
    learn.fit(1)
    cb = AnomalyCallback(); learn.add_cb(cb)
    xb, yb = dls.train[0]
    learn.loss = nn.functional.cross_entropy(learn.model(xb), yb); learn.loss.backward()
    learn.training = True
    cb.before_fit()
    sync(device); t = time.perf_counter()
    for _ in range(n): cb.before_batch(); cb.before_step()
    sync(device)
    return (time.perf_counter() - t) / n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--rounds', type=int, default=7)
    ap.add_argument('--steps', type=int, default=30)
    ap.add_argument('--bs', type=int, default=64)
    ap.add_argument('--device', default='cpu')
    a = ap.parse_args()
    device = torch.device(a.device)
    dls = Loaders(a.steps, a.bs, device)
    variants = ['plain', 'check', 'detect_anomaly']
    times = {v: [] for v in variants}
    for r in range(a.rounds):
        for v in variants[r % 3:] + variants[:r % 3]: times[v].append(time_fit(v, dls, device))
    ratios = {v: [t / p for t, p in zip(times[v], times['plain'])] for v in variants[1:]}
    plain = statistics.median(times['plain'])
    print(f"chapter 5's CNN, bs {a.bs}, {a.device}, torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
          f"{a.rounds} rounds of {a.steps} steps")
    print(f"plain step: median {plain * 1e3:.2f} ms, min {min(times['plain']) * 1e3:.2f} ms")
    for v, rs in ratios.items():
        print(f"{v:>15} / plain: median {statistics.median(rs):.3f}x, min {min(rs):.3f}x")
    alone = statistics.median(time_check_alone(dls, device) for _ in range(5))
    print(f"the check's own work: {alone * 1e6:.0f} us per step = {alone / plain:.2%} of a plain step")


if __name__ == '__main__':
    main()
