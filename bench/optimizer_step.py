"""Time one optimizer step: ours (lesson, fast and compiled paths) against torch.optim's for-loop, foreach and fused.

Two sets of parameters: torchvision's ResNet-18 (11.7 M parameters in 62 tensors) and a model of 500 small
tensors (1-10 k elements each). Every optimizer gets its own copy of the parameters and the same random
gradients. Rounds are interleaved (each round times every optimizer once, in a rotated order) so that the
machine's noise spreads over all of them; we print the median and the min over rounds, each against torch's
fused Adam, and the memory-bandwidth floor: the bytes a step must read and write divided by the best bandwidth
of simple tensor passes (copy, add, scale) measured in the same run.

The compiled path (`compile=True`, chapter 2b, `accel_sgd.fast`) is timed on ResNet-18 only, by default: compiling a graph over 500 tensors
takes more than ten minutes on 2 cores (`--compile-small` includes it). The time of its first steps, compiling
included, is printed before the table.

    .venv/bin/python bench/optimizer_step.py [--rounds 7] [--steps 5] [--device cpu] [--compile-small]
"""
import argparse, logging, statistics, time
import torch
import torchvision
from accel_sgd.data import default_device
from accel_sgd.optimizer import SGD, Adam, AdamW   # the package also imports accel_sgd.fast, which adds foreach=True and compile=True

logging.getLogger('torch.utils.cpp_extension').setLevel(logging.ERROR)   # "No CUDA runtime is found", said when Inductor first compiles

# bytes read + written per parameter element by one step, in float32 (p, g, states)
TRAFFIC = {'SGD mom': (3 + 2) * 4, 'Adam': (4 + 3) * 4, 'AdamW': (4 + 3) * 4}


def param_sets(device):
    torch.manual_seed(0)
    rn18 = [p.detach().to(device) for p in torchvision.models.resnet18().parameters()]
    sizes = torch.randint(1000, 10001, (500,)).tolist()
    small = [torch.randn(n, device=device) for n in sizes]
    return {'ResNet-18 (62 tensors)': rn18, '500 small tensors': small}


def optimizers(compiled=True):
    "name -> (kind, factory(params))"
    t = torch.optim
    res = {}
    paths = (('lesson', {}), ('fast', dict(foreach=True))) + ((('compiled', dict(compile=True)),) if compiled else ())
    for path, kw in paths:
        res[f'ours SGD mom {path}'] = ('SGD mom', lambda ps, kw=kw: SGD(ps, lr=1e-3, mom=0.9, **kw))
        res[f'ours Adam {path}'] = ('Adam', lambda ps, kw=kw: Adam(ps, lr=1e-3, wd=0., **kw))
        res[f'ours AdamW {path}'] = ('AdamW', lambda ps, kw=kw: AdamW(ps, lr=1e-3, wd=1e-2, **kw))
    for impl, kw in (('for-loop', dict(foreach=False)), ('foreach', dict(foreach=True)), ('fused', dict(fused=True))):
        res[f'torch SGD mom {impl}'] = ('SGD mom', lambda ps, kw=kw: t.SGD(ps, lr=1e-3, momentum=0.9, **kw))
        res[f'torch Adam {impl}'] = ('Adam', lambda ps, kw=kw: t.Adam(ps, lr=1e-3, **kw))
        res[f'torch AdamW {impl}'] = ('AdamW', lambda ps, kw=kw: t.AdamW(ps, lr=1e-3, weight_decay=1e-2, **kw))
    return res


def memory_bandwidth(device, n=32 * 2**20, reps=10):
    "Bytes per second moved by the fastest of three simple passes over 128 MiB float32 tensors (copy, in-place add, in-place scale)."
    a, b = torch.randn(n, device=device), torch.randn(n, device=device)
    passes = {'copy': (lambda: a.copy_(b), 2), 'add': (lambda: a.add_(b), 3), 'scale': (lambda: a.mul_(1.0), 2)}
    best = 0.
    for f, tensors in passes.values():
        for _ in range(reps):
            sync(device); start = time.perf_counter(); f(); sync(device)
            best = max(best, tensors * 4 * n / (time.perf_counter() - start))
    return best


def sync(device):
    if device.type == 'cuda': torch.cuda.synchronize()


def bench(params, device, rounds, steps, compiled=True):
    opts = {}
    for name, (kind, make) in optimizers(compiled).items():
        ps = [torch.nn.Parameter(p.clone()) for p in params]
        for p in ps: p.grad = torch.randn_like(p) * 1e-2
        opt = make(ps)
        sync(device); start = time.perf_counter()
        opt.step(); opt.step(); opt.step()          # create the state, compile (the compiled path's second step), warm up
        sync(device)
        if 'compiled' in name: print(f"  {name}: first 3 steps, compiling included: {time.perf_counter() - start:.1f} s", flush=True)
        opts[name] = (kind, opt)
    times = {name: [] for name in opts}
    names = list(opts)
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]   # rotate who goes first
        for name in order:
            opt = opts[name][1]
            sync(device); start = time.perf_counter()
            for _ in range(steps): opt.step()
            sync(device); times[name].append((time.perf_counter() - start) / steps * 1e3)
    return {name: (opts[name][0], times[name]) for name in names}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--rounds', type=int, default=7)
    ap.add_argument('--steps', type=int, default=5, help='steps per timing')
    ap.add_argument('--device', default=None, help='cpu or cuda (default: default_device())')
    ap.add_argument('--compile-small', action='store_true', help='also time the compiled path on the 500 small tensors')
    args = ap.parse_args()
    device = torch.device(args.device) if args.device else default_device()
    bw = memory_bandwidth(device)
    print(f"torch {torch.__version__}, device {device}, {torch.get_num_threads()} threads; "
          f"memory bandwidth {bw / 1e9:.1f} GB/s (best of copy, add, scale); {args.rounds} interleaved rounds of {args.steps} steps")
    for set_name, params in param_sets(device).items():
        n = sum(p.numel() for p in params)
        print(f"\n{set_name}: {n / 1e6:.2f} M parameters in {len(params)} tensors", flush=True)
        compiled = args.compile_small or not set_name.startswith('500')
        res = bench(params, device, args.rounds, args.steps, compiled)
        ref = statistics.median(res['torch Adam fused'][1])
        print(f"{'optimizer':24s} {'median ms':>9s} {'min ms':>8s} {'/fused Adam':>11s} {'floor ms':>8s}")
        for name, (kind, t) in res.items():
            floor = TRAFFIC[kind] * n / bw * 1e3
            print(f"{name:24s} {statistics.median(t):9.2f} {min(t):8.2f} {statistics.median(t) / ref:10.2f}x {floor:8.2f}")
        fast, foreach = statistics.median(res['ours Adam fast'][1]), statistics.median(res['torch Adam foreach'][1])
        print(f"ours Adam fast / torch Adam fused: {fast / ref:.2f}x (median), "
              f"{min(res['ours Adam fast'][1]) / min(res['torch Adam fused'][1]):.2f}x (min); "
              f"ours Adam fast / torch Adam foreach: {fast / foreach:.2f}x")
        if compiled:
            comp = res['ours Adam compiled'][1]
            print(f"ours Adam compiled / torch Adam fused: {statistics.median(comp) / ref:.2f}x (median), "
                  f"{min(comp) / min(res['torch Adam fused'][1]):.2f}x (min)")


if __name__ == '__main__': main()
