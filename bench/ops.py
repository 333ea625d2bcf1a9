"""Times ops on accel and on CPU eager in one run and prints the ratio.

    python bench/ops.py [--repeat N]

Targets (issue 3): element-wise and reductions on 4M elements <= 1.5x CPU;
per-op overhead on tiny tensors <= 2x CPU's; matmul-class ops <= 1.25x CPU.
"""
import argparse
import statistics
import time
import warnings

import torch
import torch.nn.functional as F

import torch_accel

N = 4 * 1024 * 1024


def _time(fn, repeat):
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def cases():
    x, y = torch.randn(N), torch.randn(N)
    xb, yb = x.bfloat16(), y.bfloat16()
    t1, t2 = torch.randn(8), torch.randn(8)
    return [
        ("add f32 4M", lambda a, b: a + b, (x, y)),
        ("mul bf16 4M", lambda a, b: a * b, (xb, yb)),
        ("div f32 4M", lambda a, b: a / b, (x, y)),
        ("gt f32 4M", lambda a, b: a > b, (x, y)),
        ("where f32 4M", lambda a, b: torch.where(a > 0, a, b), (x, y)),
        ("relu f32 4M", lambda a: torch.relu(a), (x,)),
        ("exp f32 4M", lambda a: torch.exp(a), (x,)),
        ("gelu f32 4M", lambda a: F.gelu(a), (x,)),
        ("silu bf16 4M", lambda a: F.silu(a), (xb,)),
        ("add tiny (8)", lambda a, b: a + b, (t1, t2)),
        ("exp tiny (8)", lambda a: torch.exp(a), (t1,)),
    ]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    torch_accel.reset_fallback_stats()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"chip {torch.accel.get_device_properties().arch}")
    print(f"{'op':<16}{'cpu ms':>10}{'accel ms':>10}{'ratio':>8}")
    for name, fn, inputs in cases():
        on_accel = [t.to("accel") for t in inputs]
        cpu = _time(lambda: fn(*inputs), args.repeat)
        accel = _time(lambda: fn(*on_accel), args.repeat)
        print(f"{name:<16}{cpu * 1e3:>10.3f}{accel * 1e3:>10.3f}{accel / cpu:>8.2f}")
    fallbacks = torch_accel.fallback_stats()
    print(f"CPU fallbacks during the run: {sum(fallbacks.values())} {fallbacks or ''}")


if __name__ == "__main__":
    main()
