"""What the lowering passes ask of FX nodes, written once: a node's traced
value, whether it calls one of some ops, whether values are accel floats of
one dtype (what the fused programs take), its users and getitem readers, a
new call with its value, the activation a node computes or the gradient of
one, and a _foreach_ call's name and arguments."""
import operator

import torch
import torch.fx

from .steps import FLOAT_DTYPES

aten = torch.ops.aten
_ACTIVATIONS = {aten.relu.default: "relu", aten.silu.default: "silu"}


def val(node):
    """The traced value (meta["val"]) of a node; None for anything else."""
    return node.meta.get("val") if isinstance(node, torch.fx.Node) else None


def is_call(node, *targets):
    return isinstance(node, torch.fx.Node) and node.op == "call_function" and node.target in targets


def accel_floats(*nodes):
    """Whether every node's value is an accel float32, bfloat16 or float16
    tensor, all of one dtype."""
    values = [val(n) for n in nodes]
    return all(isinstance(v, torch.Tensor) and v.device.type == "accel" and v.dtype in FLOAT_DTYPES
               for v in values) and len({v.dtype for v in values}) == 1


def only_user(node, user):
    """Whether `user` is the one reader of node."""
    return len(node.users) == 1 and user in node.users


def sole_user(node):
    """Node's one reader, or None when it has none or several."""
    return next(iter(node.users)) if len(node.users) == 1 else None


def items(node):
    """node's getitem readers by index (a tuple-returning op's outputs)."""
    return {u.args[1]: u for u in node.users if u.target == operator.getitem}


def emit(graph, target, args, value):
    """A call of target inserted at the graph's insertion point, with its value."""
    node = graph.call_function(target, args)
    node.meta["val"] = value
    return node


def activation_of(node):
    """The epilogue name ("relu", "gelu", "gelu_tanh", "silu") node computes, else None."""
    if is_call(node, aten.gelu.default):
        approximate = node.kwargs.get("approximate", node.args[1] if len(node.args) > 1 else "none")
        return "gelu_tanh" if approximate == "tanh" else "gelu"
    return _ACTIVATIONS.get(node.target) if is_call(node, *_ACTIVATIONS) else None


def activation_backward_of(node):
    """The activation whose gradient node computes (gelu_backward,
    silu_backward, or threshold_backward at 0 for relu), else None."""
    if is_call(node, aten.gelu_backward.default):
        approximate = node.kwargs.get("approximate", node.args[2] if len(node.args) > 2 else "none")
        return "gelu_tanh" if approximate == "tanh" else "gelu"
    if is_call(node, aten.silu_backward.default):
        return "silu"
    if is_call(node, aten.threshold_backward.default) and node.args[2] == 0:
        return "relu"
    return None


def foreach_name(node):
    """(base, overload) of a functional _foreach_* call, else None."""
    if node.op != "call_function" or not isinstance(node.target, torch._ops.OpOverload):
        return None
    name = node.target._schema.name
    if not name.startswith("aten::_foreach_") or node.target._schema.is_mutable:
        return None
    return name[len("aten::_foreach_"):], node.target._overloadname


def schema_arguments(node):
    """The call's arguments in schema order, keyword and default ones included."""
    out = []
    for i, arg in enumerate(node.target._schema.arguments):
        if i < len(node.args):
            out.append(node.args[i])
        elif arg.name in node.kwargs:
            out.append(node.kwargs[arg.name])
        else:
            out.append(arg.default_value)
    return out
