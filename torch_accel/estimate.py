"""Estimate mode: what a model would cost on the chip, without running it.

`estimate(model_or_fn, *example_inputs, arch=...)` runs the model on the accel
device inside an estimate scope (csrc/glue/estimate.h): every aten op goes
through the same accel kernel and engine planner as in eager, and records the
same program, but no tile work runs, the tensors live in reserved address
space that is never committed (they read as zeros), and the planners see
`arch` whatever chip the runtime emulates. An op that eager would run on the
CPU is listed in `host_fallbacks`, not priced. The result is the
torch_accel.profiler.Profile an eager `with torch_accel.profile()` gives.
"""
import os
import time

import torch
from torch.utils._pytree import tree_flatten, tree_map

from . import _C
from .profiler import Profile

__all__ = ["estimate"]

# What eager training on accel builds (examples/char_gpt.py, classifier.py).
_OPTIMIZERS = {
    "adamw": lambda params: torch.optim.AdamW(params, lr=1e-3, weight_decay=0.01),
    "sgd": lambda params: torch.optim.SGD(params, lr=0.1, momentum=0.9),
}


class _Scope:
    """The C++ estimate scope as a context manager; records stay readable after."""

    def __init__(self, spec):
        self.native = _C.EstimateScope(spec)

    def __enter__(self):
        self.native.enter()
        return self.native

    def __exit__(self, *exc):
        self.native.exit()
        return False


def _arch_spec(arch):
    if isinstance(arch, dict):
        raise TypeError("estimate: arch must be a preset name or an architecture file path")
    return os.fspath(arch)


def _virtual(t, batch_size=None, dtype=None, requires_grad=False):
    """An estimate tensor (no data) of t's shape and dtype; never a copy of t."""
    if not isinstance(t, torch.Tensor):
        return t
    if hasattr(t, "_estimate_virtual"):  # a tensor stored in a chip format (formats.py)
        return t._estimate_virtual(dtype if (dtype is not None and t.is_floating_point()) else None)
    shape = list(t.shape)
    if batch_size is not None and shape:
        shape[0] = batch_size
    dt = dtype if (dtype is not None and t.is_floating_point()) else t.dtype
    out = torch.empty(shape, dtype=dt, device="accel")
    return out.requires_grad_(requires_grad) if requires_grad else out


def _first_float(out):
    leaves, _ = tree_flatten(out)
    return next((x for x in leaves if isinstance(x, torch.Tensor) and x.is_floating_point()),
                None)


def _optimizer(kind, params):
    return kind(params) if callable(kind) else _OPTIMIZERS[kind](params)


def _compute_scope(config):
    from .compute import compute_config
    if config is None:
        return compute_config()
    get = (lambda k: config.get(k)) if isinstance(config, dict) else \
        (lambda k: getattr(config, k, None))
    return compute_config(get("math_fidelity"), get("fp32_dest_acc"))


def estimate(model_or_fn, *example_inputs, arch="wormhole_n150", batch_size=None,
             training=False, compute_config=None, dtype=None, optimizer="adamw", system=None,
             tensor_parallel=None, data_parallel=None, pipeline_parallel=None,
             sequence_parallel=None, num_microbatches=None, compile=False,
             **kwargs):
    """Estimates one call of `model_or_fn(*example_inputs, **kwargs)` on `arch`.

    model_or_fn: an nn.Module (parameters on CPU or the meta device; they are
        never copied) or a function of tensors.
    batch_size: replaces the first dimension of every example input.
    training: also the backward pass of the sum of the first floating output
        and one steady-state step of `optimizer` ("adamw", "sgd", or a
        function of the parameter list returning a torch.optim optimizer);
        the step that creates the optimizer's state is run first and left out.
    compute_config: a torch_accel.ComputeConfig or a dict with math_fidelity /
        fp32_dest_acc, the fidelity and accumulation of matrix-engine programs.
    dtype: run floating parameters and inputs in this dtype (e.g. torch.bfloat16).
    compile: price what torch.compile(model, backend="accel") runs (its fused
        programs) instead of the eager ops; with training=True the optimizer
        step is compiled too.

    Returns a torch_accel.profiler.Profile; `.estimate_wall_s` is how long the
    estimate itself took on the host, `.host_fallbacks` the ops eager would
    run on the CPU (op -> count), `.peak_memory_bytes` the most device memory
    the run's tensors held at once.

    system, tensor_parallel, data_parallel, pipeline_parallel,
    sequence_parallel, num_microbatches: estimate on many chips instead and
    return a torch_accel.scale.ScaleEstimate (see torch_accel/scale.py).
    """
    if any(v is not None for v in (system, tensor_parallel, data_parallel, pipeline_parallel,
                                   sequence_parallel, num_microbatches)):
        if compile:
            raise ValueError("estimate: compile=True prices one chip's compiled schedule; it does "
                             "not combine with system / *_parallel / num_microbatches")
        from .scale import estimate_at_scale
        return estimate_at_scale(
            model_or_fn, *example_inputs, system=system, tensor_parallel=tensor_parallel,
            data_parallel=data_parallel, pipeline_parallel=pipeline_parallel,
            sequence_parallel=bool(sequence_parallel), training=training, batch_size=batch_size,
            num_microbatches=num_microbatches, dtype=dtype, compute_config=compute_config,
            optimizer=optimizer, arch=None if arch == "wormhole_n150" else arch, **kwargs)
    start = time.perf_counter()
    scope = _Scope(_arch_spec(arch))
    if training and not callable(optimizer) and optimizer not in _OPTIMIZERS:
        raise ValueError(f"estimate: optimizer must be 'adamw', 'sgd' or a function of the "
                         f"parameters returning a torch.optim optimizer, got {optimizer!r}")
    with scope as native, _compute_scope(compute_config):
        inputs = tree_map(lambda x: _virtual(x, batch_size, dtype), list(example_inputs))
        kw = tree_map(lambda x: _virtual(x, batch_size, dtype), kwargs)
        params, trainable = {}, []
        if isinstance(model_or_fn, torch.nn.Module):
            made = {}  # tied weights stay one tensor
            named = list(model_or_fn.named_parameters(remove_duplicate=False))
            named += list(model_or_fn.named_buffers(remove_duplicate=False))
            for name, p in named:
                if id(p) not in made:
                    grad = training and isinstance(p, torch.nn.Parameter) and p.requires_grad
                    made[id(p)] = _virtual(p, None, dtype, grad)
                    if grad:
                        trainable.append(made[id(p)])
                params[name] = made[id(p)]

            def call(*a, **k):
                return torch.func.functional_call(model_or_fn, params, a, k, tie_weights=True)
        else:
            call = model_or_fn
        if compile:
            call = torch.compile(call, backend="accel", dynamic=False)

        recorded = []
        if not training:
            with torch.no_grad():
                call(*inputs, **kw)
        else:
            out = call(*inputs, **kw)
            loss = _first_float(out)
            if loss is None:
                raise ValueError("estimate(training=True): the model returned no floating tensor")
            if loss.numel() != 1:
                loss = loss.sum()
            # The backward runs on this thread, where the estimate scope is.
            with torch.autograd.set_multithreading_enabled(False):
                loss.backward()
            del out, loss
            if trainable:
                recorded += native.take_records()
                opt = _optimizer(optimizer, trainable)
                opt.step()  # creates the state: eager pays for that once, not every step
                native.take_records(discard=True)
                # Compiled, the step is the optimizer programs of docs/COMPILE.md.
                step = torch.compile(opt.step, backend="accel", dynamic=False) if compile else opt.step
                step()
                del opt, step
        del inputs, kw, params, trainable
    records = recorded + native.take_records()
    if records:
        costs = _C.perf_estimate_many(records, _arch_spec(arch))
        for r, c in zip(records, costs):
            r["cost"] = c
    prof = Profile(records, arch=native.arch_name)
    prof.host_fallbacks = dict(native.host_fallbacks())
    prof.peak_memory_bytes = native.peak_bytes
    prof.estimate_wall_s = time.perf_counter() - start
    return prof
