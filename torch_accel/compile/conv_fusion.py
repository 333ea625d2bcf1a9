"""Convolution epilogues: a convolution followed by a per-output-channel
affine map (what an inference batch norm folds to, patterns.py
fold_batch_norm_eval, or the batch norm itself), a residual add and an
activation becomes one accel::conv_act program, whose writer applies them to
each output block before write-back: one program, and none of the
intermediate maps goes to DRAM and back. Applies where the intermediates feed
nothing else (inference graphs; a training forward that saves them for its
backward keeps them)."""
import operator

import torch

from .fx_nodes import activation_of as _activation, emit as _emit, is_call as _call
from .fx_nodes import sole_user as _sole_user, val as _val

aten = torch.ops.aten
prims = torch.ops.prims
_FLOATS = (torch.float32, torch.bfloat16, torch.float16)  # what accel::conv_act reads


def _other_operand(node, tail):
    """node's operand that is not tail, when node is binary with tail on one side only."""
    if len(node.args) != 2 or (node.args[0] is tail) == (node.args[1] is tail):
        return None
    return node.args[1] if node.args[0] is tail else node.args[0]


def _per_channel(value, out, channels):
    """Whether value broadcasts over out as one float per output channel."""
    v = _val(value)
    if not isinstance(v, torch.Tensor) or v.dtype not in _FLOATS or v.numel() != channels \
            or v.dim() > out.dim() or v.device != out.device:
        return False
    shape = [1] * (out.dim() - v.dim()) + list(v.shape)
    return all(s == (channels if d == 1 else 1) for d, s in enumerate(shape))


def _batch_norm_affine(graph, bn, channels):
    """(scale, shift) in float32 for an inference batch norm that
    fold_batch_norm_eval left whole (its parameters not float32), with the
    users it replaces; None when it does not fit."""
    x, w, b, mean, var, _momentum, eps = bn.args
    users = list(bn.users)
    if w is None or b is None or any(u.target != operator.getitem for u in users):
        return None
    live = [u for u in users if u.users]
    if len(live) != 1 or live[0].args[1] != 0:
        return None
    params = [_val(t) for t in (w, b, mean, var)]
    if not all(isinstance(p, torch.Tensor) and p.shape == (channels,) and p.dtype in _FLOATS for p in params):
        return None
    stat = params[3].to(torch.float32)
    # Only var is cast: the products promote w, mean and b to float32, so the
    # five [C] ops stay one fused program (a cast of a graph input would start
    # its own).
    if params[3].dtype != torch.float32:
        var = _emit(graph, prims.convert_element_type.default, (var, torch.float32), stat)
    inv = _emit(graph, aten.rsqrt.default, (_emit(graph, aten.add.Tensor, (var, eps), stat),), stat)
    scale = _emit(graph, aten.mul.Tensor, (inv, w), stat)
    shift = _emit(graph, aten.sub.Tensor, (b, _emit(graph, aten.mul.Tensor, (mean, scale), stat)), stat)
    return scale, shift, users


def _match(conv):
    """The epilogue after conv: (chain of absorbed nodes, tail, parts) or None.
    parts: "bn" (a whole batch norm), "scale", "shift", "residual", "act"."""
    out = _val(conv)
    channels = out.shape[1]
    chain, parts, tail = [], {}, conv
    user = _sole_user(tail)
    if _call(user, aten._native_batch_norm_legit_no_training.default) and user.args[0] is tail:
        parts["bn"] = user
        live = [u for u in user.users if u.users]
        if len(live) != 1:
            return None
        chain += [user]
        tail = live[0]
        user = _sole_user(tail)
    else:
        # The folded batch norm: `* scale[c]`, then `+ shift[c]`, each optional.
        for part, op in (("scale", aten.mul.Tensor), ("shift", aten.add.Tensor)):
            if not _call(user, op) or user.kwargs.get("alpha", 1) != 1:
                continue
            other = _other_operand(user, tail)
            if other is not None and _per_channel(other, out, channels) and _val(user).dtype == out.dtype \
                    and _val(user).shape == out.shape:
                parts[part], tail = other, user
                chain.append(user)
                user = _sole_user(tail)
    if _call(user, aten.add.Tensor) and user.kwargs.get("alpha", 1) == 1:
        other = _other_operand(user, tail)
        ov = _val(other)
        if isinstance(ov, torch.Tensor) and ov.shape == out.shape and ov.dtype == out.dtype \
                and ov.device == out.device and _val(user).dtype == out.dtype:
            parts["residual"], tail = other, user
            chain.append(user)
            user = _sole_user(tail)
    act = _activation(user) if user is not None else None
    if act is not None and _val(user).dtype == out.dtype:
        parts["act"], tail = act, user
        chain.append(user)
    return (chain, tail, parts) if chain else None


def fuse_conv_epilogues(graph):
    """Rewrites each matched convolution; returns [(absorbed ops, activation)]."""
    fused = []
    for conv in list(graph.nodes):
        if not _call(conv, aten.convolution.default) or conv.kwargs or len(conv.args) != 9:
            continue
        x, w, bias, stride, padding, dilation, transposed, _output_padding, groups = conv.args
        out = _val(conv)
        if transposed or not isinstance(out, torch.Tensor) or out.device.type != "accel" \
                or out.dtype not in _FLOATS or out.dim() < 3:
            continue
        found = _match(conv)
        if found is None:
            continue
        chain, tail, parts = found
        channels = out.shape[1]
        with graph.inserting_before(tail):
            scale, shift, bn_users = parts.get("scale"), parts.get("shift"), []
            if "bn" in parts:
                affine = _batch_norm_affine(graph, parts["bn"], channels)
                if affine is None:  # checked before anything is emitted: the graph is unchanged
                    continue
                scale, shift, bn_users = affine
            vectors = []
            for v in (scale, shift):
                if v is not None and _val(v).dim() != 1:
                    v = _emit(graph, aten.view.default, (v, [channels]), _val(v).reshape(channels))
                vectors.append(v)
            node = _emit(graph, torch.ops.accel.conv_act.default,
                         (x, w, bias, list(stride), list(padding), list(dilation), groups,
                          vectors[0], vectors[1], parts.get("residual"), parts.get("act", "none")),
                         _val(tail))
        tail.replace_all_uses_with(node)
        dead = [tail] + [n for n in reversed(chain) if n is not tail]
        for n in dead:
            if n is parts.get("bn"):
                for u in bn_users:
                    if u is not tail:
                        graph.erase_node(u)
            graph.erase_node(n)
        graph.erase_node(conv)
        names = ["convolution"] + [("batch_norm" if n is parts.get("bn") else n.target.overloadpacket.__name__)
                                   for n in chain]
        fused.append((names, parts.get("act", "none")))
    graph.eliminate_dead_code()
    return fused
