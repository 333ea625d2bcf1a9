"""What the lowering passes ask of FX nodes, written once: a node's traced
value, whether it calls one of some ops, its users, a new call with its
value, and the forward activation a node computes."""
import torch
import torch.fx

aten = torch.ops.aten
_ACTIVATIONS = {aten.relu.default: "relu", aten.silu.default: "silu"}


def val(node):
    """The traced value (meta["val"]) of a node; None for anything else."""
    return node.meta.get("val") if isinstance(node, torch.fx.Node) else None


def is_call(node, *targets):
    return isinstance(node, torch.fx.Node) and node.op == "call_function" and node.target in targets


def only_user(node, user):
    """Whether `user` is the one reader of node."""
    return len(node.users) == 1 and user in node.users


def sole_user(node):
    """Node's one reader, or None when it has none or several."""
    return next(iter(node.users)) if len(node.users) == 1 else None


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
