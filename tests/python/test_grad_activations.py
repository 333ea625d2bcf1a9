"""Gradients of the activations on accel against CPU autograd: the backward
kernels (threshold, gelu, silu, sigmoid, tanh, ...) run natively."""
import pytest
import torch

from activation_cases import ACTIVATIONS


pytestmark = pytest.mark.usefixtures("no_fallback")


def grads(fn, x, grad_out):
    x = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(fn(x), x, grad_out)
    return g


@pytest.mark.parametrize("name", list(ACTIVATIONS))
@pytest.mark.parametrize("shape", [(0,), (1,), (37,), (5, 70)])
def test_gradient_matches_cpu(name, shape):
    gen = torch.Generator().manual_seed(len(name) + len(shape))
    x = torch.randn(shape, generator=gen) * 3
    grad_out = torch.randn(shape, generator=gen)
    fn = ACTIVATIONS[name]
    expected = grads(fn, x, grad_out)
    actual = grads(fn, x.to("accel"), grad_out.to("accel"))
    torch.testing.assert_close(actual.cpu(), expected)


@pytest.mark.parametrize("name", ["relu", "gelu", "silu", "sigmoid", "tanh"])
def test_gradient_bf16_and_noncontiguous(name):
    gen = torch.Generator().manual_seed(7)
    x = (torch.randn(40, 66, generator=gen) * 3)[:, ::2]
    grad_out = torch.randn(40, 33, generator=gen)
    fn = ACTIVATIONS[name]
    torch.testing.assert_close(grads(fn, x.to("accel"), grad_out.to("accel")).cpu(), grads(fn, x, grad_out))
    xb, gb = x.bfloat16(), grad_out.bfloat16()
    torch.testing.assert_close(grads(fn, xb.to("accel"), gb.to("accel")).cpu(), grads(fn, xb, gb),
                               rtol=1.6e-2, atol=1e-2)


def test_gradient_out_variant():
    gen = torch.Generator().manual_seed(3)
    g, x = torch.randn(10, generator=gen), torch.randn(10, generator=gen)
    out = torch.empty(10, device="accel")
    torch.ops.aten.gelu_backward.grad_input(g.to("accel"), x.to("accel"), grad_input=out)
    torch.testing.assert_close(out.cpu(), torch.ops.aten.gelu_backward(g, x))


def test_bad_gelu_mode_raises():
    with pytest.raises(RuntimeError, match="approximate"):
        torch.ops.aten.gelu_backward(torch.ones(2, device="accel"), torch.ones(2, device="accel"),
                                     approximate="fast")
