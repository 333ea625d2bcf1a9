"""torch.compile(backend="accel") against eager accel, CPU eager and Inductor on
the CPU: host time per call, and the modelled device time, DRAM bytes and
program count of compiled against eager accel. In the training steps the compiled
variants compile the optimizer step too (with the same backend).

    python -m bench.compile [--iters 10] [--threads 1]
    python -m bench.compile --phases [--iters 20] [--threads 1]   # char-GPT step by phase
    python -m bench.compile --estimates   # full-size models, estimate(compile=False/True)
"""
import argparse
import copy
import os
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import torch_accel  # noqa: E402
from examples.gpt import GPT, Block, GPTConfig  # noqa: E402
from examples.vision import cnn  # noqa: E402


def _time(runs, iters):
    """Median seconds per call of each run, the runs interleaved call by call:
    the machine may be shared, and other processes' bursts then hit every
    variant alike (and the median resists them better than the mean)."""
    for run in runs.values():
        run()
        run()  # compiled: the first calls compile; eager: warm caches
    times = {label: [] for label in runs}
    for _ in range(iters):
        for label, run in runs.items():
            start = time.perf_counter()
            run()
            times[label].append(time.perf_counter() - start)
    return {label: sorted(t)[len(t) // 2] for label, t in times.items()}


def _forward(model, x):
    def run():
        with torch.no_grad():
            return model(x)
    return run


def _forward2(model, x, r):
    def run():
        with torch.no_grad():
            return model(x, r)
    return run


def _optimizer_step(opt, compile_with):
    """The whole step compiles: the optimizer's too, with the model's backend."""
    if compile_with is None:
        return opt.step
    return torch.compile(opt.step, backend=compile_with)


def _train_step(model, x, y, compile_with):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    step = _optimizer_step(opt, compile_with)

    def run():
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        step()
        return loss
    return run


def _cnn_step(model, x, y, compile_with):
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    step = _optimizer_step(opt, compile_with)

    def run():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        step()
        return loss
    return run


class ScaleGeluResidual(torch.nn.Module):
    """An element-wise chain as transformer blocks have around their matmuls:
    layer scale, bias, GELU (tanh), residual add."""

    def __init__(self, width):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.rand(width))
        self.bias = torch.nn.Parameter(torch.randn(width))

    def forward(self, x, residual):
        return F.gelu(x * self.scale + self.bias, approximate="tanh") + residual


def cases():
    torch.manual_seed(0)
    block_cfg = GPTConfig(vocab_size=65, block_size=128, n_layer=1, n_head=4, n_embd=128)
    x_block = torch.randn(8, 128, 128)
    gpt_cfg = GPTConfig(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128)
    idx, tgt = torch.randint(0, 65, (16, 64)), torch.randint(0, 65, (16, 64))
    img, labels = torch.randn(64, 1, 8, 8), torch.randint(0, 10, (64,))
    img_big = torch.randn(256, 1, 8, 8)
    for dtype in (torch.float32, torch.bfloat16):
        yield (f"GPT block fwd {str(dtype)[6:]}", Block(block_cfg).eval().to(dtype),
               lambda m, d, c, dt=dtype: _forward(m, x_block.to(d, dt)))
    x_chain, r_chain = torch.randn(32, 128, 512), torch.randn(32, 128, 512)
    yield ("eltwise chain fwd f32", ScaleGeluResidual(512),
           lambda m, d, c: _forward2(m, x_chain.to(d), r_chain.to(d)))
    yield ("small CNN train step", cnn(16), lambda m, d, c: _cnn_step(m, img.to(d), labels.to(d), c))
    trained = cnn(16)
    with torch.no_grad():  # running statistics away from their defaults
        trained(torch.randn(256, 1, 8, 8) * 2 + 0.5)
    yield ("small CNN inference", trained.eval(), lambda m, d, c: _forward(m, img_big.to(d)))
    yield ("char GPT train step", GPT(gpt_cfg),
           lambda m, d, c: _train_step(m, idx.to(d), tgt.to(d), c))


def _modelled(run):
    run()
    with torch_accel.profile() as prof:
        run()
    return prof


def phases(iters):
    """The char-GPT training step on accel, eager and compiled (model and
    optimizer step), its forward, backward and optimizer step timed apart:
    median ms of `iters` steps, the two interleaved step by step."""
    torch.manual_seed(0)
    cfg = GPTConfig(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128)
    idx = torch.randint(0, 65, (16, 64)).to("accel")
    tgt = torch.randint(0, 65, (16, 64)).to("accel")
    base = GPT(cfg)
    variants = {}
    for label, backend in (("eager", None), ("compiled", "accel")):
        model = copy.deepcopy(base).to("accel")
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        run = torch.compile(model, backend=backend) if backend else model
        variants[label] = (run, opt, _optimizer_step(opt, backend))
    times = {label: ([], [], []) for label in variants}
    for i in range(iters + 3):  # three warm-up steps (the first compiles)
        for label, (run, opt, step) in variants.items():
            t0 = time.perf_counter()
            _, loss = run(idx, tgt)
            t1 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            t2 = time.perf_counter()
            step()
            t3 = time.perf_counter()
            if i >= 3:
                for phase, dt in zip(times[label], (t1 - t0, t2 - t1, t3 - t2)):
                    phase.append(dt)
    print(f"{'char GPT step':<14}{'forward ms':>12}{'backward ms':>13}{'optimizer ms':>14}")
    for label, phase_times in times.items():
        print(f"{label:<14}" + "".join(f"{sorted(t)[len(t) // 2] * 1e3:>{w}.2f}"
                                       for t, w in zip(phase_times, (12, 13, 14))))


def estimates():
    """Full-size built-in models priced eager and compiled in estimate mode
    (no arithmetic): programs, modelled device time and DRAM traffic."""
    from torch_accel import models
    for name, batch, training, dtype in (("llama3-8b", 1, False, torch.bfloat16),
                                         ("llama3-8b", 1, True, torch.bfloat16),
                                         ("gpt2", 1, False, None), ("gpt2", 1, True, None),
                                         ("resnet50", 16, False, None), ("resnet50", 16, True, None)):
        model, x = models.builtin(name, batch=batch, seq=128)
        row = []
        for compiled in (False, True):
            torch._dynamo.reset()
            start = time.perf_counter()
            prof = torch_accel.estimate(model, x, training=training, compile=compiled, dtype=dtype)
            row.append(f"{len(prof.records)} programs {prof.total_time_s * 1e3:.2f} ms "
                       f"{prof.total_dram_bytes / 1e9:.3f} GB ({time.perf_counter() - start:.0f} s)")
        kind = "training step (AdamW)" if training else "forward"
        print(f"{name} {kind} {str(dtype or torch.float32)[6:]}: " + " -> ".join(row), flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    parser.add_argument("--phases", action="store_true",
                        help="only the char-GPT step, forward/backward/optimizer timed apart")
    parser.add_argument("--estimates", action="store_true",
                        help="only the full-size models' modelled time, eager -> compiled")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; "
          f"torch threads {torch.get_num_threads()}")
    if args.phases:
        return phases(args.iters)
    if args.estimates:
        return estimates()
    header = (f"{'case':<24}{'accel eager ms':>15}{'accel comp ms':>14}{'CPU eager ms':>13}"
              f"{'CPU inductor ms':>16}{'comp/eager':>11}{'comp/CPU':>9}{'comp/ind':>9}{'ind/CPU':>8}"
              f"{'programs':>11}{'device us':>17}{'DRAM MB':>17}")
    print(header)
    fallbacks = 0
    for name, model, make in cases():
        torch._dynamo.reset()
        torch_accel.reset_fallback_stats()
        runs = {}
        for label, device, compile_with in (("accel eager", "accel", None), ("accel comp", "accel", "accel"),
                                            ("cpu eager", "cpu", None), ("cpu inductor", "cpu", "inductor")):
            m = copy.deepcopy(model).to(device)
            runnable = torch.compile(m, backend=compile_with, dynamic=False) if compile_with else m
            runs[label] = make(runnable, device, compile_with)
        t = _time(runs, args.iters)
        eager_prof, comp_prof = _modelled(runs["accel eager"]), _modelled(runs["accel comp"])
        print(f"{name:<24}{t['accel eager'] * 1e3:>15.2f}{t['accel comp'] * 1e3:>14.2f}"
              f"{t['cpu eager'] * 1e3:>13.2f}{t['cpu inductor'] * 1e3:>16.2f}"
              f"{t['accel eager'] / t['accel comp']:>10.2f}x{t['cpu eager'] / t['accel comp']:>8.2f}x"
              f"{t['cpu inductor'] / t['accel comp']:>8.2f}x{t['cpu eager'] / t['cpu inductor']:>7.2f}x"
              f"{len(eager_prof.records):>5}->{len(comp_prof.records):<5}"
              f"{eager_prof.total_time_s * 1e6:>8.1f}->{comp_prof.total_time_s * 1e6:<8.1f}"
              f"{eager_prof.total_dram_bytes / 1e6:>8.2f}->{comp_prof.total_dram_bytes / 1e6:<8.2f}")
        fallbacks += sum(torch_accel.fallback_stats().values())
    print("ratios: >1 means compiled accel is faster; ind/CPU is what Inductor gains over CPU eager, "
          "the reference for comp/eager; device us and DRAM MB are eager->compiled, modelled on the "
          "configured chip")
    print(f"accel ops that ran through the CPU fallback (eager and compiled, every call): {fallbacks}")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
