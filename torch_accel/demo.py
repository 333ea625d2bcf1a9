"""The main job (`python -m torch_accel demo`): the character-level GPT of
examples/ trains for a few hundred steps on the emulated wormhole_n150, side by
side with the same model on the CPU, and the demo shows the loss curves and
their agreement, sampled text, where the chip's time went per op class, and
the CPU fallbacks of a training step. It writes a Chrome/Perfetto trace of one
training step and a loss plot into the output directory."""
import json
import pathlib
import sys
import time
import warnings

import torch

import torch_accel

_REPO = pathlib.Path(__file__).resolve().parents[1]


def _examples():
    """The example code lives beside the package in the repository (the demo
    runs from a checkout, which is what `make demo` uses)."""
    if not (_REPO / "examples" / "gpt.py").exists():
        raise RuntimeError(f"the demo needs the repository's examples/ folder (looked in {_REPO})")
    if str(_REPO) not in sys.path:
        sys.path.insert(0, str(_REPO))
    from examples import char_gpt, gpt
    return char_gpt, gpt


def _agreement(accel, cpu, first=10):
    diffs = [abs(a - c) for a, c in zip(accel, cpu)]
    tail = max(1, len(diffs) // 10)
    return {"first_steps_max_abs": max(diffs[:first]),
            "all_steps_max_abs": max(diffs),
            "last_steps_mean_abs": sum(diffs[-tail:]) / tail,
            "last_steps_mean_loss_accel": sum(accel[-tail:]) / tail,
            "last_steps_mean_loss_cpu": sum(cpu[-tail:]) / tail}


def _plot(path, accel, cpu):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 1]})
    top.plot(cpu, label="CPU", linewidth=2.5, alpha=0.6)
    top.plot(accel, label="accel (emulated wormhole_n150)", linewidth=1)
    top.set_ylabel("training loss")
    top.set_title("character-level GPT on Shakespeare's sonnets, same seed")
    top.legend()
    bottom.semilogy([max(abs(a - c), 1e-9) for a, c in zip(accel, cpu)])
    bottom.set_ylabel("|accel - cpu|")
    bottom.set_xlabel("step")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _print_time_by_class(prof, steps):
    rows = prof.summary_rows(by="class")
    total = prof.total_time_s or 1.0
    print(f"\nwhere the chip's time went in one training step ({len(prof.records)} programs, "
          f"modelled {prof.total_time_s * 1e3:.3f} ms on the chip):")
    print(f"  {'op class':<18}{'programs':>9}{'time us':>11}{'share':>8}{'GFLOP':>9}  bound")
    for r in rows:
        print(f"  {r['name']:<18}{r['count']:>9}{r['time_s'] * 1e6:>11.1f}"
              f"{100 * r['time_s'] / total:>7.1f}%{r['flops'] / 1e9:>9.3f}  {r['bound']}")
    top = prof.summary_rows(by="op")[:8]
    print("  slowest ops: " + ", ".join(f"{r['name']} {100 * r['time_s'] / total:.0f}%" for r in top))


def run(seed=0, steps=300, out_dir="demo_out", layers=3, width=128, batch=16, block=64,
        lr=6e-3, sample_chars=240, arch="wormhole_n150", quiet=False):
    wall_start = time.perf_counter()
    from tqdm import tqdm
    torch_accel.configure(arch=arch)
    char_gpt, gpt = _examples()
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    props = torch.accel.get_device_properties()
    print(f"device: {props.name}: {props.grid_rows}x{props.grid_cols} cores, "
          f"{props.l1_bytes_per_core // 1024} KiB L1 per core, "
          f"{props.dram_bytes / 2**30:.0f} GiB DRAM, {props.clock_hz / 1e9:.2f} GHz")
    data = gpt.CharData()
    cfg = gpt.GPTConfig(vocab_size=data.vocab_size, block_size=block, n_layer=layers,
                        n_head=4, n_embd=width)
    runs = {dev: char_gpt.Trainer(dev, data, cfg, seed, lr, batch) for dev in ("accel", "cpu")}
    n_params = sum(p.numel() for p in runs["cpu"].model.parameters())
    print(f"model: character GPT, {layers} layers, width {width}, {n_params / 1e6:.2f}M parameters; "
          f"{len(data.train)} training characters of Shakespeare's sonnets; AdamW, seed {seed}")

    losses = {"accel": [], "cpu": []}
    spent = {"accel": 0.0, "cpu": 0.0}
    profiled_step = min(2, steps - 1)  # after the first steps' one-time allocations
    prof, fallbacks = None, {}
    with warnings.catch_warnings():
        # the fallback warning is reported below as a count, not once per op here
        warnings.simplefilter("ignore")
        bar = tqdm(range(steps), desc="training", unit="step", disable=quiet, file=sys.stdout)
        for step in bar:
            for dev, trainer in runs.items():
                start = time.perf_counter()
                if dev == "accel" and step == profiled_step:
                    torch_accel.reset_fallback_stats()
                    with torch_accel.profile() as prof:
                        loss = trainer.step()
                    fallbacks = torch_accel.fallback_stats()
                else:
                    loss = trainer.step()
                spent[dev] += time.perf_counter() - start
                losses[dev].append(loss)
            bar.set_postfix(accel=f"{losses['accel'][-1]:.4f}", cpu=f"{losses['cpu'][-1]:.4f}")
        bar.close()
        val = {dev: trainer.val_loss() for dev, trainer in runs.items()}
        sample = runs["accel"].sample("Shall I", sample_chars, seed=seed)

    agree = _agreement(losses["accel"], losses["cpu"])
    print(f"\nloss: step 0 {losses['accel'][0]:.4f} -> step {steps - 1} {losses['accel'][-1]:.4f} "
          f"on accel ({losses['cpu'][-1]:.4f} on CPU); validation loss accel {val['accel']:.4f}, "
          f"CPU {val['cpu']:.4f}")
    print(f"agreement with CPU: max |diff| over the first 10 steps {agree['first_steps_max_abs']:.2e}, "
          f"over all steps {agree['all_steps_max_abs']:.2e}; mean |diff| over the last 10% "
          f"{agree['last_steps_mean_abs']:.2e}")
    print(f"host time per step: accel {spent['accel'] / steps * 1e3:.1f} ms, "
          f"CPU {spent['cpu'] / steps * 1e3:.1f} ms (ratio {spent['accel'] / spent['cpu']:.2f})")
    print(f"\nsampled text (accel, temperature 0.8):\n{sample}\n")

    _print_time_by_class(prof, 1)
    n_fallback = sum(fallbacks.values())
    print(f"\nCPU fallbacks in one training step: {n_fallback} calls"
          + (f" of {len(fallbacks)} ops: " + ", ".join(f"{k} x{v}" for k, v in sorted(fallbacks.items()))
             if fallbacks else ""))

    trace = prof.export_chrome_trace(str(out / "train_step_trace.json"))
    plot = _plot(out / "loss.png", losses["accel"], losses["cpu"])
    wall = time.perf_counter() - wall_start
    summary = {"steps": steps, "seed": seed, "losses": losses, "val_loss": val, "agreement": agree,
               "fallbacks_per_step": fallbacks, "chip_time_per_step_s": prof.total_time_s,
               "host_s_per_step": {d: s / steps for d, s in spent.items()}, "wall_s": wall}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(f"wrote {trace} (open in https://ui.perfetto.dev or chrome://tracing), {plot}, "
          f"{out / 'summary.json'}")
    print(f"demo wall time: {wall:.1f} s")

    # float32 on both sides: the first steps agree to rounding, and the curves
    # stay on the same trajectory (the bound is loose on purpose: rounding
    # differences compound over hundreds of Adam steps)
    ok = (agree["first_steps_max_abs"] < 1e-3
          and abs(agree["last_steps_mean_loss_accel"] - agree["last_steps_mean_loss_cpu"]) < 0.05
          and losses["accel"][-1] < losses["accel"][0])
    print("accel training matches CPU" if ok else "ACCEL TRAINING DIFFERS FROM CPU")
    return 0 if ok else 1
