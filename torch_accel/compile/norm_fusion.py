"""Norms and softmax fused with their element-wise neighbours: the neighbours
run on the row while the norm or softmax program holds it in L1, so their
results never make a DRAM round trip (csrc/engine/norm_fused.h).

- Residual add + layer norm / RMS norm, the pre-norm transformer's
  `h = x + y; n = norm(h)`: accel::add_layer_norm / accel::add_rms_norm read x
  and y once and write h (the next residual, and what a training backward
  saves) and n, with the statistics the backward saves. One DRAM read of h
  and one program fewer per pair.
- Scale, mask and casts around a softmax over the last dim, as attention
  written by hand or by transformers' eager attention computes it:
  softmax((x * scale + mask).float(), -1).to(dtype), the mask added (float),
  or filled where a bool mask says (masked_fill, where):
  accel::scale_mask_softmax, one program instead of up to five.

- In a backward graph, the norm's input gradient plus the residual's
  gradient (the add that joins the two paths into the sum's gradient):
  accel::add_layer_norm_backward / add_rms_norm_backward add it on the row
  before the store, one program and a DRAM round trip of the norm's
  gradient fewer.

A node is absorbed only when nothing else reads it (the sum of a residual add
is an output of the fused op, so its other readers are served)."""
import math
import operator

import torch

from .fx_nodes import accel_floats as _accel_float, emit as _emit, is_call as _call, items as _items
from .fx_nodes import only_user as _only_user, val as _val
from .steps import FLOAT_DTYPES as _FLOATS

aten = torch.ops.aten
prims = torch.ops.prims
_CASTS = (aten._to_copy.default, prims.convert_element_type.default)


def _dense(node):
    return _accel_float(node) and _val(node).is_contiguous()


def _cast_to(node):
    """The dtype node casts to when it is a plain float cast (no layout or device change), else None."""
    if not _call(node, *_CASTS) or not _accel_float(node) or not _accel_float(node.args[0]):
        return None
    if node.target == prims.convert_element_type.default:
        return node.args[1]
    if len(node.args) > 1 or set(node.kwargs) - {"dtype", "layout", "device"}:
        return None
    if _val(node).device != _val(node.args[0]).device or node.kwargs.get("layout", torch.strided) != torch.strided:
        return None
    return node.kwargs.get("dtype")


def _precedes(order, node, anchor):
    return not isinstance(node, torch.fx.Node) or order.get(node, math.inf) < order[anchor]


def _fuse_add_norm(graph, norm, order):
    """native_layer_norm(x + y, ...) or _fused_rms_norm(x + y, ...) as one op; True when rewritten."""
    rms = norm.target == aten._fused_rms_norm.default
    if rms:
        add, shape, weight, eps = (list(norm.args) + [None, None])[:4]
        bias = None
    else:
        add, shape, weight, bias, eps = norm.args
    if norm.kwargs or not _call(add, aten.add.Tensor) or add.kwargs or len(add.args) != 2:
        return False
    x, y = add.args
    if not (_dense(x) and _dense(y) and _dense(add)) or any(isinstance(s, torch.SymInt) for s in shape):
        return False
    if not (_val(x).shape == _val(y).shape == _val(add).shape and _val(x).dtype == _val(y).dtype == _val(add).dtype):
        return False
    # The fused op takes the add's place (readers of the sum may come before the
    # norm), so the norm's parameters must already exist there.
    if not (_precedes(order, weight, add) and _precedes(order, bias, add)):
        return False
    outs = list(norm.users)
    if any(u.target != operator.getitem for u in outs):
        return False
    stats = list(_val(norm)[1:])
    with graph.inserting_before(add):
        if rms:
            fused = _emit(graph, torch.ops.accel.add_rms_norm.default, (x, y, list(shape), weight, eps),
                          (_val(add), _val(norm)[0], *stats))
        else:
            fused = _emit(graph, torch.ops.accel.add_layer_norm.default, (x, y, list(shape), weight, bias, eps),
                          (_val(add), _val(norm)[0], *stats))
        total = _emit(graph, operator.getitem, (fused, 0), _val(add))
        items = {i: _emit(graph, operator.getitem, (fused, i + 1), v) for i, v in enumerate(_val(norm))}
    add.replace_all_uses_with(total)
    for u in outs:
        u.replace_all_uses_with(items[u.args[1]])
        graph.erase_node(u)
    graph.erase_node(norm)
    graph.erase_node(add)
    return True


def _scalar_fill(node):
    """The value of a 0-dim constant made by scalar_tensor or full, else None."""
    if _call(node, aten.scalar_tensor.default) and isinstance(node.args[0], (int, float)):
        return float(node.args[0])
    if _call(node, aten.full.default) and list(node.args[0]) == [] and isinstance(node.args[1], (int, float)):
        return float(node.args[1])
    return None


def _mask_of(node, shape):
    """(scores, mask, kind, fill) when node masks the scores, else None."""
    def broadcasts(m):
        v = _val(m)
        try:
            return isinstance(v, torch.Tensor) and v.device.type == "accel" and \
                torch.broadcast_shapes(v.shape, shape) == shape
        except RuntimeError:
            return False
    if _call(node, aten.add.Tensor) and not node.kwargs and len(node.args) == 2:
        scores, mask = node.args
        if _accel_float(mask) and broadcasts(mask) and _accel_float(scores) and _val(scores).shape == shape:
            return scores, mask, "add", 0.0
    if _call(node, aten.masked_fill.Scalar) and isinstance(node.args[2], (int, float)):
        scores, mask, fill = node.args
        if _val(mask).dtype == torch.bool and broadcasts(mask) and _val(scores).shape == shape:
            return scores, mask, "fill_where_true", float(fill)
    if _call(node, aten.where.self):
        cond, a, b = node.args
        if isinstance(cond, torch.fx.Node) and _val(cond).dtype == torch.bool and broadcasts(cond):
            if _scalar_fill(b) is not None and _accel_float(a) and _val(a).shape == shape:
                return a, cond, "fill_where_false", _scalar_fill(b)
            if _scalar_fill(a) is not None and _accel_float(b) and _val(b).shape == shape:
                return b, cond, "fill_where_true", _scalar_fill(a)
    return None


def _scale_of(node):
    """(scores, scale) when node multiplies or divides by a Python number, else None."""
    if not _call(node, aten.mul.Tensor, aten.div.Tensor) or node.kwargs or len(node.args) != 2:
        return None
    a, b = node.args
    if node.target == aten.mul.Tensor and isinstance(a, (int, float)):
        a, b = b, a
    if not isinstance(b, (int, float)) or isinstance(b, bool) or not _accel_float(a):
        return None
    if node.target == aten.div.Tensor:
        return (a, 1.0 / b) if b != 0 else None
    return a, float(b)


def _fuse_softmax(graph, sm):
    """Folds the scale, mask and casts around a last-dim softmax into one
    scale_mask_softmax; returns the absorbed nodes' targets, or None."""
    x, dim, half_to_float = sm.args
    out = _val(sm)
    if half_to_float or not _accel_float(sm) or dim not in (-1, out.dim() - 1) or not out.is_contiguous():
        return None
    shape = out.shape
    chain, scale, mask, kind, fill = [], 1.0, None, "none", -math.inf
    cur, user = x, sm
    while isinstance(cur, torch.fx.Node) and cur is not mask and _only_user(cur, user) and _val(cur).shape == shape:
        to = _cast_to(cur)
        found = None if to is not None or mask is not None or scale != 1.0 else _mask_of(cur, shape)
        scaled = None if to is not None or scale != 1.0 else _scale_of(cur)
        if to == torch.float32 and _val(cur.args[0]).dtype in _FLOATS:
            nxt = cur.args[0]  # an upcast: the program computes in fp32 anyway
        elif found is not None:
            nxt, mask, kind, fill = found
        elif scaled is not None:
            nxt, scale = scaled
        else:
            break
        chain.append(cur)
        cur, user = nxt, cur
    tail = sm
    cast = next(iter(sm.users)) if len(sm.users) == 1 else None
    if _cast_to(cast) in _FLOATS and _val(cast).is_contiguous():
        tail = cast
    if (not chain and tail is sm) or not _dense(cur):
        return None
    # The op's result takes its input's dtype unless told: an absorbed upcast
    # (softmax(x.float()) of a bf16 x, as MoE routers compute) must still give fp32.
    dtype = _val(tail).dtype if _val(tail).dtype != _val(cur).dtype else None
    with graph.inserting_before(sm):
        fused = _emit(graph, torch.ops.accel.scale_mask_softmax.default,
                      (cur, scale, mask, kind, fill, dtype), _val(tail))
    tail.replace_all_uses_with(fused)
    absorbed = [tail] + ([sm] if tail is not sm else []) + chain
    for n in absorbed:
        graph.erase_node(n)
    return [str(n.target).replace("aten.", "").replace("prims.", "") for n in reversed(absorbed)]


def _fuse_norm_backward_add(graph, nb, order):
    """native_layer_norm_backward / _fused_rms_norm_backward whose input
    gradient only meets the residual's gradient in an add: the add runs in the
    norm backward's program. True when rewritten."""
    rms = nb.target == aten._fused_rms_norm_backward.default
    items = _items(nb)
    dx = items.get(0)
    if nb.kwargs or len(items) != len(nb.users) or dx is None or len(dx.users) != 1:
        return False
    add = next(iter(dx.users))
    if not _call(add, aten.add.Tensor) or add.kwargs or len(add.args) != 2:
        return False
    other = add.args[1] if add.args[0] is dx else add.args[0]
    if other is dx or not (_dense(other) and _dense(dx) and _dense(add)):
        return False
    if not (_val(other).shape == _val(dx).shape and _val(other).dtype == _val(dx).dtype == _val(add).dtype):
        return False
    if not _precedes(order, other, nb):  # the fused op takes the norm backward's place
        return False
    if rms:
        grad, x, shape, rstd, weight, mask = nb.args
        target, args = torch.ops.accel.add_rms_norm_backward.default, (grad, other, x, list(shape), rstd, weight)
    else:
        grad, x, shape, mean, rstd, weight, bias, mask = nb.args
        target = torch.ops.accel.add_layer_norm_backward.default
        args = (grad, other, x, list(shape), mean, rstd, weight, bias)
    if not mask[0] or any(isinstance(s, torch.SymInt) for s in shape):
        return False
    with graph.inserting_before(nb):
        fused = _emit(graph, target, args + ([int(m) for m in mask],), _val(nb))
    for i, item in items.items():
        item.args = (fused, i)
    add.replace_all_uses_with(dx)
    dx.meta["val"] = _val(add)
    graph.erase_node(add)
    graph.erase_node(nb)
    return True


def fuse_norm_neighbours(graph):
    """Rewrites every residual add + norm pair and every softmax with a scale,
    mask or cast around it; returns one line per fused program."""
    done = []
    order = {n: i for i, n in enumerate(graph.nodes)}
    for node in list(graph.nodes):
        if _call(node, aten.native_layer_norm.default, aten._fused_rms_norm.default):
            name = "add_rms_norm" if node.target == aten._fused_rms_norm.default else "add_layer_norm"
            source = str(node.target).replace("aten.", "")
            if _fuse_add_norm(graph, node, order):
                done.append(f"add + {source} -> accel::{name} (the sum stays in L1 for the norm)")
        elif _call(node, aten.native_layer_norm_backward.default, aten._fused_rms_norm_backward.default):
            source = str(node.target).replace("aten.", "")
            if _fuse_norm_backward_add(graph, node, order):
                done.append(f"{source} + add -> accel::add_{'rms' if 'rms' in source else 'layer'}_norm_backward "
                            "(the residual's gradient added on the row)")
        elif _call(node, aten._softmax.default):
            absorbed = _fuse_softmax(graph, node)
            if absorbed:
                done.append(f"{' + '.join(absorbed)} -> accel::scale_mask_softmax (applied on the row in L1)")
    return done
