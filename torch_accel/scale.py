"""Estimates at scale: one training step or forward on a system of many chips.

`estimate(model, *inputs, system="galaxy", tensor_parallel=8, data_parallel=4,
pipeline_parallel=1, sequence_parallel=False, training=True)` runs one chip's
shard of the model (torch_accel._scale_model) in estimate mode once per
distinct chip role, then adds the collectives the layout implies, priced by
the collective model on the system's links (torch_accel.systems):

- tensor parallel (Megatron): an all-reduce after every row-parallel linear
  and the vocab-parallel embedding, one in backward per column-parallel input;
  with sequence parallelism each becomes a reduce-scatter plus an all-gather;
- pipeline parallel: 1F1B over `num_microbatches`, with its fill and drain
  (the bubble) and the activations sent between stages;
- data parallel: the gradient all-reduce in DDP's buckets, overlapped with the
  last microbatch's backward, then the optimizer step.

Ranks are laid out tensor-parallel fastest, then data, then pipeline, on chips
0, 1, ... in the system's order, so a tensor-parallel group is neighbours.
Groups of one kind run at once on disjoint links; the group holding chip 0 is
priced. docs/MULTICHIP.md explains the model.
"""
import time

import torch

from . import systems
from ._scale_model import (find_blocks, optimizer_step, parameter_groups, run_phases,
                           sequence_parallel_saving, shard, with_blocks)

__all__ = ["estimate_at_scale", "ScaleEstimate"]

_SMALLEST_FIRST = ("n300", "t3k", "galaxy", "galaxy_pod_1024")


def _degree(name, value):
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"estimate: {name} must be a positive int, got {value!r}")
    return value


def _pick_system(system, chips):
    if system is None:
        system = next((s for s in _SMALLEST_FIRST if systems.load(s)["num_chips"] >= chips), None)
        if system is None:
            raise ValueError(f"estimate: {chips} chips need a system; give system=")
    doc = systems.load(system)
    if chips > doc["num_chips"]:
        raise ValueError(f"estimate: tensor x data x pipeline parallel = {chips} chips, but system "
                         f"'{doc['name']}' has {doc['num_chips']}")
    return system, doc


class ScaleEstimate:
    """The result: `step_time_s`, `critical_path` [(segment, seconds)], `bound`,
    `overlap` (communication hidden under compute, seconds),
    `collectives` (one dict per kind), `roles` (one dict per distinct chip
    role), `energy_j`, `avg_power_w`, `estimate_wall_s`; `summary()` prints it."""

    def __init__(self, **fields):
        self.__dict__.update(fields)

    def as_dict(self):
        return dict(self.__dict__)

    def summary(self):
        lines = [f"{self.chips} chips of {self.system} ({self.arch}): TP {self.tensor_parallel} x "
                 f"DP {self.data_parallel} x PP {self.pipeline_parallel}"
                 + (" + SP" if self.sequence_parallel else "")
                 + f", {self.num_microbatches} microbatch(es), "
                 + ("training step" if self.training else "forward"),
                 f"step {self.step_time_s * 1e3:.3f} ms, bound by {self.bound}; "
                 f"energy {self.energy_j:.3f} J ({self.avg_power_w / 1e3:.2f} kW)",
                 "-- critical path --"]
        lines += [f"{name:<28}{seconds * 1e3:>12.3f} ms" for name, seconds in self.critical_path]
        lines += [f"(overlapped: {name} {seconds * 1e3:.3f} ms)" for name, seconds in self.overlap.items()
                  if seconds > 0]
        lines.append("-- collectives (per step) --")
        for c in self.collectives:
            lines.append(f"{c['kind']:<22}{c['op']:<16}{c['group_size']:>5} chips {c['algorithm']:<7}"
                         f"{c['nbytes'] / 2**20:>10.2f} MiB x{c['count']:<5}{c['time_s'] * 1e6:>10.1f} us each")
        lines.append("-- chip roles --")
        for r in self.roles:
            lines.append(f"stage {r['stage']}: {r['layers']} layers, fwd {r['fwd_s'] * 1e3:.3f} ms, "
                         f"bwd {r['bwd_s'] * 1e3:.3f} ms, optimizer {r['optimizer_s'] * 1e3:.3f} ms per "
                         f"microbatch/step, {r['params']:,} parameters, peak {r['peak_bytes'] / 2**30:.2f} GiB")
        worst = max(r["peak_bytes"] for r in self.roles)
        if worst > self.dram_bytes:
            lines.append(f"NOTE: a chip's peak memory {worst / 2**30:.1f} GiB exceeds its DRAM "
                         f"{self.dram_bytes / 2**30:.0f} GiB: use more parallelism or microbatches")
        lines.append(f"estimated in {self.estimate_wall_s:.2f} s")
        return "\n".join(lines)


def _peak(one_microbatch, param_bytes, training, in_flight):
    """1F1B keeps `in_flight` microbatches' activations on a stage: the peak of
    one microbatch, less its weights and gradients, once more per extra one."""
    activations = max(0, one_microbatch - param_bytes * (2 if training else 1))
    return one_microbatch + (in_flight - 1) * activations if training else one_microbatch


def _combine(a, b, wa, wb):
    return {k: a[k] * wa + b[k] * wb for k in ("time_s", "energy_j", "flops", "programs")}


def _cost(system, op, nbytes, ranks, dtype_bytes):
    if len(ranks) < 2 or nbytes <= 0:
        return {"time_s": 0.0, "energy_j": 0.0, "algorithm": "local"}
    return systems.collective_cost(system, op, nbytes, ranks=ranks, dtype=dtype_bytes)


def _entry(kind, op, nbytes, group, cost, count):
    return {"kind": kind, "op": op, "nbytes": nbytes, "group_size": group,
            "algorithm": cost["algorithm"], "time_s": cost["time_s"],
            "energy_j": cost["energy_j"], "count": count}


def _tp_time(system, events, phase, in_block, tp_ranks, sp, dtype_bytes, log, count):
    """Seconds and joules of the tensor-parallel collectives of one phase."""
    seconds = joules = 0.0
    for ph, op, nbytes, where in events:
        if ph != phase or where != in_block:
            continue
        parts = ([("reduce_scatter", nbytes), ("all_gather", nbytes / len(tp_ranks))]
                 if sp and op == "all_reduce" and nbytes > 64 else [(op, nbytes)])
        for kind, size in parts:
            c = _cost(system, kind, size, tp_ranks, dtype_bytes)
            seconds += c["time_s"]
            joules += c["energy_j"]
            log.append(_entry("tensor parallel", kind, size, len(tp_ranks), c, count))
    return seconds, joules


def estimate_at_scale(model_or_fn, *example_inputs, system=None, tensor_parallel=None,
                      data_parallel=None, pipeline_parallel=None, sequence_parallel=False,
                      training=False, batch_size=None, num_microbatches=None, dtype=None,
                      compute_config=None, optimizer="adamw", arch=None, tp_plan=None,
                      bucket_mb=25, **kwargs):
    start = time.perf_counter()
    tp, dp, pp = (_degree(n, v) for n, v in (("tensor_parallel", tensor_parallel),
                                              ("data_parallel", data_parallel),
                                              ("pipeline_parallel", pipeline_parallel)))
    chips = tp * dp * pp
    system, sysdoc = _pick_system(system, chips)
    arch = arch or sysdoc["arch"]
    first = next((x for x in example_inputs if isinstance(x, torch.Tensor)), None)
    global_batch = batch_size or (first.shape[0] if first is not None and first.dim() else 1)
    if global_batch % dp:
        raise ValueError(f"estimate: batch {global_batch} does not split over data_parallel={dp}")
    rank_batch = global_batch // dp
    if num_microbatches is not None:
        _degree("num_microbatches", num_microbatches)
    if training and not callable(optimizer) and optimizer not in ("adamw", "sgd"):
        raise ValueError(f"estimate: optimizer must be 'adamw', 'sgd' or a function of the "
                         f"parameters returning a torch.optim optimizer, got {optimizer!r}")
    m = num_microbatches or (rank_batch if pp > 1 else 1)
    if rank_batch % m:
        raise ValueError(f"estimate: the per-rank batch {rank_batch} does not split into "
                         f"{m} microbatches")
    micro = rank_batch // m
    module = isinstance(model_or_fn, torch.nn.Module)
    if not module and (tp > 1 or pp > 1):
        raise ValueError("estimate: tensor and pipeline parallelism need an nn.Module")
    blocks_path, layers = find_blocks(model_or_fn) if module else (None, 0)
    if pp > 1 and (blocks_path is None or layers < pp):
        raise ValueError(f"estimate: pipeline_parallel={pp} needs a model with a list of at least "
                         f"{pp} identical blocks")

    def measured(keep):
        shard_model = with_blocks(model_or_fn, blocks_path, keep) if module else model_or_fn
        roles = shard(shard_model, tp, tp_plan) if module and tp > 1 else {}
        try:
            phases = run_phases(shard_model, example_inputs, kwargs, arch, training, dtype,
                                compute_config, micro, roles, blocks_path if keep else None)
        except (RuntimeError, IndexError, ValueError, TypeError) as e:
            if tp == 1:
                raise
            raise ValueError(f"estimate: tensor_parallel={tp}: the sharded model failed to run "
                             f"({e}); name its linears with tp_plan={{name: 'colwise'|'rowwise'}}") from e
        return shard_model, phases

    if blocks_path is not None:
        one_model, one = measured(1)
        _, two = measured(2)
        layer = {ph: _combine(two[ph], one[ph], 1, -1) for ph in ("fwd", "bwd")}
        ends = {ph: _combine(one[ph], layer[ph], 1, -1) for ph in ("fwd", "bwd")}
        before = {ph: one[ph + "_pre"] for ph in ("fwd", "bwd")}
        layer_peak = two["peak_bytes"] - one["peak_bytes"]
        pre, block, post = parameter_groups(one_model, blocks_path)
    else:
        one_model, one = measured(None)
        layer = {ph: _combine(one[ph], one[ph], 0, 0) for ph in ("fwd", "bwd")}
        ends, layer_peak, layers = {ph: one[ph] for ph in ("fwd", "bwd")}, 0, 0
        before = {ph: one[ph + "_pre"] for ph in ("fwd", "bwd")}
        pre, block, post = parameter_groups(one_model, None) if module else ([], [], [])
    dtype_bytes = (torch.empty(0, dtype=dtype).element_size() if dtype is not None else
                   next((p.element_size() for p in one_model.parameters()), 4) if module else 4)

    if sequence_parallel and tp > 1:
        sp_saved = sequence_parallel_saving(one["norms"], tp, arch, training, dtype, compute_config)
    else:
        sp_saved = {(ph, inside): 0.0 for ph in ("fwd", "bwd") for inside in (True, False)}
    tp_ranks = list(range(tp))
    log = []
    stage_layers = [layers // pp + (1 if s < layers % pp else 0) for s in range(pp)] if layers else [0]
    tp_cost = {(ph, inside): _tp_time(system, one["events"], ph, inside, tp_ranks, sequence_parallel,
                                      dtype_bytes, log, m * (max(stage_layers) if inside else 1))
               for ph in (("fwd", "bwd") if training else ("fwd",)) for inside in (True, False)}
    tp_cost.update({("bwd", inside): (0.0, 0.0) for inside in (True, False) if not training})
    boundary = one["boundary_bytes"] / (tp if sequence_parallel else 1)
    roles = []
    for s, n in enumerate(stage_layers):
        last, first_stage = s == pp - 1, s == 0
        comp = {ph: _combine(_combine(layer[ph], ends[ph], n, 1 if last else 0), before[ph], 1,
                             1 if first_stage else 0) for ph in ("fwd", "bwd")}
        for ph in ("fwd", "bwd"):  # norms on 1/tp of the sequence (the final norm on the last stage)
            comp[ph]["time_s"] -= n * sp_saved[(ph, True)] + (sp_saved[(ph, False)] if last else 0)
        tp_s = {ph: n * tp_cost[(ph, True)][0] + (tp_cost[(ph, False)][0] if last else 0)
                for ph in ("fwd", "bwd")}
        tp_j = sum(n * tp_cost[(ph, True)][1] + (tp_cost[(ph, False)][1] if last else 0)
                   for ph in ("fwd", "bwd"))
        here = lambda st: [tp * dp * st]  # noqa: E731  (chip of TP rank 0, DP rank 0, stage st)
        p2p_f = _cost(system, "send_recv", boundary, here(s) + here(s + 1), dtype_bytes) \
            if not last else {"time_s": 0.0, "energy_j": 0.0}
        p2p_b = _cost(system, "send_recv", boundary, here(s) + here(s - 1), dtype_bytes) \
            if training and not first_stage else {"time_s": 0.0, "energy_j": 0.0}
        shapes = (pre if first_stage else []) + block * n + (post if last else [])
        params = sum(int(torch.Size(sh).numel()) for sh, _ in shapes)
        opt = optimizer_step(shapes, optimizer, arch, dtype, compute_config) if training else \
            _combine(one["fwd"], one["fwd"], 0, 0)
        roles.append({"stage": s, "layers": n, "fwd_s": comp["fwd"]["time_s"],
                      "bwd_s": comp["bwd"]["time_s"] if training else 0.0,
                      "tp_fwd_s": tp_s["fwd"], "tp_bwd_s": tp_s["bwd"] if training else 0.0,
                      "p2p_s": p2p_f["time_s"] + p2p_b["time_s"],
                      "optimizer_s": opt["time_s"], "params": params,
                      "grad_bytes": params * dtype_bytes,
                      "energy_j": comp["fwd"]["energy_j"] + comp["bwd"]["energy_j"],
                      "tp_energy_j": tp_j, "p2p_energy_j": p2p_f["energy_j"] + p2p_b["energy_j"],
                      "opt_energy_j": opt["energy_j"],
                      "flops": comp["fwd"]["flops"] + comp["bwd"]["flops"],
                      "peak_bytes": _peak(one["peak_bytes"] + max(0, n - 1) * layer_peak,
                                          params * dtype_bytes, training, min(m, pp - s))})
        if s == 0 and pp > 1:
            log.append(_entry("pipeline", "send_recv", boundary, 2, p2p_f, m * (2 if training else 1)))

    from ._scale_timeline import step_timeline
    return step_timeline(ScaleEstimate, roles=roles, log=log, system=system, sysdoc=sysdoc,
                         arch=arch, tp=tp, dp=dp, pp=pp, m=m, training=training,
                         sequence_parallel=sequence_parallel, bucket_mb=bucket_mb,
                         dtype_bytes=dtype_bytes, start=start, global_batch=global_batch)
