"""Quantized layers: a Linear, Conv or LSTM whose weights and input
activations pass through a format's fake-quantizer (quant.formats), the
gradient straight through (QAT), and whose matmuls run at a chosen math
fidelity. `swap` turns a float layer into its quantized class in place, so
parameters, their names and the optimizer's references stay the same."""
import contextlib
import threading

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..compute import compute_config
from ..formats import TILE_BYTES, BlockFloatTensor, to_block_float
from . import formats as fm
from .observers import fake_quantize_int8, make_observer, qrange


_state = threading.local()


def pricing():
    """True while quantized layers run as on the chip, for quant.pricing: no
    fake quantization, the weight read in its format."""
    return getattr(_state, "pricing", False)


@contextlib.contextmanager
def _pricing_mode():
    before = pricing()
    _state.pricing = True
    try:
        yield
    finally:
        _state.pricing = before


def _stored_placeholder(w, fmt):
    """A BlockFloatTensor of w's shape with no data (estimate tensors read as zeros)."""
    rows, cols = (w.shape[-2] if w.dim() > 1 else 1), w.shape[-1]
    packed = torch.empty(-(-rows // 32), -(-cols // 32), TILE_BYTES[fmt], dtype=torch.uint8,
                         device=w.device)
    return BlockFloatTensor(packed, fmt, w.shape, w.dtype)


class Quantizer(nn.Module):
    """Fake-quantizes a tensor whose blocks run along its last dim (K). For
    int8, an observer sets scale and zero point: a weight's from the weight
    itself at every call, an activation's from calibration (or, in training,
    from every batch it sees)."""

    def __init__(self, fmt, role):
        super().__init__()
        self.fmt, self.role = fmt, role
        self.observer = None
        if isinstance(fmt, fm.Int8Format):
            if role == "activation" and fmt.spec.granularity == "per_channel":
                raise ValueError("int8 activations are quantized per tensor; per_channel "
                                 "is for weights")
            self.observer = make_observer(fmt.spec, role == "weight", ch_axis=0)
        self.observing = False  # calibration: record statistics, pass values through

    def extra_repr(self):
        return f"{self.role}={self.fmt.name}"

    def forward(self, x):
        if self.fmt is fm.FP32:
            return x
        if self.observer is None:
            q = self.fmt(x.detach())
        else:
            q = self._int8(x)
            if q is x:
                return x
        return fm.straight_through(x, q) if x.requires_grad else q

    def _int8(self, x):
        obs = self.observer
        if obs.min_val.device != x.device:
            obs.to(x.device)
        if self.role == "weight":
            obs.reset_min_max_vals()
            obs(x.detach())
        elif self.observing or self.training:
            obs(x.detach())
            if self.observing:
                return x
        elif torch.isinf(obs.min_val).any().item() or obs.min_val.numel() == 0:
            raise RuntimeError("int8 activations have no calibration: run "
                               "torch_accel.quant.calibrate(model, batches) or train (QAT) first")
        scale, zero_point = obs.calculate_qparams()
        ch_axis = 0 if self.fmt.spec.granularity == "per_channel" else None
        lo, hi = qrange(obs)
        return fake_quantize_int8(x.detach(), scale, zero_point, lo, hi, ch_axis)


class _QuantMixin:
    """What every quantized layer adds to its float class."""

    def _init_quant(self, weight_fmt, act_fmt, math_fidelity):
        self.weight_quantizer = Quantizer(weight_fmt, "weight")
        self.input_quantizer = Quantizer(act_fmt, "activation")
        self.math_fidelity = math_fidelity
        self._cache = None

    def __getstate__(self):
        # the cached quantized weight (perhaps a BlockFloatTensor) is rebuilt on use
        state = dict(super().__getstate__())
        state["_cache"] = None
        state.pop("_named_cache", None)
        return state

    def _compute(self):
        if self.math_fidelity is None:
            return contextlib.nullcontext()
        return compute_config(math_fidelity=self.math_fidelity)

    def _quantized(self, w, as_k_last=lambda w: w, back=lambda q, w: q):
        """w's fake-quantized value, cached while w is unchanged and no grad is taken."""
        if self.training or torch.is_grad_enabled():
            self._cache = None
            return back(self.weight_quantizer(as_k_last(w)), w)
        key = (w.data_ptr(), w._version, w.device)
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, back(self.weight_quantizer(as_k_last(w)), w))
        return self._cache[1]

    @property
    def formats(self):
        return {"weight": self.weight_quantizer.fmt, "activation": self.input_quantizer.fmt,
                "math_fidelity": self.math_fidelity}


class QuantLinear(_QuantMixin, nn.Linear):
    """With a block-float weight format, inference on accel (eval, no grad)
    stores the weight on the device in that format (a BlockFloatTensor, packed
    once) and its matmul reads it so: the same values, the chip's bytes."""

    def forward(self, x):
        fmt = self.weight_quantizer.fmt
        stored = (isinstance(fmt, fm.BlockFloat) and self.weight.device.type == "accel"
                  and x.dtype == self.weight.dtype)
        if pricing():
            w = _stored_placeholder(self.weight, fmt.fmt) if stored else self.weight
            with self._compute():
                return F.linear(x, w, self.bias)
        x = self.input_quantizer(x)
        if stored and not self.training and not torch.is_grad_enabled():
            w = self._stored_block_float(fmt.fmt)
        else:
            w = self._quantized(self.weight)
        with self._compute():
            return F.linear(x, w, self.bias)

    def _stored_block_float(self, fmt):
        w = self.weight
        key = (w.data_ptr(), w._version, w.device, fmt)
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, to_block_float(w.detach(), fmt))
        return self._cache[1]


def _conv_forward(self, x):
    if pricing():
        with self._compute():
            return self._conv_forward(x, self.weight, self.bias)
    # the chip's convolutions read activations channels-last: blocks run along C
    x = self.input_quantizer(x.movedim(1, -1)).movedim(-1, 1)
    w = self._quantized(self.weight, lambda w: w.flatten(1), lambda q, w: q.view_as(w))
    with self._compute():
        return self._conv_forward(x, w, self.bias)


class QuantConv1d(_QuantMixin, nn.Conv1d):
    forward = _conv_forward


class QuantConv2d(_QuantMixin, nn.Conv2d):
    forward = _conv_forward


class QuantConv3d(_QuantMixin, nn.Conv3d):
    forward = _conv_forward


class QuantLSTM(_QuantMixin, nn.LSTM):
    """Weights (input-hidden and hidden-hidden, K = their last dim) and the
    input sequence quantized; the recurrent state stays in the compute dtype
    (the fused LSTM gives no hook between steps)."""

    def forward(self, input, hx=None):
        if isinstance(input, nn.utils.rnn.PackedSequence) or self.proj_size:
            raise NotImplementedError("quantized LSTM: packed sequences and proj_size are "
                                      "not supported; quantize it as fp32")
        batched = input.dim() == 3
        x = input if batched else input.unsqueeze(1 if self.batch_first else 0)
        if not pricing():
            x = self.input_quantizer(x)
        if hx is None:
            n = self.num_layers * (2 if self.bidirectional else 1)
            zeros = x.new_zeros(n, x.shape[0 if self.batch_first else 1], self.hidden_size)
            hx = (zeros, zeros)
        elif not batched:
            hx = tuple(h.unsqueeze(1) for h in hx)
        weights = [self._quantized_named(name) for name in self._flat_weights_names]
        with self._compute():
            out, h, c = torch._VF.lstm(x, hx, weights, self.bias, self.num_layers,
                                       float(self.dropout), self.training, self.bidirectional,
                                       self.batch_first)
        if not batched:
            out, h, c = out.squeeze(1 if self.batch_first else 0), h.squeeze(1), c.squeeze(1)
        return out, (h, c)

    def _quantized_named(self, name):
        p = getattr(self, name)
        if not name.startswith("weight") or pricing():
            return p
        if self.training or torch.is_grad_enabled():
            return self.weight_quantizer(p)
        cache = self.__dict__.setdefault("_named_cache", {})
        key = (p.data_ptr(), p._version, p.device)
        if cache.get(name, (None,))[0] != key:
            cache[name] = (key, self.weight_quantizer(p))
        return cache[name][1]


_QUANT_CLASS = {nn.Linear: QuantLinear, nn.Conv1d: QuantConv1d, nn.Conv2d: QuantConv2d,
                nn.Conv3d: QuantConv3d, nn.LSTM: QuantLSTM}
QUANTIZABLE = tuple(_QUANT_CLASS)


def swap(module, weight_fmt, act_fmt, math_fidelity):
    """Turns `module` (exactly one of QUANTIZABLE's classes, or already
    quantized) into its quantized class, in place."""
    base = type(module)
    if isinstance(module, _QuantMixin):
        base = next(b for b in type(module).__mro__[1:] if b in _QUANT_CLASS)
    if base not in _QUANT_CLASS:
        raise TypeError(f"cannot quantize a {base.__name__}: quantizable layers are "
                        f"{', '.join(c.__name__ for c in QUANTIZABLE)}")
    module.__class__ = _QUANT_CLASS[base]
    module._init_quant(weight_fmt, act_fmt, math_fidelity)
    device = next((p.device for p in module.parameters()), None)
    if device is not None:
        module.to(device)  # observers live beside the weights
    return module
