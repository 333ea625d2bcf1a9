"""Starting a group of worker processes for the torch.distributed tests.

launch() runs one script in `world` processes that rendezvous through a
FileStore in a temporary folder (no fixed port, so tests running in parallel
never collide; gloo's own sockets take ports the OS picks). torchrun() runs a
script under torchrun --standalone, which also picks a free port. Workers
print one "RESULT:{json}" line each; the launchers return those dicts by rank.
"""
import json
import os
import pathlib
import subprocess
import sys

import torch_accel

REPO = pathlib.Path(torch_accel.__file__).resolve().parents[1]
TIMEOUT_S = 180

# What every worker script starts with: the group from the launcher's
# environment, and emit() for its result.
PRELUDE = r'''
import json, os, sys, datetime, faulthandler
# A hung worker prints where it is and exits, so the test reports it.
faulthandler.dump_traceback_later(float(os.environ["WORKER_DEADLINE_S"]), exit=True)
import torch, torch_accel
import torch.distributed as dist
RANK = int(os.environ["RANK"]); WORLD = int(os.environ["WORLD_SIZE"])
def emit(result):
    print("RESULT:" + json.dumps(result), flush=True)
def init(backend="accel", timeout_s=60, **kwargs):
    store = dist.FileStore(os.environ["DIST_STORE"], WORLD)
    dist.init_process_group(backend=backend, store=store, rank=RANK, world_size=WORLD,
                            timeout=datetime.timedelta(seconds=timeout_s), **kwargs)
'''


def _env(extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TORCH_ACCEL_") and k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK",
                                                           "MASTER_ADDR", "MASTER_PORT")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["OMP_NUM_THREADS"] = "1"
    env["PYTHONWARNINGS"] = "ignore"
    env.update({k: str(v) for k, v in extra.items()})
    return env


def _results(outputs):
    results = {}
    for rank, text in outputs.items():
        lines = [line for line in text.splitlines() if line.startswith("RESULT:")]
        results[rank] = json.loads(lines[-1][len("RESULT:"):]) if lines else None
    return results


def launch(script, world, tmp_path, ranks=None, timeout_s=TIMEOUT_S, env=None):
    """Runs PRELUDE + script as ranks `ranks` (default: all) of a group of
    `world`; returns ({rank: result dict or None}, {rank: output})."""
    path = pathlib.Path(tmp_path) / "worker.py"
    path.write_text(PRELUDE + script)
    store = pathlib.Path(tmp_path) / "store"
    procs = {}
    for rank in (range(world) if ranks is None else ranks):
        procs[rank] = subprocess.Popen(
            [sys.executable, str(path)], cwd=str(tmp_path), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True,
            env=_env({"RANK": rank, "WORLD_SIZE": world, "LOCAL_RANK": rank,
                      "DIST_STORE": store, "WORKER_DEADLINE_S": timeout_s - 10, **(env or {})}))
    outputs = {}
    for rank, proc in procs.items():
        try:
            outputs[rank] = proc.communicate(timeout=timeout_s)[0]
        except subprocess.TimeoutExpired:
            for p in procs.values():
                p.kill()
            raise AssertionError(f"rank {rank} hung for {timeout_s} s") from None
    return _results(outputs), outputs


def torchrun(script_path, nproc, args=(), timeout_s=TIMEOUT_S, env=None):
    """Runs a script under torchrun; returns ({rank: result}, output, returncode)."""
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone",
         f"--nproc_per_node={nproc}", str(script_path), *args],
        cwd=str(REPO), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=timeout_s, env=_env(env or {}))
    results = {}
    decoder = json.JSONDecoder()
    for piece in proc.stdout.split("RESULT:")[1:]:
        doc = decoder.raw_decode(piece)[0]
        results[doc.get("rank", len(results))] = doc
    return results, proc.stdout, proc.returncode
