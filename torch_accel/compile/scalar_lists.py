"""The optimizer step's bias corrections over 0-dim step counters, one op per
list op on their stack instead of one per parameter (optim_fusion.py runs
this first)."""
import operator

import torch

from .fx_nodes import emit, foreach_name, schema_arguments, val

aten = torch.ops.aten

# A functional list op over 0-dim CPU tensors, as the op over their stack:
# (aten op, its arguments given the stack and the list op's arguments).
_STACKED = {("pow", "ScalarAndTensor"): (aten.pow.Scalar, lambda st, a: (a[0], st)),
            ("sub", "Scalar"): (aten.sub.Tensor, lambda st, a: (st, a[1])),
            ("add", "Scalar"): (aten.add.Tensor, lambda st, a: (st, a[1])),
            ("mul", "Scalar"): (aten.mul.Tensor, lambda st, a: (st, a[1])),
            ("div", "Scalar"): (aten.div.Tensor, lambda st, a: (st, a[1])),
            ("neg", "default"): (aten.neg.default, lambda st, a: (st,)),
            ("sqrt", "default"): (aten.sqrt.default, lambda st, a: (st,)),
            ("reciprocal", "default"): (aten.reciprocal.default, lambda st, a: (st,))}


def _scalar_list(items):
    """Whether items are fx nodes of 0-dim tensors of one dtype and device."""
    if not isinstance(items, (list, tuple)) or not items:
        return False
    vals = [val(n) for n in items]
    return all(isinstance(v, torch.Tensor) and v.dim() == 0 and v.device == vals[0].device
               and v.dtype == vals[0].dtype for v in vals)


def stack_scalar_lists(graph):
    """The bias corrections are list ops over the 0-dim step counters: on the
    CPU (non-capturable optimizers) one tiny op per parameter each, hundreds
    a step at ~1-2 us of dispatch apiece; on the device (capturable) one tiny
    program per parameter each. The same arithmetic on one stacked [n] tensor
    is one op per list op, a lane selected only where a fused program reads
    it; every lane computes what the 0-dim op computed (the same op, dtype and
    device). A list op whose results are copied back (the counters' own
    update) is left to become an in-place list op."""
    stacked = {}  # list op node -> the [n] node holding its lanes
    for node in list(graph.nodes):
        name = foreach_name(node)
        if name not in _STACKED:
            continue
        args = schema_arguments(node)
        lists = [a for a in args if isinstance(a, (list, tuple))]
        if len(lists) != 1 or not _scalar_list(lists[0]):
            continue
        items = lists[0]
        if any(u.target == aten.copy_.default for g in node.users for u in g.users):
            continue
        sources = {n.args[0] for n in items if n.op == "call_function" and n.target == operator.getitem}
        with graph.inserting_before(node):
            source = next(iter(sources)) if len(sources) == 1 else None
            if source in stacked and all(n.target == operator.getitem and n.args[1] == k
                                         for k, n in enumerate(items)) \
                    and len(items) == stacked[source].meta["val"].shape[0]:
                base = stacked[source]
            else:
                base = emit(graph, aten.stack.default, (list(items),), torch.stack([val(n) for n in items]))
            op, build = _STACKED[name]
            lanes = emit(graph, op, build(base, args), op(*build(base.meta["val"], args)))
        lanes.meta["accel_lanes"] = True  # unbind_lane_reads takes these
        stacked[node] = lanes
        for user in list(node.users):
            if user.target != operator.getitem:
                continue
            with graph.inserting_before(user):
                lane = emit(graph, aten.select.int, (lanes, 0, user.args[1]), val(user))
            # Stacked list ops after this one read `lanes` whole, not the lane.
            for reader in list(user.users):
                if foreach_name(reader) not in _STACKED:
                    reader.replace_input_with(user, lane)
    for node in reversed(list(stacked)):
        for user in list(node.users):
            if not user.users:
                graph.erase_node(user)
        if not node.users:
            graph.erase_node(node)
    for node in list(graph.nodes):  # lanes nothing reads (a later list op took the stack)
        if node.target == aten.select.int and not node.users:
            graph.erase_node(node)


def unbind_lane_reads(graph):
    """The lanes a fused program reads, one per parameter, as the items of one
    unbind of their stack rather than a select each: a graph op less per
    parameter (the same views)."""
    for lanes in list(graph.nodes):
        if not lanes.meta.get("accel_lanes"):
            continue
        selects = [u for u in lanes.users
                   if u.target == aten.select.int and u.args[0] is lanes and u.args[1] == 0]
        if len(selects) < 2:
            continue
        size = val(lanes).shape[0]
        with graph.inserting_after(lanes):
            parts = emit(graph, aten.unbind.int, (lanes, 0), list(val(lanes).unbind(0)))
        for select in selects:
            with graph.inserting_before(select):
                item = emit(graph, operator.getitem, (parts, select.args[2] % size), val(select))
            select.replace_all_uses_with(item)
            graph.erase_node(select)
