"""Which ATen ops a fused element-wise program can absorb, and the step each
becomes (kernels/fused/program.h). A rule takes the node's arguments and
returns (step name, operands, params) with operands being FX nodes or Python
numbers, or None when this call cannot be fused (an unsupported option)."""
import torch

aten = torch.ops.aten
prims = torch.ops.prims

_UNARY = {
    aten.relu.default: "relu", aten.silu.default: "silu", aten.sigmoid.default: "sigmoid",
    aten.tanh.default: "tanh", aten.exp.default: "exp", aten.expm1.default: "expm1",
    aten.log.default: "log", aten.log1p.default: "log1p", aten.sqrt.default: "sqrt",
    aten.rsqrt.default: "rsqrt", aten.reciprocal.default: "reciprocal", aten.abs.default: "abs",
    aten.neg.default: "neg", aten.sin.default: "sin", aten.cos.default: "cos",
    aten.erf.default: "erf", aten.hardswish.default: "hardswish",
    aten.hardsigmoid.default: "hardsigmoid", aten.mish.default: "mish",
}
_BINARY = {
    aten.mul.Tensor: "mul", aten.mul.Scalar: "mul", aten.div.Tensor: "div",
    aten.div.Scalar: "div", aten.maximum.default: "maximum", aten.minimum.default: "minimum",
    aten.pow.Tensor_Scalar: "pow", aten.pow.Tensor_Tensor: "pow",
}


def _unary(name):
    return lambda x: (name, [x], {})


def _binary(name):
    return lambda a, b: (name, [a, b], {})


def _add_sub(name):
    def rule(a, b, alpha=1):
        return name, [a, b], {"alpha": alpha}
    return rule


def _gelu(x, approximate="none"):
    return ("gelu_tanh" if approximate == "tanh" else "gelu"), [x], {}


def _leaky_relu(x, negative_slope=0.01):
    return "leaky_relu", [x], {"alpha": negative_slope}


def _clamp(x, min=None, max=None):
    if min is None and max is None:
        return None
    mode = (1 if min is not None else 0) | (2 if max is not None else 0)
    return "clamp", [x], {"alpha": 0 if min is None else min, "beta": 0 if max is None else max,
                          "mode": mode}


def _gelu_backward(grad, x, approximate="none"):
    return ("gelu_tanh_backward" if approximate == "tanh" else "gelu_backward"), [grad, x], {}


def _threshold_backward(grad, x, threshold):
    return "threshold_backward", [grad, x], {"alpha": threshold}


def _leaky_relu_backward(grad, x, negative_slope, self_is_result):
    return "leaky_relu_backward", [grad, x], {"alpha": negative_slope}


def _to_dtype(x, dtype):
    """A cast: free to fp32 (the program already computes in it), a rounding
    step to a 16-bit float, not fusable to anything else."""
    if dtype == torch.float32:
        return "identity", [x], {}
    if dtype == torch.bfloat16:
        return "to_bfloat16", [x], {}
    if dtype == torch.float16:
        return "to_float16", [x], {}
    return None


def _to_copy(x, dtype=None, layout=None, device=None, pin_memory=None, non_blocking=False,
             memory_format=None):
    if layout not in (None, torch.strided) or (device is not None and torch.device(device).type != "accel"):
        return None
    return _to_dtype(x, dtype if dtype is not None else torch.float32)


RULES = {op: _unary(name) for op, name in _UNARY.items()}
RULES.update({op: _binary(name) for op, name in _BINARY.items()})
RULES.update({
    aten.add.Tensor: _add_sub("add"), aten.add.Scalar: _add_sub("add"),
    aten.sub.Tensor: _add_sub("sub"), aten.sub.Scalar: _add_sub("sub"),
    aten.rsub.Scalar: lambda a, b, alpha=1: ("sub", [b, a], {"alpha": alpha}) if alpha == 1 else None,
    aten.gelu.default: _gelu, aten.leaky_relu.default: _leaky_relu,
    aten.clamp.default: _clamp,
    aten.clamp_min.default: lambda x, m: _clamp(x, min=m),
    aten.clamp_max.default: lambda x, m: _clamp(x, max=m),
    aten.gelu_backward.default: _gelu_backward,
    aten.threshold_backward.default: _threshold_backward,
    aten.silu_backward.default: lambda g, x: ("silu_backward", [g, x], {}),
    aten.sigmoid_backward.default: lambda g, y: ("sigmoid_backward", [g, y], {}),
    aten.tanh_backward.default: lambda g, y: ("tanh_backward", [g, y], {}),
    aten.leaky_relu_backward.default: _leaky_relu_backward,
    prims.convert_element_type.default: _to_dtype,
    aten._to_copy.default: _to_copy,
    aten.clone.default: lambda x, memory_format=None: ("identity", [x], {}),
})
FLOAT_DTYPES = (torch.float32, torch.bfloat16, torch.float16)
DTYPE_NAMES = {torch.float32: "float32", torch.bfloat16: "bfloat16", torch.float16: "float16"}


def step_for(node):
    """(name, operands, params) for an FX call_function node, or None."""
    rule = RULES.get(node.target)
    if rule is None:
        return None
    try:
        return rule(*node.args, **node.kwargs)
    except TypeError:  # an overload argument the rule does not take
        return None
