"""int8 quantization parameters: the Int8 spec (granularity, symmetry, observer)
and observers built on torch.ao.quantization's, with their statistics taken by
ops the accel device runs natively (torch.aminmax is not one of them)."""
from dataclasses import dataclass

import torch
from torch.ao.quantization.observer import (MinMaxObserver, MovingAverageMinMaxObserver,
                                            PerChannelMinMaxObserver)

GRANULARITIES = ("per_tensor", "per_channel")
OBSERVERS = ("minmax", "percentile", "moving_average")


@dataclass(frozen=True)
class Int8:
    """int8 quantization of a weight or an activation.

    granularity: "per_tensor", or "per_channel" (a scale per output channel,
        for weights).
    symmetric: zero point 0 and a range symmetric about it (qint8), else
        affine (activations: quint8 0..255, weights: qint8 -128..127).
    observer: "minmax" (the calibration data's extremes), "percentile" (the
        `percentile`-th and (100-percentile)-th percentiles, clipping
        outliers), or "moving_average" (an EMA of min/max, for QAT).
    """
    granularity: str = "per_tensor"
    symmetric: bool = False
    observer: str = "minmax"
    percentile: float = 99.99

    def __post_init__(self):
        if self.granularity not in GRANULARITIES:
            raise ValueError(f"Int8: granularity must be one of {GRANULARITIES}, "
                             f"got {self.granularity!r}")
        if self.observer not in OBSERVERS:
            raise ValueError(f"Int8: observer must be one of {OBSERVERS}, got {self.observer!r}")
        if not 50.0 < self.percentile <= 100.0:
            raise ValueError(f"Int8: percentile must be in (50, 100], got {self.percentile!r}")

    @property
    def name(self):
        sym = "sym" if self.symmetric else "affine"
        return f"int8_{self.granularity}_{sym}_{self.observer}"


INT8_WEIGHT = Int8("per_channel", symmetric=True)
INT8_ACTIVATION = Int8("per_tensor", symmetric=False)


def _dtype_and_scheme(spec, is_weight):
    per_channel = spec.granularity == "per_channel"
    if spec.symmetric:
        scheme = torch.per_channel_symmetric if per_channel else torch.per_tensor_symmetric
    else:
        scheme = torch.per_channel_affine if per_channel else torch.per_tensor_affine
    dtype = torch.qint8 if (spec.symmetric or is_weight) else torch.quint8
    return dtype, scheme


class _NativeMinMax(MinMaxObserver):
    def forward(self, x_orig):
        if x_orig.numel() == 0:
            return x_orig
        x = x_orig.detach().to(self.min_val.dtype)
        self.min_val.copy_(torch.minimum(x.amin(), self.min_val))
        self.max_val.copy_(torch.maximum(x.amax(), self.max_val))
        return x_orig


class _NativeMovingAverage(MovingAverageMinMaxObserver):
    def forward(self, x_orig):
        if x_orig.numel() == 0:
            return x_orig
        x = x_orig.detach().to(self.min_val.dtype)
        lo, hi = x.amin(), x.amax()
        if self.min_val.numel() == 0 or torch.isinf(self.min_val).item():
            self.min_val.copy_(lo)
            self.max_val.copy_(hi)
        else:
            c = self.averaging_constant
            self.min_val.copy_(self.min_val + c * (lo - self.min_val))
            self.max_val.copy_(self.max_val + c * (hi - self.max_val))
        return x_orig


class _NativePerChannel(PerChannelMinMaxObserver):
    def forward(self, x_orig):
        if x_orig.numel() == 0:
            return x_orig
        x = x_orig.detach().to(self.min_val.dtype).movedim(self.ch_axis, 0).flatten(1)
        lo, hi = x.amin(1), x.amax(1)
        if self.min_val.numel() == 0:  # reset leaves empty CPU tensors
            self.min_val, self.max_val = lo.clone(), hi.clone()
        else:
            self.min_val.copy_(torch.minimum(lo, self.min_val))
            self.max_val.copy_(torch.maximum(hi, self.max_val))
        return x_orig


class _Percentile(MinMaxObserver):
    """Clips at percentiles instead of the extremes; over several calibration
    batches the per-batch percentiles are averaged."""

    def __init__(self, percentile, **kwargs):
        super().__init__(**kwargs)
        self.percentile = percentile
        self.register_buffer("batches", torch.tensor(0))

    def reset_min_max_vals(self):
        super().reset_min_max_vals()
        self.batches.zero_()

    def forward(self, x_orig):
        if x_orig.numel() == 0:
            return x_orig
        x = x_orig.detach().to(self.min_val.dtype).flatten()
        if x.numel() > 1 << 22:  # torch.quantile's input limit; a strided sample suffices
            x = x[:: x.numel() // (1 << 22) + 1]
        q = torch.tensor([1 - self.percentile / 100, self.percentile / 100], device=x.device)
        lo, hi = torch.quantile(x, q)
        n = self.batches.item()
        if n == 0:
            self.min_val.copy_(lo)
            self.max_val.copy_(hi)
        else:
            self.min_val.copy_((self.min_val * n + lo) / (n + 1))
            self.max_val.copy_((self.max_val * n + hi) / (n + 1))
        self.batches += 1
        return x_orig


def make_observer(spec, is_weight, ch_axis=0):
    """A torch.ao observer for `spec` (an Int8)."""
    dtype, scheme = _dtype_and_scheme(spec, is_weight)
    kwargs = {"dtype": dtype, "qscheme": scheme}
    if spec.granularity == "per_channel":
        if spec.observer != "minmax":
            raise ValueError(f"Int8: per-channel quantization takes the 'minmax' observer, "
                             f"got {spec.observer!r}")
        return _NativePerChannel(ch_axis=ch_axis, **kwargs)
    if spec.observer == "percentile":
        return _Percentile(spec.percentile, **kwargs)
    if spec.observer == "moving_average":
        return _NativeMovingAverage(**kwargs)
    return _NativeMinMax(**kwargs)


def qrange(observer):
    return observer.quant_min, observer.quant_max


def fake_quantize_int8(x, scale, zero_point, quant_min, quant_max, ch_axis=None):
    """x rounded onto the int8 grid and back, as torch.fake_quantize_per_*_affine
    computes it (round(x * (1/scale)) half to even), in element-wise ops."""
    if ch_axis is not None:
        shape = [1] * x.dim()
        shape[ch_axis] = -1
        scale, zero_point = scale.reshape(shape), zero_point.reshape(shape)
    scale = scale.to(x.dtype)
    zero_point = zero_point.to(x.dtype)
    q = torch.clamp(torch.round(x * (1.0 / scale)) + zero_point, quant_min, quant_max)
    return (q - zero_point) * scale
