"""What share of an epoch's time goes to loading data?

Times, in interleaved rounds, (a) one epoch of iterating `get_dls().train` (bs 64, all 60,000 pictures) doing
nothing with the batches, and (b) one epoch of training chapter 1's MLP on those batches (which includes the
loading). Prints each round and the median and min of the ratio a/b. The same rounds also time torchvision's
`FashionMNIST` with `ToTensor()` through a plain DataLoader, the per-sample PIL path the course avoids.

    .venv/bin/python bench/data_loading.py [--rounds 5]
"""
import argparse, statistics, time
import torch
from torch import nn
from accel_sgd.data import get_dls
from accel_sgd.sgd_loop import make_mlp, train_loop
from tutorial_data import tutorial_loaders   # bench/tutorial_data.py


def timed(f):
    start = time.perf_counter(); f(); return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--rounds', type=int, default=5)
    ap.add_argument('--bs', type=int, default=64)
    args = ap.parse_args()
    dls = get_dls(bs=args.bs, normalize=False)
    tv = tutorial_loaders(args.bs)[0]
    torch.manual_seed(0)
    model, loss_fn = make_mlp().to(dls.train.dataset.x.device), nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    print(f"{torch.__version__}, {torch.get_num_threads()} threads, device {dls.train.dataset.x.device}, "
          f"{len(dls.train)} batches of {args.bs}")
    load, train, tv_load = [], [], []
    for r in range(args.rounds):
        load.append(timed(lambda: [None for _ in dls.train]))
        train.append(timed(lambda: train_loop(dls.train, model, loss_fn, opt)))
        tv_load.append(timed(lambda: [None for _ in tv]))
        print(f"round {r+1}: load {load[-1]*1e3:7.1f} ms  train epoch {train[-1]*1e3:7.1f} ms  "
              f"share {load[-1]/train[-1]:6.2%}   torchvision ToTensor load {tv_load[-1]*1e3:7.1f} ms "
              f"({tv_load[-1]/train[-1]:.0%} of the training epoch)")
    share = [l / t for l, t in zip(load, train)]
    tv_share = [l / t for l, t in zip(tv_load, train)]
    print(f"data loading / training epoch: median {statistics.median(share):.2%}, min {min(share):.2%}")
    print(f"torchvision per-sample loading / training epoch: median {statistics.median(tv_share):.0%}, min {min(tv_share):.0%}")


if __name__ == '__main__': main()
