"""torch_accel.profile(): the programs that ran on the chip, one record each,
with the performance model's estimate of what each would cost on the
configured architecture (docs/PERFORMANCE_MODEL.md)."""
import collections
import contextlib
import functools
import json

from . import _C

_RESOURCES = ("compute", "dram", "noc", "l1")


@functools.lru_cache(maxsize=None)
def _kernel_classes():
    return {k["name"]: k["op_class"] for k in _C.kernel_table()}


def op_class(record):
    """The family a program belongs to, for per-class totals: its compute
    kernel's entry in the kernel table, or its writer's when it has none."""
    classes = _kernel_classes()
    for role in ("compute", "writer"):
        name = record.get(role)
        if name:
            if name not in classes:
                raise ValueError(f"unknown kernel '{name}': no entry in the kernel table")
            return classes[name]
    return "data_movement"


def _with_estimate(record):
    cost = record.get("cost")
    if cost is None:
        return record
    record["time_s"] = cost["time_s"]
    record["bound"] = cost["bound"]
    record["utilisation"] = {r: cost["util_" + r] for r in _RESOURCES}
    record["energy_j"] = cost["energy_j"]
    record["op_class"] = op_class(record)
    return record


class Profile:
    """Program records collected by `with torch_accel.profile() as prof:`.

    Every record is a dict of what the program did (op, kernels, formats,
    flops, DRAM/NoC bytes, tiles, cores) plus the model's estimate: `time_s`,
    `bound`, `utilisation` (per resource, 0..1), `energy_j` and the full
    `cost` breakdown. Programs run one after another on their device.
    """

    def __init__(self, records=None, arch=None, host_fallbacks=None):
        self.records = [_with_estimate(r) for r in (records or [])]
        self.arch = arch  # architecture name; None: the configured chip
        # Op -> times it ran (eager) or would run (estimate) on the host CPU
        # instead of the chip: not a program, so not priced.
        self.host_fallbacks = dict(host_fallbacks or {})

    def ops(self):
        """Op name -> number of programs it ran."""
        counts = {}
        for r in self.records:
            counts[r["op"]] = counts.get(r["op"], 0) + 1
        return counts

    @property
    def total_time_s(self):
        return sum(r["time_s"] for r in self.records)

    @property
    def total_energy_j(self):
        return sum(r["energy_j"] for r in self.records)

    @property
    def total_flops(self):
        return sum(r["flops"] for r in self.records)

    @property
    def total_dram_bytes(self):
        return sum(r["dram_read_bytes"] + r["dram_write_bytes"] for r in self.records)

    @property
    def total_noc_bytes(self):
        return sum(r["noc_bytes"] for r in self.records)

    def summary_rows(self, by="op"):
        """One dict per op (by="op") or op class (by="class"), slowest first."""
        if by not in ("op", "class"):
            raise ValueError(f"summary_rows: by must be 'op' or 'class', got {by!r}")
        groups = {}
        for r in self.records:
            key = r["op"] if by == "op" else r["op_class"]
            g = groups.setdefault(key, {"name": key, "count": 0, "time_s": 0.0, "flops": 0,
                                        "dram_bytes": 0, "noc_bytes": 0, "energy_j": 0.0,
                                        "_bound_time": {}, "_busy": dict.fromkeys(_RESOURCES, 0.0)})
            g["count"] += 1
            g["time_s"] += r["time_s"]
            g["flops"] += r["flops"]
            g["dram_bytes"] += r["dram_read_bytes"] + r["dram_write_bytes"]
            g["noc_bytes"] += r["noc_bytes"]
            g["energy_j"] += r["energy_j"]
            g["_bound_time"][r["bound"]] = g["_bound_time"].get(r["bound"], 0.0) + r["time_s"]
            for res in _RESOURCES:
                g["_busy"][res] += r["utilisation"][res] * r["time_s"]
        rows = []
        for g in groups.values():
            t = g["time_s"]
            g["tflops"] = g["flops"] / t / 1e12 if t > 0 else 0.0
            g["intensity"] = g["flops"] / g["dram_bytes"] if g["dram_bytes"] else float("inf")
            g["bound"] = max(g["_bound_time"], key=g["_bound_time"].get)
            g["utilisation"] = {res: (g["_busy"][res] / t if t > 0 else 0.0) for res in _RESOURCES}
            g["avg_power_w"] = g["energy_j"] / t if t > 0 else 0.0
            del g["_bound_time"], g["_busy"]
            rows.append(g)
        return sorted(rows, key=lambda g: -g["time_s"])

    def summary(self):
        """A text table per op and per op class; also returned as a string."""
        header = (f"{'name':<24}{'count':>7}{'time us':>12}{'GFLOP':>10}{'TFLOP/s':>9}"
                  f"{'DRAM MB':>10}{'NoC MB':>9}{'FLOP/B':>8}  {'bound':<8}"
                  f"{'cmp%':>6}{'dram%':>6}{'noc%':>6}{'energy mJ':>11}")
        lines = []
        for title, by in (("per op", "op"), ("per op class", "class")):
            lines += [f"-- {title} --", header]
            for g in self.summary_rows(by):
                u = g["utilisation"]
                ai = "inf" if g["intensity"] == float("inf") else f"{g['intensity']:.2f}"
                lines.append(
                    f"{g['name']:<24}{g['count']:>7}{g['time_s'] * 1e6:>12.2f}"
                    f"{g['flops'] / 1e9:>10.3f}{g['tflops']:>9.2f}{g['dram_bytes'] / 1e6:>10.2f}"
                    f"{g['noc_bytes'] / 1e6:>9.2f}{ai:>8}  {g['bound']:<8}"
                    f"{100 * u['compute']:>6.1f}{100 * u['dram']:>6.1f}{100 * u['noc']:>6.1f}"
                    f"{g['energy_j'] * 1e3:>11.4f}")
        if self.host_fallbacks:
            lines.append("-- host fallbacks (run on the CPU, not priced) --")
            for name, count in sorted(self.host_fallbacks.items(), key=lambda kv: (-kv[1], kv[0])):
                lines.append(f"{name:<40}{count:>7}")
        executors = collections.Counter(r.get("executor", "cpu") for r in self.records)
        if set(executors) - {"cpu"}:  # the host's GPU executor (docs/CUDA.md) ran some
            lines.append("host executors: " + ", ".join(f"{k} {n}" for k, n in sorted(executors.items())))
        lines.append(f"total: {len(self.records)} programs, {self.total_time_s * 1e6:.2f} us, "
                     f"{self.total_flops / 1e9:.3f} GFLOP, {self.total_dram_bytes / 1e6:.2f} MB DRAM, "
                     f"{self.total_energy_j * 1e3:.4f} mJ")
        return "\n".join(lines)

    def trace_events(self):
        """Chrome trace events on the modelled device timeline (microseconds):
        one slice per program, and under it the time each resource is busy."""
        events, clock, seen = [], {}, set()
        lanes = {"programs": 0, "compute": 1, "dram": 2, "noc": 3}
        for r in self.records:
            dev = r.get("device", 0)
            if dev not in seen:
                seen.add(dev)
                events.append({"ph": "M", "name": "process_name", "pid": dev, "tid": 0,
                               "args": {"name": f"accel:{dev} (modelled)"}})
                for lane, tid in lanes.items():
                    events.append({"ph": "M", "name": "thread_name", "pid": dev, "tid": tid,
                                   "args": {"name": lane}})
            start = clock.get(dev, 0.0)
            cost = r["cost"]
            dur = r["time_s"] * 1e6
            events.append({
                "ph": "X", "name": r["op"], "cat": r["op_class"], "pid": dev, "tid": 0,
                "ts": start, "dur": dur,
                "args": {"compute_kernel": r["compute"], "bound": r["bound"],
                         "executor": r.get("executor", "cpu"),
                         "flops": r["flops"], "dram_bytes": cost["dram_bytes"],
                         "noc_bytes": r["noc_bytes"], "energy_j": r["energy_j"],
                         "cores": r["cores_used"], "tiles": r["tiles"],
                         **{"util_" + k: v for k, v in r["utilisation"].items()}},
            })
            for lane in ("compute", "dram", "noc"):
                busy = cost[lane + "_s"] * 1e6
                if busy > 0:
                    events.append({"ph": "X", "name": f"{r['op']}:{lane}", "cat": lane,
                                   "pid": dev, "tid": lanes[lane], "ts": start,
                                   "dur": min(busy, dur)})
            events.append({"ph": "C", "name": "power_w", "pid": dev, "ts": start,
                           "args": {"watts": cost["avg_power_w"]}})
            clock[dev] = start + dur
        return events

    def arch_name(self):
        return self.arch if self.arch is not None else json.loads(_C.arch_json())["name"]

    def save(self, path):
        """Writes the records and their estimates as JSON (`Profile.load` reads it)."""
        doc = {"format": "torch_accel.profile/1", "arch": self.arch_name(),
               "host_fallbacks": self.host_fallbacks,
               "records": [{k: v for k, v in r.items()
                            if k not in ("time_s", "bound", "utilisation", "energy_j", "op_class")}
                           for r in self.records]}
        with open(path, "w") as f:
            json.dump(doc, f)
        return path

    @classmethod
    def load(cls, path):
        with open(path) as f:
            doc = json.load(f)
        if doc.get("format") != "torch_accel.profile/1":
            raise ValueError(f"{path}: not a torch_accel profile (no format marker)")
        return cls(doc["records"], arch=doc["arch"], host_fallbacks=doc.get("host_fallbacks"))

    def roofline(self, path, arch=None):
        """A roofline PNG for the architecture: the DRAM-bandwidth slope and the
        matrix-engine peak at each fidelity, with every op placed at its
        arithmetic intensity and achieved throughput."""
        from ._roofline import plot
        return plot(self, path, arch or self.arch_name())

    def export_chrome_trace(self, path):
        """Writes the device timeline as a Chrome/Perfetto JSON trace."""
        doc = {"traceEvents": self.trace_events(), "displayTimeUnit": "ns",
               "otherData": {"source": "torch_accel performance model",
                             "arch": self.arch_name()}}
        with open(path, "w") as f:
            json.dump(doc, f)
        return path


@contextlib.contextmanager
def profile():
    prof = Profile()
    _C.take_records()  # drop anything from an earlier, unfinished collection
    fallbacks_before = _C.fallback_stats()
    _C.set_recording(True)
    try:
        yield prof
    finally:
        _C.set_recording(False)
        prof.records = [_with_estimate(r) for r in _C.perf_take_records()]
        after = _C.fallback_stats()
        prof.host_fallbacks = {op: n - fallbacks_before.get(op, 0) for op, n in after.items()
                               if n > fallbacks_before.get(op, 0)}
