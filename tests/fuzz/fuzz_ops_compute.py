"""Computing ops of fuzzed programs: elementwise, in-place, reductions, matmul,
softmax, cat/stack, where and indexing (see fuzz_ops.py for the conventions)."""
import torch

from fuzz_ops import DTYPES, Op, _broadcast_partner_shape, _dims, _pick, _unary, is_float


def _binary(draw, pool, want=lambda t: True):
    """Operands (i, j) for a broadcasting binary op: j is another live value whose
    shape broadcasts with i's when one exists, else a new input added to the
    program by returning ("new", shape)."""
    i = _pick(draw, pool, want)
    if i is None:
        return None
    def fits(t):
        try:
            torch.broadcast_shapes(t.shape, pool[i].shape)
            return want(t)
        except RuntimeError:
            return False
    j = _pick(draw, pool, fits) if draw.bool() else None
    if j is None:
        j = ("new", _broadcast_partner_shape(draw, tuple(pool[i].shape)),
             pool[i].dtype if draw.int(0, 3) else draw.choice(DTYPES))
    return i, j


def _binary_op(draw, pool):
    pair = _binary(draw, pool)
    return None if pair is None else (list(pair), {})


UNARY = {
    "neg": torch.neg, "abs": torch.abs, "exp": torch.exp, "tanh": torch.tanh,
    "sigmoid": torch.sigmoid, "relu": torch.relu, "sqrt": torch.sqrt, "floor": torch.floor,
    "logical_not": torch.logical_not, "square": torch.square, "sign": torch.sign,
    "isnan": torch.isnan, "silu": torch.nn.functional.silu,
    # CPU's erf GELU gives nan at +inf and near the dtype's largest values,
    # where the formula (and CUDA) give inf; accel need not copy that, so GELU
    # sees moderate inputs.
    "gelu": lambda x: torch.nn.functional.gelu(
        torch.nan_to_num(x, nan=0.0, posinf=1e4, neginf=-1e4) if x.is_floating_point() else x),
}
for _name, _fn in UNARY.items():
    Op(_name, _unary(lambda d, t: {}), lambda ts, p, dev, fn=_fn: fn(ts[0]))

BINARY = {
    "add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div,
    "maximum": torch.maximum, "minimum": torch.minimum, "eq": torch.eq, "lt": torch.lt,
    "ge": torch.ge, "logical_and": torch.logical_and, "pow": torch.pow,
    "remainder": torch.remainder, "bitwise_and": torch.bitwise_and,
}
for _name, _fn in BINARY.items():
    Op(_name, lambda draw, pool: _binary_op(draw, pool),
       lambda ts, p, dev, fn=_fn: fn(ts[0], ts[1]))

Op("add_scalar", _unary(lambda d, t: {"other": d.choice((2, -1.5, 0.25, True))}),
   lambda ts, p, dev: ts[0] + p["other"])
Op("mul_scalar", _unary(lambda d, t: {"other": d.choice((3, -0.5, 2.0))}),
   lambda ts, p, dev: ts[0] * p["other"])
Op("clamp", _unary(lambda d, t: {"min": d.choice((None, -1, -0.5)), "max": d.choice((None, 1, 1.5))}),
   lambda ts, p, dev: torch.clamp(ts[0], p["min"], p["max"]))

# --- in-place ---------------------------------------------------------------
# The written tensor is often a view, so writes must reach its base; writing
# into an expanded view or a value of a narrower dtype must raise on both.

INPLACE_BINARY = {"add_": torch.Tensor.add_, "mul_": torch.Tensor.mul_, "copy_": torch.Tensor.copy_,
                  "sub_": torch.Tensor.sub_, "div_": torch.Tensor.div_}
def _inplace_binary_op(draw, pool):
    """As _binary_op, but the source never overlaps the written tensor in a way
    ATen cannot detect (then the result depends on the order the kernel walks
    the elements: undefined behaviour, not a mismatch). Overlaps of contiguous
    tensors stay: both devices must raise for them."""
    drawn = _binary_op(draw, pool)
    if drawn is None or not isinstance(drawn[0][1], int):
        return drawn
    dst, src = pool[drawn[0][0]], pool[drawn[0][1]]
    if (dst.untyped_storage().data_ptr() == src.untyped_storage().data_ptr() and dst.numel()
            and not (dst.is_contiguous() and src.is_contiguous())):
        drawn[0][1] = ("new", tuple(src.shape), src.dtype)
    return drawn


for _name, _fn in INPLACE_BINARY.items():
    Op(_name, lambda draw, pool: _inplace_binary_op(draw, pool),
       lambda ts, p, dev, fn=_fn: fn(ts[0], ts[1]))

Op("clamp_", _unary(lambda d, t: {"min": d.choice((-1, -0.25)), "max": d.choice((None, 1))}),
   lambda ts, p, dev: ts[0].clamp_(p["min"], p["max"]))
Op("mul_scalar_", _unary(lambda d, t: {"other": d.choice((2, -1, 0.5))}),
   lambda ts, p, dev: ts[0].mul_(p["other"]))
Op("fill_", _unary(lambda d, t: {"value": d.choice((0, 1, -2.5, True))}),
   lambda ts, p, dev: ts[0].fill_(p["value"]))
Op("zero_", _unary(lambda d, t: {}), lambda ts, p, dev: ts[0].zero_())


def _gen_masked_fill(draw, pool):
    pair = _binary(draw, pool)
    if pair is None:
        return None
    i, j = pair
    if isinstance(j, tuple):
        j = ("new", j[1], torch.bool if draw.int(0, 5) else j[2])
    return (i, j), {"value": draw.choice((-1, 0.5, 7))}


Op("masked_fill_", lambda d, pool: _with_params(_gen_masked_fill(d, pool)),
   lambda ts, p, dev: ts[0].masked_fill_(ts[1], p["value"]))
Op("masked_fill", lambda d, pool: _with_params(_gen_masked_fill(d, pool)),
   lambda ts, p, dev: ts[0].masked_fill(ts[1], p["value"]))


def _with_params(result):
    if result is None:
        return None
    operands, params = result
    return list(operands), params


def _index_tensor(draw, size, length):
    """Index values for a dim of `size`: in range (negative ones too), rarely out of range."""
    hi = size + 2 if draw.rare() else size - 1
    lo = -size if size else 0
    return ("index", (length,), lo, max(hi, lo) if size or draw.rare() else -1)


def _gen_index_put(draw, pool):
    i = _pick(draw, pool, lambda t: t.dim() > 0)
    if i is None:
        return None
    t = pool[i]
    idx = _index_tensor(draw, t.shape[0], draw.int(0, 4))
    if idx[3] < idx[2]:
        return None
    values = ("new", (idx[1][0],) + tuple(t.shape[1:]) if draw.bool() else (), t.dtype)
    return [i, idx, values], {"accumulate": draw.bool()}


Op("index_put_", _gen_index_put,
   lambda ts, p, dev: ts[0].index_put_((ts[1],), ts[2], accumulate=p["accumulate"]))

# --- reductions, matmul, softmax ----------------------------------------------

REDUCTIONS = {"sum": torch.sum, "mean": torch.mean, "amax": torch.amax, "amin": torch.amin,
              "prod": torch.prod, "any": torch.any, "all": torch.all}
for _name, _fn in REDUCTIONS.items():
    Op(_name, _unary(lambda d, t: {"dim": _dims(d, t) if d.int(0, 3) else None,
                                   "keepdim": d.bool()}),
       lambda ts, p, dev, fn=_fn: fn(ts[0]) if p["dim"] is None and not p["keepdim"]
       else fn(ts[0], dim=p["dim"] if p["dim"] is not None else 0, keepdim=p["keepdim"]))
Op("max_dim", _unary(lambda d, t: {"dim": _dims(d, t), "keepdim": d.bool()}),
   lambda ts, p, dev: torch.max(ts[0], p["dim"], keepdim=p["keepdim"]).values)
Op("var", _unary(lambda d, t: {"dim": _dims(d, t)}, is_float),
   lambda ts, p, dev: torch.var(ts[0], p["dim"]))
Op("cumsum", _unary(lambda d, t: {"dim": _dims(d, t)}),
   lambda ts, p, dev: torch.cumsum(ts[0], p["dim"]))
Op("softmax", _unary(lambda d, t: {"dim": _dims(d, t)}),
   lambda ts, p, dev: torch.softmax(ts[0], p["dim"]))
Op("log_softmax", _unary(lambda d, t: {"dim": _dims(d, t)}),
   lambda ts, p, dev: torch.log_softmax(ts[0], p["dim"]))


def _gen_matmul(draw, pool):
    i = _pick(draw, pool, lambda t: t.dim() >= 1)
    if i is None:
        return None
    a = pool[i]
    k = a.shape[-1]
    if draw.rare():
        k += 1  # inner dims that do not agree
    rank = draw.choice((1, 2, 2, 3))
    n = draw.choice((0, 1, 3, 5, 33))
    shape = (k,) if rank == 1 else ((k, n) if rank == 2 else (draw.choice((1, 2)), k, n))
    dtype = a.dtype if draw.int(0, 5) else draw.choice(DTYPES)
    return [i, ("new", shape, dtype)], {}


Op("matmul", _gen_matmul, lambda ts, p, dev: torch.matmul(ts[0], ts[1]))

# --- cat, stack, where, indexing ----------------------------------------------


def _gen_cat(draw, pool):
    i = _pick(draw, pool, lambda t: t.dim() > 0)
    if i is None:
        return None
    t = pool[i]
    dim = _dims(draw, t, allow_bad=False) % t.dim()
    shape = list(t.shape)
    shape[dim] = draw.int(0, 3)
    if draw.rare():
        shape[(dim + 1) % len(shape)] += 1
    other = i if draw.int(0, 3) == 0 else ("new", tuple(shape), t.dtype if draw.int(0, 4) else draw.choice(DTYPES))
    return [i, other], {"dim": dim}


Op("cat", _gen_cat, lambda ts, p, dev: torch.cat([ts[0], ts[1]], p["dim"]))
Op("stack", lambda d, pool: _with_params(_stack_gen(d, pool)),
   lambda ts, p, dev: torch.stack([ts[0], ts[1]], p["dim"]))


def _stack_gen(draw, pool):
    i = _pick(draw, pool)
    if i is None:
        return None
    shape = tuple(pool[i].shape)
    if draw.rare():
        shape = shape + (1,)
    return (i, ("new", shape, pool[i].dtype)), {"dim": draw.int(-pool[i].dim() - 1, pool[i].dim())}


def _gen_where(draw, pool):
    pair = _binary(draw, pool)
    if pair is None:
        return None
    i, j = pair
    cond = _pick(draw, pool, lambda t: t.dtype == torch.bool and _broadcasts(t, pool[i]))
    if cond is None:
        cond = ("new", tuple(pool[i].shape[-1:]) if pool[i].dim() else (), torch.bool)
    return [cond, i, j], {}


def _broadcasts(a, b):
    try:
        torch.broadcast_shapes(a.shape, b.shape)
        return True
    except RuntimeError:
        return False


Op("where", _gen_where, lambda ts, p, dev: torch.where(ts[0], ts[1], ts[2]))


def _gen_index_select(draw, pool):
    i = _pick(draw, pool, lambda t: t.dim() > 0)
    if i is None:
        return None
    dim = _dims(draw, pool[i], allow_bad=False)
    size = pool[i].shape[dim]
    hi = size + 1 if draw.rare() or size == 0 else size - 1
    return [i, ("index", (draw.int(0, 4),), 0, hi)], {"dim": dim}


Op("index_select", _gen_index_select, lambda ts, p, dev: torch.index_select(ts[0], p["dim"], ts[1]))
Op("advanced_index", _gen_index_select,
   lambda ts, p, dev: ts[0][(slice(None),) * (p["dim"] % ts[0].dim()) + (ts[1],)])


def _gen_gather(draw, pool):
    i = _pick(draw, pool, lambda t: t.dim() > 0)
    if i is None:
        return None
    t = pool[i]
    dim = _dims(draw, t, allow_bad=False)
    shape = tuple(draw.int(0, s) for s in t.shape)
    size = t.shape[dim]
    hi = size + 1 if draw.rare() or size == 0 else size - 1
    return [i, ("index", shape, 0, hi)], {"dim": dim}


Op("gather", _gen_gather, lambda ts, p, dev: torch.gather(ts[0], p["dim"], ts[1]))
Op("boolean_mask", lambda d, pool: _with_params(_mask_gen(d, pool)),
   lambda ts, p, dev: ts[0][ts[1]])


def _mask_gen(draw, pool):
    i = _pick(draw, pool, lambda t: t.dim() > 0)
    if i is None:
        return None
    return (i, ("new", tuple(pool[i].shape[:draw.int(1, pool[i].dim())]), torch.bool)), {}
