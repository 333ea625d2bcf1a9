"""Element-wise math ops on accel against CPU ATen (eltwise_math_ops.cpp):
classification, the clamp family, trigonometric, hyperbolic and special
functions, binary math. Values in float32 and bfloat16 with PyTorch's default
tolerances, NaN/Inf edge cases, out= and in-place forms; none may fall back."""
import pytest
import torch
import torch.nn.functional as F


pytestmark = pytest.mark.usefixtures("no_fallback")

DTYPES = [torch.float32, torch.bfloat16]
SHAPES = [(), (0,), (7, 45), (2, 3, 33, 17)]
SPECIALS = [float("nan"), float("inf"), -float("inf"), 0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0,
            -2.0, 1e-30, 1e30, -1e30, 100.0, -3.5]


def make(shape, dtype, seed, low=-3.0, high=3.0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(shape, generator=g) * (high - low) + low).to(dtype)


def check(fn, *cpu_args, **kwargs):
    """fn on accel copies of the tensors against fn on the CPU."""
    accel_args = [a.to("accel") if isinstance(a, torch.Tensor) else a for a in cpu_args]
    expected = fn(*cpu_args)
    actual = fn(*accel_args)
    assert actual.device.type == "accel"
    torch.testing.assert_close(actual.cpu(), expected, equal_nan=True, **kwargs)
    return actual


# name: (function, input range); the range keeps values in the function's domain.
UNARY = {
    "acos": (torch.acos, (-1, 1)), "asin": (torch.asin, (-1, 1)), "atan": (torch.atan, (-5, 5)),
    "acosh": (torch.acosh, (1, 6)), "asinh": (torch.asinh, (-5, 5)), "atanh": (torch.atanh, (-0.95, 0.95)),
    "sinh": (torch.sinh, (-4, 4)), "cosh": (torch.cosh, (-4, 4)), "tan": (torch.tan, (-1.4, 1.4)),
    "erfc": (torch.erfc, (-3, 3)), "exp2": (torch.exp2, (-6, 6)), "log10": (torch.log10, (0.01, 50)),
    "frac": (torch.frac, (-9, 9)), "sinc": (torch.sinc, (-3, 3)), "lgamma": (torch.lgamma, (0.1, 9)),
    "digamma": (torch.digamma, (0.1, 9)), "i0": (torch.i0, (-6, 6)),
    "polygamma1": (lambda x: torch.polygamma(1, x), (0.2, 6)),
    "polygamma3": (lambda x: torch.polygamma(3, x), (0.5, 6)),
    "logit": (torch.logit, (0.01, 0.99)), "logit_eps": (lambda x: torch.logit(x, 0.2), (0, 1)),
    "round2": (lambda x: torch.round(x, decimals=2), (-9, 9)),
    "round_neg1": (lambda x: torch.round(x, decimals=-1), (-90, 90)),
    "angle": (torch.angle, (-3, 3)), "hardtanh": (F.hardtanh, (-3, 3)),
    "threshold": (lambda x: F.threshold(x, 0.3, -2.0), (-3, 3)),
    "clamp_min": (lambda x: torch.clamp_min(x, 0.25), (-3, 3)),
    "clamp_max": (lambda x: torch.clamp_max(x, -0.25), (-3, 3)),
    "nan_to_num": (lambda x: torch.nan_to_num(x, 1.5, 7.0, -7.0), (-3, 3)),
    "special_i1": (torch.special.i1, (-6, 6)), "special_i0e": (torch.special.i0e, (-6, 6)),
    "special_i1e": (torch.special.i1e, (-6, 6)), "special_ndtri": (torch.special.ndtri, (0.01, 0.99)),
    "special_erfcx": (torch.special.erfcx, (-3, 8)), "special_log_ndtr": (torch.special.log_ndtr, (-8, 4)),
    "special_entr": (torch.special.entr, (-1, 4)),
}
NO_BF16 = {"special_ndtri", "special_erfcx", "special_log_ndtr"}  # the CPU has no bf16 kernel


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(UNARY))
def test_unary_values(name, dtype, shape):
    if dtype == torch.bfloat16 and name in NO_BF16:
        pytest.skip("PyTorch's CPU has no bfloat16 kernel for it")
    fn, (low, high) = UNARY[name]
    check(fn, make(shape, dtype, 1, low, high))


@pytest.mark.parametrize("name", [n for n in UNARY if not n.startswith("round")])
def test_unary_edge_values(name):
    fn, _ = UNARY[name]
    check(fn, torch.tensor(SPECIALS))


@pytest.mark.parametrize("name", ["acos", "atan", "sinh", "erfc", "lgamma", "i0", "digamma", "sinc", "angle"])
def test_integer_inputs_promote_to_float(name):
    fn, _ = UNARY[name]
    x = torch.arange(-4, 5)
    result = check(fn, x)
    assert result.dtype == torch.get_default_dtype()


def test_large_arguments_of_inverse_hyperbolics():
    # at::vec's acosh/asinh square x and overflow; ATen's CPU (and accel) do not.
    x = torch.tensor([1e20, 3e38, 2.0, 1.5])
    check(torch.acosh, x)
    check(torch.asinh, torch.cat([x, -x]))


INPLACE_OUT = ["acos", "asin", "atan", "acosh", "asinh", "atanh", "sinh", "cosh", "tan", "erfc",
               "exp2", "log10", "frac", "sinc", "lgamma", "digamma", "i0"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", INPLACE_OUT)
def test_unary_inplace_and_out(name, dtype):
    low, high = UNARY[name][1]
    x = make((5, 33), dtype, 2, low, high)
    expected = getattr(torch, name)(x)
    tol = {} if dtype == torch.float32 else dict(rtol=1.6e-2, atol=1e-5)
    inplace = x.to("accel")
    getattr(inplace, name + "_")()
    torch.testing.assert_close(inplace.cpu(), expected, **tol)
    out = torch.empty(0, dtype=dtype, device="accel")
    getattr(torch, name)(x.to("accel"), out=out)
    torch.testing.assert_close(out.cpu(), expected, **tol)


def test_parameterised_unary_inplace_and_out():
    x = make((4, 40), torch.float32, 3, 0.05, 0.95)
    for fn, inplace in [
        (lambda t, **o: torch.logit(t, 0.1, **o), lambda t: t.logit_(0.1)),
        (lambda t, **o: torch.polygamma(2, t, **o), lambda t: t.polygamma_(2)),
        (lambda t, **o: torch.round(t * 10, decimals=1, **o), lambda t: t.mul_(10).round_(decimals=1)),
        (lambda t, **o: torch.nan_to_num(t.log() - 0.01 / t, **o), None),
        (lambda t, **o: torch.clamp_min(t, 0.5, **o), lambda t: t.clamp_min_(0.5)),
        (lambda t, **o: torch.clamp_max(t, 0.5, **o), lambda t: t.clamp_max_(0.5)),
        (lambda t, **o: torch._C._nn.hardtanh(t, 0.2, 0.6, **o), lambda t: F.hardtanh_(t, 0.2, 0.6)),
        (lambda t, **o: torch.threshold(t, 0.5, 9.0, **o), lambda t: torch.threshold_(t, 0.5, 9.0)),
    ]:
        expected = fn(x)
        out = torch.empty_like(x, device="accel")
        fn(x.to("accel"), out=out)
        torch.testing.assert_close(out.cpu(), expected)
        if inplace is not None:
            target = x.clone().to("accel")
            inplace(target)
            torch.testing.assert_close(target.cpu(), inplace(x.clone()))


def test_nan_to_num_inplace_and_integer():
    x = torch.tensor([float("nan"), float("inf"), -float("inf"), 1.5])
    a = x.to("accel")
    a.nan_to_num_(posinf=3.0)
    torch.testing.assert_close(a.cpu(), x.clone().nan_to_num_(posinf=3.0))
    check(torch.nan_to_num, torch.arange(-3, 4))


# --- classification -------------------------------------------------------------

CLASSIFY = [torch.isnan, torch.isinf, torch.isposinf, torch.isneginf, torch.isfinite, torch.signbit]


@pytest.mark.parametrize("fn", CLASSIFY, ids=lambda f: f.__name__)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16, torch.int64,
                                   torch.int32, torch.uint8, torch.bool])
def test_classification(fn, dtype):
    if dtype.is_floating_point:
        x = torch.tensor(SPECIALS).to(dtype)
    elif dtype == torch.bool:
        x = torch.tensor([True, False, True])
    else:
        x = torch.tensor([0, 1, 3, 100]).to(dtype) if dtype == torch.uint8 else torch.tensor([-5, 0, 7, -1]).to(dtype)
    result = check(fn, x)
    assert result.dtype == torch.bool


@pytest.mark.parametrize("fn", [torch.isposinf, torch.isneginf, torch.signbit], ids=lambda f: f.__name__)
def test_classification_out(fn):
    x = torch.tensor(SPECIALS)
    out = torch.empty(0, dtype=torch.bool, device="accel")
    fn(x.to("accel"), out=out)
    assert torch.equal(out.cpu(), fn(x))


def test_signbit_of_negative_zero_and_nan():
    x = torch.tensor([-0.0, 0.0, -float("nan"), float("nan")])
    assert torch.equal(torch.signbit(x.to("accel")).cpu(), torch.signbit(x))


# --- clamp family -----------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_clamp_tensor_bounds(dtype):
    x, lo, hi = make((6, 35), dtype, 4), make((6, 35), dtype, 5, -2, 0), make((35,), dtype, 6, 0, 2)
    x[0, :3] = float("nan")
    lo[1, 0] = float("nan")
    check(lambda a, b, c: torch.clamp(a, b, c), x, lo, hi)
    check(lambda a, b: torch.clamp(a, min=b), x, lo)
    check(lambda a, c: torch.clamp(a, max=c), x, hi)
    check(torch.clamp_min, x, lo)
    check(torch.clamp_max, x, hi)
    for name in ["clamp_min_", "clamp_max_"]:
        target, expected = x.to("accel"), x.clone()
        getattr(target, name)(hi.to("accel"))
        getattr(expected, name)(hi)
        torch.testing.assert_close(target.cpu(), expected, equal_nan=True)
    out = torch.empty(0, dtype=dtype, device="accel")
    torch.clamp(x.to("accel"), lo.to("accel"), hi.to("accel"), out=out)
    torch.testing.assert_close(out.cpu(), torch.clamp(x, lo, hi), equal_nan=True)
    target = x.to("accel")
    target.clamp_(lo.to("accel"), hi.to("accel"))
    torch.testing.assert_close(target.cpu(), torch.clamp(x, lo, hi), equal_nan=True)


def test_clamp_promotes_integers_like_aten():
    x = torch.arange(-5, 6)
    result = check(lambda t: torch.clamp(t, min=0.5), x)
    assert result.dtype == torch.float32
    check(lambda t: torch.clamp_max(t, 2), x)
    check(lambda t, lo: torch.clamp(t, min=lo), x, torch.tensor(1.5))
    with pytest.raises(RuntimeError, match="can't be cast"):
        x.to("accel").clamp_(min=0.5)
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max'"):
        torch.clamp(x.to("accel"))


def test_hardtanh_integers_and_errors():
    check(lambda t: F.hardtanh(t, -2.7, 3.9), torch.arange(-6, 7))
    with pytest.raises(RuntimeError, match="Bool inputs not supported for hardtanh"):
        F.hardtanh(torch.tensor([True]).to("accel"))
    with pytest.raises(RuntimeError, match="unsigned type with negative limits"):
        F.hardtanh(torch.tensor([1], dtype=torch.uint8).to("accel"))


def test_threshold_integer_rounds_threshold_like_aten():
    check(lambda t: F.threshold(t, -0.5, 9), torch.arange(-3, 4))


# --- gradients that run native kernels ----------------------------------------

@pytest.mark.parametrize("fn", [
    lambda x: F.hardtanh(x, -0.5, 0.5), lambda x: torch.logit(x.sigmoid()),
    lambda x: torch.logit(x.sigmoid(), 0.3), torch.i0, torch.digamma, torch.lgamma,
    lambda x: torch.polygamma(2, x.abs() + 0.5), torch.special.i1,
], ids=["hardtanh", "logit", "logit_eps", "i0", "digamma", "lgamma", "polygamma", "i1"])
def test_gradients(fn):
    x = make((5, 37), torch.float32, 7, 0.2, 3.0) * torch.tensor(1.0).where(torch.rand(5, 37) > 0.5, -1.0)
    x.requires_grad_(True)
    xa = x.detach().to("accel").requires_grad_(True)
    seed = torch.randn(5, 37)
    (expected,) = torch.autograd.grad(fn(x), x, seed)
    (actual,) = torch.autograd.grad(fn(xa), xa, seed.to("accel"))
    torch.testing.assert_close(actual.cpu(), expected, equal_nan=True)


# --- binary math ------------------------------------------------------------------

BINARY = {
    "xlogy": torch.xlogy, "xlog1py": torch.special.xlog1py, "logaddexp": torch.logaddexp,
    "logaddexp2": torch.logaddexp2, "hypot": torch.hypot, "copysign": torch.copysign,
    "heaviside": torch.heaviside, "nextafter": torch.nextafter, "fmax": torch.fmax,
    "fmin": torch.fmin, "float_power": lambda a, b: torch.float_power(a.abs(), b),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(BINARY))
def test_binary_values(name, dtype):
    a, b = make((4, 33), dtype, 8), make((33,), dtype, 9)
    a[0, :4] = torch.tensor([0.0, float("nan"), float("inf"), -float("inf")])
    b[:4] = torch.tensor([float("nan"), 0.0, float("inf"), -1.0])
    check(BINARY[name], a, b)


@pytest.mark.parametrize("name", ["xlogy", "logaddexp", "logaddexp2", "hypot", "copysign", "fmax", "fmin"])
def test_binary_specials_all_pairs(name):
    values = torch.tensor(SPECIALS)
    a, b = values.repeat_interleave(len(SPECIALS)), values.repeat(len(SPECIALS))
    check(BINARY[name], a, b)


def test_nextafter_steps_one_ulp_of_the_data_format():
    for dtype in DTYPES:
        a = torch.tensor([1.0, 0.0, -2.5, 3.0], dtype=dtype)
        b = torch.tensor([2.0, -1.0, 0.0, 3.0], dtype=dtype)
        result = check(torch.nextafter, a, b, rtol=0, atol=0)
        assert not torch.equal(result.cpu()[:3], a[:3])


def test_binary_inplace_out_and_scalar_forms():
    a, b = make((3, 40), torch.float32, 10, 0.1, 3), make((3, 40), torch.float32, 11, 0.1, 3)
    for name in ["xlogy", "hypot", "copysign", "heaviside", "nextafter"]:
        target = a.to("accel")
        getattr(target, name + "_")(b.to("accel"))
        torch.testing.assert_close(target.cpu(), getattr(a.clone(), name + "_")(b))
    for name in ["xlogy", "logaddexp", "logaddexp2", "hypot", "copysign", "heaviside", "nextafter",
                 "fmax", "fmin"]:
        out = torch.empty(0, device="accel")
        getattr(torch, name)(a.to("accel"), b.to("accel"), out=out)
        torch.testing.assert_close(out.cpu(), getattr(torch, name)(a, b))
    check(lambda t: torch.xlogy(2.0, t), b)
    check(lambda t: torch.xlogy(t, 3.0), a)
    check(lambda t: torch.remainder(5.5, t), b - 1.5)
    check(lambda t: torch.remainder(7, t), torch.tensor([3, -2, 5, -4]))
    check(lambda t: torch.copysign(t, -1.0), a)


def test_binary_errors_match_cpu():
    ints = torch.arange(4).to("accel")
    with pytest.raises(NotImplementedError):
        torch.hypot(ints, ints)
    with pytest.raises(NotImplementedError):
        torch.logaddexp(ints, ints)
    with pytest.raises(NotImplementedError):
        torch.frac(ints)
    with pytest.raises(RuntimeError, match="different dtypes"):
        torch.heaviside(ints, ints.float())
    with pytest.raises(RuntimeError, match="negative n"):
        torch.polygamma(-1, ints.float())


# --- torch.special: Bessel and Airy functions, orthogonal polynomials, zeta ------

SPECIAL_UNARY = {
    "airy_ai": (-6, 4), "bessel_j0": (-20, 20), "bessel_j1": (-20, 20), "bessel_y0": (0.1, 20),
    "bessel_y1": (0.1, 20), "modified_bessel_i0": (-8, 8), "modified_bessel_i1": (-8, 8),
    "modified_bessel_k0": (0.05, 10), "modified_bessel_k1": (0.05, 10),
    "scaled_modified_bessel_k0": (0.05, 10), "scaled_modified_bessel_k1": (0.05, 10),
    "spherical_bessel_j0": (-15, 15),
}
POLYNOMIALS = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
               "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t",
               "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
               "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he",
               "laguerre_polynomial_l", "legendre_polynomial_p"]


@pytest.mark.parametrize("name", list(SPECIAL_UNARY))
def test_special_unary(name):
    fn = getattr(torch.special, name)
    low, high = SPECIAL_UNARY[name]
    check(fn, make((6, 41), torch.float32, 12, low, high))
    check(fn, torch.tensor(SPECIALS))
    check(fn, torch.arange(-3, 4))  # integers promote to float
    out = torch.empty(0, device="accel")
    fn(make((50,), torch.float32, 13, low, high).to("accel"), out=out)
    torch.testing.assert_close(out.cpu(), fn(make((50,), torch.float32, 13, low, high)))


# The recurrences' rounding depends on whether the compiler fused their multiply-adds
# (ATen's CPU build does, per capability): PyTorch's test_compare_cpu tolerance.
COMPARE_CPU = dict(rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("name", POLYNOMIALS)
def test_special_polynomials(name):
    fn = getattr(torch.special, name)
    x = make((7, 30), torch.float32, 14, -1.2, 1.2)
    n = torch.randint(-1, 9, (30,), generator=torch.Generator().manual_seed(15)).float()
    check(fn, x, n, **COMPARE_CPU)
    check(lambda t: fn(t, 3), x, **COMPARE_CPU)  # the Scalar-n composite runs the same kernel
    # Not NaN: ATen's recurrences read an unset value for a NaN x (its result varies run to run).
    check(fn, torch.tensor(SPECIALS[1:]), torch.full((len(SPECIALS) - 1,), 4.0), **COMPARE_CPU)


def test_special_zeta():
    x, q = make((5, 31), torch.float32, 16, 1.1, 6), make((31,), torch.float32, 17, 0.2, 4)
    check(torch.special.zeta, x, q)
    check(lambda t: torch.special.zeta(t, 2.0), x)
    check(torch.special.zeta, torch.tensor([1.0, 0.5, 2.0, float("inf")]), torch.tensor([1.0, 1.0, -1.0, 2.0]))


# --- shrink activations and rsub --------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_shrink_values_and_gradients(dtype):
    x = make((9, 33), dtype, 18, -2, 2)
    x[0, :3] = torch.tensor([float("nan"), 0.5, -0.5])  # NaN where ATen's vector loop runs
    for fn in [F.hardshrink, lambda t: F.hardshrink(t, 1.25), F.softshrink, lambda t: F.softshrink(t, 0.1)]:
        check(fn, x)
        if dtype == torch.float32:
            xa = x.to("accel").requires_grad_(True)
            xc = x.clone().requires_grad_(True)
            (ga,) = torch.autograd.grad(fn(xa).sum(), xa)
            (gc,) = torch.autograd.grad(fn(xc).sum(), xc)
            torch.testing.assert_close(ga.cpu(), gc)
    with pytest.raises(RuntimeError, match="lambda must be greater or equal to 0"):
        F.softshrink(x.to("accel"), -1.0)


def test_rsub():
    a, b = make((4, 33), torch.float32, 19), make((33,), torch.float32, 20)
    check(lambda s, o: torch.rsub(s, o, alpha=2.5), a, b)
    check(lambda s, o: torch.rsub(s, o), torch.arange(6), torch.arange(6) * 3)
    with pytest.raises(RuntimeError, match="two bool tensors"):
        torch.rsub(torch.tensor([True]).to("accel"), torch.tensor([False]).to("accel"))


def test_prelu_values_and_gradients():
    x = make((3, 4, 9), torch.float32, 21)
    for weight in [torch.tensor([0.25]), make((4,), torch.float32, 22, -1, 1)]:
        check(F.prelu, x, weight)
        xa, wa = x.to("accel").requires_grad_(True), weight.to("accel").requires_grad_(True)
        xc, wc = x.clone().requires_grad_(True), weight.clone().requires_grad_(True)
        seed = torch.randn(x.shape)
        actual = torch.autograd.grad(F.prelu(xa, wa), (xa, wa), seed.to("accel"))
        expected = torch.autograd.grad(F.prelu(xc, wc), (xc, wc), seed)
        for a, e in zip(actual, expected):
            torch.testing.assert_close(a.cpu(), e)
    check(F.prelu, make((5, 4), torch.bfloat16, 23), torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.bfloat16))


def test_conj_physical_and_mvlgamma_out():
    x = make((6, 7), torch.float32, 24, 2, 5)
    out = torch.empty(0, device="accel")
    torch.conj_physical(x.to("accel"), out=out)
    assert torch.equal(out.cpu(), x)
    torch.special.multigammaln(x.to("accel"), 3, out=out)
    torch.testing.assert_close(out.cpu(), torch.special.multigammaln(x, 3))
    check(lambda t: torch.mvlgamma(t, 2), x)


def test_sign_of_nan_is_zero_like_aten():
    x = torch.tensor([float("nan"), -0.0, 0.0, 2.0, -3.0] * 7)
    check(torch.sign, x)
    check(torch.sgn, x)
