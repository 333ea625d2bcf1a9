"""torch.histc, torch.bincount and torch.aminmax as accel programs, against
CPU ATen (and, for integer histc, which CPU ATen rejects, against CUDA's
integer formula). None of them may fall back to the CPU."""
import pytest
import torch

import torch_accel


pytestmark = pytest.mark.usefixtures("no_fallback")


def _samples(dtype):
    g = torch.Generator().manual_seed(0)
    # CPU ATen adds bf16 and fp16 counts in their own type, which stops
    # counting at 256 (2048); accel counts exactly and rounds once.
    n = 250 if dtype in (torch.bfloat16, torch.float16) else 3000
    x = torch.randn(n, generator=g) * 2
    # The range's edges, a bin edge, and what must be skipped: outside, inf, NaN.
    x[:6] = torch.tensor([-1.0, 1.5, 0.25, 7.0, float("inf"), float("nan")])
    return x.to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16, torch.float64])
@pytest.mark.parametrize("bins, lo, hi", [(7, -1.0, 1.5), (100, 0.0, 0.0), (1, -3.0, 3.0), (300, -2.0, 2.0)])
def test_histc_equals_cpu(dtype, bins, lo, hi):
    x = _samples(dtype)
    if lo == hi:
        x = x[6:]  # the automatic range needs finite extremes
    got = torch.histc(x.to("accel"), bins=bins, min=lo, max=hi)
    assert got.dtype == dtype and got.shape == (bins,)
    assert torch.equal(got.cpu(), torch.histc(x, bins=bins, min=lo, max=hi))


def test_reduced_float_histc_counts_exactly_and_rounds_once():
    x = torch.zeros(3000, dtype=torch.bfloat16)
    got = torch.histc(x.to("accel"), bins=2, min=-1, max=1)
    assert got.tolist() == [0.0, float(torch.tensor(3000.0).bfloat16())]  # 3000 rounds to 3008


def test_histc_strided_input_and_out():
    x = _samples(torch.float32).reshape(60, 50)
    expected = torch.histc(x.t(), bins=11, min=-2, max=2)
    assert torch.equal(torch.histc(x.to("accel").t(), bins=11, min=-2, max=2).cpu(), expected)
    out = torch.empty(22, device="accel")[::2]  # a non-contiguous out
    torch.histc(x.to("accel"), bins=11, min=-2, max=2, out=out)
    assert torch.equal(out.cpu(), expected)
    resized = torch.empty(0, device="accel")
    torch.histc(x.to("accel"), bins=11, min=-2, max=2, out=resized)
    assert torch.equal(resized.cpu(), expected)


def _cuda_int_histc(x, bins, lo, hi):
    """CUDA's integer histc: int64 arithmetic, the last bin closed."""
    counts = [0] * bins
    for e in x.tolist():
        if lo <= e <= hi:
            counts[min((e - lo) * bins // (hi - lo), bins - 1)] += 1
    return torch.tensor(counts, dtype=x.dtype)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64])
def test_integer_histc_counts_like_cuda(dtype):
    g = torch.Generator().manual_seed(1)
    x = torch.randint(0, 100, (120,), generator=g).to(dtype)  # no count past int8's 127
    for bins, lo, hi in [(8, 0, 7), (5, 10, 90), (3, 0, 0)]:
        got = torch.histc(x.to("accel"), bins=bins, min=lo, max=hi)
        if lo == hi:
            lo, hi = int(x.min()), int(x.max())
        assert got.dtype == dtype
        assert torch.equal(got.cpu(), _cuda_int_histc(x, bins, lo, hi)), (bins, lo, hi)


def test_histc_of_an_empty_or_constant_input():
    assert torch.equal(torch.histc(torch.empty(0, device="accel"), bins=4).cpu(), torch.zeros(4))
    # Equal extremes widen to [v - 1, v + 1].
    x = torch.full((9,), 2.0)
    assert torch.equal(torch.histc(x.to("accel"), bins=4).cpu(), torch.histc(x, bins=4))


def test_histc_bad_arguments_raise_like_cpu():
    x = torch.randn(10, device="accel")
    with pytest.raises(RuntimeError, match="bins must be > 0"):
        torch.histc(x, bins=0)
    with pytest.raises(RuntimeError, match="max must be larger than min"):
        torch.histc(x, bins=3, min=2, max=1)
    with pytest.raises(RuntimeError, match="is not finite"):
        torch.histc(x, bins=3, min=0, max=float("inf"))
    with pytest.raises(RuntimeError, match="is not finite"):
        torch.histc(torch.tensor([1.0, float("nan")], device="accel"), bins=3)
    with pytest.raises(RuntimeError, match="does not fit in Half"):
        torch.histc(x.half(), bins=3, min=-1e5, max=1e5)
    with pytest.raises(RuntimeError, match="rounds to"):  # distinct in double, one bf16 value
        torch.histc(x.bfloat16(), bins=3, min=1.0, max=1.001)
    with pytest.raises(RuntimeError, match="same dtype"):
        torch.histc(x, bins=3, out=torch.empty(3, dtype=torch.float16, device="accel"))


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int16, torch.int32, torch.int64])
def test_bincount_equals_cpu(dtype):
    g = torch.Generator().manual_seed(2)
    x = torch.randint(0, 40, (1000,), generator=g).to(dtype)
    w = torch.randn(1000, generator=g)
    for minlength in (0, 64):
        counts = torch.bincount(x.to("accel"), minlength=minlength)
        assert counts.dtype == torch.int64
        assert torch.equal(counts.cpu(), torch.bincount(x, minlength=minlength))
        # fp32 weights sum in fp32 (each core's share, then the cores in order);
        # any other weights in fp64, as CPU ATen does.
        for weights in (w, w.to(torch.bfloat16), w.double()):
            got = torch.bincount(x.to("accel"), weights.to("accel"), minlength=minlength)
            expected = torch.bincount(x, weights, minlength=minlength)
            assert got.dtype == expected.dtype
            torch.testing.assert_close(got.cpu(), expected)


def test_bincount_of_an_empty_input_and_huge_values():
    assert torch.equal(torch.bincount(torch.empty(0, dtype=torch.long, device="accel"), minlength=5).cpu(),
                       torch.zeros(5, dtype=torch.long))
    # Too many bins for one core's L1: the program splits by bins.
    x = torch.tensor([3, 2_000_000, 3])
    with torch_accel.profile() as prof:
        got = torch.bincount(x.to("accel"))
    assert torch.equal(got.cpu(), torch.bincount(x))
    rec = [r for r in prof.records if r["op"] == "aten::bincount"]
    assert rec and rec[0]["compute"] == "sfpu_histogram_bins" and rec[0]["cores_used"] > 1
    # Each piece of the histogram is a pass over the input.
    pieces = rec[0]["flops"] // (4 * x.numel())
    assert pieces > rec[0]["cores_used"] and rec[0]["dram_read_bytes"] == pieces * x.numel() * 8


def test_bincount_bad_arguments_raise_like_cpu():
    with pytest.raises(RuntimeError, match="non-negative"):
        torch.bincount(torch.tensor([1, -1], device="accel"))
    with pytest.raises(RuntimeError, match="1-d"):
        torch.bincount(torch.ones(2, 2, dtype=torch.long, device="accel"))
    with pytest.raises(RuntimeError, match="integral"):
        torch.bincount(torch.ones(3, device="accel"))
    with pytest.raises(RuntimeError, match="same length"):
        torch.bincount(torch.tensor([1, 2], device="accel"), torch.ones(3, device="accel"))
    with pytest.raises(RuntimeError, match="minlength"):
        torch.bincount(torch.tensor([1, 2], device="accel"), minlength=-1)
    with pytest.raises(RuntimeError, match="overflowed"):
        torch.bincount(torch.tensor([1, 2**63 - 1], device="accel"))


def test_histc_records_one_program_over_the_cores():
    x = torch.randn(64 * 1024, device="accel")
    with torch_accel.profile() as prof:
        torch.histc(x, bins=10, min=-1, max=1)
    rec = [r for r in prof.records if r["op"] == "aten::histc"]
    assert len(rec) == 1 and rec[0]["cores_used"] > 1
    assert rec[0]["flops"] == 4 * x.numel()  # the kernel table's instructions per element


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.int32, torch.uint8, torch.bool])
@pytest.mark.parametrize("kwargs", [{}, dict(dim=1), dict(dim=0, keepdim=True), dict(keepdim=True), dict(dim=-1)])
def test_aminmax_equals_cpu(dtype, kwargs):
    x = (torch.randn(5, 7, generator=torch.Generator().manual_seed(3)) * 10).to(dtype)
    low, high = torch.aminmax(x.to("accel"), **kwargs)
    expected = torch.aminmax(x, **kwargs)
    assert torch.equal(low.cpu(), expected.min) and torch.equal(high.cpu(), expected.max)


def test_aminmax_of_empty_dims_raises_like_cpu():
    with pytest.raises(RuntimeError, match="cannot compute aminmax over an empty dimension"):
        torch.aminmax(torch.empty(0, device="accel"))
    with pytest.raises(IndexError, match="Expected reduction dim 0 to have non-zero size"):
        torch.aminmax(torch.empty(0, 3, device="accel"), dim=0)
    low, high = torch.aminmax(torch.empty(0, 3, device="accel"), dim=1)
    assert low.shape == high.shape == (0,)
