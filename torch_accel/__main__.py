"""The torch-accel command line: `python -m torch_accel demo`, `estimate`, `report`."""
import argparse
import sys


def _load_file_model(path, batch, seq):
    """A Python file defining `model` (or `make_model()`) and `example_inputs`
    (a tuple, or `make_inputs(batch, seq)`)."""
    import runpy
    ns = runpy.run_path(path)
    model = ns["make_model"]() if "make_model" in ns else ns.get("model")
    if model is None:
        raise SystemExit(f"{path}: define `model` or `make_model()`")
    if "make_inputs" in ns:
        inputs = ns["make_inputs"](batch, seq)
    else:
        inputs = ns.get("example_inputs")
        if inputs is None:
            raise SystemExit(f"{path}: define `example_inputs` or `make_inputs(batch, seq)`")
    return model, tuple(inputs) if isinstance(inputs, (list, tuple)) else (inputs,)


def _estimate(args):
    import torch
    from .estimate import estimate
    from .models import builtin, builtin_names
    if args.model in builtin_names():
        model, x = builtin(args.model, args.batch or 1, args.seq)
        inputs, batch = (x,), None
    elif args.model.endswith(".py"):
        model, inputs = _load_file_model(args.model, args.batch, args.seq)
        batch = args.batch
    else:
        raise SystemExit(f"unknown model {args.model!r}: a .py file or one of {builtin_names()}")
    dtype = getattr(torch, args.dtype) if args.dtype else None
    config = {"math_fidelity": args.fidelity} if args.fidelity else None
    prof = estimate(model, *inputs, arch=args.arch, batch_size=batch, training=args.training,
                    compute_config=config, dtype=dtype)
    print(f"{args.model} on {args.arch}" + (" (training step)" if args.training else ""))
    print(prof.summary())
    print(f"peak device memory {prof.peak_memory_bytes / 2**30:.2f} GiB; "
          f"estimated in {prof.estimate_wall_s:.2f} s")
    if args.save:
        prof.save(args.save)
    if args.trace:
        prof.export_chrome_trace(args.trace)
    if args.roofline:
        prof.roofline(args.roofline)
    return 0


def _report(args):
    from .profiler import Profile
    prof = Profile.load(args.profile)
    print(f"{args.profile} ({prof.arch})")
    print(prof.summary())
    return 0


def _sweep(args):
    import os
    import torch
    from .models import builtin, builtin_names
    from .sweep import run_sweep, write_tables, plot, markdown_table
    if args.model not in builtin_names():
        raise SystemExit(f"unknown model {args.model!r}: one of {builtin_names()}")
    model, example = builtin(args.model, 1, args.seq)

    def make_input(batch):
        return example.new_zeros((batch,) + tuple(example.shape[1:]))
    split = lambda text, kind: [kind(v) for v in text.split(",") if v]  # noqa: E731
    rows = run_sweep(model, make_input, split(args.chips, int), split(args.layouts, str),
                     split(args.topologies, str), split(args.link_gbps, float) and
                     [g * 1e9 / 8 for g in split(args.link_gbps, float)] or [None],
                     base=args.base, batch_per_replica=args.batch_per_replica,
                     training=not args.inference, dtype=getattr(torch, args.dtype))
    os.makedirs(args.out, exist_ok=True)
    write_tables(rows, os.path.join(args.out, "sweep.csv"), os.path.join(args.out, "sweep.md"))
    plot(rows, os.path.join(args.out, "sweep.png"),
         f"{args.model}, seq {args.seq}, {args.batch_per_replica} per replica"
         + (" (forward)" if args.inference else " (training step)"))
    print(markdown_table(rows))
    print(f"wrote {args.out}/sweep.csv, sweep.md, sweep.png")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="torch-accel", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="train a character GPT on the emulated chip and compare with CPU")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--steps", type=int, default=300, help="training steps")
    demo.add_argument("--out", default="demo_out", help="where the trace and the loss plot go")
    est = commands.add_parser("estimate", help="estimate a model's cost without running it")
    est.add_argument("model", help="a Python file (defining model and example_inputs) or "
                                   "llama3-8b, llama3-70b, gpt2, resnet50, llama-tiny")
    est.add_argument("--arch", default="wormhole_n150")
    est.add_argument("--batch", type=int, default=None)
    est.add_argument("--seq", type=int, default=128)
    est.add_argument("--training", action="store_true", help="add backward and an AdamW step")
    est.add_argument("--dtype", default=None, help="run in this dtype, e.g. bfloat16")
    est.add_argument("--fidelity", default=None, help="LoFi, HiFi2, HiFi3 or HiFi4")
    est.add_argument("--save", default=None, help="write the profile JSON here")
    est.add_argument("--trace", default=None, help="write a Chrome trace here")
    est.add_argument("--roofline", default=None, help="write a roofline PNG here")
    swp = commands.add_parser("sweep", help="step time and scaling efficiency of a model as chip "
                                             "count, topology, links and layout vary")
    swp.add_argument("model", help="llama3-8b, llama3-70b, llama-tiny, ...")
    swp.add_argument("--chips", default="8,32,128,512,1024", help="comma-separated chip counts")
    swp.add_argument("--layouts", default="8x1", help="comma-separated TPxPP, e.g. 8x1,8x4")
    swp.add_argument("--topologies", default="mesh,torus", help="mesh, torus and/or torus3d")
    swp.add_argument("--link-gbps", default="", help="comma-separated link speeds in Gb/s per "
                                                     "direction (default: the base system's)")
    swp.add_argument("--base", default="galaxy", help="system whose chips and links to use")
    swp.add_argument("--seq", type=int, default=2048)
    swp.add_argument("--batch-per-replica", type=int, default=8)
    swp.add_argument("--dtype", default="bfloat16")
    swp.add_argument("--inference", action="store_true", help="forward only")
    swp.add_argument("--out", default="sweep_out")
    rep = commands.add_parser("report", help="print the table of a saved profile")
    rep.add_argument("profile")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import run
        return run(seed=args.seed, steps=args.steps, out_dir=args.out)
    if args.command == "estimate":
        return _estimate(args)
    if args.command == "report":
        return _report(args)
    if args.command == "sweep":
        return _sweep(args)
    return 1


if __name__ == "__main__":
    sys.exit(main())
