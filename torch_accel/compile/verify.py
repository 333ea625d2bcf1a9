"""A check of the lowering: the rewritten graph, run again on fake tensors,
must give every node the value (dtype, shape, device) the traced graph
recorded for it. A pass that emits a fused op records the value it expects
the op to give; the op's Meta kernel says what it does give. Where the two
differ, the compiled graph would compute numbers eager does not (a softmax
that absorbed an upcast and rounded to the input's bf16 did).

TORCH_ACCEL_COMPILE_CHECK=1 turns the check on for every compiled graph (the
test suite does); it costs a fake-tensor run per graph at compile time. It
compares dtypes, shapes (symbolic ones as expressions) and devices, not
strides; ops that return nothing (in-place optimizer programs) have nothing to
compare."""
import contextlib
import operator
import os

import torch
from torch.fx.passes.fake_tensor_prop import FakeTensorProp


def enabled():
    return os.environ.get("TORCH_ACCEL_COMPILE_CHECK") == "1"


# The statistics outputs of the fused norms, from this index on: ATen's meta
# functions give a bf16 or fp16 norm fp32 statistics, and an evaluation-mode
# batch norm statistics of its channels; its CPU kernels (which eager accel and
# these ops follow) the input's dtype, and none (shape [0]).
_STATISTICS_FROM = {
    "accel.add_layer_norm.default": 2, "accel.add_rms_norm.default": 2, "accel.batch_norm_act.default": 1,
}
_REDUCED = (torch.bfloat16, torch.float16)


def _statistics_from(node):
    """(first statistics index, index of this node's value or None for the whole tuple)."""
    if node.target is operator.getitem and isinstance(node.args[0], torch.fx.Node):
        first = _STATISTICS_FROM.get(str(node.args[0].target))
        return (first, node.args[1]) if first is not None else (None, None)
    return _STATISTICS_FROM.get(str(node.target)), None


def _same(node, want, got):
    if want == got:
        return True
    if got is None:
        return False
    first, index = _statistics_from(node)
    if first is None:
        return False
    pairs = [(index, want, got)] if index is not None else list(zip(range(len(want)), want, got))
    if index is None and len(want) != len(got):
        return False
    for i, w, g in pairs:
        if w == g:
            continue
        if i < first:
            return False
        if g[1] == ("0",) and g[2] == w[2]:
            continue
        if w[1:] != g[1:] or w[0] != torch.float32 or g[0] not in _REDUCED:
            return False
    return True


def _describe(v):
    if isinstance(v, torch.Tensor):
        return (v.dtype, tuple(str(s) for s in v.shape), v.device.type)
    if isinstance(v, (list, tuple)):
        return tuple(_describe(x) for x in v)
    return None


def check_lowered_values(gm):
    """Raises AssertionError naming each node whose fake-tensor result differs
    from its recorded value."""
    from torch._guards import detect_fake_mode
    nodes = list(gm.graph.nodes)
    recorded = {n: n.meta["val"] for n in nodes if "val" in n.meta}
    placeholders = [n for n in nodes if n.op == "placeholder"]
    if any(n not in recorded for n in placeholders):
        return  # an input without a traced value: nothing to run on
    mode = detect_fake_mode([recorded[n] for n in placeholders])
    if mode is None:
        return
    # Copies, so that the graph's in-place ops (an optimizer step) leave the traced inputs as they were.
    with mode:
        inputs = [recorded[n].clone() if isinstance(recorded[n], torch.Tensor) else recorded[n] for n in placeholders]
    # The check must not add guards on symbolic sizes (they would recompile the graph).
    no_guards = mode.shape_env.suppress_guards() if mode.shape_env is not None else contextlib.nullcontext()
    try:
        with no_guards:
            FakeTensorProp(gm, mode).propagate_dont_convert_inputs(*inputs)
        wrong = []
        for n in nodes:
            want, got = _describe(recorded.get(n)), _describe(n.meta.get("val"))
            if n.op == "call_function" and want is not None and not _same(n, want, got):
                wrong.append(f"{n.format_node()}: traced {want}, the lowered op gives {got}")
    finally:
        for n in nodes:
            if n in recorded:
                n.meta["val"] = recorded[n]
            else:
                n.meta.pop("val", None)
    assert not wrong, "lowering changed values:\n" + "\n".join(wrong)
