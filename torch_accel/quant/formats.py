"""The number formats a layer's weights and input activations can take, each
as a fake-quantizer: `fmt(x)` is x after converting to the format and back,
blocks running along the last dim (a matmul's K: callers move K there).

    spec(name)          "fp32", "bf16", "bfp8_b", "bfp4_b", "bfp2_b",
                        "mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e3m2", "mxfp6_e2m3",
                        "mxfp4_e2m1", "mxint8" (aliases mxfp8, mxfp6, mxfp4),
                        "int8" or an Int8(...) for calibrated int8
    straight_through(x, q)  q's value with x's gradient (QAT)

`chip_format` is the data format a program reading the tensor is priced in
(csrc/perf/formats.cpp). The chip has no MX or 6-bit format: MX tensors are
priced as the block-float format of the same or next larger element width
(docs/QUANTIZATION.md).
"""
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .. import mx
from ..formats import block_float as _block_float
from .observers import Int8, INT8_ACTIVATION, INT8_WEIGHT

BLOCK_FLOAT_FORMATS = ("bfp8_b", "bfp4_b", "bfp2_b")
MX_ALIASES = {"mxfp8": "mxfp8_e4m3", "mxfp6": "mxfp6_e2m3", "mxfp4": "mxfp4_e2m1"}
MX_FORMATS = {"mxfp8_e4m3": "fp8_e4m3", "mxfp8_e5m2": "fp8_e5m2", "mxfp6_e3m2": "fp6_e3m2",
              "mxfp6_e2m3": "fp6_e2m3", "mxfp4_e2m1": "fp4_e2m1", "mxint8": "int8"}
_MX_CHIP_FORMAT = {8: "Bfp8_b", 6: "Bfp8_b", 4: "Bfp4_b"}


def block_float(x, fmt):
    """The chip's block-float conversion, packed and unpacked (torch_accel.formats)."""
    return _block_float(x, fmt)


def is_block_float_name(chip_format):
    return chip_format.lower().startswith("bfp")


def straight_through(x, q):
    """q in the forward pass, the identity's gradient to x in the backward."""
    return x + (q - x).detach()


class Format:
    name = "fp32"
    chip_format = None          # None: the tensor's own dtype
    bits = 32

    def __call__(self, x):
        return x

    def __repr__(self):
        return self.name


class _Float32(Format):
    pass


class _BFloat16(Format):
    name, chip_format, bits = "bf16", "Float16_b", 16

    def __call__(self, x):
        return x.to(torch.bfloat16).to(x.dtype)


@dataclass(frozen=True, repr=False)
class BlockFloat(Format):
    fmt: str

    @property
    def name(self):
        return self.fmt

    @property
    def chip_format(self):
        return self.fmt.capitalize()  # "bfp8_b" -> "Bfp8_b"

    @property
    def bits(self):
        return int(self.fmt[3])

    def __call__(self, x):
        return block_float(x, self.fmt)


@dataclass(frozen=True, repr=False)
class MX(Format):
    elem: str
    block_size: int = 32

    @property
    def name(self):
        return next(n for n, e in MX_FORMATS.items() if e == self.elem)

    @property
    def bits(self):
        return mx.MX_ELEMENTS[self.elem].bits

    @property
    def chip_format(self):
        return _MX_CHIP_FORMAT[self.bits]

    def __call__(self, x):
        k = x.shape[-1]
        pad = -k % self.block_size
        # a short last block is a block padded with zeros, which change no amax
        padded = F.pad(x, (0, pad)) if pad else x
        q = mx.mx_quantize(padded, self.elem, self.block_size, -1)
        return q[..., :k] if pad else q


@dataclass(frozen=True, repr=False)
class Int8Format(Format):
    """Calibrated int8: the quantizer module (quant.modules) holds the observer;
    this carries the spec."""
    spec: Int8
    bits = 8
    chip_format = "Int8"

    @property
    def name(self):
        return "int8"

    def __call__(self, x):
        raise RuntimeError("int8 quantization needs its observer: use it through "
                           "torch_accel.quantize")


FP32 = _Float32()


def spec(value, role="weight"):
    """A Format from a name, an Int8, a Format or None (fp32)."""
    if value is None:
        return FP32
    if isinstance(value, Format):
        return value
    if isinstance(value, Int8):
        return Int8Format(value)
    if not isinstance(value, str):
        raise TypeError(f"a quantization format is a name, an Int8 or None, got "
                        f"{type(value).__name__}")
    name = MX_ALIASES.get(value.lower(), value.lower())
    if name in ("fp32", "float32"):
        return FP32
    if name in ("bf16", "bfloat16"):
        return _BFloat16()
    if name in BLOCK_FLOAT_FORMATS:
        return BlockFloat(name)
    if name in MX_FORMATS:
        return MX(MX_FORMATS[name])
    if name == "int8":
        return Int8Format(INT8_WEIGHT if role == "weight" else INT8_ACTIVATION)
    known = ["fp32", "bf16", *BLOCK_FLOAT_FORMATS, *MX_FORMATS, *MX_ALIASES, "int8"]
    raise ValueError(f"unknown quantization format {value!r}; expected one of "
                     f"{', '.join(known)} or an Int8(...)")
