"""Two gloo processes on the CPU (the environment torchrun gives: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT) train the
same Learner as one process on the same global batches: parameters after every step, recorded losses and accuracy, and
the synchronised batch norm's outputs, gradients and running statistics, all against one process with the whole batch.
Run as `python tests/test_distributed.py worker OUT_DIR` it is the worker each of the two processes runs."""
import os, socket, subprocess, sys, time
from functools import partial
from pathlib import Path
import pytest
import torch
from torch import nn

from accel_sgd.batchnorm import BatchNorm
from accel_sgd.data import DataLoaders, TensorBatchDataset, batch_loader
from accel_sgd.learner import Callback, Learner, accuracy
from accel_sgd.scale import DistributedTrainer, RankShare, SyncBatchNorm, distributed, rank_world

WORLD = 2
# 22 training items in global batches of 5: shares of 3 and 2 (unequal: the loss weights matter), the last batch 2 = 1 + 1;
# 7 validation items in batches of 3: the last batch has 1 item, so rank 1's share is empty and skipped.
N_TRAIN, BS, N_VALID, VALID_BS, EPOCHS = 22, 5, 7, 3, 2


def make_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), BatchNorm(8), nn.ReLU(), nn.Linear(8, 3))

def make_dls():
    g = torch.Generator().manual_seed(1)
    x, xv = torch.randn(N_TRAIN, 4, generator=g), torch.randn(N_VALID, 4, generator=g)
    y, yv = torch.randint(0, 3, (N_TRAIN,), generator=g), torch.randint(0, 3, (N_VALID,), generator=g)
    return DataLoaders(batch_loader(TensorBatchDataset(x, y), BS, shuffle=True), batch_loader(TensorBatchDataset(xv, yv), VALID_BS, shuffle=False))

class Snap(Callback):
    "The flattened parameters after every step."
    order = 100
    def before_fit(self): self.params = []
    def after_step(self): self.params.append(torch.cat([p.detach().flatten().clone() for p in self.model.parameters()]))

def make_learner(dls, cbs, progress=False):
    return Learner(make_model(), dls, nn.functional.cross_entropy, opt_func=partial(torch.optim.SGD, momentum=0.9), lr=0.1,
                   metrics=[accuracy], cbs=cbs, progress=progress, device='cpu')

def bn_input():
    g = torch.Generator().manual_seed(2)
    return torch.randn(7, 3, 2, 2, generator=g) * 3 + 1, torch.randn(7, 3, 2, 2, generator=g)   # input, loss weights


def worker(out: Path):
    with distributed('gloo') as (rank, world):
        x, c = bn_input()                                   # the synchronised batch norm on shares of 4 and 3 items
        bn = SyncBatchNorm(3)
        xs = x.tensor_split(world)[rank].clone().requires_grad_()
        y = bn(xs); (y * c.tensor_split(world)[rank]).sum().backward()
        wg, bg = bn.weight.grad.clone(), bn.bias.grad.clone()
        torch.distributed.all_reduce(wg); torch.distributed.all_reduce(bg)   # parameter gradients: sums over the global batch
        learn = make_learner(make_dls(), [DistributedTrainer(), Snap()], progress=True)
        learn.fit(EPOCHS)
        torch.save({'bn': (y.detach(), xs.grad, wg, bg, bn.running_mean, bn.running_var), 'params': learn.snap.params,
                    'values': [tuple(v)[:-1] for v in learn.recorder.values], 'model_type': type(learn.model).__name__,
                    'has_progress': hasattr(learn, 'progress')}, out/f'rank{rank}.pt')


class Ordered:
    "The same global batches as `RankShare` draws, epoch after epoch, for a plain single-process Learner."
    def __init__(self, dl): self.rs, self.e = RankShare(dl, 0, 1), -1
    def __len__(self): return len(self.rs)
    def __iter__(self): self.e += 1; self.rs.set_epoch(self.e); return iter(self.rs)


def _free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp('ddp')
    env = dict(os.environ, WORLD_SIZE=str(WORLD), MASTER_ADDR='127.0.0.1', MASTER_PORT=str(_free_port()), OMP_NUM_THREADS='1')
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, __file__, 'worker', str(out)], env=dict(env, RANK=str(r), LOCAL_RANK=str(r)),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for r in range(WORLD)]
    res = [p.communicate(timeout=180) for p in procs]
    for p, (o, e) in zip(procs, res): assert p.returncode == 0, f"a worker failed:\n{o}\n{e}"
    print(f"2 gloo processes: {time.perf_counter() - start:.1f}s")
    return [torch.load(out/f'rank{r}.pt') for r in range(WORLD)], [o for o, _ in res]


def test_ddp_equals_one_process_each_step(runs):
    (r0, r1), _ = runs
    dls = make_dls()
    ref = make_learner(DataLoaders(Ordered(dls.train), dls.valid), [Snap()]).fit(EPOCHS)
    assert len(r0['params']) == len(ref.snap.params) == EPOCHS * (N_TRAIN // BS + 1)
    for a, b in zip(r0['params'], r1['params']): assert torch.equal(a, b), "the two ranks' models differ"
    diff = max((a - b).abs().max().item() for a, b in zip(r0['params'], ref.snap.params))
    print(f"DDP against one process, max parameter difference over {len(ref.snap.params)} steps: {diff:.2e}")
    assert diff < 1e-6
    assert r0['model_type'] == 'Sequential'   # after the fit the learner has its own model back
    # the recorded train loss, valid loss and accuracy are those of the global batch on both ranks
    want = [tuple(v)[:-1] for v in ref.recorder.values]
    for r in (r0, r1):
        for got, w in zip(r['values'], want): assert got[0] == w[0] and all(abs(a - b) < 1e-6 for a, b in zip(got[1:], w[1:])), (got, w)

def test_only_rank_0_prints(runs):
    (r0, r1), (out0, out1) = runs
    assert 'valid_loss' in out0 and out1.strip() == '', out1
    assert r0['has_progress'] and r1['has_progress']   # rank 1's progress callback is back after the fit

def test_sync_batchnorm_equals_batchnorm_on_the_global_batch(runs):
    (r0, r1), _ = runs
    x, c = bn_input()
    bn = BatchNorm(3); x = x.clone().requires_grad_()
    y = bn(x); (y * c).sum().backward()
    got_y, got_xg = torch.cat([r0['bn'][0], r1['bn'][0]]), torch.cat([r0['bn'][1], r1['bn'][1]])
    diffs = [(got_y - y.detach()).abs().max(), (got_xg - x.grad).abs().max(), (r0['bn'][2] - bn.weight.grad).abs().max(),
             (r0['bn'][3] - bn.bias.grad).abs().max(), (r0['bn'][4] - bn.running_mean).abs().max(), (r0['bn'][5] - bn.running_var).abs().max()]
    print("SyncBatchNorm against BatchNorm on the global batch, max differences (output, input grad, weight grad, bias grad, "
          "running mean, running var):", ', '.join(f"{d.item():.1e}" for d in diffs))
    assert max(diffs) < 1e-5
    # a per-rank batch norm (what DDP gives without synchronising) is far from it: the test can fail
    local = BatchNorm(3)(x.detach().tensor_split(WORLD)[0])
    assert (local - y.detach()[:len(local)]).abs().max() > 1e-2


if __name__ == '__main__' and sys.argv[1:2] == ['worker']: worker(Path(sys.argv[2]))
