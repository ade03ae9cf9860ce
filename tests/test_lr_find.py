"`lr_find` under a real Ctrl-C: a SIGINT that arrives while the restore runs must not leave the learner half-restored."
import os, subprocess, sys, textwrap

SCRIPT = textwrap.dedent('''
    import os, signal, threading, time, torch
    from torch import nn
    from accel_sgd.learner import synth_learner
    import accel_sgd.lr_find

    learn = synth_learner(n_train=20, opt_func=torch.optim.AdamW)
    learn.model = nn.Sequential(nn.Linear(1, 4), nn.Linear(4, 1))
    learn.fit(1)
    model_before = {k: v.clone() for k, v in learn.model.state_dict().items()}
    opt_before = {i: {k: torch.as_tensor(v).clone() for k, v in s.items()} for i, s in learn.opt.state_dict()['state'].items()}
    rng_before = torch.get_rng_state()
    original = learn.model.load_state_dict
    def slow_load(sd, *args, **kwargs):      # a slow restore, like a large model's; Ctrl-C comes in the middle of it
        threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
        time.sleep(1.0)
        return original(sd, *args, **kwargs)
    learn.model.load_state_dict = slow_load
    try:
        learn.lr_find(num_it=30, show_plot=False)
        print('NOT INTERRUPTED')
    except KeyboardInterrupt:
        print('INTERRUPTED')
    del learn.model.load_state_dict
    same_model = all(torch.equal(v, learn.model.state_dict()[k]) for k, v in model_before.items())
    state = learn.opt.state_dict()['state']
    same_opt = all(torch.equal(v, torch.as_tensor(state[i][k])) for i, s in opt_before.items() for k, v in s.items())
    print('model', same_model, 'opt', same_opt, 'rng', torch.equal(rng_before, torch.get_rng_state()))
''')


def test_sigint_during_restore_is_held_back():
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    r = subprocess.run([sys.executable, '-c', SCRIPT], capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert 'INTERRUPTED' in r.stdout.split() and 'model True opt True rng True' in r.stdout, r.stdout + r.stderr


def test_lr_find_on_a_loader_without_length():
    "A `DataLoader` over an `IterableDataset` has no length: the finder still runs its `num_it` batches and restores."
    import torch
    from torch.utils.data import DataLoader, IterableDataset
    from accel_sgd.learner import synth_learner
    import accel_sgd.lr_find

    class Stream(IterableDataset):
        def __iter__(self):
            g = torch.Generator().manual_seed(0)
            for _ in range(64):
                x = torch.randn(1, generator=g); yield x, 2 * x + 1
    learn = synth_learner()
    learn.dls.train = DataLoader(Stream(), batch_size=4)
    before = {k: v.clone() for k, v in learn.model.state_dict().items()}
    res = learn.lr_find(num_it=30, show_plot=False)
    assert len(res.lrs) > 1
    assert all(torch.equal(v, learn.model.state_dict()[k]) for k, v in before.items())
