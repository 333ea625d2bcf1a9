"""Interim block-float conversion used until the blockfloat branch's
torch_accel.block_float is merged (then formats.block_float calls that and
this file goes): groups of 16 along the last dim share the largest exponent,
magnitudes round to nearest even on that exponent's grid and saturate."""
import torch
import torch.nn.functional as F

from ..mx import _pow2_floor

_MAGNITUDE_BITS = {"bfp8_b": 7, "bfp4_b": 3, "bfp2_b": 1}


def block_float(x, fmt):
    bits = _MAGNITUDE_BITS[fmt]
    k = x.shape[-1]
    pad = -k % 16
    v = (F.pad(x, (0, pad)) if pad else x).float()
    groups = v.reshape(*v.shape[:-1], -1, 16)
    shared = _pow2_floor(groups.abs().amax(-1, keepdim=True))
    quantum = torch.where(shared > 0, shared * 2.0 ** (1 - bits), torch.ones_like(shared))
    top = 2.0 ** bits - 1
    q = torch.clamp(torch.round(groups / quantum), -top, top) * quantum
    q = q.flatten(-2)
    return (q[..., :k] if pad else q).to(x.dtype)
