"""torch_accel.quantize and the calibration/QAT workflow around it."""
import fnmatch

import torch
import torch.nn as nn

from ..compute import _fidelity_code, _NAMES
from . import formats as fm
from .modules import QUANTIZABLE, Quantizer, _QuantMixin, swap


def _per_layer(value, name, module, what, parse):
    """value for one layer: a dict by module name (fnmatch patterns allowed, the
    exact name first, then the longest matching pattern; unmatched layers get
    None), a function (name, module) -> value, or one value for every layer."""
    if isinstance(value, dict):
        if name in value:
            return parse(value[name])
        matches = [p for p in value if isinstance(p, str) and fnmatch.fnmatchcase(name, p)]
        return parse(value[max(matches, key=len)]) if matches else parse(None)
    if callable(value) and not isinstance(value, (fm.Format, type)):
        try:
            return parse(value(name, module))
        except (TypeError, ValueError) as e:
            raise type(e)(f"quantize: {what} for layer {name!r}: {e}") from None
    return parse(value)


def _fidelity(value):
    return None if value is None else _NAMES[_fidelity_code(value)]


def quantize(model, weights="bfp8_b", activations=None, math_fidelity=None, layers=None):
    """Quantizes `model`'s Linear, Conv1d/2d/3d and LSTM layers in place and returns it.

    weights, activations: the format of each layer's weights and of its input
        activations (torch_accel.quant.formats.spec: "fp32", "bf16", "bfp8_b",
        "bfp4_b", "bfp2_b", "mxfp8_e4m3", ..., "mxint8", "int8", an Int8(...),
        or None for unchanged), one for all layers, a dict by module name
        (fnmatch patterns allowed; unlisted layers unchanged), or a function
        (name, module) -> format. Blocks run along each matmul's K.
    math_fidelity: "LoFi", "HiFi2", "HiFi3", "HiFi4" or None (the current
        compute config), likewise per layer.
    layers: a function (name, module) -> bool choosing the layers to touch.

    The model then computes with fake-quantized values: its forward is what
    the formats give, its backward passes gradients straight through, so the
    same model is evaluated (PTQ) or fine-tuned (QAT). int8 activations need
    `calibrate(model, batches)` before evaluation, or training.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"quantize: model must be an nn.Module, got {type(model).__name__}")
    if layers is not None and not callable(layers):
        raise TypeError("quantize: layers must be a function (name, module) -> bool")
    chosen = []
    for name, module in model.named_modules():
        if type(module) not in QUANTIZABLE and not isinstance(module, _QuantMixin):
            continue
        if layers is not None and not layers(name, module):
            continue
        w = _per_layer(weights, name, module, "weights", lambda v: fm.spec(v, "weight"))
        a = _per_layer(activations, name, module, "activations",
                       lambda v: fm.spec(v, "activation"))
        f = _per_layer(math_fidelity, name, module, "math_fidelity", _fidelity)
        chosen.append((module, w, a, f))
    if not chosen:
        raise ValueError("quantize: the model has no Linear, Conv or LSTM layer to quantize"
                         + (" that `layers` chooses" if layers is not None else ""))
    for module, w, a, f in chosen:
        swap(module, w, a, f)
    return model


def quantized_layers(model):
    """{module name: {"weight": Format, "activation": Format, "math_fidelity": str|None}}."""
    return {name: m.formats for name, m in model.named_modules() if isinstance(m, _QuantMixin)}


@torch.no_grad()
def calibrate(model, batches, forward=None):
    """Runs `model` in eval mode over `batches` (each an input, or a tuple of
    inputs) with every int8 activation observer recording, then freezes the
    scales. `forward(model, batch)` replaces `model(*batch)` when given."""
    quantizers = [q for q in model.modules() if isinstance(q, Quantizer) and
                  q.role == "activation" and q.observer is not None]
    was_training = model.training
    model.eval()
    for q in quantizers:
        q.observer.reset_min_max_vals()
        q.observing = True
    seen = 0
    try:
        for batch in batches:
            if forward is not None:
                forward(model, batch)
            else:
                model(*(batch if isinstance(batch, (tuple, list)) else (batch,)))
            seen += 1
    finally:
        for q in quantizers:
            q.observing = False
        model.train(was_training)
    if seen == 0:
        raise ValueError("calibrate: no batches")
    return model
