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

A second table times chapter 8's optimizers (`accel_sgd.optimizers_beyond`) on ResNet-18, each against torch's best
implementation of the same optimizer: foreach for RAdam, NAdam and Adafactor (torch has no fused one); for Lion, which
torch lacks, a step compiled with torch.compile from the paper's rule, written here (`CompiledLion`); for Muon, torch's only
implementation (one matrix at a time), on the convolution kernels of ResNet-18's first two stages as matrices (Newton-Schulz
on all of ResNet-18's would take seconds per step on a CPU). Muon has no compiled path (chapter 8 says why). `--no-beyond`
leaves the second table out.

    .venv/bin/python bench/optimizer_step.py [--rounds 7] [--steps 5] [--device cpu] [--compile-small] [--no-beyond]
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


def _lion_update(ps, grads, ms, lr: float, b1: float, b2: float, wd: float):
    "The paper's Lion on lists of tensors: c = b1 m + (1 - b1) g; p <- p (1 - lr wd) - lr sign(c); m <- b2 m + (1 - b2) g."
    for p, g, m in zip(ps, grads, ms):
        c = m.lerp(g, 1 - b1).sign_()
        p.mul_(1 - lr * wd).add_(c, alpha=-lr)
        m.lerp_(g, 1 - b2)


class CompiledLion(torch.optim.Optimizer):
    "Lion as a torch optimizer whose step is `_lion_update` compiled by torch.compile: the reference for our Lion, which torch lacks."
    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.):
        super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay))
        self._update = torch.compile(_lion_update, fullgraph=True)

    @torch.no_grad()
    def step(self):
        for g in self.param_groups:
            ps = [p for p in g['params'] if p.grad is not None]
            for p in ps:
                if 'exp_avg' not in self.state[p]: self.state[p]['exp_avg'] = torch.zeros_like(p)
            ms = [self.state[p]['exp_avg'] for p in ps]
            self._update(ps, [p.grad for p in ps], ms, g['lr'], *g['betas'], g['weight_decay'])


# chapter 8's optimizers: name -> the torch implementation each is measured against
BEYOND_REF = {'RAdam': 'torch RAdam foreach', 'NAdam': 'torch NAdam foreach', 'Adafactor': 'torch Adafactor foreach',
              'Lion': 'torch.compile Lion (bench)', 'Muon': 'torch Muon'}


def beyond_optimizers():
    "name -> (kind, factory(params)) for chapter 8's optimizers (defaults: torch's, the paper's for Lion), ours and the references."
    from accel_sgd.optimizers_beyond import RAdam, NAdam, Adafactor, Lion, Muon
    t, res = torch.optim, {}
    for kind, ours in (('RAdam', RAdam), ('NAdam', NAdam), ('Adafactor', Adafactor), ('Lion', Lion)):
        for path, kw in (('lesson', {}), ('fast', dict(foreach=True)), ('compiled', dict(compile=True))):
            res[f'ours {kind} {path}'] = (kind, lambda ps, ours=ours, kw=kw: ours(ps, **kw))
    res['torch RAdam foreach'] = ('RAdam', lambda ps: t.RAdam(ps, foreach=True))
    res['torch NAdam foreach'] = ('NAdam', lambda ps: t.NAdam(ps, foreach=True))
    res['torch Adafactor foreach'] = ('Adafactor', lambda ps: t.Adafactor(ps, foreach=True))
    res['torch.compile Lion (bench)'] = ('Lion', lambda ps: CompiledLion(ps))
    res['ours Muon lesson'] = ('Muon', lambda ps: Muon(ps))
    res['ours Muon fast'] = ('Muon', lambda ps: Muon(ps, foreach=True))
    res['torch Muon'] = ('Muon', lambda ps: t.Muon([torch.nn.Parameter(p.detach().flatten(1)) for p in ps]))
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


def _with_grads(opt):
    "Give every parameter of `opt` (torch's Muon holds flattened copies) a random gradient."
    for g in opt.param_groups:
        for p in g['params']:
            if p.grad is None: p.grad = torch.randn_like(p) * 1e-2


def bench(params, device, rounds, steps, compiled=True, contenders=None, warmup=3):
    "Time one step of each optimizer in `contenders` (default: `optimizers(compiled)`) in interleaved rounds; name -> (kind, ms per round)."
    opts = {}
    for name, (kind, make) in (contenders or optimizers(compiled)).items():
        ps = [torch.nn.Parameter(p.clone()) for p in (params[kind] if isinstance(params, dict) else params)]
        for p in ps: p.grad = torch.randn_like(p) * 1e-2
        opt = make(ps); _with_grads(opt)
        sync(device); start = time.perf_counter()
        for _ in range(warmup): opt.step()          # create the state, compile (the compiled path's second step), warm up
        sync(device)
        if 'compiled' in name or 'compile ' in name:
            print(f"  {name}: first {warmup} steps, compiling included: {time.perf_counter() - start:.1f} s", flush=True)
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
    ap.add_argument('--no-beyond', action='store_true', help="leave out the table of chapter 8's optimizers")
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
            comp = res['ours AdamW compiled'][1]
            print(f"ours AdamW compiled / torch AdamW fused: {statistics.median(comp) / statistics.median(res['torch AdamW fused'][1]):.2f}x (median), "
                  f"{min(comp) / min(res['torch AdamW fused'][1]):.2f}x (min)")
    if not args.no_beyond: beyond(device, args.rounds, args.steps)


def beyond(device, rounds, steps):
    "The table of chapter 8's optimizers on ResNet-18, each against torch's best implementation of it (`BEYOND_REF`)."
    rn18 = param_sets(device)['ResNet-18 (62 tensors)']
    model = torchvision.models.resnet18()
    early = [p.detach().to(device) for n, p in model.named_parameters() if p.ndim == 4 and n.startswith(('layer1', 'layer2'))]
    params = {k: rn18 for k in BEYOND_REF} | {'Muon': early}
    print(f"\nChapter 8's optimizers on ResNet-18 ({sum(p.numel() for p in rn18) / 1e6:.2f} M parameters; Muon: the "
          f"{len(early)} convolution kernels of layer1 and layer2, {sum(p.numel() for p in early) / 1e6:.2f} M parameters)", flush=True)
    res = bench(params, device, rounds, steps, contenders=beyond_optimizers(), warmup=8)   # RAdam compiles at its 7th step
    print(f"{'optimizer':28s} {'median ms':>9s} {'min ms':>8s} {'/torch best':>11s}  (torch best: foreach, or as said)")
    for name, (kind, t) in res.items():
        print(f"{name:28s} {statistics.median(t):9.2f} {min(t):8.2f} {statistics.median(t) / statistics.median(res[BEYOND_REF[kind]][1]):10.2f}x")
    for kind, ref in BEYOND_REF.items():
        best = 'compiled' if f'ours {kind} compiled' in res else 'fast'
        ours, theirs = res[f'ours {kind} {best}'][1], res[ref][1]
        print(f"ours {kind} {best} / {ref}: {statistics.median(ours) / statistics.median(theirs):.2f}x (median), "
              f"{min(ours) / min(theirs):.2f}x (min)")


if __name__ == '__main__': main()
