"""The capstone recipe trained by accel_sgd and by fastai, side by side: accuracy and training time of both.

For each seed, the same network is trained with the same recipe once by accel_sgd (the capstone's own `train_recipe`
on `RECIPE`, as the chapter trains it) and once by fastai 2.8 (its `Learner`, `Adam` and `fit_one_cycle`), each in a
fresh subprocess, alternating which side goes first. Everything the two sides share is read at run time from
`accel_sgd.capstone` (RECIPE and the learner `capstone_learner` builds from it), never copied:

  network     the recipe's capstone_model, rebuilt on the fastai side from fastai's parts: each conv-BN-ReLU block as
              fastai's `ConvLayer(ni, nf, ks, stride, norm_type=NormType.Batch, act_cls=nn.ReLU)` (a Conv2d without
              bias, fastai's `BatchNorm` = torch's nn.BatchNorm2d, a ReLU), then fastai's `AdaptiveAvgPool`, fastai's
              `Flatten` and an nn.Linear. Both sides start from the SAME initial weights (accel_sgd's, for that
              seed), and from the same torch random state, so they shuffle and flip identically: what differs is
              only the two libraries' code (accel_sgd's batch norm, optimizer, schedule and Learner vs fastai's).
              accel_sgd's batch norm is the course's own (BatchNormReLU, batch norm and ReLU in one C kernel, when
              RECIPE's fused_bn; else FastBatchNorm when fast_bn; else chapter 5b's BatchNorm); `--norm torch` gives it
              torch's nn.BatchNorm2d (and a ReLU) instead, to show what the course's costs.
  data        Fashion-MNIST as `get_dls` serves it (normalised with the training pixels' mean and std; `--subset n`
              takes the same n stratified items per split), handed to fastai as the same tensors behind a plain
              PyTorch DataLoader that indexes a whole batch at once (fastai's Learner takes PyTorch DataLoaders).
              fastai's own item-by-item DataLoader would time its collation, not its training.
  optimizer   fastai's `Adam` with the mom, sqr_mom, eps and wd of the recipe's optimizer and its kind of weight
              decay (decoupled for 'adamw'), applied to every parameter as accel_sgd does (`wd_bn_bias=True`).
  schedule    `fit_one_cycle(epochs, lr)` with the div, div_final, pct_start and moms of accel_sgd's fit_one_cycle
              (or `fit(epochs, lr)` when the recipe has no one-cycle).
  loss        fastai's `CrossEntropyLossFlat(label_smoothing=...)` (torch's label-smoothed cross-entropy, as
              accel_sgd's F.cross_entropy(label_smoothing=...)).
  flips       a fastai Callback doing what accel_sgd's RandomFlip does (each training picture mirrored with
              probability p, drawn with torch.rand); fastai's `Flip` transform works on TensorImage through an
              affine grid, not on plain tensors.
  layout      fastai's own `ChannelsLast` callback when the recipe says channels_last.
  TTA         flip TTA computed the same way on both sides: the softmax of the pictures and of their mirror
              images, averaged (accel_sgd's `tta_probs`), over the validation split in batches of the same size.

A callback on each side times the fit from before_fit to after_fit (training and each epoch's validation; not the
optimizer's creation, which both fit_one_cycles do first) and its training phases alone (what the capstone's
TrainClock counts), with the same number of threads on both sides. Prints one row per seed, then mean ± half the
range over seeds (the capstone table's spread) of accuracies and times, and the median, min and max of the time
ratios accel_sgd/fastai.

fastai runs in its own virtual environment, .venv-fastai/ (made by `bash tools/fastai_venv.sh`): fastai 2.8
requires fastcore<1.9 and torch<2.9, while accel_sgd needs fastcore 2.x (nbdev 3) and tests with the PyTorch in
tools/constraints.txt, so the two cannot share one environment, nor can fastai be an installable extra of this package.
That venv has the same torch as .venv, fastai installed with --no-deps and fastcore 1.8.

    flock /work/cpu.lock .venv/bin/python bench/capstone_vs_fastai.py [--seeds 3] [--epochs N] [--width N] [--subset N]
                                       [--norm recipe|torch] [--threads N] [--json FILE]
"""
from __future__ import annotations
import argparse, json, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FASTAI_PY = ROOT/'.venv-fastai'/'bin'/'python'
# The RECIPE settings this bench knows how to reproduce in fastai. A new setting must be taught here first:
# silently training fastai without it would compare two different recipes.
# (fast_bn and fused_bn only pick accel_sgd's BatchNorm implementation, equal to torch's; fastai always uses its own, torch's.)
KNOWN = {'model', 'opt', 'lr', 'one_cycle', 'bs', 'epochs', 'wd', 'label_smoothing', 'flip', 'tta', 'width', 'channels_last',
         'fast_bn', 'fused_bn'}


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
def torch_norm_patch(cfg):
    "Under `--norm torch`, make the capstone's make_model return its network with nn.BatchNorm2d, same weights, same random state."
    if cfg['norm'] != 'torch': return
    import torch
    from torch import nn
    import accel_sgd.capstone as cap
    made = cap.make_model
    def make_model(s):
        m = made(s)
        if s['model'] != 'capstone': return m
        rng, sd = torch.get_rng_state(), m.state_dict()
        m = cap.capstone_model(s['width'], norm=nn.BatchNorm2d)
        m.load_state_dict(sd); torch.set_rng_state(rng)
        return m
    cap.make_model = make_model   # recipe_learner looks make_model up when it runs


def accel_learner(cfg):
    "The capstone's learner for this seed (capstone_learner: RECIPE with the overrides), not trained."
    from accel_sgd.capstone import capstone_learner
    torch_norm_patch(cfg)
    return capstone_learner(cfg['seed'], cfg['subset'], device='cpu', progress=False, **cfg['overrides'])


def make_probe(Base, init=None):
    "A callback of either library (`Base`, its Callback class): times the fit and its training phases, and checks the start."
    import torch
    class BenchProbe(Base):
        order = 100
        def __init__(self):
            super().__init__()
            self.fit_secs, self.train_secs, self.same_init, self.same_rng = 0., 0., None, None
        def before_fit(self):
            if init is not None:
                self.same_init = all(torch.equal(v.contiguous(), init[k]) for k, v in self.learn.model.state_dict().items())
                self.same_rng = torch.equal(torch.get_rng_state(), init['__rng_state__'])
            self._fit = time.perf_counter()
        def before_train(self): self._train = time.perf_counter()
        def after_train(self): self.train_secs += time.perf_counter() - self._train
        def after_fit(self): self.fit_secs = time.perf_counter() - self._fit
    return BenchProbe()


def run_accel(cfg):
    "Train with the capstone's own train_recipe (as the chapter does), timing its fit from the inside."
    import torch
    from accel_sgd.capstone import RECIPE, train_recipe
    from accel_sgd.learner import Callback
    set_threads(cfg['threads'])
    torch_norm_patch(cfg)
    init = torch.load(cfg['init'], weights_only=True)
    cb = make_probe(Callback, init)
    res = train_recipe({**RECIPE, **cfg['overrides']}, cfg['seed'], cfg['subset'], device='cpu', cbs=[cb])
    learn = res['learn']
    # the shared evaluation as well, to show both sides are scored by the same code
    shared = tta_accuracies(learn.model, learn.dls.valid.dataset.x, learn.dls.valid.dataset.y, cfg['valid_bs'])
    rec = learn.recorder
    return dict(acc=100 * res['accuracy'], acc_tta=100 * res['tta'], secs=cb.fit_secs, train_secs=cb.train_secs,
                clock_secs=res['seconds'], shared=shared, same_init=cb.same_init, same_rng=cb.same_rng,
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
    cb = make_probe(Callback)
    cbs = [cb] + ([RandomFlip(cfg['flip_p'])] if cfg['flip_p'] else []) + ([ChannelsLast()] if cfg['channels_last'] else [])
    learn = Learner(dls, model, loss_func=CrossEntropyLossFlat(label_smoothing=cfg['label_smoothing']),
                    opt_func=partial(Adam, mom=o['mom'], sqr_mom=o['sqr_mom'], eps=o['eps'], decouple_wd=cfg['decouple_wd']),
                    lr=cfg['lr'], wd=o['wd'], wd_bn_bias=True, metrics=accuracy, cbs=cbs, moms=tuple(cfg['one_cycle_args']['moms']))
    torch.set_rng_state(rng)      # the random state accel_sgd's learner starts fit with: the same shuffles and flips
    oc = cfg['one_cycle_args']
    with learn.no_bar(), learn.no_logging():
        if cfg['one_cycle']:
            learn.fit_one_cycle(cfg['epochs'], cfg['lr'], div=oc['div'], div_final=oc['div_final'], pct_start=oc['pct_start'],
                                wd=o['wd'], moms=tuple(oc['moms']))
        else: learn.fit(cfg['epochs'], cfg['lr'], wd=o['wd'])
    acc, acc_tta = tta_accuracies(learn.model, data['xv'], data['yv'], cfg['valid_bs'])
    rec = learn.recorder   # its losses are smoothed and debiased as accel_sgd's smooth_losses (beta 0.98)
    return dict(acc=acc, acc_tta=acc_tta, secs=cb.fit_secs, train_secs=cb.train_secs, first_losses=[float(l) for l in rec.losses[:4]],
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
    from accel_sgd.batchnorm import BatchNorm
    def is_bn(b): return isinstance(b, (nn.BatchNorm2d, BatchNorm))
    def bn(b): return dict(nf=b.num_features, eps=b.eps, momentum=b.momentum)
    def walk(m):
        kids = list(m.children()) if isinstance(m, nn.Sequential) else None
        if kids is not None and len(kids) == 3 and isinstance(kids[0], nn.Conv2d) and is_bn(kids[1]) and type(kids[2]) is nn.ReLU:
            return dict(type='conv_bn_relu', **conv(kids[0]), **{k: v for k, v in bn(kids[1]).items() if k != 'nf'})
        if (kids is not None and len(kids) == 2 and isinstance(kids[0], nn.Conv2d) and is_bn(kids[1])
                and getattr(kids[1], 'includes_relu', False)):   # BatchNormReLU: the ReLU is inside the norm layer
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
    r = learn.settings
    learn.create_opt()
    hyp = {n: get_hyper(learn.opt, n) for n in ('mom', 'sqr_mom', 'eps', 'wd')}
    if any(v is None for v in hyp.values()) or getattr(learn.opt_func, 'func', None).__name__ not in ('Adam', 'AdamW'):
        raise ValueError(f"the bench reproduces Adam (fastai's, with or without decoupled weight decay); the recipe's opt_func is {learn.opt_func}")
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
               one_cycle=bool(r['one_cycle']), one_cycle_args=one_cycle, decouple_wd=learn.opt_func.keywords.get('decouple_wd', True),
               bs=learn.dls.train.sampler.batch_size, valid_bs=learn.dls.valid.sampler.batch_size, lr=learn.lr,
               label_smoothing=lf.keywords.get('label_smoothing', 0.), flip_p=flips[0].p if flips else 0.,
               channels_last=any(isinstance(c, ChannelsLast) for c in learn.cbs), opt=hyp,
               spec=describe(learn.model), data=data_cache[key], init=str(tmp/f'init_{seed}.pt'), recipe=r,
               accel_norm=next(type(m).__name__ for m in learn.model.modules() if 'Norm' in type(m).__name__))
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


def spread(xs): return (max(xs) - min(xs)) / 2   # half the range, as the capstone's run_ladder


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--seeds', type=int, default=3, help='number of seeds, 0..N-1 (default 3)')
    ap.add_argument('--epochs', type=int, help="epochs (default: RECIPE's)")
    ap.add_argument('--width', type=int, help="the network's width (default: RECIPE's)")
    ap.add_argument('--subset', type=int, help='train and validate on N stratified items per split (a quick check)')
    ap.add_argument('--threads', type=int, default=None, help='torch threads on both sides (default: OMP_NUM_THREADS, else torch\'s)')
    ap.add_argument('--norm', choices=['recipe', 'torch'], default='recipe',
                    help="accel_sgd's batch norm: the course's own, as RECIPE picks it (fused_bn: BatchNormReLU's C kernel, fast_bn: "
                         "FastBatchNorm, else chapter 5b's BatchNorm), or torch's nn.BatchNorm2d (capstone_model's norm=), to see what the course's own costs")
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
    if isinstance(RECIPE['lr'], str):
        raise SystemExit(f"RECIPE's lr is {RECIPE['lr']!r}: the bench needs a number, the same for both libraries "
                         f"(each library's lr_find would pick its own)")
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
                print(f"accel_sgd side: torch {a['torch']}, {cfg['accel_norm']}; fastai side: {f['lib']}, torch {f['torch']}, "
                      f"nn.BatchNorm2d; {args.threads} threads; Adam {cfg['opt']} (decoupled wd: {cfg['decouple_wd']}), "
                      f"{'one-cycle ' + str(cfg['one_cycle_args']) if cfg['one_cycle'] else 'constant lr'}, lr {cfg['lr']}, "
                      f"bs {cfg['bs']}, label smoothing {cfg['label_smoothing']}, flip p {cfg['flip_p']}, "
                      f"channels_last {cfg['channels_last']}")
                print("fit s: the whole fit (training and each epoch's validation); train s: its training phases only "
                      "(the capstone's TrainClock)")
                print(f"{'seed':>4} {'first':>6} | {'accel acc':>9} {'TTA':>6} {'fit s':>6} {'train s':>7} | {'fastai acc':>10} "
                      f"{'TTA':>6} {'fit s':>6} {'train s':>7} | {'ratio fit':>9} {'train':>6}")
            if not (a['same_init'] and a['same_rng']):
                print(f"  warning: the accel_sgd subprocess did not start from the prepared weights/random state "
                      f"(same init {a['same_init']}, same rng {a['same_rng']})")
            if max(abs(x - y) for x, y in zip(a['shared'], (a['acc'], a['acc_tta']))) > 0.01:
                print(f"  warning: the shared evaluation gives {a['shared']} for accel_sgd, train_recipe {a['acc']}, {a['acc_tta']}")
            row = dict(seed=seed, first=order[0], accel=a, fastai=f, ratio=a['secs'] / f['secs'],
                       train_ratio=a['train_secs'] / f['train_secs'])
            rows.append(row)
            print(f"{seed:>4} {order[0]:>6} | {a['acc']:8.2f}% {a['acc_tta']:5.2f}% {a['secs']:6.1f} {a['train_secs']:7.1f} | "
                  f"{f['acc']:9.2f}% {f['acc_tta']:5.2f}% {f['secs']:6.1f} {f['train_secs']:7.1f} | {row['ratio']:9.3f} "
                  f"{row['train_ratio']:6.3f}", flush=True)
    key = 'acc_tta' if r['tta'] else 'acc'
    summ = {}
    for side in ('accel', 'fastai'):
        vals = {k: [row[side][k] for row in rows] for k in ('acc', 'acc_tta', 'secs', 'train_secs')}
        summ[side] = {k: (statistics.mean(v), spread(v)) for k, v in vals.items()}
    for k in ('ratio', 'train_ratio'):
        rs = [row[k] for row in rows]
        summ[k] = dict(median=statistics.median(rs), min=min(rs), max=max(rs))
    fmt = lambda m, unit='%': f"{m[0]:.2f}{unit} ± {m[1]:.2f}"
    print(f"mean ± half the range over {len(rows)} seed{'s' * (len(rows) > 1)} (as the capstone's table):")
    for side, name in (('accel', 'accel_sgd'), ('fastai', 'fastai')):
        m = summ[side]
        print(f"  {name:>9}: accuracy {fmt(m['acc'])}, with flip TTA {fmt(m['acc_tta'])}; fit {fmt(m['secs'], ' s')}, "
              f"training phases {fmt(m['train_secs'], ' s')}")
    diff = summ['accel'][key][0] - summ['fastai'][key][0]
    sp = max(summ['accel'][key][1], summ['fastai'][key][1])
    print(f"  accuracy ({'with flip TTA' if r['tta'] else 'plain'}, as the recipe scores it) accel_sgd − fastai: {diff:+.2f} points; "
          f"seed spread (the larger) {sp:.2f}" + (f" -> {'within' if abs(diff) <= sp else 'outside'} the spread" if len(rows) > 1 else ''))
    for k, what in (('ratio', 'fit'), ('train_ratio', 'training phases')):
        q = summ[k]
        print(f"  time ratio accel_sgd/fastai, {what}: median {q['median']:.3f}, min {q['min']:.3f}, max {q['max']:.3f} "
              f"({'accel_sgd no slower' if q['median'] <= 1 else 'accel_sgd slower'})")
    if args.json: Path(args.json).write_text(json.dumps(dict(recipe=r, norm=args.norm, threads=args.threads, rows=rows, summary=summ), indent=1))


if __name__ == '__main__':
    main()
