"""python -m torch_accel.quant: the format sweep (quant.report) over the
examples' models; writes docs/QUANTIZATION.md's table and the Pareto plot.

    python -m torch_accel.quant [--steps 300] [--qat-steps 60] [--quick] [--out docs]
"""
import argparse
import pathlib
import sys

import torch_accel
from . import report

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=300, help="float32 training steps")
    parser.add_argument("--qat-steps", type=int, default=60, help="QAT fine-tuning steps")
    parser.add_argument("--quick", action="store_true",
                        help="a few steps and five formats: a smoke run (well under a minute)")
    parser.add_argument("--out", default=str(DOCS),
                        help="folder for QUANTIZATION.md and quantization_pareto.png")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.qat_steps < 1:
        parser.error("--steps and --qat-steps must be positive")
    steps, qat_steps = (20, 4) if args.quick else (args.steps, args.qat_steps)
    torch_accel.reset_fallback_stats()
    rows = report.sweep(steps, qat_steps, quick=args.quick, progress=not args.no_progress)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    png = report.plot(rows, out / "quantization_pareto.png")
    settings = f"{steps} float32 steps, {qat_steps} QAT steps" + (", --quick" if args.quick else "")
    fallbacks = report.fallbacks(rows)
    layer = report.layer_rows([r for r in report.RECIPES
                               if not args.quick or r.label in report.QUICK])
    doc = report.write_doc(rows, out / "QUANTIZATION.md", png.name, settings, fallbacks, layer)
    print(report.table(rows))
    print(f"wrote {doc} and {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
