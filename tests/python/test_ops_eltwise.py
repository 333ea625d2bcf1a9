"""Element-wise ops on accel against CPU ATen: shapes incl. 0-size and 1-element,
broadcasting, non-contiguous inputs, out= and in-place forms; none may fall back."""
import pytest
import torch
import torch.nn.functional as F

import torch_accel

pytestmark = pytest.mark.usefixtures("no_fallback")

SHAPES = [(), (0,), (1,), (33,), (7, 45), (2, 3, 33, 17)]
FLOAT_DTYPES = [torch.float32, torch.bfloat16, torch.float16]

BINARY = {
    "add": lambda a, b: torch.add(a, b, alpha=0.5),
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "div_trunc": lambda a, b: torch.div(a, b, rounding_mode="trunc"),
    "div_floor": lambda a, b: torch.div(a, b, rounding_mode="floor"),
    "maximum": torch.maximum,
    "minimum": torch.minimum,
    "pow": lambda a, b: torch.pow(a.abs(), b),
    "remainder": torch.remainder,
    "fmod": torch.fmod,
    "atan2": torch.atan2,
    "eq": torch.eq, "ne": torch.ne, "lt": torch.lt, "le": torch.le, "gt": torch.gt, "ge": torch.ge,
}

UNARY = {
    "relu": torch.relu, "gelu": F.gelu, "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "silu": F.silu, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "exp": torch.exp,
    "expm1": torch.expm1, "log": lambda x: torch.log(x.abs()), "log1p": lambda x: torch.log1p(x.abs()),
    "log2": lambda x: torch.log2(x.abs()), "sqrt": lambda x: torch.sqrt(x.abs()),
    "rsqrt": lambda x: torch.rsqrt(x.abs() + 0.1), "reciprocal": lambda x: torch.reciprocal(x + 5),
    "abs": torch.abs, "neg": torch.neg, "sign": torch.sign, "sin": torch.sin, "cos": torch.cos,
    "erf": torch.erf, "erfinv": lambda x: torch.erfinv(x / 4), "floor": torch.floor,
    "ceil": torch.ceil, "round": torch.round, "trunc": torch.trunc,
    "clamp": lambda x: torch.clamp(x, -0.5, 0.7), "clamp_min": lambda x: torch.clamp(x, min=0.1),
    "leaky_relu": lambda x: F.leaky_relu(x, 0.2), "elu": F.elu, "hardswish": F.hardswish,
    "hardsigmoid": F.hardsigmoid, "softplus": F.softplus, "mish": F.mish,
    "nan_to_num": torch.nan_to_num,
}


def tol(dtype):
    return {torch.bfloat16: dict(rtol=1.6e-2, atol=1e-2), torch.float16: dict(rtol=1e-3, atol=1e-3)}.get(dtype, {})


def make(shape, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=g) * 3).to(dtype)


@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("shape", SHAPES)
def test_binary_matches_cpu(name, shape):
    a, b = make(shape, torch.float32, 0), make(shape, torch.float32, 1) + 0.25
    torch.testing.assert_close(BINARY[name](a.to("accel"), b.to("accel")).cpu(), BINARY[name](a, b), equal_nan=True)


@pytest.mark.parametrize("name", ["add", "mul", "div", "maximum", "gt"])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_binary_low_precision_and_broadcast(name, dtype):
    a, b = make((4, 1, 37), dtype, 2), make((5, 1), dtype, 3)
    torch.testing.assert_close(BINARY[name](a.to("accel"), b.to("accel")).cpu(), BINARY[name](a, b), **tol(dtype))


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div_floor", "remainder", "fmod", "maximum", "eq", "lt"])
@pytest.mark.parametrize("dtype", [torch.int32, torch.int64, torch.uint8])
def test_binary_integers(name, dtype):
    a = torch.randint(1, 100, (6, 35)).to(dtype)
    b = torch.randint(1, 9, (35,)).to(dtype)
    op = (lambda x, y: torch.add(x, y, alpha=2)) if name == "add" else BINARY[name]
    torch.testing.assert_close(op(a.to("accel"), b.to("accel")).cpu(), op(a, b))


def test_type_promotion_and_scalars():
    a = torch.arange(12, dtype=torch.int32).reshape(3, 4)
    b = torch.rand(4)
    A, B = a.to("accel"), b.to("accel")
    for got, want in [(A + B, a + b), (A * 2.5, a * 2.5), (A / 3, a / 3), (A > 4, a > 4),
                      (A == 5, a == 5), (2 ** B, 2 ** b), (A.bfloat16() * B, a.bfloat16() * b),
                      (A + torch.tensor(1.5), a + torch.tensor(1.5))]:
        assert got.dtype == want.dtype
        torch.testing.assert_close(got.cpu(), want)


def test_non_contiguous_out_and_inplace():
    a, b = make((40, 50), torch.float32, 4), make((50, 40), torch.float32, 5)
    A, B = a.to("accel"), b.to("accel")
    torch.testing.assert_close((A[::2, 1:] * B.t()[::2, 1:]).cpu(), a[::2, 1:] * b.t()[::2, 1:])
    out = torch.empty(40, 50, device="accel")
    torch.mul(A, B.t(), out=out)
    torch.testing.assert_close(out.cpu(), a * b.t())
    out_nc = torch.empty(50, 40, device="accel").t()
    torch.add(A, 1, out=out_nc)
    torch.testing.assert_close(out_nc.cpu(), a + 1)
    C = A.clone()
    C[:, ::3].mul_(2)
    c = a.clone()
    c[:, ::3].mul_(2)
    torch.testing.assert_close(C.cpu(), c)
    resized = torch.empty(0, device="accel")
    torch.sub(A, B.t(), out=resized)
    torch.testing.assert_close(resized.cpu(), a - b.t())


@pytest.mark.parametrize("name", list(UNARY))
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_unary_matches_cpu(name, dtype):
    x = make((3, 35, 33), dtype, 6)
    torch.testing.assert_close(UNARY[name](x.to("accel")).cpu(), UNARY[name](x), equal_nan=True, **tol(dtype))


@pytest.mark.parametrize("shape", SHAPES)
def test_unary_shapes_and_inplace(shape):
    x = make(shape, torch.float32, 7)
    X = x.to("accel")
    torch.testing.assert_close(torch.exp(X).cpu(), torch.exp(x))
    X.relu_()
    torch.testing.assert_close(X.cpu(), x.relu())
    out = torch.empty_like(X)
    torch.sigmoid(X, out=out)
    torch.testing.assert_close(out.cpu(), torch.sigmoid(x.relu()))


def test_unary_integer_inputs_promote_to_float():
    a = torch.arange(-5, 6)
    torch.testing.assert_close(torch.exp(a.to("accel")).cpu(), torch.exp(a))
    torch.testing.assert_close(torch.abs(a.to("accel")).cpu(), torch.abs(a))


def test_bitwise_ops():
    a, b = torch.randint(0, 256, (5, 40)), torch.randint(0, 256, (40,))
    m, n = a > 100, b > 50
    for op in (torch.bitwise_and, torch.bitwise_or, torch.bitwise_xor):
        torch.testing.assert_close(op(a.to("accel"), b.to("accel")).cpu(), op(a, b))
        torch.testing.assert_close(op(m.to("accel"), n.to("accel")).cpu(), op(m, n))
    torch.testing.assert_close((m.to("accel") & n.to("accel")).cpu(), m & n)


def test_ternary_ops():
    a, b, c = make((8, 33), torch.float32, 8), make((33,), torch.float32, 9), make((8, 1), torch.float32, 10)
    A, B, Cc = a.to("accel"), b.to("accel"), c.to("accel")
    torch.testing.assert_close(torch.where(A > 0, A, B).cpu(), torch.where(a > 0, a, b))
    torch.testing.assert_close(torch.addcmul(A, B, Cc, value=0.3).cpu(), torch.addcmul(a, b, c, value=0.3))
    torch.testing.assert_close(torch.addcdiv(A, B, Cc.abs() + 1, value=2).cpu(), torch.addcdiv(a, b, c.abs() + 1, value=2))
    torch.testing.assert_close(torch.lerp(A, B, 0.7).cpu(), torch.lerp(a, b, 0.7))
    torch.testing.assert_close(torch.lerp(A, B, Cc.sigmoid()).cpu(), torch.lerp(a, b, c.sigmoid()))
    D = A.clone()
    D.addcmul_(B, Cc, value=2)
    torch.testing.assert_close(D.cpu(), a.addcmul(b, c, value=2))


def test_bad_input_matches_cpu_exceptions():
    a, b = torch.ones(3, 4, device="accel"), torch.ones(5, device="accel")
    with pytest.raises(RuntimeError, match="size of tensor a"):
        a + b
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        torch.div(torch.ones(2, dtype=torch.int64, device="accel"),
                  torch.zeros(2, dtype=torch.int64, device="accel"), rounding_mode="floor")
    with pytest.raises(RuntimeError, match="Subtraction"):
        torch.ones(2, dtype=torch.bool, device="accel") - torch.ones(2, dtype=torch.bool, device="accel")
    with pytest.raises(RuntimeError, match="rounding_mode"):
        torch.div(a, a, rounding_mode="nearest")
    with pytest.raises(RuntimeError, match="result type"):
        torch.add(torch.ones(2, dtype=torch.int64, device="accel"), 1.5, out=torch.empty(2, dtype=torch.int64, device="accel"))


def test_program_records():
    a = torch.randn(64, 96, device="accel")
    with torch_accel.profile() as prof:
        torch.exp(a)
    (rec,) = prof.records
    assert rec["op"] == "aten::exp"
    assert rec["compute"] == "sfpu_exp" and rec["compute_engine"] == "sfpu"
    assert rec["tiles"] == 2 * 3
    assert rec["dram_read_bytes"] == 6 * 4096 and rec["dram_write_bytes"] == 6 * 4096
    assert rec["cores_used"] == min(6, torch.accel.get_device_properties().core_count)
    assert rec["flops"] > 0 and rec["l1_bytes_per_core"] > 0


def test_complex_goes_through_counted_fallback():
    a = torch.randn(4, dtype=torch.complex64)
    torch_accel.set_fallback_policy("silent")
    got = (a.to("accel") + a.to("accel")).cpu()
    torch.testing.assert_close(got, a + a)
    assert torch_accel.fallback_stats() == {"aten::add.Tensor": 1}
    torch_accel.reset_fallback_stats()
    torch_accel.set_fallback_policy("warn")


LOGICAL = {
    "logical_and": torch.logical_and, "logical_or": torch.logical_or,
    "logical_xor": torch.logical_xor, "logical_not": lambda a, b: torch.logical_not(a),
}


@pytest.mark.parametrize("name", list(LOGICAL))
@pytest.mark.parametrize("dtypes", [(torch.float32, torch.float32), (torch.bool, torch.bool),
                                    (torch.int64, torch.float32), (torch.bfloat16, torch.bool)])
@pytest.mark.parametrize("shape", [(0,), (1,), (7, 45)])
def test_logical(name, dtypes, shape):
    gen = torch.Generator().manual_seed(11)
    a = (torch.randint(-1, 2, shape, generator=gen)).to(dtypes[0])
    b = (torch.randint(-1, 2, shape, generator=gen)).to(dtypes[1])
    fn = LOGICAL[name]
    torch.testing.assert_close(fn(a.to("accel"), b.to("accel")).cpu(), fn(a, b))
    # in place keeps self's dtype; out= casts into the given dtype
    inplace = getattr(torch.Tensor, name + "_")
    torch.testing.assert_close(inplace(a.to("accel").clone(), *(() if name == "logical_not" else (b.to("accel"),))).cpu(),
                               inplace(a.clone(), *(() if name == "logical_not" else (b,))))
    out = torch.empty(shape, device="accel", dtype=torch.float32)
    kwargs = {"out": out}
    args = (a.to("accel"),) if name == "logical_not" else (a.to("accel"), b.to("accel"))
    getattr(torch, name)(*args, **kwargs)
    torch.testing.assert_close(out.cpu(), getattr(torch, name)(*((a,) if name == "logical_not" else (a, b))).float())

