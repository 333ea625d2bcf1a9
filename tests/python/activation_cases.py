"""The activations whose gradients the tests compare with CPU autograd
(test_backward_simd.py, test_grad_activations.py): name -> function of x."""
import torch
import torch.nn.functional as F

ACTIVATIONS = {
    "relu": torch.relu,
    "threshold": lambda x: F.threshold(x, 0.5, 2.0),
    "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "silu": F.silu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.1),
    "hardswish": F.hardswish,
    "hardsigmoid": F.hardsigmoid,
    "elu": F.elu,
    "selu": torch.selu,
    "elu_inplace": lambda x: F.elu(x * 1, inplace=True),
    "softplus": lambda x: F.softplus(x, beta=2.0, threshold=3.0),
    "mish": F.mish,
    "hardshrink": lambda x: F.hardshrink(x, 0.5),
    "softshrink": lambda x: F.softshrink(x, 0.5),
}
