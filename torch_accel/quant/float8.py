"""torch._scaled_mm on accel: float8 (e4m3fn / e5m2) operands, tensor-wise or
row-wise float32 scales, run as device programs: the float8 values widen
exactly to float32 and the matrix engine multiplies and accumulates them in
float32 (every fp8 x fp8 product is exact in float32), then the scales and
bias apply, as torch's CPU kernel computes it. Registered for the accel
device only; copies and casts of float8 tensors are the device's own.

MX block scaling (what torchao's MX configs call): float8_e4m3fn operands with
float8_e8m0fnu scales, one per 32 values along K, in cuBLAS's swizzled
block-scaling layout (128x4 scale tiles), the layout torchao hands over.
"""
import functools

import torch

FLOAT8 = (torch.float8_e4m3fn, torch.float8_e5m2)
OUT_DTYPES = (torch.float32, torch.bfloat16, torch.float16)

_lib = torch.library.Library("aten", "IMPL")


def _scale_shape_ok(scale, rows, is_a):
    if scale.numel() == 1:
        return True  # tensor-wise
    want = (rows, 1) if is_a else (1, rows)
    return tuple(scale.shape) == want  # row-wise (a) / column-wise (b)


E8M0 = torch.float8_e8m0fnu
MX_BLOCK = 32


@functools.lru_cache(maxsize=64)
def _swizzle_order(rows, cols):
    """perm such that swizzled[i] = padded[perm[i]] for a (rows, cols) scale
    matrix padded to 128-row, 4-column tiles (cuBLAS's block-scaling layout)."""
    r_blocks, c_blocks = -(-rows // 128), -(-cols // 4)
    idx = torch.arange(r_blocks * 128 * c_blocks * 4).view(r_blocks * 128, c_blocks * 4)
    tiles = idx.view(r_blocks, 128, c_blocks, 4).permute(0, 2, 1, 3)
    return tiles.reshape(-1, 4, 32, 4).transpose(1, 2).reshape(-1), c_blocks * 4


def _unswizzle_e8m0(scale, rows, cols):
    """The (rows, cols) float32 scales from swizzled E8M0 codes."""
    perm, padded_cols = _swizzle_order(rows, cols)
    if scale.numel() != perm.numel():
        raise ValueError(f"_scaled_mm: MX scales for a {rows}x{cols} scale matrix take "
                         f"{perm.numel()} entries in the swizzled layout, got {scale.numel()}")
    codes = scale.reshape(-1).view(torch.uint8).to(torch.float32)
    flat = torch.empty_like(codes)
    flat[perm.to(codes.device)] = codes
    codes = flat.view(-1, padded_cols)[:rows, :cols]
    values = torch.exp2(codes - 127.0)
    return torch.where(codes == 255.0, torch.full_like(values, float("nan")), values)


def _mx_scaled_mm(a, b, scale_a, scale_b, bias, out_dtype):
    m, k = a.shape
    n = b.shape[1]
    if a.dtype != torch.float8_e4m3fn or b.dtype != torch.float8_e4m3fn:
        raise TypeError(f"_scaled_mm with E8M0 (MX) scales takes float8_e4m3fn operands, got "
                        f"{a.dtype} and {b.dtype}")
    if k % MX_BLOCK:
        raise ValueError(f"_scaled_mm with MX scales: K={k} is not a multiple of {MX_BLOCK}")
    sa = _unswizzle_e8m0(scale_a, m, k // MX_BLOCK)
    sb = _unswizzle_e8m0(scale_b, n, k // MX_BLOCK)
    a32 = (a.to(torch.float32).view(m, -1, MX_BLOCK) * sa.unsqueeze(-1)).view(m, k)
    bt = b.t().to(torch.float32).reshape(n, -1, MX_BLOCK)
    b32 = (bt * sb.unsqueeze(-1)).view(n, k).t()
    out = torch.mm(a32, b32)
    if bias is not None:
        out = out + bias.to(torch.float32)
    return out.to(out_dtype)


def _check(a, b, scale_a, scale_b, bias, scale_result, out_dtype):
    if a.dim() != 2 or b.dim() != 2:
        raise ValueError(f"_scaled_mm: both operands must be 2-D, got {a.dim()}-D and {b.dim()}-D")
    if a.dtype not in FLOAT8 or b.dtype not in FLOAT8:
        raise TypeError(f"_scaled_mm on accel takes float8_e4m3fn or float8_e5m2 operands, "
                        f"got {a.dtype} and {b.dtype}")
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"_scaled_mm: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be "
                         f"multiplied")
    for name, s in (("scale_a", scale_a), ("scale_b", scale_b)):
        if s.dtype != torch.float32:
            raise TypeError(f"_scaled_mm: {name} must be float32, got {s.dtype}")
    if not _scale_shape_ok(scale_a, a.shape[0], True) or not \
            _scale_shape_ok(scale_b, b.shape[1], False):
        raise ValueError(f"_scaled_mm on accel takes tensor-wise scales (one element) or "
                         f"row-wise scales ((M, 1) and (1, N)); got {tuple(scale_a.shape)} and "
                         f"{tuple(scale_b.shape)}")
    if scale_result is not None:
        raise ValueError("_scaled_mm on accel: scale_result (a float8 output) is not supported; "
                         "scale the result after")
    if out_dtype not in OUT_DTYPES + FLOAT8:
        raise TypeError(f"_scaled_mm on accel: out_dtype must be float32, bfloat16, float16 "
                        f"or a float8 dtype, got {out_dtype}")
    if bias is not None and bias.dim() != 1:
        raise ValueError("_scaled_mm: bias must be 1-D")


def scaled_mm(a, b, scale_a, scale_b, bias=None, scale_result=None, out_dtype=None,
              use_fast_accum=False):
    out_dtype = a.dtype if out_dtype is None else out_dtype
    if scale_a.dtype == E8M0 and scale_b.dtype == E8M0 and scale_result is None and \
            a.dim() == 2 and b.dim() == 2 and a.shape[1] == b.shape[0]:
        return _mx_scaled_mm(a, b, scale_a, scale_b, bias, out_dtype)
    _check(a, b, scale_a, scale_b, bias, scale_result, out_dtype)
    out = torch.mm(a.to(torch.float32), b.to(torch.float32))
    out = out * scale_a.to(out.device) * scale_b.to(out.device)
    if bias is not None:
        out = out + bias.to(torch.float32)
    return out.to(out_dtype)


def scaled_mm_out(a, b, scale_a, scale_b, bias=None, scale_result=None, out_dtype=None,
                  use_fast_accum=False, *, out):
    result = scaled_mm(a, b, scale_a, scale_b, bias, scale_result, out_dtype, use_fast_accum)
    out.resize_(result.shape)
    return out.copy_(result)


_lib.impl("_scaled_mm", scaled_mm, "PrivateUse1")
_lib.impl("_scaled_mm.out", scaled_mm_out, "PrivateUse1")
