"""The GPU executor's benchmark (docs/CUDA.md); part of `make gpu-check`.

    python bench/gpu_executor.py [--size 8192] [--steps 6]

1. x @ y, bf16 size^3, HiFi4 with fp32 accumulation: accel with the GPU
   executor (transfers from and to the emulated DRAM included) against the
   same matmul in torch on CUDA (operands already on the GPU). Target (issue
   14): accel >= 0.5x torch's throughput.
2. The character GPT's training step on accel, GPU executor on against off,
   from the same seed on the same batches: the step time ratio (target >= 5x)
   and the largest relative difference of the losses.
"""
import argparse
import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

import torch_accel  # noqa: E402
from torch_accel import cuda_exec  # noqa: E402


def median_seconds(fn, repeat):
    fn()  # warm up: device buffers, cuBLAS/kernel loading, allocator caches
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def matmul_ratio(n, repeat):
    flops = 2 * n ** 3
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, n, generator=g).to(torch.bfloat16)
    y = torch.randn(n, n, generator=g).to(torch.bfloat16)
    xa, ya = x.to("accel"), y.to("accel")
    cuda_exec.set_enabled(True)
    with torch_accel.compute_config(math_fidelity="HiFi4", fp32_dest_acc=True):
        accel_s = median_seconds(lambda: xa @ ya, repeat)
        accel_out = (xa @ ya).cpu()
    cuda_exec.set_enabled(False)
    xc, yc = x.cuda(), y.cuda()
    torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction = False

    def torch_mm():
        xc @ yc
        torch.cuda.synchronize()
    torch_s = median_seconds(torch_mm, repeat)
    ref = (xc @ yc).cpu()
    # Both accumulate bf16 products in fp32, in different orders (tests/python/test_cuda.py
    # checks the numerics); here the size of the difference is only reported.
    diff = (accel_out.float() - ref.float()).abs().max() / ref.float().abs().max()
    print(f"matmul bf16 {n}^3 HiFi4 fp32 acc: accel+CUDA {accel_s * 1e3:.1f} ms "
          f"({flops / accel_s / 1e12:.1f} TFLOP/s), torch CUDA {torch_s * 1e3:.2f} ms "
          f"({flops / torch_s / 1e12:.1f} TFLOP/s); throughput ratio {torch_s / accel_s:.3f} "
          f"(target >= 0.5); max |accel - torch| / max |torch| = {diff:.2e}")
    return torch_s / accel_s


def gpt_ratio(steps, args):
    from examples import char_gpt
    from examples.gpt import CharData, GPTConfig
    data = CharData()
    cfg = GPTConfig(vocab_size=data.vocab_size, block_size=args.block, n_layer=args.layers,
                    n_head=4, n_embd=args.width)
    trainers = {on: char_gpt.Trainer("accel", data, cfg, seed=0, lr=6e-3, batch_size=args.batch)
                for on in (False, True)}
    times = {False: [], True: []}
    losses = {False: [], True: []}
    for step in range(steps + 1):
        for on, trainer in trainers.items():  # alternating: machine load hits both alike
            cuda_exec.set_enabled(on)
            start = time.perf_counter()
            losses[on].append(trainer.step())
            if step > 0:  # the first step warms caches
                times[on].append(time.perf_counter() - start)
    cuda_exec.set_enabled(False)
    cpu_s, gpu_s = statistics.median(times[False]), statistics.median(times[True])
    worst = max(abs(a - b) / abs(a) for a, b in zip(losses[False], losses[True]))
    print(f"char GPT step (layers {args.layers}, width {args.width}, block {args.block}, "
          f"batch {args.batch}): CPU kernels {cpu_s * 1e3:.1f} ms, GPU executor "
          f"{gpu_s * 1e3:.1f} ms; speed-up {cpu_s / gpu_s:.2f}x (target >= 5x); losses "
          f"{losses[False][-1]:.5f} vs {losses[True][-1]:.5f}, largest relative difference "
          f"{worst:.2e} over {steps + 1} steps")
    return cpu_s / gpu_s


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=8192)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--block", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    stats = torch_accel.cuda_stats()
    if not stats["available"]:
        sys.exit(f"bench/gpu_executor.py: {stats['reason']}")
    if not torch.cuda.is_available():
        sys.exit("bench/gpu_executor.py: torch has no CUDA here: the reference matmul cannot run")
    print(f"GPU: {torch.cuda.get_device_name(0)}; torch {torch.__version__}")
    matmul_ratio(args.size, args.repeat)
    gpt_ratio(args.steps, args)
    print("executor counts:", {k: v for k, v in torch_accel.cuda_stats().items()
                               if k.endswith(("programs", "products"))})


if __name__ == "__main__":
    main()
