"""Batch norm with its activation, where a convolution cannot take them as its
epilogue (a training graph saves the convolution's output for the batch
norm's backward, so the two stay apart):

- forward: a batch norm whose output feeds only an activation (relu, gelu,
  silu) becomes accel::batch_norm_act, the activation applied to each channel
  while the batch-norm program holds it in L1. The normalised tensor never
  goes to DRAM; relu's output, which the backward saves, is what it writes.
- backward: the activation's gradient feeding only native_batch_norm_backward
  becomes accel::batch_norm_act_backward, the gradient taken on the channel as
  the program loads it. The gradient between the two never goes to DRAM.

Each saves a program and a DRAM round trip of one activation-sized tensor,
with the numbers of the separate ops (the activation reads the norm's output
rounded as stored)."""
import torch

from .fx_nodes import accel_floats, activation_backward_of, activation_of, emit, items, schema_arguments
from .fx_nodes import sole_user, val

aten = torch.ops.aten


def _norm_arguments(node):
    """(input, weight, bias, running_mean, running_var, training, momentum, eps)
    of a batch-norm forward, else None."""
    if node.op != "call_function":
        return None
    if node.target in (aten._native_batch_norm_legit.default, aten.native_batch_norm.default):
        return tuple(schema_arguments(node))
    if node.target == aten._native_batch_norm_legit.no_stats:
        x, w, b, training, momentum, eps = schema_arguments(node)
        return x, w, b, None, None, training, momentum, eps
    if node.target == aten._native_batch_norm_legit_no_training.default:
        x, w, b, mean, var, momentum, eps = schema_arguments(node)
        return x, w, b, mean, var, False, momentum, eps
    return None


def _outputs(node):
    """node's getitem readers by index, or None when something else reads it."""
    found = items(node)
    return found if len(found) == len(node.users) else None


def _fuse_forward(graph, bn):
    args = _norm_arguments(bn)
    outputs = _outputs(bn)
    if args is None or outputs is None or 0 not in outputs:
        return None
    y = outputs[0]
    act_node = sole_user(y)
    act = activation_of(act_node) if act_node is not None else None
    if act is None or act_node.args[0] is not y or not accel_floats(args[0], y, act_node):
        return None
    with graph.inserting_before(bn):
        fused = emit(graph, torch.ops.accel.batch_norm_act.default, args + (act,), val(bn))
    for item in outputs.values():
        item.args = (fused, item.args[1])
    y.meta["val"] = val(act_node)
    act_node.replace_all_uses_with(y)
    graph.erase_node(act_node)
    graph.erase_node(bn)
    return f"{bn.target._schema.name.replace('aten::', '')} + {act} -> accel::batch_norm_act " \
           "(the activation applied to each channel in L1)"


def _fuse_backward(graph, bb):
    if bb.op != "call_function" or bb.target != aten.native_batch_norm_backward.default or bb.kwargs:
        return None
    grad, x, *rest = bb.args
    act = activation_backward_of(grad)
    if act is None or sole_user(grad) is not bb or x is grad or grad in rest:
        return None
    outputs = _outputs(bb)
    grad_out, saved = grad.args[0], grad.args[1]
    if outputs is None or not accel_floats(grad_out, saved, x, grad):
        return None
    with graph.inserting_before(bb):
        fused = emit(graph, torch.ops.accel.batch_norm_act_backward.default,
                     (grad_out, saved, act, x, *rest), val(bb))
    for item in outputs.values():
        item.args = (fused, item.args[1])
    graph.erase_node(bb)
    graph.erase_node(grad)
    return f"{act} backward + native_batch_norm_backward -> accel::batch_norm_act_backward " \
           "(the activation's gradient taken on each channel in L1)"


def fuse_batch_norm_activations(graph):
    """Rewrites every match; returns one line per fused program."""
    done = []
    for node in list(graph.nodes):
        line = _fuse_forward(graph, node) or _fuse_backward(graph, node)
        if line:
            done.append(line)
    return done
