"""Optimizer steps: a compiled `opt.step()` arrives as `_foreach_*` list ops
(one multi-tensor program each) whose results functionalization copies back
into the parameters and the optimizer state (`copy_`). Here each parameter's
update becomes fused element-wise steps that read its tensors once and write
the new values straight into the parameter and state tensors, and every
parameter of a param group is one job of a single launch (accel::fused_eltwise
with `out`); list ops over 0-dim step counters stay list ops, updated in
place. docs/COMPILE.md, "Optimizer steps"."""
import operator

import numpy as np
import torch
import torch.fx

from . import lowering
from .fx_nodes import foreach_name as _foreach_name, items as _items, schema_arguments as _arguments
from .fx_nodes import val as _val
from .scalar_lists import stack_scalar_lists, unbind_lane_reads

aten = torch.ops.aten
_UNARY = {"sqrt", "reciprocal", "neg", "exp", "log", "abs"}
# base -> (per-tensor op, the list op's overloads it stands for)
_BINARY = {"add": (aten.add.Tensor, ("List", "Scalar", "ScalarList", "Tensor")),
           "sub": (aten.sub.Tensor, ("List", "Scalar", "ScalarList")),
           "mul": (aten.mul.Tensor, ("List", "Scalar", "ScalarList", "Tensor")),
           "div": (aten.div.Tensor, ("List", "Scalar", "ScalarList", "Tensor")),
           "maximum": (aten.maximum.default, ("List",)), "minimum": (aten.minimum.default, ("List",)),
           "clamp_min": (aten.clamp_min.default, ("Scalar", "ScalarList")),
           "clamp_max": (aten.clamp_max.default, ("Scalar", "ScalarList"))}


def _is_number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _constant_fill(node):
    """The value of full_like(x, c) when it stands for the number c, else None."""
    if not isinstance(node, torch.fx.Node) or node.target != aten.full_like.default \
            or len(node.args) < 2 or not _is_number(node.args[1]) \
            or node.kwargs.get("dtype") not in (None, torch.float32):
        return None
    return float(node.args[1])


def _f32(x):
    return float(np.float32(x))


def _lane_ops(base, overload, args, k, emit):
    """Emits lane k of a _foreach_ call (its arguments in schema order) as
    element-wise ops the fused program has, in the order of operations of
    eager's tile kernels (kernels/eltwise), so each lane computes what the
    list op computes; None when unsupported."""
    def lane(a):
        return a[k] if isinstance(a, (list, tuple)) else a
    if base in _UNARY and overload == "default":
        return emit(getattr(aten, base).default, args[0][k])
    if base in _BINARY and overload in _BINARY[base][1]:
        op, a, b = _BINARY[base][0], args[0][k], lane(args[1])
        alpha = args[2] if len(args) > 2 else 1
        if alpha != 1:
            return emit(op, a, b, alpha=alpha) if base in ("add", "sub") else None
        return emit(op, a, b)
    if base == "pow" and overload == "Scalar":
        return emit(aten.pow.Tensor_Scalar, args[0][k], args[1])
    if base in ("addcmul", "addcdiv") and overload in ("Scalar", "ScalarList"):
        a, t1, t2 = args[0][k], args[1][k], args[2][k]
        value = lane(args[3])
        # The scale rides on the add as its alpha (the chip's add is one
        # multiply-add, as ATen's vectorized add is fmadd(b, alpha, a)).
        if base == "addcmul":  # a + value * t1 * t2
            if _is_number(t1) or _is_number(t2):  # lerp's decomposition: t1 a constant fill
                constant, t = (t1, t2) if _is_number(t1) else (t2, t1)
                return emit(aten.add.Tensor, a, t, alpha=_f32(_f32(value) * _f32(constant)))
            return emit(aten.add.Tensor, a, emit(aten.mul.Tensor, t1, t2), alpha=value)
        return emit(aten.add.Tensor, a, emit(aten.div.Tensor, t1, t2), alpha=value)  # a + value * (t1 / t2)
    if base == "lerp" and overload in ("Scalar", "ScalarList"):
        a, b, w = args[0][k], args[1][k], float(lane(args[2]))
        diff = emit(aten.sub.Tensor, b, a)
        if abs(w) < 0.5:  # a + w * (b - a), else b - (b - a) * (1 - w), 1 - w in fp32
            return emit(aten.add.Tensor, a, diff, alpha=w)
        return emit(aten.sub.Tensor, b, diff, alpha=_f32(1 - _f32(w)))
    return None


def _lanes_fit(node):
    """Whether every lane of a list op is a float accel tensor whose tensor
    operands have its shape and dtype or are 0-dim: then its lanes are
    element-wise ops a fused program runs."""
    vals = node.meta.get("val")
    if not isinstance(vals, (list, tuple)) or not vals:
        return False
    for k, out in enumerate(vals):
        if not lowering._on_accel_float(out) or out.dim() == 0:
            return False
        for a in _arguments(node):
            x = a[k] if isinstance(a, (list, tuple)) else a
            if not isinstance(x, torch.fx.Node) or _constant_fill(x) is not None:
                continue
            if not _operand_fits(_val(x), out):
                return False
    return True


def _operand_fits(v, out):
    """A tensor operand of a lane: the lane's shape and dtype on its device, or
    a float scalar (0-dim, on the device or the CPU as a runtime argument)."""
    if not isinstance(v, torch.Tensor) or v.dtype not in lowering.FLOAT_DTYPES:
        return False
    if v.dim() == 0:
        return v.device == out.device or v.device.type == "cpu"
    return v.device == out.device and v.shape == out.shape and v.dtype == out.dtype


def _fusable_lane(node):
    """Whether a per-tensor node is one step of a fused program (steps.py)."""
    step = lowering.step_for(node)
    if step is None or any(not _is_number(v) for v in step[2].values()):
        return False
    return all(_is_number(o) or (isinstance(o, torch.fx.Node) and _operand_fits(_val(o), _val(node)))
               for o in step[1])


def _absorbed_fill(node, chosen):
    """A full_like the expanded lanes read as a number, used by nothing else."""
    return _constant_fill(node) is not None and all(u in chosen for u in node.users)


def _expand(graph):
    """Replaces the list ops over non-scalar tensors by per-tensor element-wise
    nodes, placed before the first node that reads their results from outside
    or mutates anything (in a functional graph, the copy_ back). Returns the
    new nodes, or [] when the graph does not have that shape."""
    order = {n: i for i, n in enumerate(graph.nodes)}
    lists = [n for n in graph.nodes if _foreach_name(n) and _lanes_fit(n)]
    if not lists:
        return []
    chosen = set(lists)
    start = order[lists[0]]
    stops = [n for n in graph.nodes if order[n] > start and n.op != "placeholder" and (
        n.op == "output" or (n.op == "call_function" and isinstance(n.target, torch._ops.OpOverload)
                             and n.target._schema.is_mutable))]
    for f in lists:
        for item in _items(f).values():
            stops += [u for u in item.users if u not in chosen and not _absorbed_fill(u, chosen)]
    point = min(stops, key=order.get)
    created, value_of, externals = [], {}, set()

    def resolve(x):
        if not isinstance(x, torch.fx.Node):
            return x
        if x.target == operator.getitem and x.args[0] in chosen:
            return value_of[(x.args[0], x.args[1])]
        fill = _constant_fill(x)
        if fill is not None:
            return fill
        externals.add(x)
        return x

    with graph.inserting_before(point):
        for f in lists:
            base, overload = _foreach_name(f)
            items = _items(f)
            args = [[resolve(x) for x in a] if isinstance(a, (list, tuple)) else resolve(a) for a in _arguments(f)]
            for k, item in sorted(items.items()):
                def emit(target, *op_args, **op_kwargs):
                    n = graph.call_function(target, op_args, op_kwargs)
                    n.meta["val"] = item.meta["val"]
                    created.append(n)
                    return n
                result = _lane_ops(base, overload, args, k, emit)
                if result is None:  # an option the lanes do not cover: leave the graph as it was
                    for n in reversed(created):
                        graph.erase_node(n)
                    return []
                if item.meta["val"].dtype != torch.float32:
                    # Eager stores each list op's result in the tensors' 16-bit
                    # format: round there too, not only at the program's end.
                    result = emit(torch.ops.prims.convert_element_type.default, result, item.meta["val"].dtype)
                value_of[(f, k)] = result
    moved_past_mutation = any(n.op == "call_function" and order[n] < order[lists[-1]] for n in stops
                              if n.target == aten.copy_.default or getattr(n.target, "_schema", None)
                              and n.target._schema.is_mutable)
    if moved_past_mutation or any(order.get(x, -1) >= order[point] for x in externals) \
            or not all(_fusable_lane(n) for n in created):
        for n in reversed(created):
            graph.erase_node(n)
        return []
    for f in lists:
        for k, item in _items(f).items():
            item.replace_all_uses_with(value_of[(f, k)])
            graph.erase_node(item)
        graph.erase_node(f)
    for n in list(graph.nodes):
        if _constant_fill(n) is not None and not n.users:
            graph.erase_node(n)
    return created


def _components(created):
    """The per-tensor nodes in groups connected by data (one per parameter), in graph order."""
    parent = {n: n for n in created}

    def root(n):
        while parent[n] is not n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n
    for n in created:
        for inp in n.all_input_nodes:
            if inp in parent:
                parent[root(inp)] = root(n)
    groups = {}
    for n in created:
        groups.setdefault(root(n), []).append(n)
    return list(groups.values())


def _write_in_place(graph, call):
    """Makes a fused call whose every output is copied back into a graph input
    write into those inputs instead (no new buffers, no copy programs). Only
    when nothing after the call still reads an input's old value."""
    order = {n: i for i, n in enumerate(graph.nodes)}
    items = _items(call)
    targets = []
    for k in range(len(call.meta["val"])):
        item = items.get(k)
        copies = [u for u in item.users if u.target == aten.copy_.default] if item else []
        if len(copies) != 1 or copies[0].args[1] is not item or copies[0].users:
            return None
        dest, copy = copies[0].args[0], copies[0]
        val, dest_val = item.meta["val"], _val(dest)
        if dest.op != "placeholder" or dest in (t for t, _ in targets) or not isinstance(dest_val, torch.Tensor) \
                or dest_val.shape != val.shape or dest_val.dtype != val.dtype or dest_val.stride() != val.stride():
            return None
        if any(u is not copy and u is not call and order[u] > order[call] for u in dest.users):
            return None
        if any(u.op == "output" for u in item.users):
            return None
        targets.append((dest, copy))
    inputs, text = call.args[0], call.args[1]
    with graph.inserting_before(call):
        into = graph.call_function(torch.ops.accel.fused_eltwise.default, (inputs, text, None, [dest for dest, _ in targets]))
        into.meta["val"] = []
    for k, (dest, copy) in enumerate(targets):
        graph.erase_node(copy)
        items[k].replace_all_uses_with(dest)
        graph.erase_node(items[k])
    graph.erase_node(call)
    return into


def _merge_jobs(graph, calls):
    """In-place calls of one program (each parameter's update) become one call
    holding every parameter's tensors as a job: one launch over all their
    tiles, as eager's list ops, instead of a small program per tensor. Only
    when nothing between the first and the last call touches their tensors."""
    by_text = {}
    for call in calls:
        by_text.setdefault(call.args[1], []).append(call)
    merged = []  # (call, the calls it replaced)
    for text, group in by_text.items():
        if len(group) < 2:
            merged += [(c, [c]) for c in group]
            continue
        members = set(group)
        touched = {t for c in group for t in c.all_input_nodes}
        between, node = [], group[0].next
        while node is not group[-1]:
            if node not in members:
                between.append(node)
            node = node.next
        # A job may write only its own tensors: none another job reads.
        writer = {d: c for c in group for d in c.args[3]}
        crossed = any(writer.get(x, c) is not c for c in group for x in c.args[0])
        if crossed or any(touched.intersection(n.all_input_nodes) or n in touched for n in between):
            merged += [(c, [c]) for c in group]
            continue
        with graph.inserting_after(group[-1]):
            one = graph.call_function(torch.ops.accel.fused_eltwise.default, (
                [x for c in group for x in c.args[0]], text, None, [x for c in group for x in c.args[3]]))
            one.meta["val"] = []
        for c in group:
            graph.erase_node(c)
        merged.append((one, group))
    return merged


def _reinplace_lists(graph):
    """A list op left (Adam's step counters) whose every result is copied back
    into its own first list, which nothing after it reads: the list op's
    in-place form, one program and no copies."""
    for node in list(graph.nodes):
        name = _foreach_name(node)
        if name is None or not isinstance(node.args[0], (list, tuple)):
            continue
        inplace = getattr(getattr(aten, "_foreach_" + name[0] + "_", None), name[1], None)
        items, selves = _items(node), node.args[0]
        if inplace is None or len(items) != len(selves) or len(set(selves)) != len(selves):
            continue
        # Lane k may read self k (elementwise, in place) but no other lane's self.
        if any(isinstance(a, (list, tuple)) and any(x in selves and selves.index(x) != j for j, x in enumerate(a))
               for a in node.args[1:]):
            continue
        order = {n: i for i, n in enumerate(graph.nodes)}
        copies = []
        for k, self_k in enumerate(selves):
            back = [u for u in items[k].users if u.target == aten.copy_.default] if k in items else []
            if len(back) != 1 or back[0].args != (self_k, items[k]) or back[0].users or self_k.op != "placeholder" \
                    or any(u.op == "output" for u in items[k].users):
                break
            if any(u is not back[0] and u is not node and order[u] > order[node] for u in self_k.users):
                break
            copies.append(back[0])
        else:
            with graph.inserting_before(node):
                graph.call_function(inplace, node.args, node.kwargs).meta["val"] = None
            for k, copy in enumerate(copies):
                graph.erase_node(copy)
                items[k].replace_all_uses_with(selves[k])
                graph.erase_node(items[k])
            graph.erase_node(node)


def fuse_optimizer_steps(graph, lowered):
    """The optimizer-step rewrite (module docstring); counts its programs in lowered."""
    if not any(_foreach_name(n) for n in graph.nodes):
        return
    stack_scalar_lists(graph)
    groups, group_of = [], {}
    for nodes in _components(_expand(graph)):
        before = nodes[0].prev
        group = lowering._emit_group(graph, nodes)
        if group is None:
            continue  # left as element-wise nodes for the general fusion pass
        into = _write_in_place(graph, before.next)
        if into is None:
            groups.append(group)
        else:
            group_of[into] = group
    for call, members in _merge_jobs(graph, list(group_of)):
        parts = [group_of[c] for c in members]
        groups.append(lowering.FusedGroup(
            program=parts[0].program, absorbed=[op for g in parts for op in g.absorbed],
            inputs=[x for g in parts for x in g.inputs], outputs=[x for g in parts for x in g.outputs],
            intermediates=[x for g in parts for x in g.intermediates]))
    lowered.groups += groups
    lowered.optimizer_programs += len(groups)
    _reinplace_lists(graph)
    unbind_lane_reads(graph)
