"""Backward matmul epilogues: in a training graph's backward, the gradient
through a linear layer, mm(grad, w), possibly through a view, feeds the
activation's backward (gelu_backward, silu_backward, or threshold_backward at
0 for relu) and nothing else. accel::mm_act_backward runs both as one matmul
program whose writer applies the activation's gradient to each output block,
reading the saved activation input (or relu's output) for it.

A linear's weight gradient, mm(grad.T, x), and its bias gradient,
grad.sum(0), both read the output gradient: accel::mm_bias_grad computes the
two in one matmul program (the bias gradient as a column of ones appended to
x), reading grad once."""
import operator

import torch

from .fx_nodes import accel_floats, activation_backward_of, emit, schema_arguments, val as _val

aten = torch.ops.aten


def fuse_matmul_backward_epilogues(graph, epilogues):
    """Rewrites each match; appends (matmul, activation's backward, op) to epilogues."""
    for node in list(graph.nodes):
        act = activation_backward_of(node)
        if act is None:
            continue
        grad, saved = node.args[0], node.args[1]
        mm, view = grad, None
        if isinstance(mm, torch.fx.Node) and mm.target == aten.view.default and len(mm.users) == 1:
            view, mm = mm, mm.args[0]
        if not isinstance(mm, torch.fx.Node) or mm.target != aten.mm.default or mm.kwargs \
                or len(mm.users) != 1:
            continue
        a, b = mm.args
        if not accel_floats(a, b, saved, node):
            continue
        with graph.inserting_before(node):
            fused = graph.call_function(torch.ops.accel.mm_act_backward.default, (a, b, saved, act))
            fused.meta["val"] = _val(mm)
            if view is not None:
                fused = graph.call_function(aten.view.default, (fused, view.args[1]))
                fused.meta["val"] = _val(node)
        node.replace_all_uses_with(fused)
        graph.erase_node(node)
        if view is not None:
            graph.erase_node(view)
        graph.erase_node(mm)
        epilogues.append(("mm.default", f"{act} backward", "accel::mm_act_backward"))


def _transposed(node):
    """The 2-D tensor node transposes (permute [1, 0] or t), else None."""
    if not isinstance(node, torch.fx.Node) or node.op != "call_function":
        return None
    if node.target == aten.t.default or (node.target == aten.permute.default and list(node.args[1]) == [1, 0]):
        return node.args[0]
    return None


def _column_sum(node):
    """(summed tensor, keepdim) of a sum over dim 0 of a 2-D tensor, else None."""
    if node.op != "call_function" or node.target != aten.sum.dim_IntList:
        return None
    source, dims, keepdim, dtype = schema_arguments(node)
    v = _val(source)
    if dtype is not None or dims is None or not isinstance(v, torch.Tensor) or v.dim() != 2 \
            or list(dims) not in ([0], [-2]):
        return None
    return source, bool(keepdim)


def fuse_bias_grads(graph, epilogues):
    """Rewrites each weight-gradient mm whose output gradient's column sum is
    also taken; appends (matmul, "bias gradient", op) to epilogues."""
    order = {n: i for i, n in enumerate(graph.nodes)}
    mms = {}  # output gradient -> mm(grad.T, x) nodes
    for node in graph.nodes:
        if node.op == "call_function" and node.target == aten.mm.default and not node.kwargs:
            grad = _transposed(node.args[0])
            if grad is not None:
                mms.setdefault(grad, []).append(node)
    for node in list(graph.nodes):
        found = _column_sum(node)
        if found is None or not mms.get(found[0]):
            continue
        grad, keepdim = found
        mm = mms[grad][0]
        x = mm.args[1]
        if not accel_floats(grad, x, mm, node):
            continue
        first = mm if order[mm] < order[node] else node
        if isinstance(x, torch.fx.Node) and order.get(x, len(order)) > order[first]:
            continue
        mms[grad].pop(0)
        weight_val, sum_val = _val(mm), _val(node)
        bias_val = sum_val.reshape(-1)
        with graph.inserting_before(first):
            fused = emit(graph, torch.ops.accel.mm_bias_grad.default, (grad, x), (weight_val, bias_val))
            weight_grad = emit(graph, operator.getitem, (fused, 0), weight_val)
            bias_grad = emit(graph, operator.getitem, (fused, 1), bias_val)
            if keepdim:
                bias_grad = emit(graph, aten.view.default, (bias_grad, list(sum_val.shape)), sum_val)
        mm.replace_all_uses_with(weight_grad)
        node.replace_all_uses_with(bias_grad)
        graph.erase_node(mm)
        graph.erase_node(node)
        epilogues.append(("mm.default", "bias gradient", "accel::mm_bias_grad"))
