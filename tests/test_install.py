"The installed package: its modules import with only the runtime dependencies, and the real data loads offline."
import importlib, pkgutil, subprocess, sys, tomllib
import pytest
import accel_sgd
from conftest import ROOT


def test_every_module_imports_without_dev_tools():
    "No exported module needs nbdev, pytest or jupyter: those are dev extras, absent from `pip install accel_sgd`."
    code = ("import sys, importlib, pkgutil, accel_sgd\n"
            "sys.modules.update({m: None for m in ('nbdev', 'pytest', 'IPython', 'execnb')})\n"
            "for m in pkgutil.iter_modules(accel_sgd.__path__): importlib.import_module('accel_sgd.' + m.name)\n")
    subprocess.run([sys.executable, '-c', code], check=True)


def test_modules_match_design():
    names = {m.name for m in pkgutil.iter_modules(accel_sgd.__path__)}
    assert {'data', 'quiz', 'sgd_loop', 'optimizer', 'learner', 'schedule', 'hooks', 'batchnorm', 'lr_find', 'transfer'} <= names, names


def test_runtime_dependencies_declared():
    deps = tomllib.loads((ROOT/'pyproject.toml').read_text())['project']['dependencies']
    assert {d.split('>')[0].split('=')[0] for d in deps} == {'torch', 'torchvision', 'fastcore', 'fastprogress', 'matplotlib', 'pillow', 'tensorboard'}


def test_real_fashion_mnist_loads_offline():
    from accel_sgd.data import find_fashion_mnist
    if find_fashion_mnist() is None: pytest.skip("Fashion-MNIST is not installed here (apt-get install dataset-fashion-mnist)")
    code = ("from accel_sgd.data import load_fashion_mnist, get_dls\n"
            "(xt, yt), (xv, yv) = load_fashion_mnist(download=False)\n"
            "print(len(xt), len(xv), yt.bincount().tolist() == [6000]*10)")
    out = subprocess.run([sys.executable, '-c', code], check=True, capture_output=True, text=True).stdout.split()
    assert out == ['60000', '10000', 'True']
