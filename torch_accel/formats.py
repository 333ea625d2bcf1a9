"""The chip's block-float formats Bfp8_b, Bfp4_b and Bfp2_b (docs/NUMERICS.md).

A 32x32 tile is four 16x16 faces; each face row of 16 values shares an 8-bit
exponent and each value keeps a sign and a 7-, 3- or 1-bit magnitude, converted
bit-exactly as the chip's conversion does (round to nearest even, saturating).
Tensors tile over their last two dims (a vector is one row), zero-padded.

- `block_float(x, fmt)`: x after packing to fmt and unpacking, same shape and dtype.
- `pack_block_float(x, fmt)`: the chip's tile bytes, uint8 of shape
  (*x.shape[:-2], row_tiles, col_tiles, tile_bytes): 1088 bytes a Bfp8_b tile,
  576 a Bfp4_b tile, 320 a Bfp2_b tile.
- `unpack_block_float(packed, fmt, shape, dtype)`: the inverse.
- `to_block_float(w, fmt)`: a BlockFloatTensor, a weight stored as those bytes
  (on accel, in device DRAM) that matmuls read in that format.

All work on CPU and accel tensors; on accel each is a device program.
"""
import torch

from . import _C  # noqa: F401  (registers the accel:: block-float ops)

__all__ = ["FORMATS", "TILE_BYTES", "block_float", "pack_block_float", "unpack_block_float",
           "to_block_float", "BlockFloatTensor"]

FORMATS = ("bfp8_b", "bfp4_b", "bfp2_b")
TILE_BYTES = {"bfp8_b": 1088, "bfp4_b": 576, "bfp2_b": 320}
_FLOAT_DTYPES = (torch.float32, torch.bfloat16, torch.float16, torch.float64)


def _format(fmt):
    if not isinstance(fmt, str) or fmt.lower() not in FORMATS:
        raise ValueError(f"block float: unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return fmt.lower()


def _check_float(x, what):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{what}: expected a tensor, got {type(x).__name__}")
    if x.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"{what}: expected a floating tensor (float32, bfloat16, float16 or "
                        f"float64), got {x.dtype}")


def pack_block_float(x, fmt):
    """x's 32x32 tiles in the chip's block-float bytes (uint8, see the module doc)."""
    fmt = _format(fmt)
    _check_float(x, "pack_block_float")
    return torch.ops.accel.pack_block_float(x.detach(), fmt)


def unpack_block_float(packed, fmt, shape, dtype=torch.float32):
    """The tensor of `shape` and `dtype` whose tiles `packed` holds."""
    fmt = _format(fmt)
    if not isinstance(packed, torch.Tensor) or packed.dtype != torch.uint8:
        raise TypeError("unpack_block_float: packed must be a uint8 tensor of tile bytes, got "
                        f"{getattr(packed, 'dtype', type(packed).__name__)}")
    if dtype not in _FLOAT_DTYPES:
        raise TypeError(f"unpack_block_float: dtype must be floating, got {dtype}")
    return torch.ops.accel.unpack_block_float(packed, fmt, [int(s) for s in shape], dtype)


def block_float(x, fmt):
    """x rounded through fmt: packed to the chip's format and unpacked, in x's dtype."""
    fmt = _format(fmt)
    _check_float(x, "block_float")
    return unpack_block_float(pack_block_float(x, fmt), fmt, x.shape, x.dtype)


def to_block_float(w, fmt):
    """w stored in a chip format: a BlockFloatTensor on w's device (see its doc)."""
    fmt = _format(fmt)
    _check_float(w, "to_block_float")
    if isinstance(w, BlockFloatTensor):
        w = w.dequantize()
    return BlockFloatTensor(pack_block_float(w, fmt), fmt, w.shape, w.dtype)


aten = torch.ops.aten
_MATMUL_DTYPES = (torch.float32, torch.bfloat16, torch.float16)


def _swap_last(shape):
    shape = list(shape)
    if len(shape) >= 2:
        shape[-2], shape[-1] = shape[-1], shape[-2]
    return shape


class BlockFloatTensor(torch.Tensor):
    """A tensor stored in a chip block-float format.

    `packed` holds the tile bytes of the stored matrix: the tensor itself, or
    its transpose (last two dims) when `transposed`, so that `.t()` is free as
    on the chip. Only the packed bytes occupy memory (on accel, device DRAM:
    a quarter of float32's bytes for Bfp8_b plus the exponents, an eighth for
    Bfp4_b). `x @ w`, `torch.mm`, `addmm` and `F.linear` with such a weight on
    accel run one matmul program whose in1 is read in its block-float format
    (in0 too when x is a 2-D BlockFloatTensor, as tt-metal's BFP8 matmuls run);
    detach, clone, t, transpose of the last dims and `.to` keep the format;
    any other op computes on `dequantize()`.
    """

    __torch_function__ = torch._C._disabled_torch_function_impl

    @staticmethod
    def __new__(cls, packed, fmt, shape, dtype, transposed=False):
        return torch.Tensor._make_wrapper_subclass(cls, list(shape), dtype=dtype, device=packed.device)

    def __init__(self, packed, fmt, shape, dtype, transposed=False):
        self.packed = packed
        self.fmt = _format(fmt)
        self.transposed = bool(transposed) and len(shape) >= 2

    @property
    def stored_shape(self):
        return _swap_last(self.shape) if self.transposed else list(self.shape)

    def dequantize(self, dtype=None):
        w = unpack_block_float(self.packed, self.fmt, self.stored_shape, dtype or self.dtype)
        return w.transpose(-2, -1) if self.transposed else w

    def _rewrap(self, packed=None, shape=None, dtype=None, transposed=None):
        return BlockFloatTensor(self.packed if packed is None else packed, self.fmt,
                                self.shape if shape is None else shape, dtype or self.dtype,
                                self.transposed if transposed is None else transposed)

    def _estimate_virtual(self, dtype=None):
        """The same weight as an estimate tensor (torch_accel.estimate): packed bytes, no data."""
        packed = torch.empty(self.packed.shape, dtype=torch.uint8, device="accel")
        return self._rewrap(packed=packed, dtype=dtype)

    def __repr__(self):
        return (f"BlockFloatTensor({self.fmt}, shape={tuple(self.shape)}, dtype={self.dtype}, "
                f"device={self.device}, packed_bytes={self.packed.numel()})")

    def __tensor_flatten__(self):
        return ["packed"], (self.fmt, tuple(self.shape), self.dtype, self.transposed)

    @staticmethod
    def __tensor_unflatten__(inner, meta, outer_size, outer_stride):
        fmt, shape, dtype, transposed = meta
        return BlockFloatTensor(inner["packed"], fmt, shape, dtype, transposed)

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        handler = _HANDLERS.get(func)
        if handler is not None:
            out = handler(*args, **kwargs)
            if out is not NotImplemented:
                return out
        _refuse_writes(func, args, kwargs)
        from torch.utils._pytree import tree_map_only
        args, kwargs = tree_map_only(BlockFloatTensor, lambda t: t.dequantize(), (args, kwargs))
        return func(*args, **kwargs)


def _refuse_writes(func, args, kwargs):
    """An in-place op would write to an unpacked copy and be lost: refuse it."""
    for i, arg in enumerate(func._schema.arguments):
        value = args[i] if i < len(args) else kwargs.get(arg.name)
        if isinstance(value, BlockFloatTensor) and arg.alias_info is not None and arg.alias_info.is_write:
            raise RuntimeError(f"{func}: a BlockFloatTensor ({value.fmt}) is read-only; write to "
                               "its dequantize() and pack the result with to_block_float")


def _same(self, *args, **kwargs):
    return self._rewrap()


def _clone(self, *args, **kwargs):
    return self._rewrap(packed=self.packed.clone())


def _t(self):
    return self._rewrap(shape=_swap_last(self.shape), transposed=not self.transposed) \
        if self.dim() == 2 else self._rewrap()


def _transpose(self, dim0, dim1):
    n = self.dim()
    if n >= 2 and sorted((dim0 % n, dim1 % n)) == [n - 2, n - 1]:
        return self._rewrap(shape=_swap_last(self.shape), transposed=not self.transposed)
    return self._rewrap() if dim0 % max(n, 1) == dim1 % max(n, 1) else NotImplemented


def _to_copy(self, dtype=None, device=None, **kwargs):
    if dtype is not None and dtype not in _FLOAT_DTYPES:
        return NotImplemented
    packed = self.packed if device is None else self.packed.to(device)
    return self._rewrap(packed=packed, dtype=dtype)


def _linear(x, w, bias=None):
    """x @ w as one matmul program reading w (and x, when it is one too) in its
    block-float format, or NotImplemented where that program does not apply."""
    if (not isinstance(w, BlockFloatTensor) or w.dim() != 2 or w.device.type != "accel"
            or x.device != w.device or x.dtype != w.dtype or x.dtype not in _MATMUL_DTYPES):
        return NotImplemented
    if bias is not None and (isinstance(bias, BlockFloatTensor) or bias.dim() != 1
                             or bias.dtype != x.dtype):
        return NotImplemented
    if isinstance(x, BlockFloatTensor):
        if x.dim() != 2:
            return NotImplemented
        return torch.ops.accel.linear_block_float(
            x.packed, w.packed, w.fmt, w.stored_shape, w.transposed, bias,
            x_fmt=x.fmt, x_shape=x.stored_shape, x_transposed=x.transposed, x_dtype=x.dtype)
    return torch.ops.accel.linear_block_float(x, w.packed, w.fmt, w.stored_shape, w.transposed, bias)


def _addmm(bias, x, w, beta=1, alpha=1):
    if beta != 1 or alpha != 1:
        return NotImplemented
    return _linear(x, w, bias)


_HANDLERS = {
    aten.detach.default: _same,
    aten.alias.default: _same,
    aten.clone.default: _clone,
    aten.t.default: _t,
    aten.transpose.int: _transpose,
    aten._to_copy.default: _to_copy,
    aten.mm.default: lambda x, w: _linear(x, w),
    aten.addmm.default: _addmm,
}
