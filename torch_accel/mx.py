"""OCP Microscaling (MX v1.0) formats: blocks of `block_size` values along one
axis share an E8M0 scale 2^(floor(log2(amax)) - emax_elem), clipped to
2^[-127, 127]; each value divided by the scale rounds to nearest even in the
element format and saturates at its largest magnitude.

    y = torch_accel.mx_quantize(x, "fp4_e2m1")            # dequantized, x's dtype
    blocks = torch_accel.mx_encode(x, "fp8_e4m3")           # scales + elements
    z = torch_accel.mx_matmul(a, b, "fp6_e3m2")             # K-blocks, fp32 accumulation

Special values follow the spec and its reference (gfloat, the test oracle): a
NaN anywhere in a block makes its scale NaN (E8M0 code 0xFF) and every value
of the block NaN; an infinity clips the scale to 2^127 and saturates to the
element's largest magnitude; an all-zero block gets the smallest scale 2^-127.

Everything is plain torch element-wise ops on x's device (exponents read from
the float's bits, power-of-two scaling, torch.round's ties-to-even), so the
same code runs natively on accel and on the CPU and every step is exact.
"""
from dataclasses import dataclass

import torch

__all__ = ["MX_ELEMENTS", "MXBlocks", "mx_encode", "mx_quantize", "mx_matmul"]


@dataclass(frozen=True)
class ElementFormat:
    name: str
    bits: int
    precision: int     # significand bits including the implicit one
    emax: int          # exponent of the largest normal value
    bias: int
    max: float         # largest finite value
    min: float         # most negative finite value (int8 reaches -2.0)
    signed_zero: bool = True

    @property
    def min_normal_exp(self):
        return 1 - self.bias


MX_ELEMENTS = {
    "fp8_e4m3": ElementFormat("fp8_e4m3", 8, 4, 8, 7, 448.0, -448.0),
    "fp8_e5m2": ElementFormat("fp8_e5m2", 8, 3, 15, 15, 57344.0, -57344.0),
    "fp6_e3m2": ElementFormat("fp6_e3m2", 6, 3, 4, 3, 28.0, -28.0),
    "fp6_e2m3": ElementFormat("fp6_e2m3", 6, 4, 2, 1, 7.5, -7.5),
    "fp4_e2m1": ElementFormat("fp4_e2m1", 4, 2, 2, 1, 6.0, -6.0),
    # two's complement with an implied binary point after the sign+1 bits: k * 2^-6
    "int8": ElementFormat("int8", 8, 8, 0, 0, 127 / 64, -2.0, signed_zero=False),
}

SCALE_EXP_MIN, SCALE_EXP_MAX = -127, 127
E8M0_NAN = 255

# The exponent field of each float dtype, as a mask on its same-width integer view.
_EXPONENT_MASK = {torch.float32: (torch.int32, 0x7F800000),
                  torch.float64: (torch.int64, 0x7FF0000000000000)}


def element_format(elem):
    if isinstance(elem, ElementFormat):
        return elem
    if not isinstance(elem, str) or elem not in MX_ELEMENTS:
        raise ValueError(f"unknown MX element format {elem!r}; expected one of "
                         f"{', '.join(sorted(MX_ELEMENTS))}")
    return MX_ELEMENTS[elem]


def _check_input(x, what="x"):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{what} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{what} must be a floating tensor (float32, bfloat16, float16 or "
                        f"float64) to be MX-quantized, got {x.dtype}")
    if x.dtype in (torch.float8_e4m3fn, torch.float8_e5m2, torch.float8_e4m3fnuz,
                   torch.float8_e5m2fnuz):
        raise TypeError(f"{what}: MX quantization takes float32/bfloat16/float16/float64 "
                        f"input, got {x.dtype}; cast it first")


def _check_block(x, block_size, axis):
    if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
        raise ValueError(f"block_size must be a positive int, got {block_size!r}")
    if x.dim() == 0:
        raise ValueError("MX quantization needs at least one dimension to block along")
    if not -x.dim() <= axis < x.dim():
        raise ValueError(f"axis {axis} is out of range for a {x.dim()}-d tensor")
    n = x.shape[axis]
    if n % block_size:
        raise ValueError(f"block_size {block_size} does not divide the size {n} of axis {axis}")
    return axis % x.dim()


def _pow2_floor(a):
    """2^floor(log2(a)) for normal a >= 0 (read from the exponent bits, exact);
    0 for zero and subnormals, inf for inf and NaN."""
    int_dtype, mask = _EXPONENT_MASK[a.dtype]
    return (a.view(int_dtype) & mask).view(a.dtype)


def _compute_dtype(x):
    return torch.float64 if x.dtype == torch.float64 else torch.float32


def _blocked(x, block_size, axis):
    """x moved so that blocks are the last dim: (..., n_blocks, block_size)."""
    moved = x.movedim(axis, -1)
    return moved.reshape(*moved.shape[:-1], moved.shape[-1] // block_size, block_size)


def _shared_scale(blocks, fmt):
    """The E8M0 scale per block (a power of two or NaN), shape (..., n_blocks, 1)."""
    amax = blocks.abs().amax(-1, keepdim=True)
    # floor(log2(amax)) - emax, clipped: subnormal amax (all of which are below
    # 2^-126) and zero land on the smallest scale, inf on the largest.
    scale = _pow2_floor(amax) * 2.0 ** -fmt.emax
    scale = scale.clamp(2.0 ** SCALE_EXP_MIN, 2.0 ** SCALE_EXP_MAX)
    return torch.where(torch.isnan(amax), torch.full_like(amax, float("nan")), scale)


def _round_elements(v, fmt):
    """v (already divided by the scale) rounded to nearest even in fmt, saturating."""
    v = v.clamp(fmt.min, fmt.max)  # also sends +-inf to the extremes; NaN stays NaN
    exponent = torch.maximum(_pow2_floor(v.abs()),
                             torch.full_like(v, 2.0 ** fmt.min_normal_exp))
    quantum = exponent * 2.0 ** (1 - fmt.precision)
    rounded = torch.round(v / quantum) * quantum
    if not fmt.signed_zero:  # two's complement has one zero: -0.3 LSB becomes +0
        rounded = torch.where(rounded == 0, torch.zeros_like(rounded), rounded)
    return rounded


@dataclass
class MXBlocks:
    """x in an MX format: `elements` holds each value in element units (every
    entry exactly representable in `elem`, x's layout, float32 or float64),
    `scale` the per-block power of two (shape (..., n_blocks) over the other
    axes), `elem`, `block_size` and `axis` how it was blocked."""
    elements: torch.Tensor
    scale: torch.Tensor
    elem: str
    block_size: int
    axis: int
    dtype: torch.dtype

    def scale_e8m0(self):
        """The scales as E8M0 codes (uint8: biased exponent, 0xFF for NaN)."""
        nan = torch.isnan(self.scale)
        # log2 of a power of two is an integer to well within rounding
        code = torch.round(torch.log2(torch.where(nan, torch.ones_like(self.scale), self.scale)))
        code = torch.where(nan, torch.full_like(code, E8M0_NAN), code - SCALE_EXP_MIN)
        return code.to(torch.uint8)

    def dequantize(self):
        blocks = _blocked(self.elements, self.block_size, self.axis)
        out = (blocks * self.scale.unsqueeze(-1)).flatten(-2).movedim(-1, self.axis)
        return out.to(self.dtype)


def mx_encode(x, elem, block_size=32, axis=-1):
    """x as MX blocks of `block_size` along `axis` (see MXBlocks)."""
    _check_input(x)
    fmt = element_format(elem)
    axis = _check_block(x, block_size, axis)
    blocks = _blocked(x.to(_compute_dtype(x)), block_size, axis)
    scale = _shared_scale(blocks, fmt)
    elements = _round_elements(blocks / scale, fmt)
    elements = elements.flatten(-2).movedim(-1, axis)
    return MXBlocks(elements, scale.squeeze(-1), fmt.name, block_size, axis, x.dtype)


def mx_quantize(x, elem, block_size=32, axis=-1):
    """x after MX encoding and decoding: blocks of `block_size` along `axis`
    share an E8M0 scale, elements of format `elem` (fp8_e4m3, fp8_e5m2,
    fp6_e3m2, fp6_e2m3, fp4_e2m1, int8). Returns a tensor of x's dtype,
    shape and device."""
    return mx_encode(x, elem, block_size, axis).dequantize()


def mx_matmul(a, b, elem, block_size=32, elem_b=None):
    """a @ b as an MX matrix engine computes it: a quantized in blocks along
    its last dim (K), b along its second-to-last (K), the products summed in
    float32. `elem_b` (default `elem`) is b's element format."""
    _check_input(a, "a")
    _check_input(b, "b")
    if a.dim() < 1 or b.dim() < 1:
        raise ValueError("mx_matmul needs tensors with at least one dimension")
    k_b = b.shape[-2] if b.dim() > 1 else b.shape[0]
    if a.shape[-1] != k_b:
        raise ValueError(f"mx_matmul: K differs, a has {a.shape[-1]} and b has {k_b}")
    qa = mx_quantize(a, elem, block_size, -1)
    qb = mx_quantize(b, elem if elem_b is None else elem_b, block_size, -2 if b.dim() > 1 else 0)
    return torch.matmul(qa.float(), qb.float())
