"""bfloat16 autocast against float32: the time of one training step of chapter 5's CNN (`simple_cnn(BatchNorm)`) on a
batch of 128 Fashion-MNIST-sized images, on the CPU. float32 and bfloat16 steps alternate, `--steps` of each per round,
so that load from other processes falls on both alike; the ratio bf16/fp32 of each round is reported as median and min.
Whether bfloat16 helps depends on the CPU's bfloat16 instructions (avx512_bf16, amx_bf16 in /proc/cpuinfo): without them
torch emulates bfloat16 and mixed precision is slower than float32. Usage:
    OMP_NUM_THREADS=1 .venv/bin/python bench/bf16_cpu.py [--rounds 7] [--steps 5] [--bs 128] [--threads 1]
"""
import argparse, statistics, time
import torch
from torch import nn
from accel_sgd.batchnorm import BatchNorm
from accel_sgd.hooks import simple_cnn
from accel_sgd.scale import cpu_has_native_bf16


def step_time(model, opt, x, y, dtype, steps):
    "Seconds per training step (forward and loss under autocast when `dtype` is bfloat16, backward, step)."
    start = time.perf_counter()
    for _ in range(steps):
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=dtype == torch.bfloat16):
            loss = nn.functional.cross_entropy(model(x), y)
        loss.backward(); opt.step(); opt.zero_grad()
    return (time.perf_counter() - start) / steps


def main(rounds=7, steps=5, bs=128, threads=1):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = simple_cnn(BatchNorm)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    x, y = torch.randn(bs, 1, 28, 28), torch.randint(0, 10, (bs,))
    for dt in (torch.float32, torch.bfloat16): step_time(model, opt, x, y, dt, 2)   # warm-up: kernels, allocator
    fp32, bf16 = [], []
    for _ in range(rounds):
        fp32.append(step_time(model, opt, x, y, torch.float32, steps)); bf16.append(step_time(model, opt, x, y, torch.bfloat16, steps))
    ratios = [b / f for f, b in zip(fp32, bf16)]
    print(f"CPU capability {torch.backends.cpu.get_cpu_capability()}, native bf16 instructions: {cpu_has_native_bf16()}, "
          f"torch {torch.__version__}, {threads} thread(s), batch {bs}")
    print(f"fp32 step: median {statistics.median(fp32) * 1e3:.1f} ms (min {min(fp32) * 1e3:.1f})")
    print(f"bf16 step: median {statistics.median(bf16) * 1e3:.1f} ms (min {min(bf16) * 1e3:.1f})")
    print(f"bf16 / fp32 time ratio over {rounds} interleaved rounds: median {statistics.median(ratios):.2f}, min {min(ratios):.2f}, max {max(ratios):.2f}")


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--rounds', type=int, default=7); p.add_argument('--steps', type=int, default=5)
    p.add_argument('--bs', type=int, default=128); p.add_argument('--threads', type=int, default=1)
    main(**vars(p.parse_args()))
