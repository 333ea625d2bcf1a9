"""Whole-op patterns in a traced graph that the chip runs as one native
program: a hand-written RMSNorm (x * rsqrt(mean(x^2) + eps) * w, as Llama
code writes it) becomes the chip's rms_norm program (aten._fused_rms_norm),
one pass over the rows instead of a reduction between element-wise programs.
Applies where the intermediates feed nothing else (inference graphs; a
training forward saves them for its backward)."""
import operator

import torch

from .fx_nodes import is_call as _call, only_user as _only_user, val as _val

aten = torch.ops.aten
prims = torch.ops.prims
_CASTS = (aten._to_copy.default, prims.convert_element_type.default)


def _to_float(node):
    """node's source when node casts it to float32, else node."""
    if _call(node, *_CASTS) and _val(node).dtype == torch.float32 and len(node.args) <= 2 \
            and set(node.kwargs) <= {"dtype"}:
        return node.args[0]
    return node


def _match_rms(mul):
    """(x, rsqrt chain nodes, eps) when mul is x * rsqrt(mean(x^2, -1) + eps)."""
    for x, r in (mul.args, mul.args[::-1]):
        if not _call(r, aten.rsqrt.default) or not _only_user(r, mul):
            continue
        add = r.args[0]
        if not _call(add, aten.add.Tensor, aten.add.Scalar) or not _only_user(add, r) \
                or not isinstance(add.args[1], (int, float)) or add.kwargs:
            continue
        mean = add.args[0]
        if not _call(mean, aten.mean.dim) or not _only_user(mean, add):
            continue
        dims = mean.args[1] if len(mean.args) > 1 else mean.kwargs.get("dim")
        keep = mean.args[2] if len(mean.args) > 2 else mean.kwargs.get("keepdim", False)
        xv = _val(x)
        if not keep or xv is None or list(dims) not in ([-1], [xv.dim() - 1]):
            continue
        sq = mean.args[0]
        if not _call(sq, aten.pow.Tensor_Scalar) or sq.args[1] != 2 or not _only_user(sq, mean) \
                or sq.args[0] is not x:
            continue
        return x, [sq, mean, add, r], float(add.args[1])
    return None


def fuse_rms_norm(graph):
    """Rewrites each matched RMSNorm; returns how many."""
    count = 0
    for node in list(graph.nodes):
        if not _call(node, aten.mul.Tensor):
            continue
        found = _match_rms(node)
        if found is None:
            continue
        x, chain, eps = found
        source = _to_float(x)
        tail, extra = node, []
        cast = next(iter(node.users)) if len(node.users) == 1 else None
        if _call(cast, *_CASTS) and _val(cast).dtype == _val(source).dtype:
            tail, extra = cast, [cast]
        weight = None
        user = next(iter(tail.users)) if len(tail.users) == 1 else None
        if _call(user, aten.mul.Tensor):
            other = user.args[1] if user.args[0] is tail else user.args[0]
            wv = _val(other)
            if isinstance(wv, torch.Tensor) and wv.dim() == 1 and wv.shape[0] == _val(x).shape[-1] \
                    and _val(user).dtype == _val(source).dtype:
                weight, tail = other, user
        if _val(tail).dtype != _val(source).dtype or _val(tail).shape != _val(source).shape:
            continue
        if x is not source and not (len(x.users) == 2):  # the cast feeds pow and the mul only
            continue
        with graph.inserting_before(tail):
            norm = graph.call_function(aten._fused_rms_norm.default,
                                       (source, [_val(x).shape[-1]], weight, eps))
            norm.meta["val"] = (_val(tail), _val(chain[-1]).to(torch.float32))
            out = graph.call_function(operator.getitem, (norm, 0))
            out.meta["val"] = _val(tail)
        tail.replace_all_uses_with(out)
        dead = []
        for n in [tail] + extra[::-1] + [node] + chain[::-1]:
            if n not in dead:
                dead.append(n)
        for n in dead:
            graph.erase_node(n)
        if x is not source and not x.users:
            graph.erase_node(x)
        count += 1
    return count


def fold_batch_norm_eval(graph):
    """Inference batch norm is a per-channel affine map: y = x * scale + shift
    with scale = w * rsqrt(var + eps) and shift = b - mean * scale. Written so,
    the [C] statistics are one small program and the affine map is element-wise,
    so it fuses with what follows (relu, a residual add) into one pass over the
    activation instead of a norm program and an element-wise one. Returns how many."""
    count = 0
    for node in list(graph.nodes):
        if not _call(node, aten._native_batch_norm_legit_no_training.default):
            continue
        x, w, b, mean, var, _momentum, eps = node.args
        xv = _val(x)
        users = list(node.users)
        if xv is None or xv.dim() < 2 or any(u.target != operator.getitem for u in users) \
                or any(u.args[1] != 0 for u in users if u.users) or w is None or b is None:
            continue
        if not all(isinstance(_val(t), torch.Tensor) and _val(t).dtype == torch.float32 for t in (w, b, mean, var)):
            continue
        out = next((u for u in users if u.args[1] == 0), None)
        if out is None:
            continue
        shape = [xv.shape[1]] + [1] * (xv.dim() - 2)

        def emit(target, args, like):
            n = graph.call_function(target, args)
            n.meta["val"] = like
            return n
        with graph.inserting_before(node):
            stat = _val(var)
            inv = emit(aten.rsqrt.default, (emit(aten.add.Tensor, (var, eps), stat),), stat)
            scale = emit(aten.mul.Tensor, (inv, w), stat)
            shift = emit(aten.sub.Tensor, (b, emit(aten.mul.Tensor, (mean, scale), stat)), stat)
            col = stat.view(shape)
            scale_c = emit(aten.view.default, (scale, shape), col)
            shift_c = emit(aten.view.default, (shift, shape), col)
            y = emit(aten.add.Tensor, (emit(aten.mul.Tensor, (x, scale_c), _val(out)), shift_c), _val(out))
        out.replace_all_uses_with(y)
        for u in users:
            graph.erase_node(u)
        graph.erase_node(node)
        count += 1
    return count


def fuse_matmul_residual(graph):
    """mm(a, b) (possibly through a view) plus a tensor of the product's shape
    becomes addmm(that tensor, a, b): the matmul program's epilogue adds it to
    each output block before write-back (as it adds a bias), so the separate
    add program and the product's DRAM round trip disappear. Llama's wo and w2
    projections and gradient accumulations are this shape. Returns how many."""
    count = 0
    for node in list(graph.nodes):
        if not _call(node, aten.add.Tensor) or len(node.args) != 2:
            continue
        alpha = node.kwargs.get("alpha", 1)
        for mm_side, other in ((1, node.args[0]), (0, node.args[1])):
            prod = node.args[mm_side]
            view = None
            if _call(prod, aten.view.default) and len(prod.users) == 1:
                view, prod = prod, prod.args[0]
            if not _call(prod, aten.mm.default) or len(prod.users) != 1 or prod.kwargs:
                continue
            if mm_side == 0 and alpha != 1:
                continue
            ov, mv, outv = _val(other), _val(prod), _val(node)
            if not (isinstance(ov, torch.Tensor) and ov.shape == outv.shape and ov.dtype == mv.dtype == outv.dtype
                    and ov.device.type == "accel" and ov.is_contiguous()):
                continue
            with graph.inserting_before(node):
                flat = graph.call_function(aten.view.default, (other, list(mv.shape)))
                flat.meta["val"] = ov.view(mv.shape)
                fused = graph.call_function(aten.addmm.default, (flat, *prod.args),
                                            {"alpha": alpha} if alpha != 1 else {})
                fused.meta["val"] = mv
                result = fused
                if view is not None:
                    result = graph.call_function(aten.view.default, (fused, view.args[1]))
                    result.meta["val"] = outv
            node.replace_all_uses_with(result)
            graph.erase_node(node)
            if view is not None:
                graph.erase_node(view)
            graph.erase_node(prod)
            count += 1
            break
    return count
