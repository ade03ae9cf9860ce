"""What does the Learner cost over a plain training loop?

One epoch (training on all 60,000 pictures in 938 batches of 64, then validation) of chapter 1's MLP with torch's
SGD at lr 1e-3, four ways, in interleaved rounds (the order rotates each round):

  plain     chapter 1's train_loop + test_loop over get_dls() (our tensor loader)
  learner   Learner(progress=False) over the same DataLoaders, with the accuracy metric
  bar       the same Learner with its fastprogress bar
  tutorial  the PyTorch tutorial's loop over torchvision's FashionMNIST + ToTensor through a per-sample DataLoader

Each run starts from the same seed; plain, learner and bar must end with the same validation loss (checked), i.e.
they did the same work. Prints each round and the median and min of the ratios learner/plain, bar/plain and
learner/tutorial.

    .venv/bin/python bench/learner_overhead.py [--rounds 5]
"""
import argparse, contextlib, io, statistics, time
import torch
from torch import nn
from accel_sgd.data import get_dls
from accel_sgd.learner import Learner, accuracy
from accel_sgd.sgd_loop import make_mlp, train_loop, test_loop
from tutorial_data import tutorial_loaders   # bench/tutorial_data.py

SGD = lambda params, lr: torch.optim.SGD(params, lr=lr)


def run_plain(dls):
    torch.manual_seed(0)
    model, loss_fn = make_mlp(), nn.CrossEntropyLoss()
    opt = SGD(model.parameters(), 1e-3)
    train_loop(dls.train, model, loss_fn, opt)
    return test_loop(dls.valid, model, loss_fn)[0]


def run_learner(dls, progress):
    torch.manual_seed(0)
    learn = Learner(make_mlp(), dls, nn.CrossEntropyLoss(), opt_func=SGD, lr=1e-3, metrics=[accuracy], progress=progress, device='cpu')
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()): learn.fit(1)
    return learn.recorder.values[-1][2]


def run_tutorial(loaders):
    torch.manual_seed(0)
    model, loss_fn = make_mlp(), nn.CrossEntropyLoss()
    opt = SGD(model.parameters(), 1e-3)
    train_loop(loaders[0], model, loss_fn, opt)
    return test_loop(loaders[1], model, loss_fn)[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--rounds', type=int, default=5)
    args = ap.parse_args()
    dls, tut = get_dls(bs=64, normalize=False, device='cpu'), tutorial_loaders()
    runs = {'plain': lambda: run_plain(dls), 'learner': lambda: run_learner(dls, False),
            'bar': lambda: run_learner(dls, True), 'tutorial': lambda: run_tutorial(tut)}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; one epoch = 938 training + 157 validation batches")
    times = {k: [] for k in runs}
    names = list(runs)
    for r in range(args.rounds):
        losses = {}
        for name in names[r % 4:] + names[:r % 4]:
            start = time.perf_counter(); losses[name] = runs[name](); times[name].append(time.perf_counter() - start)
        assert abs(losses['plain'] - losses['learner']) < 1e-9 and abs(losses['plain'] - losses['bar']) < 1e-9, losses
        print(f"round {r + 1}: " + '  '.join(f"{k} {times[k][-1]:.2f}s" for k in names) + f"   valid loss {losses['plain']:.6f} (all three)")
    ratio = lambda a, b: [x / y for x, y in zip(times[a], times[b])]
    for a, b, target in (('learner', 'plain', 1.02), ('bar', 'plain', 1.04), ('learner', 'tutorial', 0.90)):
        rs = ratio(a, b)
        print(f"{a} / {b}: median {statistics.median(rs):.3f}, min {min(rs):.3f}; by medians of times "
              f"{statistics.median(times[a]) / statistics.median(times[b]):.3f}, by mins {min(times[a]) / min(times[b]):.3f} (target <= {target})")


if __name__ == '__main__': main()
