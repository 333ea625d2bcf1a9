"""Backward matmul epilogues: in a training graph's backward, the gradient
through a linear layer, mm(grad, w), possibly through a view, feeds the
activation's backward (gelu_backward, silu_backward, or threshold_backward at
0 for relu) and nothing else. accel::mm_act_backward runs both as one matmul
program whose writer applies the activation's gradient to each output block,
reading the saved activation input (or relu's output) for it."""
import torch

from .fx_nodes import activation_backward_of, val as _val

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
        vals = [_val(t) for t in (a, b, saved, node)]
        if not all(isinstance(v, torch.Tensor) and v.device.type == "accel" for v in vals) \
                or len({v.dtype for v in vals}) != 1 \
                or vals[0].dtype not in (torch.float32, torch.bfloat16, torch.float16):
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
