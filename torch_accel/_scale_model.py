"""One chip's shard of a model, and its measured phases, for torch_accel.scale.

Megatron-style tensor parallelism on the module tree: column-parallel linears
keep out_features / tp, row-parallel linears in_features / tp, the vocabulary
embedding and head keep vocab / tp rows, and attention modules keep heads / tp.
Hooks record the collectives the sharding implies while the shard runs in
estimate mode. Identical blocks (a ModuleList of equal layers) are estimated
once and twice, so a layer's cost is the difference, exactly: each layer runs
the same programs.
"""
import copy

import torch
from torch import nn
from torch.utils._pytree import tree_map

from . import _C
from .estimate import _Scope, _compute_scope, _first_float, _optimizer, _virtual

COLUMN = {"wq", "wk", "wv", "w1", "w3", "q_proj", "k_proj", "v_proj", "gate_proj", "up_proj",
          "qkv", "c_attn", "fc", "c_fc", "query", "key", "value"}
ROW = {"wo", "w2", "o_proj", "down_proj", "proj", "out", "c_proj", "dense"}
VOCAB = {"head", "lm_head", "embed", "wte", "embed_tokens", "tok_embeddings"}
HEAD_ATTRS = ("heads", "kv_heads", "n_heads", "num_heads", "n_kv_heads", "num_key_value_heads")


def find_blocks(model):
    """(path, count) of the largest list of identical blocks, or (None, 0)."""
    best, best_params = (None, 0), 0
    for name, mod in model.named_modules():
        if not isinstance(mod, (nn.ModuleList, nn.Sequential)) or len(mod) < 2:
            continue
        shapes = [[(type(c), tuple(p.shape)) for p in c.parameters()] for c in mod]
        if any(type(c) is not type(mod[0]) or s != shapes[0] for c, s in zip(mod, shapes)):
            continue
        params = sum(p.numel() for p in mod.parameters())
        if params > best_params:
            best, best_params = (name, len(mod)), params
    return best


def with_blocks(model, path, keep):
    """A deep copy of the model whose block list keeps its first `keep` blocks."""
    if path is None:
        return copy.deepcopy(model)
    parent_name, _, leaf = path.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    original = parent._modules[leaf]
    parent._modules[leaf] = type(original)(*list(original)[:keep]) \
        if isinstance(original, nn.Sequential) else nn.ModuleList(list(original)[:keep])
    try:
        return copy.deepcopy(model)
    finally:
        parent._modules[leaf] = original


def _shrunk(param, dim, tp, where):
    if param.shape[dim] % tp:
        raise ValueError(f"tensor_parallel={tp}: {where} has {param.shape[dim]} rows/columns "
                         f"along dim {dim}, not divisible by {tp}")
    shape = list(param.shape)
    shape[dim] //= tp
    return nn.Parameter(torch.empty(shape, dtype=param.dtype, device="meta"),
                        requires_grad=param.requires_grad)


def shard(model, tp, plan=None):
    """Shards `model` in place for one of `tp` ranks; returns {module name: role}."""
    plan = dict(plan or {})
    roles = {}
    for name, mod in model.named_modules():
        leaf = name.rsplit(".", 1)[-1]
        role = plan.get(leaf) or plan.get(name)
        if role is None:
            role = ("colwise" if leaf in COLUMN else "rowwise" if leaf in ROW else
                    "vocab" if leaf in VOCAB else None)
        if isinstance(mod, nn.Linear) and role in ("colwise", "vocab"):
            mod.weight = _shrunk(mod.weight, 0, tp, name)
            if mod.bias is not None:
                mod.bias = _shrunk(mod.bias, 0, tp, name + ".bias")
            mod.out_features //= tp
        elif isinstance(mod, nn.Linear) and role == "rowwise":
            mod.weight = _shrunk(mod.weight, 1, tp, name)
            mod.in_features //= tp
        elif isinstance(mod, nn.Embedding) and role == "vocab":
            mod.weight = _shrunk(mod.weight, 0, tp, name)
            mod.num_embeddings //= tp
        else:
            role = None
        if role:
            roles[name] = role
        for attr in HEAD_ATTRS:
            value = getattr(mod, attr, None)
            if isinstance(value, int) and not isinstance(value, bool) and tp > 1:
                if value % tp:
                    raise ValueError(f"tensor_parallel={tp}: {name or 'model'}.{attr} = {value} "
                                     f"heads do not split over {tp} ranks")
                setattr(mod, attr, value // tp)
    return roles


class _Collectives:
    """Forward hooks noting the tensor-parallel collectives of one run:
    (phase, op, bytes, in_block) with phase "fwd" or "bwd"."""

    def __init__(self, model, roles, blocks_path, training):
        self.events, self.in_block, self.handles, self.norms = [], 0, [], []
        for mod in model.modules():  # what sequence parallelism shards over the sequence
            if type(mod).__name__ in ("LayerNorm", "RMSNorm"):
                self.handles.append(mod.register_forward_hook(self._norm))
        self.training = training
        self._seen_inputs = {}  # id -> tensor, kept alive so no id is reused
        for name, role in roles.items():
            mod = model.get_submodule(name)
            self.handles.append(mod.register_forward_hook(self._hook(role, isinstance(mod, nn.Embedding))))
        if blocks_path is not None:
            for block in model.get_submodule(blocks_path):
                self.handles.append(block.register_forward_pre_hook(self._enter))
                self.handles.append(block.register_forward_hook(self._leave))

    def _norm(self, mod, args, out):
        x = args[0]
        self.norms.append((mod, tuple(x.shape), x.dtype, self.in_block > 0))

    def _enter(self, *_):
        self.in_block += 1

    def _leave(self, *_):
        self.in_block -= 1

    def _hook(self, role, embedding):
        def hook(mod, args, out):
            nbytes = out.numel() * out.element_size()
            where = self.in_block > 0
            if role == "rowwise" or (role == "vocab" and embedding):
                self.events.append(("fwd", "all_reduce", nbytes, where))
            elif role == "vocab" and not self.training:
                self.events.append(("fwd", "all_gather", nbytes, where))
            elif role == "vocab":  # vocab-parallel cross-entropy: max and sum of exp
                tokens = out.numel() // max(1, out.shape[-1])
                self.events += [("fwd", "all_reduce", tokens * 4, where)] * 2
            if self.training and not embedding and role in ("colwise", "vocab"):
                x = args[0]
                if id(x) not in self._seen_inputs:  # one all-reduce per shared input
                    self._seen_inputs[id(x)] = x
                    self.events.append(("bwd", "all_reduce", x.numel() * x.element_size(), where))
        return hook

    def close(self):
        for h in self.handles:
            h.remove()
        self._seen_inputs.clear()


def _totals(records, arch):
    if not records:
        return {"time_s": 0.0, "energy_j": 0.0, "flops": 0, "programs": 0}
    costs = _C.perf_estimate_many(records, arch)
    return {"time_s": sum(c["time_s"] for c in costs), "energy_j": sum(c["energy_j"] for c in costs),
            "flops": sum(r["flops"] for r in records), "programs": len(records)}


def run_phases(model, inputs, kwargs, arch, training, dtype, compute_config, batch,
               roles=None, blocks_path=None, inputs_grad=False):
    """Forward (and backward) of one microbatch in estimate mode, as
    torch_accel.estimate runs it: {"fwd": totals, "bwd": totals, "peak_bytes",
    "events": tensor-parallel collectives, "boundary_bytes": a block's output,
    "fwd_pre"/"bwd_pre": what runs before the first block (the embedding) and
    its backward, left out of "fwd"/"bwd"}."""
    scope = _Scope(arch)
    hooks = _Collectives(model, roles or {}, blocks_path, training) if isinstance(model, nn.Module) else None
    boundary, live, pre = [], {}, {"fwd": [], "bwd": []}
    if blocks_path is not None:
        first = model.get_submodule(blocks_path)[0]
        hooks.handles.append(first.register_forward_hook(
            lambda m, a, out: boundary.append(out.numel() * out.element_size())))

        def before_first_block(mod, args):
            if "entered" in live:
                return
            live["entered"] = True
            pre["fwd"] = live["native"].take_records()
            x = args[0] if args else None
            if isinstance(x, torch.Tensor) and x.requires_grad:
                # The gradient of the first block's input is done: what follows is the embedding's.
                x.register_hook(lambda g: live.__setitem__("blocks_bwd", live["native"].take_records()))
        hooks.handles.append(first.register_forward_pre_hook(before_first_block))
    try:
        with scope as native, _compute_scope(compute_config):
            live["native"] = native
            args = tree_map(lambda x: _virtual(x, batch, dtype, inputs_grad and training
                                               and x.is_floating_point()), list(inputs))
            kw = tree_map(lambda x: _virtual(x, batch, dtype), kwargs)
            call = model
            if isinstance(model, nn.Module):
                made, params = {}, {}
                named = list(model.named_parameters(remove_duplicate=False))
                named += list(model.named_buffers(remove_duplicate=False))
                for name, p in named:
                    if id(p) not in made:
                        grad = training and isinstance(p, nn.Parameter) and p.requires_grad
                        made[id(p)] = _virtual(p, None, dtype, grad)
                    params[name] = made[id(p)]

                def functional(*a, **k):
                    return torch.func.functional_call(model, params, a, k, tie_weights=True)
                call = functional
            bwd = []
            if not training:
                with torch.no_grad():
                    call(*args, **kw)
                fwd = native.take_records()
            else:
                out = call(*args, **kw)
                loss = _first_float(out)
                if loss is None:
                    raise ValueError("estimate(training=True): the model returned no floating tensor")
                if loss.numel() != 1:
                    loss = loss.sum()
                fwd = native.take_records()
                with torch.autograd.set_multithreading_enabled(False):
                    loss.backward()
                del out, loss
                bwd = native.take_records()
                if "blocks_bwd" in live:
                    bwd, pre["bwd"] = live["blocks_bwd"], bwd
        peak = native.peak_bytes
    finally:
        if hooks:
            hooks.close()
    return {"fwd": _totals(fwd, arch), "bwd": _totals(bwd, arch), "peak_bytes": peak,
            "fwd_pre": _totals(pre["fwd"], arch), "bwd_pre": _totals(pre["bwd"], arch),
            "events": hooks.events if hooks else [], "norms": hooks.norms if hooks else [],
            "boundary_bytes": boundary[0] if boundary else 0}


def sequence_parallel_saving(norms, tp, arch, training, dtype, compute_config):
    """Seconds that sequence parallelism saves per phase and place ("fwd"/"bwd",
    in a block or not): each norm runs on 1/tp of the sequence (dim 1), priced
    by estimating the norm alone at both lengths."""
    saved = {(ph, inside): 0.0 for ph in ("fwd", "bwd") for inside in (True, False)}
    cache = {}
    for mod, shape, dt, inside in norms:
        if len(shape) < 3 or shape[1] % tp:
            continue
        key = (type(mod), shape, dt, tuple(p.shape for p in mod.parameters()))
        if key not in cache:
            def cost(length):
                sized = list(shape)
                sized[1] = length
                x = torch.empty(sized, dtype=dt, device="meta")
                run = [run_phases(m, (x,), {}, arch, training, dtype, compute_config, None,
                                  inputs_grad=True) for m in (copy.deepcopy(mod), nn.Identity())]
                # Less the same run without the norm: the loss's sum and its backward.
                return {ph: run[0][ph]["time_s"] - run[1][ph]["time_s"] for ph in ("fwd", "bwd")}
            full, part = cost(shape[1]), cost(shape[1] // tp)
            cache[key] = {ph: full[ph] - part[ph] for ph in ("fwd", "bwd")}
        for ph in ("fwd", "bwd"):
            saved[(ph, inside)] += cache[key][ph]
    return saved


def optimizer_step(shapes, optimizer, arch, dtype, compute_config):
    """Totals of one steady-state optimizer step over parameters of `shapes`
    [(shape, dtype)], as torch_accel.estimate prices it."""
    if not shapes:
        return _totals([], arch)
    with _Scope(arch) as native, _compute_scope(compute_config):
        params = []
        for shape, dt in shapes:
            p = _virtual(torch.empty(shape, dtype=dt, device="meta"), None, dtype, True)
            p.grad = torch.empty_like(p)
            params.append(p)
        opt = _optimizer(optimizer, params)
        opt.step()
        native.take_records(discard=True)
        opt.step()
        del opt, params
    return _totals(native.take_records(), arch)


def parameter_groups(model, blocks_path):
    """Trainable (shape, dtype) lists: before the blocks, one block, after them."""
    pre, block, post, seen = [], [], [], set()
    prefix = None if blocks_path is None else blocks_path + "."
    first_block = None if blocks_path is None else blocks_path + ".0."
    passed = False
    for name, p in model.named_parameters(remove_duplicate=False):
        if id(p) in seen or not p.requires_grad:
            continue
        seen.add(id(p))
        entry = (tuple(p.shape), p.dtype)
        if prefix and name.startswith(prefix):
            passed = True
            if name.startswith(first_block):
                block.append(entry)
        else:
            (post if passed else pre).append(entry)
    return pre, block, post
