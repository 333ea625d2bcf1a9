"""The activations' gradient kernels in their SIMD float form (simd_backward_impl.cpp)
against CPU autograd: sizes that leave a ragged vector tail, the reduced float
types (computed in float, as ATen does), and special inputs (NaN, +-inf, zeros,
large |x|, the branch points of the piecewise ops)."""
import math

import pytest
import torch

from activation_cases import ACTIVATIONS


pytestmark = pytest.mark.usefixtures("no_fallback")


DTYPES = [torch.float32, torch.bfloat16, torch.float16]
# Not multiples of the 8 (AVX2) or 16 (AVX-512) lanes, nor of a 32x32 tile.
SHAPES = [(1,), (7,), (17,), (1029,), (3, 5, 67)]


def grads(fn, x, grad_out):
    x = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(fn(x), x, grad_out)
    return g


# ATen's CPU sigmoid_backward and tanh_backward compute float16 in float16
# arithmetic (bfloat16 in float, as CUDA does for both); the accel kernels
# compute both reduced types in float and round once, so for float16 their
# reference is CPU autograd's forward followed by the gradient formula in float.
RESULT_FORMULA = {"sigmoid": torch.ops.aten.sigmoid_backward, "tanh": torch.ops.aten.tanh_backward}


def cpu_reference(name, x, grad_out):
    fn = ACTIVATIONS[name]
    if x.dtype == torch.float16 and name in RESULT_FORMULA:
        result = fn(x)
        return RESULT_FORMULA[name](grad_out.float(), result.float()).to(x.dtype)
    return grads(fn, x, grad_out)


def special_values(dtype):
    big = torch.finfo(dtype).max
    values = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1e4, -1e4, big, -big, 100.0, -100.0,
              88.5, -88.5, 20.0, -20.0, 3.0, -3.0, 2.999, -2.999, 0.5, -0.5, 1e-30, -1e-30]
    return torch.tensor(values, dtype=torch.float32).to(dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_gradient_matches_cpu_autograd(name, shape, dtype):
    gen = torch.Generator().manual_seed(len(name) * 31 + sum(shape))
    x = (torch.randn(shape, generator=gen) * 4).to(dtype)
    grad_out = torch.randn(shape, generator=gen).to(dtype)
    expected = cpu_reference(name, x, grad_out)
    actual = grads(ACTIVATIONS[name], x.to("accel"), grad_out.to("accel"))
    torch.testing.assert_close(actual.cpu(), expected)


# ATen's CPU kernels take their vector form over whole vectors and their scalar
# form on a tensor's tail, and for some ops the two disagree on a NaN input:
# hardswish and elu return NaN in the vector form and the gradient in the
# scalar one; hard/softshrink the reverse. The accel kernels, vector and
# scalar alike, give a NaN input the gradient of ATen's scalar form, except
# for the shrinks, which follow its vector form (backward.cpp says why).
VECTOR_FORM_NAN = {"hardshrink", "softshrink"}


def cpu_reference_by_form(name, x, grad_out):
    if name in VECTOR_FORM_NAN:
        # Repeated to a multiple of 128 elements, every element takes the vector form.
        reps = 128 // math.gcd(x.numel(), 128)
        return cpu_reference(name, x.repeat(reps), grad_out.repeat(reps))[: x.numel()]
    # One element at a time, every element takes the scalar form.
    return torch.cat([cpu_reference(name, xi.reshape(1), gi.reshape(1)) for xi, gi in zip(x, grad_out)])


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_special_values_match_cpu(name, dtype):
    x = special_values(dtype)
    # Repeated so the special values land both in whole vectors and in the tail.
    x = torch.cat([x, x.flip(0), x[:5]])
    grad_out = torch.linspace(-2, 2, x.numel()).to(dtype)
    expected = cpu_reference_by_form(name, x, grad_out)
    actual = grads(ACTIVATIONS[name], x.to("accel"), grad_out.to("accel")).cpu()
    torch.testing.assert_close(actual, expected, equal_nan=True)


@pytest.mark.parametrize("name", sorted(set(ACTIVATIONS) - {"hardswish", "elu", "selu", "elu_inplace"}))
def test_special_values_match_cpu_autograd_whole_tensor(name):
    # Where ATen's vector and scalar forms agree, CPU autograd over the whole
    # tensor (whatever form each element takes) is the reference.
    x = special_values(torch.float32)
    x = torch.cat([x, x.flip(0), x[:5]])
    grad_out = torch.linspace(-2, 2, x.numel())
    if name in VECTOR_FORM_NAN:
        x[x.isnan()] = 0.0  # NaN takes a different form in the tail
    torch.testing.assert_close(grads(ACTIVATIONS[name], x.to("accel"), grad_out.to("accel")).cpu(),
                               cpu_reference(name, x, grad_out), equal_nan=True)


def test_nan_gradient_propagates():
    # A NaN grad_output stays NaN where the op passes gradient and is dropped
    # where it does not, as on the CPU.
    x = torch.tensor([-5.0, -1.0, 0.0, 1.0, 5.0] * 4)
    grad_out = torch.full_like(x, math.nan)
    for name in ["relu", "gelu", "silu", "hardswish", "hardsigmoid", "leaky_relu", "softshrink"]:
        fn = ACTIVATIONS[name]
        torch.testing.assert_close(grads(fn, x.to("accel"), grad_out.to("accel")).cpu(),
                                   grads(fn, x, grad_out), equal_nan=True, msg=name)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_backward_op_directly(approximate):
    # aten::gelu_backward as called by the char-GPT training step, with its
    # grad_input= form, on a shape that is a whole number of tiles.
    gen = torch.Generator().manual_seed(11)
    x, g = torch.randn(4, 64, 96, generator=gen) * 3, torch.randn(4, 64, 96, generator=gen)
    expected = torch.ops.aten.gelu_backward(g, x, approximate=approximate)
    actual = torch.ops.aten.gelu_backward(g.to("accel"), x.to("accel"), approximate=approximate)
    torch.testing.assert_close(actual.cpu(), expected)
    out = torch.empty_like(x, device="accel")
    torch.ops.aten.gelu_backward.grad_input(g.to("accel"), x.to("accel"), approximate=approximate,
                                            grad_input=out)
    torch.testing.assert_close(out.cpu(), expected)


def test_gelu_within_its_erf_approximation():
    """GELU and its gradient against float64 over both tails: the erf (Abramowitz
    and Stegun 7.1.26, |error| <= 1.5e-7) with its exp computed inline must stay
    within that bound plus a few roundings, where erf saturates included."""
    x = torch.linspace(-14, 14, 200_001)
    x64, eps = x.double(), torch.finfo(torch.float32).eps
    cdf = 0.5 * (1 + torch.special.erf(x64 / math.sqrt(2)))
    pdf = torch.exp(-x64 * x64 / 2) / math.sqrt(2 * math.pi)
    forward = torch.nn.functional.gelu(x.to("accel")).cpu().double()
    assert ((forward - x64 * cdf).abs() <= 0.5 * x64.abs() * (1.5e-7 + 8 * eps)).all()
    gradient = torch.ops.aten.gelu_backward(torch.ones_like(x).to("accel"), x.to("accel")).cpu().double()
    assert ((gradient - (cdf + x64 * pdf)).abs() <= 0.5 * (1.5e-7 + 4 * eps) + 8 * eps * (cdf + (x64 * pdf).abs())).all()


@pytest.mark.parametrize("name", ["silu", "sigmoid", "gelu_tanh"])
def test_inline_exp_activations_within_a_few_ulp(name):
    """SiLU, sigmoid and GELU-tanh take their exp inline (simd_tanh.h): against
    float64, over [-100, 100] (both holds of the exp's argument included), each
    result is within 4 float32 ulp of its magnitude (GELU-tanh: times its
    argument's conditioning), or within 1e-30 of zero, where float32's e^88.8
    overflows in CPU's formulas too."""
    fn = {"silu": torch.nn.functional.silu, "sigmoid": torch.sigmoid,
          "gelu_tanh": lambda t: torch.nn.functional.gelu(t, approximate="tanh")}[name]
    x = torch.linspace(-100, 100, 400_001)
    x64 = x.double()
    # GELU-tanh's inner u = sqrt(2/pi) (x + 0.044715 x^3) rounds in float32, which
    # e^-2u turns into a relative error of 2|u| ulp: its bound grows by that.
    u = math.sqrt(2 / math.pi) * (x64 + 0.044715 * x64**3) if name == "gelu_tanh" else 0 * x64
    # 0.5 x (1 + tanh u) is x sigmoid(2u): the float64 truth in the form that does not cancel
    truth = x64 * torch.sigmoid(2 * u) if name == "gelu_tanh" else fn(x64)
    actual = fn(x.to("accel")).cpu().double()
    eps = torch.finfo(torch.float32).eps
    assert ((actual - truth).abs() <= 4 * eps * (1 + 2 * u.abs()) * truth.abs() + 1e-30).all()
