"""The step of a multi-chip estimate from its per-role costs (torch_accel.scale):
the 1F1B pipeline with its bubble, data-parallel buckets overlapped with the
last backward, the optimizer, the critical path, the bound and the energy."""
import json
import time

from . import _C, systems


def _pipeline(work, m):
    """1F1B: the slowest stage sets the steady state; every stage is passed
    once while the pipeline fills and drains."""
    return (m - 1) * max(work) + sum(work)


def _dp_finish(system, ranks, grad_bytes, bucket_bytes, window_start, window, dtype_bytes, log, m):
    """When the last gradient bucket's all-reduce ends: bucket k is ready when
    the backward has produced its share of the gradients (DDP order), and
    all-reduces run one after another on the links."""
    if len(ranks) < 2 or grad_bytes <= 0:
        return window_start + window, 0.0
    sizes = [bucket_bytes] * int(grad_bytes // bucket_bytes)
    if grad_bytes % bucket_bytes:
        sizes.append(grad_bytes % bucket_bytes)
    costs = {}
    for size in set(sizes):
        costs[size] = systems.collective_cost(system, "all_reduce", size, ranks=ranks, dtype=dtype_bytes)
    free, done, joules = window_start, 0.0, 0.0
    for size in sizes:
        done += size
        ready = window_start + window * done / grad_bytes
        free = max(free, ready) + costs[size]["time_s"]
        joules += costs[size]["energy_j"]
    for size, c in costs.items():
        log.append({"kind": "data parallel", "op": "all_reduce", "nbytes": size,
                    "group_size": len(ranks), "algorithm": c["algorithm"], "time_s": c["time_s"],
                    "energy_j": c["energy_j"], "count": sizes.count(size)})
    return max(free, window_start + window), joules


def step_timeline(result_type, *, roles, log, system, sysdoc, arch, tp, dp, pp, m, training,
                  sequence_parallel, bucket_mb, dtype_bytes, start, global_batch):
    fwd = [r["fwd_s"] + r["tp_fwd_s"] + (r["p2p_s"] if not training else 0) for r in roles]
    bwd = [r["bwd_s"] + r["tp_bwd_s"] + (r["p2p_s"] if training else 0) for r in roles]
    work = [f + b for f, b in zip(fwd, bwd)]
    pipe = _pipeline(work, m)
    slow = max(range(len(roles)), key=lambda s: work[s])
    ends, joules_dp = [], 0.0
    for s, r in enumerate(roles):
        last_bwd_end = pipe - sum(bwd[:s])
        if training:
            dp_ranks = [tp * (d + dp * s) for d in range(dp)]
            seen = len(log)
            finish, j = _dp_finish(system, dp_ranks, r["grad_bytes"], bucket_mb * 2**20,
                                   last_bwd_end - bwd[s], bwd[s], dtype_bytes, log, m)
            if s != 0:
                del log[seen:]  # one table entry per kind: stage 0's buckets
            joules_dp += j * tp
            ends.append(finish + r["optimizer_s"])
        else:
            ends.append(last_bwd_end)
    step = max(ends)
    crit = max(range(len(roles)), key=lambda s: ends[s])
    b = roles[slow]
    path = [("forward compute", m * b["fwd_s"])]
    if training:
        path.append(("backward compute", m * b["bwd_s"]))
    path += [("tensor-parallel collectives", m * (b["tp_fwd_s"] + b["tp_bwd_s"])),
             ("pipeline send/recv", m * b["p2p_s"]),
             ("pipeline bubble", pipe - m * work[slow])]
    if training:
        path += [("data-parallel all-reduce", step - pipe - roles[crit]["optimizer_s"]),
                 ("optimizer", roles[crit]["optimizer_s"])]
    path = [(name, max(0.0, seconds)) for name, seconds in path]
    bound = max(path, key=lambda kv: kv[1])[0]

    arch_doc = json.loads(_C.arch_json_for(arch))
    static_w = arch_doc["static_power_w"]
    energy = joules_dp
    for r in roles:
        chips = tp * dp
        busy = m * (r["fwd_s"] + r["bwd_s"]) + r["optimizer_s"]
        energy += chips * (m * r["energy_j"] + r["opt_energy_j"] + static_w * max(0.0, step - busy))
        energy += dp * m * r["tp_energy_j"] + chips * m * r["p2p_energy_j"]
    merged = {}
    for e in log:  # one row per distinct collective, with how often a step runs it
        key = (e["kind"], e["op"], e["nbytes"], e["group_size"])
        if key in merged:
            merged[key]["count"] += e["count"]
        else:
            merged[key] = dict(e)
    log = list(merged.values())
    dp_total = sum(e["time_s"] * e["count"] for e in log if e["kind"] == "data parallel")
    dp_exposed = dict(path).get("data-parallel all-reduce", 0.0)
    overlap = {"data-parallel all-reduce under backward": max(0.0, dp_total - dp_exposed)}
    flops = sum(tp * dp * m * r["flops"] for r in roles)
    chips = tp * dp * pp
    return result_type(
        system=sysdoc["name"], arch=arch, chips=chips, tensor_parallel=tp, data_parallel=dp,
        pipeline_parallel=pp, sequence_parallel=bool(sequence_parallel), num_microbatches=m,
        training=training, global_batch=global_batch, step_time_s=step, pipeline_s=pipe,
        bubble_fraction=(pipe - m * work[slow]) / pipe if pipe > 0 else 0.0,
        critical_path=path, bound=bound, overlap=overlap, collectives=log, roles=roles, energy_j=energy,
        avg_power_w=energy / step if step > 0 else 0.0, flops=flops,
        tflops_per_chip=flops / step / chips / 1e12 if step > 0 else 0.0,
        distinct_roles=len({(r["layers"], r["stage"] == 0, r["stage"] == pp - 1) for r in roles}),
        dram_bytes=arch_doc["dram_bytes"],
        fits_in_dram=all(r["peak_bytes"] <= arch_doc["dram_bytes"] for r in roles),
        estimate_wall_s=time.perf_counter() - start)
