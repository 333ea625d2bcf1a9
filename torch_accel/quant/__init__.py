"""Quantization workflows on the accel device: per-layer number formats for
weights and activations (block float, MX, int8), calibration (PTQ), fake
quantization with straight-through gradients (QAT), and the accuracy against
chip cost report (`python -m torch_accel.quant`). docs/QUANTIZATION.md."""
from . import float8  # noqa: F401  (torch._scaled_mm on accel)
from .api import calibrate, quantize, quantized_layers
from .formats import BlockFloat, Format, MX, spec, straight_through
from .observers import Int8

__all__ = ["quantize", "calibrate", "quantized_layers", "Int8", "BlockFloat", "MX",
           "Format", "spec", "straight_through"]
