"""The torch-accel command line: `python -m torch_accel demo`."""
import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="torch-accel", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="train a character GPT on the emulated chip and compare with CPU")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--steps", type=int, default=300, help="training steps")
    demo.add_argument("--out", default="demo_out", help="where the trace and the loss plot go")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import run
        return run(seed=args.seed, steps=args.steps, out_dir=args.out)
    return 1


if __name__ == "__main__":
    sys.exit(main())
