"""python -m torch_accel.conformance: the pass and native rates over op_db, the
per-op table in docs/CONFORMANCE.md, and a check against the expectation file."""
import argparse
import pathlib
import sys

from . import report, runner

ROOT = pathlib.Path(__file__).resolve().parents[2]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m torch_accel.conformance")
    parser.add_argument("--ops", help="regex on the op id (default: all of op_db)")
    parser.add_argument("--dtypes", default="float32,bfloat16")
    parser.add_argument("--shard", help="K/N: every N-th op starting at the K-th")
    parser.add_argument("--jobs", type=int, default=None, help="worker processes (default: cores)")
    parser.add_argument("--expectations", default=str(ROOT / "tests/conformance/expectations.json"))
    parser.add_argument("--write", default=str(ROOT / "docs/CONFORMANCE.md"),
                        help="the markdown report ('' for none)")
    parser.add_argument("--update", action="store_true",
                        help="rewrite the expectation file with this run's outcomes")
    args = parser.parse_args(argv)

    names = runner.entry_names(args.ops, tuple(args.dtypes.split(",")), args.shard)
    expected = report.load_expectations(args.expectations)
    try:
        from tqdm import tqdm
        bar = tqdm(total=len(names), unit="entry", file=sys.stderr)
    except ImportError:
        bar = None
    outcomes = runner.run(names, args.jobs, on_outcome=(lambda o: bar.update()) if bar else None)
    if bar:
        bar.close()

    verdicts = {"regression": [], "improvement": [], "new": [], "changed": []}
    for outcome in outcomes:
        kind, why = report.compare(outcome, expected.get(f"{outcome.op}|{outcome.dtype}"))
        if kind:
            verdicts[kind].append(f"{outcome.op} [{outcome.dtype}]: {why}")
    for line in report.summary_lines(outcomes):
        print(line)
    whole_run = not (args.ops or args.shard)
    if args.write and whole_run:
        report.write_markdown(args.write, outcomes, "python -m torch_accel.conformance")
        print(f"wrote {args.write}")
    if args.update:
        merged = dict(expected)
        for o in outcomes:
            merged[f"{o.op}|{o.dtype}"] = {"status": o.status, "native": o.native,
                                           "reason": o.reason, "fallbacks": list(o.fallbacks)}
        report.save_expectations_dict(args.expectations, merged)
        print(f"updated {args.expectations} ({len(outcomes)} entries)")
        return 0
    for kind in ("improvement", "new", "changed"):
        for line in verdicts[kind]:
            print(f"{kind}: {line}")
    if verdicts["improvement"] or verdicts["new"]:
        print("the expectation file is out of date: rerun with --update to record this")
    for line in verdicts["regression"]:
        print(f"REGRESSION: {line}")
    return 1 if verdicts["regression"] else 0


if __name__ == "__main__":
    sys.exit(main())
