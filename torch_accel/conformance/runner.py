"""Runs op_db entries in worker processes, so that an op that aborts or hangs is
recorded as such and the run goes on with the next op."""
import json
import os
import re
import subprocess
import sys
import threading

import torch

from .checks import Outcome

HANG_SECONDS = 300
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def entry_names(pattern=None, dtypes=("float32", "bfloat16"), shard=None):
    """["op_id|dtype", ...] in op_db order, filtered by a regex on the op id and a
    shard "K/N" (every N-th entry starting at K, counted over op ids)."""
    from torch.testing._internal.common_methods_invocations import op_db
    from .checks import op_id
    ids = list(dict.fromkeys(op_id(op) for op in op_db))
    if pattern:
        ids = [i for i in ids if re.search(pattern, i)]
    if shard:
        k, n = (int(x) for x in shard.split("/"))
        ids = ids[k::n]
    return [f"{i}|{d}" for i in ids for d in dtypes]


def _worker(names):
    """In a child process: check each entry and print one JSON line per step."""
    import torch_accel
    from torch.testing._internal.common_methods_invocations import op_db
    from .checks import check_op, op_id
    torch_accel.set_fallback_policy("silent")
    ops = {op_id(op): op for op in op_db}
    for name in names:
        op_name, dtype = name.split("|")
        print(json.dumps({"start": name}), flush=True)
        outcome = check_op(ops[op_name], DTYPES[dtype])
        print(json.dumps({"done": name, "outcome": outcome.__dict__}), flush=True)


class _Worker:
    def __init__(self, names):
        self.pending = list(names)
        self.current = None
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "import sys, json; from torch_accel.conformance.runner "
             "import _worker; _worker(json.load(sys.stdin))"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"})
        self.proc.stdin.write(json.dumps(self.pending))
        self.proc.stdin.close()


def run(names, jobs=None, on_outcome=None):
    """Outcomes for the entries `names`, computed by `jobs` worker processes."""
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(names) or 1))
    queues = [names[i::jobs] for i in range(jobs)]
    outcomes, lock = {}, threading.Lock()

    def record(outcome):
        with lock:
            outcomes[f"{outcome.op}|{outcome.dtype}"] = outcome
            if on_outcome:
                on_outcome(outcome)

    def drive(queue):
        while queue:
            worker = _Worker(queue)
            for line in _lines_with_timeout(worker):
                message = json.loads(line)
                if "start" in message:
                    worker.current = message["start"]
                else:
                    record(Outcome(**message["outcome"]))
                    worker.pending.remove(message["done"])
                    worker.current = None
            code = worker.proc.wait()
            if worker.current is not None:
                op, dtype = worker.current.split("|")
                why = (f"no result within {HANG_SECONDS} s (hang)" if code == -9
                       else f"the process died (exit status {code})")
                record(Outcome(op, dtype, "fail", f"crash: {why}", native=False))
                worker.pending.remove(worker.current)
            queue = worker.pending

    threads = [threading.Thread(target=drive, args=(q,)) for q in queues]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [outcomes[name] for name in names if name in outcomes]


def _lines_with_timeout(worker):
    """The worker's output lines; kills it when one op takes longer than HANG_SECONDS."""
    timer = None

    def arm():
        nonlocal timer
        if timer:
            timer.cancel()
        timer = threading.Timer(HANG_SECONDS, worker.proc.kill)
        timer.daemon = True
        timer.start()

    arm()
    for line in worker.proc.stdout:
        arm()
        yield line
    timer.cancel()
