"""Estimate mode: what a model would cost on the chip, without running it.

`estimate(model_or_fn, *example_inputs, arch=...)` runs the model on meta
tensors (shapes and dtypes, no memory, no arithmetic) under a dispatch mode
that turns every aten op into the ProgramRecord the accel device would
produce for it (torch_accel/_programs.py), and prices the records with the
C++ performance model. The result is a torch_accel.profiler.Profile, the
same report `with torch_accel.profile()` gives for an eager run.
"""
import json
import time

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten, tree_map

from . import _C
from ._programs import ProgramPlanner
from .profiler import Profile, _with_estimate

__all__ = ["estimate"]


def _arch_spec(arch):
    """(spec passed to the C++ model, architecture dict)."""
    import os
    if isinstance(arch, dict):
        raise TypeError("estimate: arch must be a preset name or an architecture file path")
    spec = os.fspath(arch)
    return spec, json.loads(_C.arch_json_for(spec))


def _to_meta(t, batch_size=None, dtype=None):
    if not isinstance(t, torch.Tensor):
        return t
    shape = list(t.shape)
    if batch_size is not None and shape:
        shape[0] = batch_size
    dt = dtype if (dtype is not None and t.is_floating_point()) else t.dtype
    return torch.empty(shape, dtype=dt, device="meta", requires_grad=False)


class _Recorder(TorchDispatchMode):
    def __init__(self, planner):
        super().__init__()
        self.planner = planner

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        self.planner.add(func, args, kwargs, out)
        return out


def _first_tensor(out):
    leaves, _ = tree_flatten(out)
    for x in leaves:
        if isinstance(x, torch.Tensor) and x.is_floating_point():
            return x
    return None


def estimate(model_or_fn, *example_inputs, arch="wormhole_n150", batch_size=None,
             training=False, compute_config=None, dtype=None, optimizer="adamw", **kwargs):
    """Estimates one call of `model_or_fn(*example_inputs, **kwargs)` on `arch`.

    model_or_fn: an nn.Module (parameters on CPU or the meta device; they are
        never copied) or a function of tensors.
    batch_size: replaces the first dimension of every example input.
    training: also the backward pass (autograd on meta tensors) of the sum of
        the first floating output, and an `optimizer` step ("adamw" or "sgd").
    compute_config: a torch_accel.ComputeConfig or a dict with math_fidelity /
        fp32_dest_acc, the fidelity and accumulation of matrix-engine programs.
    dtype: run floating parameters and inputs in this dtype (e.g. torch.bfloat16).

    Returns a torch_accel.profiler.Profile; `.estimate_wall_s` is how long the
    estimate itself took on the host.
    """
    start = time.perf_counter()
    spec, arch_info = _arch_spec(arch)
    fidelity, fp32_acc = _compute_pair(compute_config)
    planner = ProgramPlanner(arch_info, fidelity, fp32_acc)
    inputs = [_to_meta(x, batch_size, dtype) for x in example_inputs]
    kwargs = {k: _to_meta(v, batch_size, dtype) for k, v in kwargs.items()}

    params = {}
    if isinstance(model_or_fn, torch.nn.Module):
        for name, p in model_or_fn.named_parameters(remove_duplicate=False):
            m = _to_meta(p, None, dtype)
            params[name] = m.requires_grad_(training and p.requires_grad)
        for name, b in model_or_fn.named_buffers(remove_duplicate=False):
            params[name] = _to_meta(b, None, dtype)

        def call(*a, **k):
            return torch.func.functional_call(model_or_fn, params, a, k, tie_weights=True)
    else:
        call = model_or_fn

    grad_mode = torch.enable_grad() if training else torch.no_grad()
    with grad_mode, _Recorder(planner):
        out = call(*inputs, **kwargs)
        if training:
            loss = _first_tensor(out)
            if loss is None:
                raise ValueError("estimate(training=True): the model returned no floating tensor")
            if loss.numel() != 1:
                loss = loss.sum()
            loss.backward()
    if training:
        seen = set()
        for p in params.values():
            if p.requires_grad and id(p) not in seen:
                seen.add(id(p))
                planner.optimizer_step(p, optimizer)

    costs = _C.perf_estimate_many(planner.records, spec)
    for r, c in zip(planner.records, costs):
        r["cost"] = c
    prof = Profile([_with_estimate(r) for r in planner.records], arch=arch_info["name"])
    prof.estimate_wall_s = time.perf_counter() - start
    return prof


def _compute_pair(config):
    if config is None:
        fidelity, acc = _C.current_compute_config()
    else:
        from .compute import _resolve
        get = (lambda k: config.get(k)) if isinstance(config, dict) else \
            (lambda k: getattr(config, k, None))
        fidelity, acc = _resolve(get("math_fidelity"), get("fp32_dest_acc"),
                                 _C.current_compute_config())
    return int(fidelity), bool(acc)
