"""Times ops on accel and on CPU eager in one run and prints the ratio.

    python bench/ops.py [--repeat N] [family ...]   (families: bench/cases/*.py)

Targets (issue 3): element-wise and reductions on 4M elements <= 1.5x CPU;
per-op overhead on tiny tensors <= 2x CPU's; matmul-class ops <= 1.25x CPU.
"""
import argparse
import importlib
import pkgutil
import statistics
import sys
import time
import warnings

import torch

import torch_accel

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
import cases as cases_pkg  # noqa: E402


def _time(fn, repeat):
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)

def all_cases(only):
    for info in sorted(pkgutil.iter_modules(cases_pkg.__path__), key=lambda m: m.name):
        if only and info.name not in only:
            continue
        yield from importlib.import_module(f"cases.{info.name}").cases()


MATRIX_ENGINE_CASES = ("mm ", "linear ", "bmm ", "conv2d ", "sdpa ")


def target_of(name):
    """The issue's targets: per-op overhead on tiny tensors <= 2x, matmul-class
    and conv <= 1.25x, element-wise, reductions and the rest <= 1.5x."""
    if "tiny" in name:
        return 2.0
    return 1.25 if name.startswith(MATRIX_ENGINE_CASES) else 1.5


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("families", nargs="*", help="only these bench/cases modules")
    parser.add_argument("--markdown", action="store_true", help="print a docs/PERFORMANCE.md table")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    torch_accel.reset_fallback_stats()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"chip {torch.accel.get_device_properties().arch}")
    if args.markdown:
        print("| op | cpu ms | accel ms | ratio | target |\n|---|---|---|---|---|")
    else:
        print(f"{'op':<28}{'cpu ms':>10}{'accel ms':>10}{'ratio':>8}{'target':>8}")
    missed = 0
    for name, fn, inputs in all_cases(args.families):
        on_accel = [t.to("accel") for t in inputs]
        cpu = _time(lambda: fn(*inputs), args.repeat)
        accel = _time(lambda: fn(*on_accel), args.repeat)
        ratio, target = accel / cpu, target_of(name)
        verdict = "met" if ratio <= target else "MISSED"
        missed += ratio > target
        if args.markdown:
            print(f"| {name} | {cpu * 1e3:.3f} | {accel * 1e3:.3f} | {ratio:.2f} | <= {target} {verdict} |")
        else:
            print(f"{name:<28}{cpu * 1e3:>10.3f}{accel * 1e3:>10.3f}{ratio:>8.2f}{target:>6.2f} {verdict}")
    print(f"\nTargets missed: {missed}")
    fallbacks = torch_accel.fallback_stats()
    print(f"CPU fallbacks during the run: {sum(fallbacks.values())} {fallbacks or ''}")


if __name__ == "__main__":
    main()
