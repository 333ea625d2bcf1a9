"""The "accel" Dynamo backend: AOTAutograd traces forward and backward to ATen
(decomposing only what the chip has no kernel for), and each graph is lowered
into fused chip programs (lowering.py) and run as a Python FX graph of accel
ops. Dynamo caches the result per guard set, so a second call compiles nothing."""
import functools
import logging
import os
import threading
import time

import torch

from .. import _C
from . import verify
from .lowering import lower
from .runner import build as build_runner

_log = logging.getLogger("torch_accel.compile")
_lock = threading.Lock()
_stats = {"graphs": 0, "runner_graphs": 0, "compile_s": 0.0, "fused_programs": 0, "fused_ops": 0,
          "matmul_epilogues": 0, "native_norms": 0, "norm_fusions": 0, "eager_ops": {}, "host_ops": {}}
_history = []  # every LoweredGraph, newest last (compile_explain reads it)


def _merge(table, counts):
    for op, n in counts.items():
        table[op] = table.get(op, 0) + n


def compile_stats():
    """What the accel backend compiled since the last reset: graphs (forward and
    backward count separately) and how many of them run on the C++ graph
    runner (runner.py), fused programs and the ops they absorbed,
    matmul epilogues, RMSNorm chains run as the chip's rms_norm program, and
    the ops left as eager accel programs ("eager_ops") or run through the CPU
    fallback ("host_ops", counted on each graph's first run)."""
    with _lock:
        out = dict(_stats)
        out["eager_ops"] = dict(_stats["eager_ops"])
        out["host_ops"] = dict(_stats["host_ops"])
        out["eager_op_count"] = sum(out["eager_ops"].values())
        out["host_op_count"] = sum(out["host_ops"].values())
        return out


def reset_compile_stats():
    with _lock:
        _stats.update(graphs=0, runner_graphs=0, compile_s=0.0, fused_programs=0, fused_ops=0,
                      matmul_epilogues=0, native_norms=0, norm_fusions=0, eager_ops={}, host_ops={})
        _history.clear()


def lowered_graphs():
    """The LoweredGraph of every graph compiled since the last reset."""
    with _lock:
        return list(_history)


@functools.lru_cache(maxsize=None)
def decompositions():
    """core ATen decompositions of the ops with no accel kernel: an op the chip
    runs natively stays whole (one program), the rest become ops it has."""
    from torch._decomp import core_aten_decompositions
    table = {}
    for op, fn in core_aten_decompositions().items():
        if not isinstance(op, torch._ops.OpOverload):
            continue
        if not torch._C._dispatch_has_kernel_for_dispatch_key(op.name(), "PrivateUse1"):
            table[op] = fn
    return table


def _on_accel(example_inputs):
    return any(isinstance(t, torch.Tensor) and t.device.type == "accel" for t in example_inputs)


def _compiler(kind):
    def compile_graph(gm, example_inputs):
        from torch._functorch.aot_autograd import make_boxed_func
        from torch.fx._lazy_graph_module import _LazyGraphModule
        start = time.perf_counter()
        on_accel = _on_accel(example_inputs)
        if on_accel:
            lowered = lower(gm, kind)
            if verify.enabled():
                verify.check_lowered_values(gm)
        else:  # a graph of CPU tensors runs as it was traced
            from .lowering import LoweredGraph
            lowered = LoweredGraph(kind=kind + " (not on accel: not lowered)")
        # Generate the graph's code now: the forward of a lazy module, taken
        # before that, stays its lazy stub and goes through Module.__call__
        # on every run.
        _LazyGraphModule.force_recompile(gm)
        run = build_runner(gm) if on_accel else None
        lowered.graph_runner = run is not None
        elapsed = time.perf_counter() - start
        with _lock:
            _stats["graphs"] += 1
            _stats["runner_graphs"] += int(lowered.graph_runner)
            _stats["compile_s"] += elapsed
            _stats["fused_programs"] += len(lowered.groups)
            _stats["fused_ops"] += lowered.fused_ops
            _stats["matmul_epilogues"] += len(lowered.epilogues) + lowered.residual_epilogues
            _stats["native_norms"] += lowered.native_norms
            _stats["norm_fusions"] += len(lowered.norm_fusions)
            _merge(_stats["eager_ops"], lowered.eager_ops)
            _merge(_stats["host_ops"], lowered.host_ops)
            _history.append(lowered)
        dump = os.environ.get("TORCH_ACCEL_COMPILE_DUMP")
        if dump or _log.isEnabledFor(logging.INFO):
            from .explain import format_lowered
            text = format_lowered(lowered, gm)
            _log.info("%s", text)
            if dump:
                with open(dump, "a") as f:
                    f.write(text + "\n")
        return _count_host_fallbacks(run or make_boxed_func(gm.forward), lowered)
    return compile_graph


def _count_host_fallbacks(fn, lowered):
    """The first run of a graph records which of its ops ran on the CPU
    (torch_accel.fallback_stats), into the graph's and the backend's counts."""
    first = [True]

    def run(args):
        if not first[0]:
            return fn(args)
        first[0] = False
        before = _C.fallback_stats()
        out = fn(args)
        after = _C.fallback_stats()
        delta = {op: n - before.get(op, 0) for op, n in after.items() if n > before.get(op, 0)}
        with _lock:
            _merge(lowered.host_ops, delta)
            _merge(_stats["host_ops"], delta)
        return out
    run._boxed_call = True
    return run


def accel_backend(gm, example_inputs, **kwargs):
    """torch.compile(model, backend="accel")."""
    from torch._dynamo.backends.common import aot_autograd
    return aot_autograd(fw_compiler=_compiler("forward"), bw_compiler=_compiler("backward"),
                        inference_compiler=_compiler("inference"),
                        decompositions=decompositions(),
                        keep_inference_input_mutations=True)(gm, example_inputs, **kwargs)
