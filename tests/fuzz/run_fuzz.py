"""The long fuzz run: `python tests/fuzz/run_fuzz.py --programs 10000`.

Programs come from seeds start..start+programs-1 (RandomDraw), so any one is
replayed with `--start SEED --programs 1 -v`. A child process runs them and
reports each on a line; when it dies (an abort, a segfault) or stops reporting
(a hang), the program it was on counts as a crash and a new child carries on
from the next seed. Prints programs run, crashes, hangs and mismatches, with
each failing program; exits non-zero if there was any.
"""
import argparse
import os
import selectors
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def child(start, stop):
    import warnings

    sys.path.insert(0, HERE)
    import torch  # noqa: F401
    import torch_accel
    torch_accel.configure(arch="tiny", num_devices=2)
    torch_accel.set_fallback_policy("silent")
    warnings.simplefilter("ignore")
    import programs

    for seed in range(start, stop):
        print(f"START {seed}", flush=True)
        program = programs.generate(programs.RandomDraw(seed))
        try:
            programs.check(program)
            print(f"OK {seed}", flush=True)
        except programs.Mismatch as e:
            text = f"{e}\n{programs.format_program(program)}".replace("\n", "\\n")
            print(f"MISMATCH {seed} {text}", flush=True)


def parent(args):
    seed, stop = args.start, args.start + args.programs
    ran, failures = 0, {"crash": [], "hang": [], "mismatch": []}
    began = time.monotonic()
    while seed < stop:
        proc = subprocess.Popen([sys.executable, __file__, "--child", str(seed), str(stop)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        current = None
        while True:
            if not sel.select(timeout=args.hang_s):
                proc.kill()
                failures["hang"].append((current, f"no progress for {args.hang_s} s"))
                ran += 1
                seed = (current if current is not None else seed) + 1
                break
            line = proc.stdout.readline()
            if not line:  # the child exited
                proc.wait()
                if current is not None:  # it died inside a program
                    failures["crash"].append((current, proc.stderr.read()[-2000:]))
                    ran += 1
                    seed = current + 1
                else:
                    seed = stop
                break
            kind, num, *rest = line.rstrip("\n").split(" ", 2)
            if kind == "START":
                current = int(num)
                continue
            ran += 1
            current = None
            if kind == "MISMATCH":
                failures["mismatch"].append((int(num), rest[0].replace("\\n", "\n")))
                if args.verbose:
                    print(f"seed {num}: {failures['mismatch'][-1][1]}", flush=True)
            if ran % 500 == 0:
                print(f"... {ran} programs, {sum(map(len, failures.values()))} failures, "
                      f"{time.monotonic() - began:.0f} s", flush=True)
        proc.stdout.close()
        proc.stderr.close()
    for kind, items in failures.items():
        for seed_, text in items[:args.show]:
            print(f"--- {kind}, seed {seed_}:\n{text}\n")
    print(f"programs run: {ran}, crashes: {len(failures['crash'])}, hangs: {len(failures['hang'])}, "
          f"mismatches: {len(failures['mismatch'])} ({time.monotonic() - began:.0f} s)")
    return 1 if any(failures.values()) else 0


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(int(sys.argv[2]), int(sys.argv[3]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--programs", type=int, default=10000)
    ap.add_argument("--start", type=int, default=0, help="first seed")
    ap.add_argument("--hang-s", type=float, default=120, help="seconds without progress that count as a hang")
    ap.add_argument("--show", type=int, default=20, help="failing programs printed per kind")
    ap.add_argument("-v", "--verbose", action="store_true", help="print each mismatch as it happens")
    return parent(ap.parse_args())


if __name__ == "__main__":
    sys.exit(main())
