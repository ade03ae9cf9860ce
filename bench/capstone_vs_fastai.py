"""The capstone recipe trained by accel_sgd and by fastai, side by side: accuracy and training time of both.

For each seed, the same network is trained with the same recipe once by accel_sgd (`capstone_learner`, as the
capstone chapter trains it) and once by fastai 2.8 (its `Learner`, `Adam` and `fit_one_cycle`), each in a fresh
subprocess, alternating which side goes first. Everything the two sides share is read at run time from
`accel_sgd.capstone` (RECIPE, capstone_model, capstone_learner), never copied:

  network     capstone_model(width), rebuilt on the fastai side from fastai's parts: each conv-BN-ReLU block as
              fastai's `ConvLayer(ni, nf, ks, stride, norm_type=NormType.Batch, act_cls=nn.ReLU)` (a Conv2d without
              bias, fastai's `BatchNorm` = torch's nn.BatchNorm2d, a ReLU), then fastai's `AdaptiveAvgPool`, fastai's
              `Flatten` and an nn.Linear. Both sides start from the SAME initial weights (accel_sgd's, for that
              seed), and from the same torch random state, so they shuffle and flip identically: what differs is
              only the two libraries' code (accel_sgd's own BatchNorm, optimizer, schedule and Learner vs fastai's).
  data        Fashion-MNIST as `get_dls` serves it (normalised with the training pixels' mean and std; `--subset n`
              takes the same n stratified items per split), handed to fastai as the same tensors behind a plain
              PyTorch DataLoader that indexes a whole batch at once (fastai's Learner takes PyTorch DataLoaders).
              fastai's own item-by-item DataLoader would time its collation, not its training.
  optimizer   fastai's `Adam` (decoupled weight decay, i.e. AdamW) with the mom, sqr_mom and eps of accel_sgd's
              optimizer and RECIPE's wd, applied to every parameter as accel_sgd does (`wd_bn_bias=True`).
  schedule    `fit_one_cycle(epochs, lr)` with the div, div_final, pct_start and moms of accel_sgd's fit_one_cycle.
  loss        fastai's `CrossEntropyLossFlat(label_smoothing=...)` (torch's label-smoothed cross-entropy, as
              accel_sgd's F.cross_entropy(label_smoothing=...)).
  flips       a fastai Callback doing what accel_sgd's RandomFlip does (each training picture mirrored with
              probability p, drawn with torch.rand); fastai's `Flip` transform works on TensorImage through an
              affine grid, not on plain tensors.
  layout      fastai's own `ChannelsLast` callback when RECIPE says channels_last.
  TTA         flip TTA computed the same way on both sides: the softmax of the pictures and of their mirror
              images, averaged (accel_sgd's `tta_probs`), over the validation split in batches of the same size.

Only `fit_one_cycle` is timed (it includes each epoch's validation pass, on both sides), with the same number of
threads on both sides. Prints one row per seed, then mean ± sample standard deviation of accuracies and times and the
median and min of the time ratios accel_sgd/fastai.

fastai runs in its own virtual environment, .venv-fastai/ (made by `bash tools/fastai_venv.sh`): fastai 2.8
requires fastcore<1.9 and torch<2.9, while accel_sgd needs fastcore 2.x (nbdev 3) and tests with the PyTorch in
tools/constraints.txt, so the two cannot share one environment, nor can fastai be an installable extra of this package.
That venv has the same torch as .venv, fastai installed with --no-deps and fastcore 1.8.

    flock /work/cpu.lock .venv/bin/python bench/capstone_vs_fastai.py [--seeds 3] [--epochs N] [--width N] [--subset N]
                                       [--norm course|torch] [--threads N] [--json FILE]
"""
from __future__ import annotations
import argparse, json, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FASTAI_PY = ROOT/'.venv-fastai'/'bin'/'python'
# The RECIPE settings this bench knows how to reproduce in fastai. A new setting must be taught here first:
# silently training fastai without it would compare two different recipes.
KNOWN = {'width', 'epochs', 'bs', 'lr', 'wd', 'label_smoothing', 'flip', 'tta', 'channels_last'}


# ---------------------------------------------------------------------------------------------------- both sides
def tta_accuracies(model, valid_x, valid_y, bs):
    "Plain and flip-TTA accuracy (in %) of `model` in eval mode over the validation tensors, `bs` pictures at a time."
    import torch
    model.eval()
    plain = tta = 0
    with torch.no_grad():
        for i in range(0, len(valid_y), bs):
            x, y = valid_x[i:i+bs], valid_y[i:i+bs]
            p = torch.as_tensor(model(x)).softmax(-1)
            pt = (p + torch.as_tensor(model(x.flip(-1))).softmax(-1)) / 2
            plain += (p.argmax(-1) == y).sum().item(); tta += (pt.argmax(-1) == y).sum().item()
    return 100 * plain / len(valid_y), 100 * tta / len(valid_y)


def set_threads(n):
    import torch
    torch.set_num_threads(n)


# ------------------------------------------------------------------------------------------------- accel_sgd side
def accel_learner(cfg):
    "The capstone's learner for this seed, with torch's nn.BatchNorm2d in capstone_model when `--norm torch`."
    import torch
    from torch import nn
    from accel_sgd.capstone import capstone_learner, capstone_model
    learn = capstone_learner(cfg['seed'], cfg['subset'], device='cpu', progress=False, **cfg['overrides'])
    if cfg['norm'] == 'torch':    # the same weights in the same places; the random state as the capstone left it
        rng, sd = torch.get_rng_state(), learn.model.state_dict()
        learn.model = capstone_model(learn.recipe['width'], norm=nn.BatchNorm2d)
        learn.model.load_state_dict(sd); torch.set_rng_state(rng)
    return learn


def run_accel(cfg):
    import torch
    from accel_sgd.capstone import get_preds
    set_threads(cfg['threads'])
    learn = accel_learner(cfg)
    init = torch.load(cfg['init'], weights_only=True)
    same_init = all(torch.equal(v, init[k]) for k, v in learn.model.state_dict().items())
    same_rng = torch.equal(torch.get_rng_state(), init['__rng_state__'])
    t0 = time.perf_counter()
    learn.fit_one_cycle(learn.recipe['epochs'])
    secs = time.perf_counter() - t0
    accs = []
    for tta in (False, True):   # the capstone's own get_preds, with and without flip TTA
        probs, targs = get_preds(learn, tta=tta)
        accs.append(100 * (probs.argmax(-1) == targs).float().mean().item())
    # the shared evaluation as well, to show both sides are scored by the same code
    xv, yv = learn.dls.valid.dataset.x, learn.dls.valid.dataset.y
    shared = tta_accuracies(learn.model, xv, yv, cfg['valid_bs'])
    rec = learn.recorder
    return dict(acc=accs[0], acc_tta=accs[1], secs=secs, shared=shared, same_init=same_init, same_rng=same_rng,
                first_losses=rec.smooth_losses[:4], valid_loss=rec.values[-1][2], torch=torch.__version__, lib='accel_sgd')


# ---------------------------------------------------------------------------------------------------- fastai side
def fastai_model(spec):
    "The network `spec` describes, from fastai's parts."
    from torch import nn
    from fastai.layers import ConvLayer, NormType, AdaptiveAvgPool, Flatten
    def build(s):
        t = s['type']
        if t == 'seq': return nn.Sequential(*[build(c) for c in s['children']])
        if t == 'conv_bn_relu':
            layer = ConvLayer(s['ni'], s['nf'], ks=s['ks'], stride=s['stride'], padding=s['padding'], bias=s['bias'],
                              norm_type=NormType.Batch, act_cls=nn.ReLU)
            layer[1].eps, layer[1].momentum = s['eps'], s['momentum']
            return layer
        if t == 'conv': return nn.Conv2d(s['ni'], s['nf'], s['ks'], s['stride'], s['padding'], bias=s['bias'])
        if t == 'bn': return nn.BatchNorm2d(s['nf'], eps=s['eps'], momentum=s['momentum'])
        if t == 'relu': return nn.ReLU()
        if t == 'avgpool': return AdaptiveAvgPool(s['size'])
        if t == 'flatten': return Flatten()
        if t == 'linear': return nn.Linear(s['ni'], s['nf'], bias=s['bias'])
        raise ValueError(f"unknown layer spec {s}")
    return build(spec)


def run_fastai(cfg):
    import warnings
    warnings.filterwarnings('ignore')
    import torch
    from functools import partial
    from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler
    import fastai
    from fastai.basics import Learner, DataLoaders, Adam, CrossEntropyLossFlat, accuracy, Callback
    from fastai.callback.schedule import fit_one_cycle   # noqa: F401  (patches Learner)
    try: from fastai.callback.channelslast import ChannelsLast
    except ImportError as e: raise SystemExit(f"fastai's ChannelsLast does not import with torch {torch.__version__}: {e}")
    set_threads(cfg['threads'])

    class RandomFlip(Callback):
        "Mirror each training picture with probability p (what accel_sgd's RandomFlip does)."
        def __init__(self, p): self.p = p
        def before_batch(self):
            if not self.training: return
            xb = self.learn.xb[0]
            flip = torch.rand(len(xb), device=xb.device) < self.p
            self.learn.xb = (torch.where(flip.view(-1, *[1] * (xb.dim() - 1)), xb.flip(-1), xb),)

    class BatchDataset(torch.utils.data.Dataset):
        def __init__(self, x, y): self.x, self.y = x, y
        def __len__(self): return len(self.y)
        def __getitem__(self, idxs): return self.x[idxs], self.y[idxs]

    def loader(x, y, bs, shuffle):
        ds = BatchDataset(x, y)
        return DataLoader(ds, sampler=BatchSampler(RandomSampler(ds) if shuffle else SequentialSampler(ds), bs, False), batch_size=None)

    data = torch.load(cfg['data'], weights_only=True)
    dls = DataLoaders(loader(data['xt'], data['yt'], cfg['bs'], True), loader(data['xv'], data['yv'], cfg['valid_bs'], False))
    model = fastai_model(cfg['spec'])
    init = torch.load(cfg['init'], weights_only=True)
    rng = init.pop('__rng_state__')
    model.load_state_dict(init)   # strict: the same parameter names and shapes as capstone_model, or an error
    o = cfg['opt']
    cbs = ([RandomFlip(cfg['flip_p'])] if cfg['flip_p'] else []) + ([ChannelsLast()] if cfg['channels_last'] else [])
    learn = Learner(dls, model, loss_func=CrossEntropyLossFlat(label_smoothing=cfg['label_smoothing']),
                    opt_func=partial(Adam, mom=o['mom'], sqr_mom=o['sqr_mom'], eps=o['eps'], decouple_wd=True),
                    lr=cfg['lr'], wd=o['wd'], wd_bn_bias=True, metrics=accuracy, cbs=cbs, moms=tuple(cfg['one_cycle']['moms']))
    torch.set_rng_state(rng)      # the random state accel_sgd's learner starts fit with: the same shuffles and flips
    oc = cfg['one_cycle']
    with learn.no_bar(), learn.no_logging():
        t0 = time.perf_counter()
        learn.fit_one_cycle(cfg['epochs'], cfg['lr'], div=oc['div'], div_final=oc['div_final'], pct_start=oc['pct_start'],
                            wd=o['wd'], moms=tuple(oc['moms']))
        secs = time.perf_counter() - t0
    acc, acc_tta = tta_accuracies(learn.model, data['xv'], data['yv'], cfg['valid_bs'])
    rec = learn.recorder   # its losses are smoothed and debiased as accel_sgd's smooth_losses (beta 0.98)
    return dict(acc=acc, acc_tta=acc_tta, secs=secs, first_losses=[float(l) for l in rec.losses[:4]],
                valid_loss=float(rec.values[-1][1]), torch=torch.__version__, lib=f'fastai {fastai.__version__}')


# ---------------------------------------------------------------------------------------------------------- parent
def describe(m):
    "A JSON description of the network `m` (capstone_model's), from which fastai_model rebuilds it."
    from torch import nn
    def conv(c):
        if c.dilation != (1, 1) or c.groups != 1 or c.kernel_size[0] != c.kernel_size[1] or len(set(c.stride)) != 1 \
           or not isinstance(c.padding, tuple) or len(set(c.padding)) != 1:
            raise ValueError(f"the bench rebuilds only square, ungrouped, undilated convolutions, not {c}")
        return dict(ni=c.in_channels, nf=c.out_channels, ks=c.kernel_size[0], stride=c.stride[0], padding=c.padding[0],
                    bias=c.bias is not None)
    def is_bn(b): return isinstance(b, nn.BatchNorm2d) or type(b).__name__ == 'BatchNorm'
    def bn(b): return dict(nf=b.num_features, eps=b.eps, momentum=b.momentum)
    def walk(m):
        kids = list(m.children()) if isinstance(m, nn.Sequential) else None
        if kids is not None and len(kids) == 3 and isinstance(kids[0], nn.Conv2d) and is_bn(kids[1]) and type(kids[2]) is nn.ReLU:
            return dict(type='conv_bn_relu', **conv(kids[0]), **{k: v for k, v in bn(kids[1]).items() if k != 'nf'})
        if kids is not None: return dict(type='seq', children=[walk(k) for k in kids])
        if isinstance(m, nn.Conv2d): return dict(type='conv', **conv(m))
        if is_bn(m): return dict(type='bn', **bn(m))
        if type(m) is nn.ReLU: return dict(type='relu')
        if isinstance(m, nn.AdaptiveAvgPool2d):
            size = m.output_size if isinstance(m.output_size, int) else m.output_size[0]
            return dict(type='avgpool', size=size)
        if isinstance(m, nn.Flatten) and m.start_dim == 1 and m.end_dim == -1: return dict(type='flatten')
        if isinstance(m, nn.Linear): return dict(type='linear', ni=m.in_features, nf=m.out_features, bias=m.bias is not None)
        raise ValueError(f"bench/capstone_vs_fastai.py cannot rebuild {type(m).__name__} ({m}) from fastai's parts: "
                         f"teach `describe` and `fastai_model` this layer")
    return walk(m)


def prepare(seed, args, overrides, tmp, data_cache):
    "Build the seed's accel_sgd learner (not trained) and write what the fastai side needs: config, data, initial weights."
    import torch
    import torch.nn.functional as F
    import inspect
    from accel_sgd.capstone import RandomFlip, ChannelsLast
    from accel_sgd.learner import Learner, get_hyper
    learn = accel_learner(dict(seed=seed, subset=args.subset, overrides=overrides, norm=args.norm))
    init = {k: v.clone() for k, v in learn.model.state_dict().items()}
    init['__rng_state__'] = torch.get_rng_state()   # the state fit starts from, after the learner's seeding and init
    r = learn.recipe
    learn.create_opt()
    hyp = {n: get_hyper(learn.opt, n) for n in ('mom', 'sqr_mom', 'eps', 'wd')}
    if any(v is None for v in hyp.values()) or getattr(learn.opt_func, 'func', None).__name__ not in ('Adam', 'AdamW') \
       or learn.opt_func.keywords.get('decouple_wd', True) is False:
        raise ValueError(f"the bench reproduces Adam with decoupled weight decay; capstone_learner's opt_func is {learn.opt_func}")
    lf = learn.loss_func
    if getattr(lf, 'func', None) is not F.cross_entropy or set(lf.keywords) - {'label_smoothing'}:
        raise ValueError(f"the bench reproduces F.cross_entropy with label smoothing; capstone_learner's loss is {lf}")
    flips = [c for c in learn.cbs if isinstance(c, RandomFlip)]
    sig = inspect.signature(Learner.fit_one_cycle).parameters   # accel_sgd's defaults, which capstone training uses
    one_cycle = {k: sig[k].default for k in ('div', 'div_final', 'pct_start', 'moms')}
    key = (args.subset, seed if args.subset else None)          # the full data is the same for every seed
    if key not in data_cache:
        data_cache[key] = str(tmp/f'data_{len(data_cache)}.pt')
        tr, va = learn.dls.train.dataset, learn.dls.valid.dataset
        torch.save({'xt': tr.x, 'yt': tr.y, 'xv': va.x, 'yv': va.y}, data_cache[key])
    cfg = dict(seed=seed, subset=args.subset, overrides=overrides, norm=args.norm, threads=args.threads, epochs=r['epochs'],
               bs=learn.dls.train.sampler.batch_size, valid_bs=learn.dls.valid.sampler.batch_size, lr=learn.lr,
               label_smoothing=lf.keywords.get('label_smoothing', 0.), flip_p=flips[0].p if flips else 0.,
               channels_last=any(isinstance(c, ChannelsLast) for c in learn.cbs), opt=hyp, one_cycle=one_cycle,
               spec=describe(learn.model), data=data_cache[key], init=str(tmp/f'init_{seed}.pt'), recipe=r)
    if cfg['bs'] != r['bs']: raise ValueError(f"capstone_learner's batch size {cfg['bs']} is not RECIPE's {r['bs']}")
    torch.save(init, cfg['init'])
    return cfg


def run_side(side, cfg, tmp):
    "Train one side in a fresh subprocess (fastai's under .venv-fastai's python) and return its result."
    cfg_path, out_path = tmp/f"cfg_{side}_{cfg['seed']}.json", tmp/f"out_{side}_{cfg['seed']}.json"
    cfg_path.write_text(json.dumps({**cfg, 'out': str(out_path)}))
    py = str(FASTAI_PY) if side == 'fastai' else sys.executable
    env = {**os.environ, 'OMP_NUM_THREADS': str(cfg['threads']), 'MKL_NUM_THREADS': str(cfg['threads'])}
    if side == 'fastai': env.pop('PYTHONPATH', None)
    p = subprocess.run([py, __file__, '--side', side, '--config', str(cfg_path)], env=env, cwd=ROOT,
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"the {side} side failed for seed {cfg['seed']} (exit {p.returncode}):\n{p.stdout[-3000:]}{p.stderr[-3000:]}")
    return json.loads(out_path.read_text())


def spread(xs): return statistics.stdev(xs) if len(xs) > 1 else 0.


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--seeds', type=int, default=3, help='number of seeds, 0..N-1 (default 3)')
    ap.add_argument('--epochs', type=int, help="epochs (default: RECIPE's)")
    ap.add_argument('--width', type=int, help="the network's width (default: RECIPE's)")
    ap.add_argument('--subset', type=int, help='train and validate on N stratified items per split (a quick check)')
    ap.add_argument('--threads', type=int, default=None, help='torch threads on both sides (default: OMP_NUM_THREADS, else torch\'s)')
    ap.add_argument('--norm', choices=['course', 'torch'], default='course',
                    help="accel_sgd's BatchNorm: the course's own (capstone_model's default, as the capstone trains) or "
                         "torch's nn.BatchNorm2d (capstone_model's norm=), to see what the course's Python-level BatchNorm costs")
    ap.add_argument('--json', help='also write the rows and summary to this JSON file')
    ap.add_argument('--side', choices=['accel', 'fastai'], help=argparse.SUPPRESS)
    ap.add_argument('--config', help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.side:                                   # a subprocess: train one side and write its result
        cfg = json.loads(Path(args.config).read_text())
        res = (run_accel if args.side == 'accel' else run_fastai)(cfg)
        Path(cfg['out']).write_text(json.dumps(res))
        return
    for name in ('seeds', 'epochs', 'width', 'subset', 'threads'):
        v = getattr(args, name)
        if v is not None and v < 1: ap.error(f"--{name} must be a positive integer, got {v}")
    import torch
    from accel_sgd.capstone import RECIPE
    unknown = set(RECIPE) - KNOWN
    if unknown:
        raise SystemExit(f"RECIPE has settings this bench cannot reproduce in fastai yet: {sorted(unknown)}; "
                         f"teach bench/capstone_vs_fastai.py (KNOWN, prepare, run_fastai) what they mean")
    if not FASTAI_PY.exists():
        raise SystemExit(f"no fastai environment at {FASTAI_PY.parent.parent}: make it with `bash tools/fastai_venv.sh` "
                         f"(fastai 2.8 needs fastcore<1.9 and torch<2.9, so it cannot live in .venv)")
    args.threads = args.threads or int(os.environ.get('OMP_NUM_THREADS') or torch.get_num_threads())
    overrides = {k: v for k, v in (('epochs', args.epochs), ('width', args.width)) if v is not None}
    r = {**RECIPE, **overrides}
    print(f"recipe: {r}" + (f"; subset {args.subset} per split" if args.subset else '')
          + ("; accel_sgd side with torch's nn.BatchNorm2d (--norm torch)" if args.norm == 'torch' else ''))
    rows = []
    with tempfile.TemporaryDirectory(prefix='capstone_vs_fastai_') as d:
        tmp, data_cache = Path(d), {}
        for i, seed in enumerate(range(args.seeds)):
            cfg = prepare(seed, args, overrides, tmp, data_cache)
            order = ['accel', 'fastai'] if i % 2 == 0 else ['fastai', 'accel']
            res = {side: run_side(side, cfg, tmp) for side in order}
            a, f = res['accel'], res['fastai']
            if i == 0:
                print(f"accel_sgd side: torch {a['torch']}; fastai side: {f['lib']}, torch {f['torch']}; {args.threads} threads; "
                      f"Adam {cfg['opt']}, one-cycle {cfg['one_cycle']}, lr {cfg['lr']}, bs {cfg['bs']}, "
                      f"label smoothing {cfg['label_smoothing']}, flip p {cfg['flip_p']}, channels_last {cfg['channels_last']}")
                print(f"{'seed':>4} {'first':>6} | {'accel acc':>9} {'TTA':>6} {'time s':>7} | {'fastai acc':>10} {'TTA':>6} "
                      f"{'time s':>7} | {'accel/fastai':>12}")
            if not (a['same_init'] and a['same_rng']):
                print(f"  warning: the accel_sgd subprocess did not start from the prepared weights/random state "
                      f"(same init {a['same_init']}, same rng {a['same_rng']})")
            if max(abs(x - y) for x, y in zip(a['shared'], (a['acc'], a['acc_tta']))) > 0.01:
                print(f"  warning: the shared evaluation gives {a['shared']} for accel_sgd, get_preds {a['acc']}, {a['acc_tta']}")
            row = dict(seed=seed, first=order[0], accel=a, fastai=f, ratio=a['secs'] / f['secs'])
            rows.append(row)
            print(f"{seed:>4} {order[0]:>6} | {a['acc']:8.2f}% {a['acc_tta']:5.2f}% {a['secs']:7.1f} | {f['acc']:9.2f}% "
                  f"{f['acc_tta']:5.2f}% {f['secs']:7.1f} | {row['ratio']:12.3f}", flush=True)
    key = 'acc_tta' if r['tta'] else 'acc'
    summ = {}
    for side in ('accel', 'fastai'):
        s = {k: [row[side][k] for row in rows] for k in ('acc', 'acc_tta', 'secs')}
        summ[side] = {k: (statistics.mean(v), spread(v)) for k, v in s.items()}
    ratios = [row['ratio'] for row in rows]
    summ['ratio'] = dict(median=statistics.median(ratios), min=min(ratios), max=max(ratios))
    fmt = lambda m, pct=True: f"{m[0]:.2f}{'%' if pct else ''} ± {m[1]:.2f}"
    print(f"mean ± sd over {len(rows)} seed{'s' * (len(rows) > 1)}:")
    for side, name in (('accel', 'accel_sgd'), ('fastai', 'fastai')):
        m = summ[side]
        print(f"  {name:>9}: accuracy {fmt(m['acc'])}, with flip TTA {fmt(m['acc_tta'])}; training {fmt(m['secs'], False)} s")
    diff = summ['accel'][key][0] - summ['fastai'][key][0]
    sd = max(summ['accel'][key][1], summ['fastai'][key][1])
    print(f"  accuracy ({'with TTA' if r['tta'] else 'plain'}, as the recipe scores it) accel_sgd − fastai: {diff:+.2f} points; "
          f"seed spread (larger sd) {sd:.2f}" + (f" -> {'within' if abs(diff) <= sd else 'outside'} the spread" if len(rows) > 1 else ''))
    print(f"  time ratio accel_sgd/fastai: median {summ['ratio']['median']:.3f}, min {summ['ratio']['min']:.3f}, "
          f"max {summ['ratio']['max']:.3f} ({'accel_sgd no slower' if summ['ratio']['median'] <= 1 else 'accel_sgd slower'})")
    if args.json: Path(args.json).write_text(json.dumps(dict(recipe=r, norm=args.norm, threads=args.threads, rows=rows, summary=summ), indent=1))


if __name__ == '__main__':
    main()
