"""MX formats against gfloat (the OCP MX v1.0 reference oracle), bit for bit,
on the CPU and on accel, for every element type."""
import functools

import numpy as np
import pytest
import torch

import torch_accel
from gfloat import BlockFormatInfo, compute_scale_amax, decode_float, encode_block, quantize_block
from gfloat import formats as gf

pytestmark = pytest.mark.usefixtures("no_fallback")

ORACLE = {"fp8_e4m3": gf.format_info_ocp_e4m3, "fp8_e5m2": gf.format_info_ocp_e5m2,
          "fp6_e3m2": gf.format_info_ocp_e3m2, "fp6_e2m3": gf.format_info_ocp_e2m3,
          "fp4_e2m1": gf.format_info_ocp_e2m1, "int8": gf.format_info_ocp_int8}
DEVICES = ["cpu", "accel"]


def block_format(elem, k=32):
    return BlockFormatInfo(elem, ORACLE[elem], k, gf.format_info_ocp_e8m0)


def oracle(x, elem, k=32):
    """gfloat's quantize_block over each row of k values, float64 -> x's dtype."""
    fi = block_format(elem, k)
    rows = x.double().reshape(-1, k).numpy()
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.stack([quantize_row(fi, r) for r in rows])
    return torch.from_numpy(out).to(x.dtype).reshape(x.shape)


def quantize_row(fi, row):
    if np.isnan(row).any() and fi.etype.num_nans == 0:
        # gfloat's scale is NaN (E8M0 0xFF) but it will not round NaN into a
        # format without NaN; the spec (5.3) makes every value of a block whose
        # scale is NaN a NaN, whatever its elements.
        scale = compute_scale_amax(fi.etype.emax, row)
        assert np.isnan(scale)
        return np.full_like(row, scale)
    return quantize_block(fi, row, compute_scale_amax)


def assert_bits_equal(actual, expected):
    """Same bits, NaN for NaN (payloads aside), -0 apart from +0."""
    actual, expected = actual.cpu().float(), expected.float()
    nan = torch.isnan(expected)
    assert torch.equal(torch.isnan(actual), nan)
    a, e = actual[~nan].view(torch.int32), expected[~nan].view(torch.int32)
    mismatched = (a != e).sum().item()
    assert mismatched == 0, f"{mismatched} of {e.numel()} values differ from gfloat"


def random_blocks(n, k=32, seed=0):
    """Blocks whose magnitudes span fp32's range, subnormals included."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, k, generator=g)
    exps = torch.randint(-140, 120, (n, 1), generator=g).float()
    # some blocks with a wide spread inside the block too
    spread = torch.randint(0, 24, (n, k), generator=g).float()
    spread = spread * (torch.rand(n, 1, generator=g) < 0.3)
    return x * torch.exp2(exps) * torch.exp2(-spread)


def edge_blocks(elem):
    fmt = torch_accel.mx.MX_ELEMENTS[elem]
    rows = [
        [0.0] * 32,
        [-0.0] * 32,
        [1.0] + [0.25] * 31,                          # amax exactly a power of two
        [2.0 ** 10, -(2.0 ** 10)] + [3.0] * 30,
        [fmt.max * 1.5] + [1.0] * 31,                 # elements that saturate...
        [-(fmt.max * 1.99)] + [0.5] * 31,
        [2.0 ** -130, 2.0 ** -149] + [0.0] * 30,      # fp32 subnormals: smallest scale
        [3.0e38, -3.4e38] + [1.0e38] * 30,            # the top of fp32
        [1.0 + 2.0 ** -k for k in range(1, 33)],     # ties and near-ties at every position
        [float("nan")] + [1.0] * 31,                  # NaN: the whole block is NaN
        [float("inf")] + [1.0] * 31,                  # inf: scale 2^127, saturates
        [float("-inf"), 2.0] + [1.0] * 30,
    ]
    # values at exact midpoints between neighbouring elements, relative to amax
    mids = [(i + 0.5) / 8 for i in range(31)]
    rows.append([4.0] + mids)
    return torch.tensor(rows, dtype=torch.float32)


RANDOM_BLOCKS = 1000


@functools.lru_cache(maxsize=None)
def random_case(elem):
    x = random_blocks(RANDOM_BLOCKS, seed=len(elem))
    return x, oracle(x, elem)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("elem", sorted(ORACLE))
def test_random_blocks_bit_exact(elem, device):
    x, expected = random_case(elem)
    assert_bits_equal(torch_accel.mx_quantize(x.to(device), elem), expected)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("elem", sorted(ORACLE))
def test_edge_cases_bit_exact(elem, device):
    x = edge_blocks(elem)
    assert_bits_equal(torch_accel.mx_quantize(x.to(device), elem), oracle(x, elem))


@pytest.mark.parametrize("elem", sorted(ORACLE))
def test_scales_and_elements_match_the_encoding(elem):
    """The E8M0 codes and element values are gfloat's encode_block's."""
    x = torch.cat([random_blocks(40, seed=3), edge_blocks(elem)])
    blocks = torch_accel.mx_encode(x.to("accel"), elem)
    codes = blocks.scale_e8m0().cpu()
    fi = block_format(elem)
    for row, code, elements in zip(x, codes, blocks.elements.cpu()):
        vals = row.double().numpy()
        with np.errstate(over="ignore", invalid="ignore"):
            scale = compute_scale_amax(fi.etype.emax, vals)
            if np.isnan(scale):
                assert code.item() == 255
                continue
            ref = list(encode_block(fi, scale, vals / scale))
        assert code.item() == ref[0]
        if ref[0] != 255:
            expected = [decode_float(fi.etype, c).fval for c in ref[1:]]
            assert elements.double().tolist() == pytest.approx(expected, abs=0, rel=0)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_low_precision_inputs(dtype):
    x = random_blocks(64, seed=5).clamp(-1e4, 1e4).to(dtype)
    out = torch_accel.mx_quantize(x.to("accel"), "fp8_e4m3")
    assert out.dtype == dtype
    assert_bits_equal(out.float(), oracle(x.float(), "fp8_e4m3").to(dtype))


@pytest.mark.allows_fallback  # float64 has no accel kernels; this runs on the CPU
def test_float64_input_on_cpu():
    x = random_blocks(64, seed=6).double() * 1e-3
    out = torch_accel.mx_quantize(x, "fp6_e2m3")
    assert out.dtype == torch.float64
    assert torch.equal(out, oracle(x, "fp6_e2m3"))


def test_axis_and_block_size():
    x = random_blocks(16, k=64, seed=7).reshape(4, 4, 64)
    along_1 = torch_accel.mx_quantize(x.transpose(1, 2).to("accel"), "fp4_e2m1", 16, axis=1)
    assert_bits_equal(along_1, oracle(x, "fp4_e2m1", 16).transpose(1, 2))
    along_0 = torch_accel.mx_quantize(x.to("accel"), "fp4_e2m1", block_size=4, axis=0)
    assert_bits_equal(along_0, oracle(x.movedim(0, -1).contiguous(), "fp4_e2m1", 4).movedim(-1, 0))


def test_roundtrip_is_idempotent():
    x = random_blocks(32, seed=8).to("accel")
    once = torch_accel.mx_quantize(x, "fp6_e3m2")
    assert torch.equal(torch_accel.mx_quantize(once, "fp6_e3m2").cpu(), once.cpu())


@pytest.mark.parametrize("elem", ["fp8_e4m3", "fp4_e2m1", "int8"])
def test_mx_matmul_is_fp32_matmul_of_k_blocks(elem):
    g = torch.Generator().manual_seed(9)
    a, b = torch.randn(48, 64, generator=g), torch.randn(64, 40, generator=g)
    out = torch_accel.mx_matmul(a.to("accel"), b.to("accel"), elem)
    qa = oracle(a, elem)
    qb = oracle(b.t().contiguous(), elem).t()
    torch.testing.assert_close(out.cpu(), qa @ qb)
    assert out.dtype == torch.float32


@pytest.mark.allows_fallback
def test_bad_input():
    x = torch.randn(4, 32)
    with pytest.raises(ValueError, match="unknown MX element format 'fp3'"):
        torch_accel.mx_quantize(x, "fp3")
    with pytest.raises(ValueError, match="does not divide"):
        torch_accel.mx_quantize(torch.randn(4, 30), "fp8_e4m3")
    with pytest.raises(ValueError, match="block_size must be a positive int"):
        torch_accel.mx_quantize(x, "fp8_e4m3", block_size=0)
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        torch_accel.mx_quantize(x, "fp8_e4m3", axis=2)
    with pytest.raises(TypeError, match="floating tensor"):
        torch_accel.mx_quantize(torch.ones(4, 32, dtype=torch.int32), "int8")
    with pytest.raises(TypeError, match="torch.Tensor"):
        torch_accel.mx_quantize([1.0] * 32, "int8")
    with pytest.raises(ValueError, match="K differs"):
        torch_accel.mx_matmul(torch.randn(2, 32), torch.randn(64, 2), "fp8_e4m3")
    with pytest.raises(TypeError, match="floating tensor"):
        torch_accel.mx_matmul(torch.randn(2, 32), torch.ones(32, 2, dtype=torch.long), "int8")
