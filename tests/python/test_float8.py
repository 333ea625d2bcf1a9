"""float8_e4m3fn / float8_e5m2 tensors on accel: copies, casts, and
torch._scaled_mm (tensor-wise, row-wise and MX block scales) as device
programs, against the CPU."""
import pytest
import torch

import torch_accel

pytestmark = pytest.mark.usefixtures("no_fallback")

FLOAT8 = [torch.float8_e4m3fn, torch.float8_e5m2]


def values(shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    # spans both formats' normal and subnormal ranges, and past their maxima
    exponents = torch.randint(-18, 18, shape, generator=g).float()
    return torch.randn(shape, generator=g) * torch.exp2(exponents)


@pytest.mark.parametrize("dtype", FLOAT8)
@pytest.mark.parametrize("source", [torch.float32, torch.bfloat16, torch.float16])
def test_casts_match_cpu(dtype, source):
    x = values((64, 48)).to(source)
    on_accel = x.to("accel").to(dtype)
    assert on_accel.dtype == dtype and on_accel.device.type == "accel"
    expected = x.to(dtype)
    assert torch.equal(on_accel.cpu().view(torch.uint8), expected.view(torch.uint8))
    back = on_accel.to(source)
    # bit for bit: e4m3fn has no infinity, values past its maximum are NaNs
    as_int = {torch.float32: torch.int32, torch.bfloat16: torch.int16, torch.float16: torch.int16}[source]
    assert torch.equal(back.cpu().view(as_int), expected.to(source).view(as_int))


@pytest.mark.parametrize("dtype", FLOAT8)
def test_copies_and_views(dtype):
    x = values((32, 40), seed=1).to(dtype)
    a = x.to("accel")
    assert torch.equal(a.cpu().view(torch.uint8), x.view(torch.uint8))
    for got, want in [(a.clone(), x), (a.t().contiguous(), x.t().contiguous()),
                      (a[3:17, ::2], x[3:17, ::2]), (a.reshape(-1), x.reshape(-1))]:
        assert torch.equal(got.cpu().view(torch.uint8), want.reshape(want.shape).view(torch.uint8))
    b = torch.empty_like(a)
    b.copy_(a)
    assert torch.equal(b.cpu().view(torch.uint8), x.view(torch.uint8))


def dyadic(shape, dtype, seed):
    """float8 values on a 1/4 grid: their products' sums are exact in float32 in
    any order, so accel and CPU agree whatever order each sums in."""
    g = torch.Generator().manual_seed(seed)
    return (torch.randint(-40, 41, shape, generator=g) / 4).to(dtype)


@pytest.mark.parametrize("dtypes", [(torch.float8_e4m3fn, torch.float8_e4m3fn),
                                    (torch.float8_e4m3fn, torch.float8_e5m2),
                                    (torch.float8_e5m2, torch.float8_e4m3fn)])
@pytest.mark.parametrize("out_dtype", [torch.float32, torch.bfloat16])
def test_scaled_mm_tensorwise(dtypes, out_dtype):
    a = dyadic((64, 96), dtypes[0], seed=2)
    b = dyadic((80, 96), dtypes[1], seed=3).t()
    sa, sb = torch.tensor(0.25), torch.tensor(3.0)
    expected = torch._scaled_mm(a, b, sa, sb, out_dtype=out_dtype)
    got = torch._scaled_mm(a.to("accel"), b.to("accel"), sa.to("accel"), sb.to("accel"),
                           out_dtype=out_dtype)
    assert got.device.type == "accel" and got.dtype == out_dtype
    torch.testing.assert_close(got.cpu(), expected)


def test_scaled_mm_rowwise_with_bias():
    a = dyadic((32, 64), torch.float8_e4m3fn, seed=4)
    b = dyadic((48, 64), torch.float8_e4m3fn, seed=5).t()
    g = torch.Generator().manual_seed(8)
    sa, sb = torch.rand(32, 1, generator=g), torch.rand(1, 48, generator=g)
    bias = torch.randn(48, generator=g).bfloat16()
    if torch.__version__ >= "2.13":
        expected = torch._scaled_mm(a, b, sa, sb, bias=bias, out_dtype=torch.bfloat16)
    else:  # CPU's _scaled_mm takes row-wise scales only from torch 2.13 on
        expected = ((a.float() @ b.float()) * sa * sb + bias.float()).bfloat16()
    got = torch._scaled_mm(a.to("accel"), b.to("accel"), sa.to("accel"), sb.to("accel"),
                           bias=bias.to("accel"), out_dtype=torch.bfloat16)
    torch.testing.assert_close(got.cpu(), expected)


def test_scaled_mm_is_a_matmul_program():
    a = torch.randn(64, 64).to(torch.float8_e4m3fn).to("accel")
    s = torch.tensor(1.0, device="accel")
    with torch_accel.profile() as prof:
        torch._scaled_mm(a, a.t(), s, s, out_dtype=torch.float32)
    assert any(r["compute_engine"] == "matrix" for r in prof.records)


def test_scaled_mm_mx_block_scales():
    """E8M0 scales per 32 along K in cuBLAS's swizzled layout (what torchao sends)."""
    from torch_accel.quant.float8 import _swizzle_order
    m, k, n = 20, 64, 24
    a = dyadic((m, k), torch.float8_e4m3fn, seed=6)
    b = dyadic((n, k), torch.float8_e4m3fn, seed=7).t()
    g = torch.Generator().manual_seed(9)
    ea = torch.randint(120, 134, (m, k // 32), dtype=torch.uint8, generator=g)
    eb = torch.randint(120, 134, (n, k // 32), dtype=torch.uint8, generator=g)

    def swizzled(codes):
        perm, cols = _swizzle_order(*codes.shape)
        padded = torch.zeros(-(-codes.shape[0] // 128) * 128, cols, dtype=torch.uint8)
        padded[:codes.shape[0], :codes.shape[1]] = codes
        return padded.reshape(-1)[perm].view(torch.float8_e8m0fnu)

    got = torch._scaled_mm(a.to("accel"), b.to("accel"), swizzled(ea).to("accel"),
                           swizzled(eb).to("accel"), out_dtype=torch.bfloat16)
    scale_a = torch.exp2(ea.float() - 127).repeat_interleave(32, 1)
    scale_b = torch.exp2(eb.float() - 127).repeat_interleave(32, 1)
    expected = ((a.float() * scale_a) @ (b.t().float() * scale_b).t()).bfloat16()
    torch.testing.assert_close(got.cpu(), expected)


@pytest.mark.allows_fallback
def test_scaled_mm_bad_input():
    a = torch.randn(16, 32).to(torch.float8_e4m3fn).to("accel")
    s = torch.tensor(1.0, device="accel")
    with pytest.raises(TypeError, match="float8_e4m3fn or float8_e5m2"):
        torch._scaled_mm(torch.randn(16, 32, device="accel"), a.t(), s, s,
                         out_dtype=torch.float32)
    with pytest.raises(ValueError, match="cannot be multiplied"):
        torch._scaled_mm(a, a, s, s, out_dtype=torch.float32)
    with pytest.raises(ValueError, match="tensor-wise scales"):
        torch._scaled_mm(a, a.t(), torch.ones(3, device="accel"), s, out_dtype=torch.float32)
    with pytest.raises(TypeError, match="scale_a must be float32"):
        torch._scaled_mm(a, a.t(), s.double(), s, out_dtype=torch.float32)
