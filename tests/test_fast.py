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
