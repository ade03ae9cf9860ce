"The fast paths of chapter 2b, seen from a fresh interpreter: they come with any import, and compile=True checks for a compiler."
import os, subprocess, sys

MODEL = "import torch\nps = list(torch.nn.Linear(3, 2).parameters())\n"


def _run(code, **env):
    return subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env={**os.environ, **env})


def test_fast_paths_come_with_the_optimizer_module():
    "`import accel_sgd.optimizer` alone is enough for foreach=True and compile=True (the package imports chapter 2b's module)."
    res = _run("from accel_sgd.optimizer import Adam\n" + MODEL +
               "for p in ps: p.grad = torch.ones_like(p)\n"
               "opt = Adam(ps, foreach=True); opt.step(); opt.step()\n"
               "assert opt.state[ps[0]]['step'] == 2\n"
               "Adam(ps, compile=True)\n")
    assert res.returncode == 0, res.stderr


def test_compile_without_a_compiler_fails_when_made():
    "With CXX naming no compiler, Adam(compile=True) fails at construction, saying to use compile=False or install g++."
    res = _run("from accel_sgd.optimizer import Adam\n" + MODEL +
               "try: Adam(ps, compile=True)\n"
               "except RuntimeError as e: print(e)\n"
               "else: raise SystemExit('accepted')\n"
               "Adam(ps, foreach=True)\n", CXX='/nonexistent/g++')
    assert res.returncode == 0, res.stderr
    assert 'compile=False' in res.stdout and 'apt-get install g++' in res.stdout and '/nonexistent/g++' in res.stdout, res.stdout


def _bench_module():
    import importlib.util, pathlib
    path = pathlib.Path(__file__).parents[1] / 'bench' / 'optimizer_step.py'
    spec = importlib.util.spec_from_file_location('optimizer_step', path)
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return mod


def test_bench_lion_reference_is_lion():
    "The bench's torch.compile'd Lion (the reference for ours, torch having none) takes the same steps as chapter 8's Lion."
    import torch
    from accel_sgd.optimizers_beyond import Lion
    bench = _bench_module()
    torch.manual_seed(0)
    a = [torch.nn.Parameter(torch.randn(5, 3)), torch.nn.Parameter(torch.randn(3))]
    b = [torch.nn.Parameter(p.detach().clone()) for p in a]
    ref, ours = bench.CompiledLion(a, lr=1e-2, weight_decay=0.5), Lion(b, lr=1e-2, wd=0.5)
    for _ in range(5):
        grads = [torch.randn_like(p) for p in a]
        for p, q, g in zip(a, b, grads): p.grad, q.grad = g, g.clone()
        ref.step(); ours.step()
    for p, q in zip(a, b): torch.testing.assert_close(p, q, rtol=0, atol=1e-6)
    assert (a[0] - b[0]).abs().max() < 1e-6 and (a[0].detach() != torch.zeros(5, 3)).any()


def test_bench_beyond_contenders():
    "Each of chapter 8's optimizers in the bench has its torch reference, and ours on every path it has (Muon: no compiled one)."
    bench = _bench_module()
    names = set(bench.beyond_optimizers())
    for kind, ref in bench.BEYOND_REF.items():
        assert ref in names, ref
        paths = ('lesson', 'fast') if kind == 'Muon' else ('lesson', 'fast', 'compiled')
        assert {f'ours {kind} {p}' for p in paths} <= names, kind
