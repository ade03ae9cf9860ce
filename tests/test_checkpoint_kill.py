"""Kill training processes with SIGKILL at chosen and random points, resume them from their checkpoint, and check that the
result is bit-identical to an uninterrupted run of the same seed: parameters, optimizer state and every step's loss."""
import os, random, signal, subprocess, sys, time
from pathlib import Path
import pytest
import torch

# One process imports torch once (2 s of CPU), then forks a child per run: each run is a real process, killed with SIGKILL.
SCRIPT = r"""
import os, random, signal, sys, time, traceback
import numpy as np, torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from accel_sgd.learner import Learner, Callback
from accel_sgd.data import TensorBatchDataset, batch_loader, DataLoaders
from accel_sgd.schedule import ParamScheduler, one_cycle_scheds
from accel_sgd.checkpoint import CheckpointCallback

def kill(): os.kill(os.getpid(), signal.SIGKILL)

def run(ckpt, out, loader, die):   # die: none | step:T | epoch:E | write:T | slow (for kills from outside)
    kind, _, at = die.partition(':'); at = int(at or -1)
    class Die(Callback):
        order = 99   # before CheckpointCallback's after_batch, so that write:T dies inside the save of step T
        def before_fit(self): print('ready', flush=True)
        def before_epoch(self):
            if kind == 'epoch' and self.epoch == at: kill()
        def after_loss(self):
            if kind == 'step' and self.training and self.train_iter == at: kill()   # mid-batch, after the forward pass
        def after_batch(self):
            if kind == 'slow' and self.training: time.sleep(0.02)
            if kind == 'write' and self.training and self.train_iter == at:
                fsync = os.fsync
                def dying_fsync(fd):   # the temporary file is written but not yet renamed over the checkpoint
                    if os.readlink(f'/proc/self/fd/{fd}').endswith('.tmp'): kill()
                    fsync(fd)
                os.fsync = dying_fsync

    class Jitter(Callback):   # draws from numpy and Python, which must be restored too
        def before_batch(self):
            if self.training: self.learn.xb = self.xb * (1 + 0.01 * float(np.random.randn()) + 0.01 * random.random())

    class Noisy(TensorDataset):   # the workers add noise from their own generators
        def __getitem__(self, i): xi, yi = super().__getitem__(i); return xi + 0.01 * torch.randn(4) + 0.01 * np.random.rand(), yi

    torch.manual_seed(0); np.random.seed(0); random.seed(0)
    x = torch.randn(96, 4, generator=torch.Generator().manual_seed(0)); y = (x @ torch.tensor([1., -2., 3., 0.5]) > 0).long()
    if loader == 'course': train = batch_loader(TensorBatchDataset(x[:64], y[:64]), 8, shuffle=True)
    else: train = DataLoader(Noisy(x[:64], y[:64]), batch_size=8, shuffle=True, num_workers=2)
    dls = DataLoaders(train, batch_loader(TensorBatchDataset(x[64:], y[64:]), 16, shuffle=False))
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 2))
    learn = Learner(model, dls, nn.functional.cross_entropy, cbs=[Jitter()], progress=False, device='cpu')
    cbs = [ParamScheduler(one_cycle_scheds(1e-2)), CheckpointCallback(ckpt, every_n_batches=1), Die()]
    learn.fit(3, cbs=cbs, resume=ckpt if os.path.exists(ckpt) else None)
    torch.save({'params': [p.detach() for p in learn.model.parameters()], 'opt': learn.opt.state_dict()['state'],
                'losses': torch.tensor(learn.recorder.losses, dtype=torch.float64)}, out)

print('zygote', flush=True)
for line in sys.stdin:
    pid = os.fork()
    if pid == 0:
        code = 0
        try: run(*line.split())
        except BaseException: traceback.print_exc(); code = 1
        sys.stdout.flush(); sys.stderr.flush(); os._exit(code)
    print('pid', pid, flush=True)
    print('status', os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), flush=True)
"""


class Zygote:
    "The forking process: `run(...)` starts a child and returns its pid; `wait()` its exit code (negative: killed by that signal)."
    def __init__(self, tmp):
        (tmp/'train.py').write_text(SCRIPT)
        self.tmp = tmp
        self.p = subprocess.Popen([sys.executable, str(tmp/'train.py')], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                  env=dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1'))
        assert self.p.stdout.readline().strip() == 'zygote'
    def line(self):
        l = self.p.stdout.readline()
        assert l, "the forking process died"
        return l.split()
    def run(self, loader, die, name) -> int:
        self.p.stdin.write(f"{self.tmp/f'{name}.pt'} {self.tmp/f'{name}.out'} {loader} {die}\n"); self.p.stdin.flush()
        kind, pid = self.line(); assert kind == 'pid'
        return int(pid)
    def wait(self) -> int:
        while (l := self.line())[0] != 'status': pass   # skip 'ready'
        return int(l[1])
    def close(self): self.p.stdin.close(); self.p.wait(timeout=60)


def check_same(tmp, name, ref):
    a, b = (torch.load(tmp/f'{n}.out', weights_only=True) for n in (name, ref))
    assert torch.equal(a['losses'], b['losses']), f"per-step losses differ:\n{a['losses']}\n{b['losses']}"
    assert all(torch.equal(p, q) for p, q in zip(a['params'], b['params'])), "parameters differ"
    assert sorted(a['opt']) == sorted(b['opt'])
    for i in a['opt']:
        for k, v in a['opt'][i].items(): assert torch.equal(torch.as_tensor(v), torch.as_tensor(b['opt'][i][k])), f"optimizer state {i}.{k} differs"


def run_chain(z, loader, dies, name):
    "Run with each kill point in turn, each run resuming from the checkpoint the one before left; then a last run to the end."
    for die in dies:
        z.run(loader, die, name)
        code = z.wait()
        assert code == -signal.SIGKILL, f"{die}: expected to be killed, exit code {code}"
        ck = torch.load(z.tmp/f'{name}.pt', weights_only=True)   # the checkpoint survives intact, whatever the kill hit
        if die.startswith('write:'):
            assert list(z.tmp.glob(f'.{name}.pt.*.tmp')), "the kill should have left the half-done temporary file"
            assert ck['loop']['train_iter'] == int(die[6:]) - 1, "a kill during a write must leave the previous checkpoint"
    z.run(loader, 'none', name)
    assert z.wait() == 0
    return len(dies)


@pytest.fixture(scope='module')
def z(tmp_path_factory):
    z = Zygote(tmp_path_factory.mktemp('kill'))
    for loader in ('course', 'torch'):
        z.run(loader, 'none', f'ref_{loader}')
        assert z.wait() == 0
    yield z
    z.close()


SEED = int(os.environ.get('KILL_SEED', time.time_ns() % 10**6))


def test_kill_points_course_loader(z):
    "Mid-batch in epoch 0, between epochs 0 and 1, inside the checkpoint write of a step in epoch 1, mid-batch in epoch 2."
    rng = random.Random(SEED)
    dies = [f'step:{rng.randint(1, 7)}', 'epoch:1', f'write:{rng.randint(10, 15)}', f'step:{rng.randint(17, 23)}']
    n = run_chain(z, 'course', dies, 'chain')
    check_same(z.tmp, 'chain', 'ref_course')
    print(f"KILL_SEED={SEED}: {n} kill points {dies}, resume bit-identical")


def test_kill_from_outside_at_random_times(z):
    "SIGKILL sent from outside after a random delay, three times, wherever the child happens to be (perhaps inside a write)."
    rng, killed = random.Random(SEED + 1), []
    for _ in range(3):
        pid = z.run('course', 'slow', 'outside')
        assert z.line() == ['ready']
        delay = rng.uniform(0.02, 0.3); time.sleep(delay)
        try: os.kill(pid, signal.SIGKILL)
        except ProcessLookupError: pass   # the run ended before the delay was up (a late kill left little to do): exit code 0
        code, ck = z.wait(), z.tmp/'outside.pt'   # killed before its first save, a run leaves no checkpoint and the next starts afresh
        killed.append((round(delay, 3), code, torch.load(ck, weights_only=True)['loop']['train_iter'] if ck.exists() else None))
    z.run('course', 'none', 'outside')
    assert z.wait() == 0
    check_same(z.tmp, 'outside', 'ref_course')
    print(f"KILL_SEED={SEED}: killed after {killed} (delay s, exit code, step of the checkpoint), resume bit-identical")


def test_kill_points_torch_dataloader_with_workers(z):
    "A torch DataLoader(shuffle=True, num_workers=2) whose workers draw random noise: killed mid-epoch and inside a write."
    rng = random.Random(SEED + 2)
    dies = [f'step:{rng.randint(2, 6)}', f'write:{rng.randint(12, 20)}']
    n = run_chain(z, 'torch', dies, 'workers')
    check_same(z.tmp, 'workers', 'ref_torch')
    print(f"KILL_SEED={SEED}: {n} kill points {dies}, resume bit-identical")
