"""`make compile-sweep`: every architecture of tests/compile_sweep/models.py,
fp32 and bf16, compiled against eager accel, each in its own process (a crash
or a hang costs one row, not the sweep). Prints one row per run and exits
non-zero when any run differs, falls back to the CPU or fails.

    python tests/compile_sweep/run_sweep.py [--models a,b] [--dtypes float32,bfloat16]
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

CHILD = """
import dataclasses, json, sys, torch
torch.set_num_threads(1)
from tests.compile_sweep.compare import compare
out = compare(sys.argv[1], getattr(torch, sys.argv[2]))
print("RESULT " + json.dumps(dict(dataclasses.asdict(out), ok=out.ok)))
"""


def run_one(name, dtype, timeout):
    env = dict(os.environ, TORCH_ACCEL_COMPILE_CHECK="1", PYTHONPATH=ROOT)
    try:
        proc = subprocess.run([sys.executable, "-c", CHILD, name, dtype], capture_output=True, text=True,
                              timeout=timeout, env=env, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return dict(name=name, dtype=dtype, ok=False, problems=[f"timed out after {timeout} s"])
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return dict(name=name, dtype=dtype, ok=False, problems=[f"exit {proc.returncode}: {tail}"])


def main(argv=None):
    from tests.compile_sweep.models import NAMES
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default=",".join(NAMES))
    p.add_argument("--dtypes", default="float32,bfloat16")
    p.add_argument("--timeout", type=int, default=600)
    args = p.parse_args(argv)
    failed = 0
    for name in args.models.split(","):
        for dtype in args.dtypes.split(","):
            r = run_one(name, dtype, args.timeout)
            failed += not r["ok"]
            if "loss_eager" in r:
                against = "eager" if dtype == "float32" else "eager fp32"
                detail = (f"loss {r['loss_eager']:.5f} / {r['loss_compiled']:.5f}, worst gradient "
                          f"{r['worst_grad'][1]:.1e} off {against}, first compiled step {r['compile_s']:.1f} s")
                fb = {k: v for k, v in (("eager", r["fallbacks_eager"]), ("compiled", r["fallbacks_compiled"])) if v}
                if fb:
                    detail += f", CPU fallbacks {fb}"
            else:
                detail = ""
            print(f"{name:<12} {dtype:<9} {'ok' if r['ok'] else 'FAIL':<5} {detail} {'; '.join(r['problems'])}",
                  flush=True)
    print(f"{failed} of {len(args.models.split(',')) * len(args.dtypes.split(','))} runs failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
