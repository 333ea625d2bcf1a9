"""The ops a fuzzed program is made of.

Each op has a generator, which looks at the values computed so far (CPU tensors,
or None where a step raised) and draws the operands and parameters of one call,
and an apply function, which makes that call on whatever device its tensors are
on. Generators aim for valid calls most of the time, but draw some invalid ones
on purpose (out-of-range dims and indices, shapes that do not broadcast, writes
into expanded views, dtypes an op refuses) so that both devices must raise the
same exception.
"""
import torch

FLOAT_DTYPES = (torch.float32, torch.bfloat16)
DTYPES = (torch.float32, torch.bfloat16, torch.int64, torch.bool)


def is_float(t):
    return t.dtype.is_floating_point


def _dims(draw, t, allow_bad=True):
    """A dim of t, sometimes negative, rarely out of range."""
    n = max(t.dim(), 1)
    if allow_bad and draw.rare():
        return n + 1
    d = draw.int(0, n - 1)
    return d - n if draw.bool() else d


def _pick(draw, pool, want=lambda t: True):
    """The index of a live value satisfying `want`, or None."""
    live = [i for i, t in enumerate(pool) if t is not None and want(t)]
    return draw.choice(live) if live else None


# Dims that cross the 32x32 tile's edges (the device pads partial tiles).
TILE_EDGE_DIMS = (31, 32, 33, 65)


def _fresh_shape(draw, max_dims=4):
    """Mostly tiny dims (0 and 1 often); rarely one dim at a tile edge, so the
    tensor stays small."""
    shape = [draw.choice((0, 1, 1, 2, 3, 4, 5)) for _ in range(draw.int(0, max_dims))]
    if shape and draw.int(0, 9) == 0:
        shape[draw.int(0, len(shape) - 1)] = draw.choice(TILE_EDGE_DIMS)
    return tuple(shape)


def _broadcast_partner_shape(draw, shape):
    """A shape broadcastable with `shape`: a suffix of it with some dims set to 1,
    sometimes one dim too many, rarely one that does not broadcast."""
    suffix = list(shape[draw.int(0, len(shape)):]) if shape else []
    suffix = [1 if draw.bool() else s for s in suffix]
    if draw.rare() and suffix:
        suffix[-1] = suffix[-1] + 2
    if draw.int(0, 3) == 0:
        suffix = [draw.choice((1, 2))] + suffix
    return tuple(suffix)


class Op:
    """name; gen(draw, pool) -> (operand indices, params) or None; apply(tensors, params)."""
    registry = {}

    def __init__(self, name, gen, apply, is_view=False):
        self.name, self.gen, self.apply, self.is_view = name, gen, apply, is_view
        Op.registry[name] = self


def op(name, is_view=False):
    def wrap(cls):
        Op(name, cls.gen, cls.apply, is_view)
        return cls
    return wrap


# --- inputs -----------------------------------------------------------------

def make_input(shape, dtype, seed):
    """A CPU tensor of small dyadic values (exact in bfloat16, so that chains of
    adds, multiplies and copies stay exact on both devices)."""
    g = torch.Generator().manual_seed(seed)
    if dtype == torch.bool:
        return torch.randint(0, 2, shape, generator=g).bool()
    if dtype == torch.int64:
        return torch.randint(-5, 10, shape, generator=g)
    return (torch.randint(-8, 9, shape, generator=g).to(torch.float32) / 4).to(dtype)


def gen_input(draw, shape=None, dtype=None):
    shape = _fresh_shape(draw) if shape is None else shape
    dtype = draw.choice(DTYPES) if dtype is None else dtype
    return [], {"shape": tuple(shape), "dtype": dtype, "seed": draw.int(0, 2 ** 16)}


Op("input", gen_input, lambda ts, p, device: make_input(p["shape"], p["dtype"], p["seed"]).to(device))


# --- views --------------------------------------------------------------------

def _unary(gen_params, want=lambda t: True):
    def gen(draw, pool):
        i = _pick(draw, pool, want)
        return None if i is None else ([i], gen_params(draw, pool[i]))
    return gen


Op("transpose", _unary(lambda d, t: {"d0": _dims(d, t), "d1": _dims(d, t)}),
   lambda ts, p, dev: ts[0].transpose(p["d0"], p["d1"]), is_view=True)
Op("permute", _unary(lambda d, t: {"perm": d.permutation(t.dim())}),
   lambda ts, p, dev: ts[0].permute(p["perm"]), is_view=True)


def _slice_params(draw, t):
    dim = _dims(draw, t, allow_bad=False) % t.dim()
    size = t.shape[dim]
    start = draw.int(-size - 1, size + 1)
    step = 0 if draw.rare() else draw.choice((1, 1, 2, 3))
    return {"dim": dim, "start": start, "stop": draw.int(start - 1, size + 2), "step": step}


def _slice(ts, p, dev):
    return ts[0][(slice(None),) * p["dim"] + (slice(p["start"], p["stop"], p["step"]),)]


Op("slice", _unary(_slice_params, lambda t: t.dim() > 0), _slice, is_view=True)


def _expand_params(draw, t):
    shape = [draw.choice((2, 3)) if s == 1 and draw.bool() else s for s in t.shape]
    if draw.rare() and shape:
        shape[0] += 1  # a non-singleton dim cannot expand
    if draw.bool():
        shape = [draw.choice((1, 2))] + shape
    return {"shape": tuple(shape)}


Op("expand", _unary(_expand_params), lambda ts, p, dev: ts[0].expand(p["shape"]), is_view=True)
Op("unsqueeze", _unary(lambda d, t: {"dim": d.int(-t.dim() - 1, t.dim())}),
   lambda ts, p, dev: ts[0].unsqueeze(p["dim"]), is_view=True)
Op("squeeze", _unary(lambda d, t: {"dim": _dims(d, t)}),
   lambda ts, p, dev: ts[0].squeeze(p["dim"]), is_view=True)
Op("select", _unary(lambda d, t: {"dim": _dims(d, t, allow_bad=False),
                                  "index": d.int(-3, 4)}, lambda t: t.dim() > 0),
   lambda ts, p, dev: ts[0].select(p["dim"], p["index"]), is_view=True)
Op("diagonal", _unary(lambda d, t: {"offset": d.int(-2, 2)}, lambda t: t.dim() >= 2),
   lambda ts, p, dev: ts[0].diagonal(p["offset"]), is_view=True)
Op("flatten", _unary(lambda d, t: {}), lambda ts, p, dev: ts[0].flatten())
Op("reshape", _unary(lambda d, t: {"shape": (-1,) + tuple(t.shape[d.int(1, max(t.dim(), 1)):])
                                   if t.numel() and t.dim() else (t.numel(),)}),
   lambda ts, p, dev: ts[0].reshape(p["shape"]))
Op("view", _unary(lambda d, t: {"shape": (t.numel(),) if not d.rare() else (t.numel() + 1,)}),
   lambda ts, p, dev: ts[0].view(p["shape"]), is_view=True)
Op("contiguous", _unary(lambda d, t: {}), lambda ts, p, dev: ts[0].contiguous())
Op("clone", _unary(lambda d, t: {}), lambda ts, p, dev: ts[0].clone())
Op("to_dtype", _unary(lambda d, t: {"dtype": d.choice(DTYPES)}),
   lambda ts, p, dev: ts[0].to(p["dtype"]))
