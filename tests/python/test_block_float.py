"""Block-float numerics (torch_accel.block_float, pack_block_float,
unpack_block_float) against an independent NumPy reference written from the
documented conversion (docs/NUMERICS.md, shared/reference/accelerators.md):

- a face row of 16 values shares the largest fp32 exponent field among them;
- each value's 24-bit significand (hidden bit set, denormals too) is shifted
  right by its exponent's distance from the shared one, the bits shifted out
  dropped, then rounded to the format's magnitude bits, nearest even, and
  saturated at the largest magnitude; a zero magnitude has no sign;
- decoding gives +-mag / 2^(bits-1) * 2^(shared - 127), assembled as fp32 bits.

Bit for bit: tile bytes and unpacked fp32 patterns, over 10^6 random values
per format and the edge cases, on CPU and accel.
"""
import numpy as np
import pytest
import torch

import torch_accel

FORMATS = {"bfp8_b": 7, "bfp4_b": 3, "bfp2_b": 1}  # magnitude bits
TILE_BYTES = {"bfp8_b": 1088, "bfp4_b": 576, "bfp2_b": 320}


# ----------------------------------------------------------------- reference
def ref_encode(bits, width):
    """uint32 fp32 patterns [..., 16] (a face row each) -> (shared exponents, codes)."""
    bits = bits.astype(np.uint64)
    exponent = (bits >> 23) & 0xFF
    shared = exponent.max(axis=-1, keepdims=True)
    significand = (bits & 0x7FFFFF) | 0x800000
    distance = shared - exponent
    significand = np.where(distance >= 32, 0, significand >> np.minimum(distance, 31))
    drop = np.uint64(24 - width)
    magnitude = significand >> drop
    rest = significand & ((np.uint64(1) << drop) - 1)
    tie = np.uint64(1) << (drop - 1)
    up = (rest > tie) | ((rest == tie) & (magnitude & 1 == 1))
    magnitude = np.minimum(magnitude + up, (1 << width) - 1)
    magnitude = np.where((bits & 0x7FFFFFFF) == 0, 0, magnitude)
    sign = np.where(magnitude == 0, 0, bits >> 31)
    return shared[..., 0].astype(np.uint8), ((sign << width) | magnitude).astype(np.uint8)


def ref_decode(shared, codes, width):
    """(shared exponents [...], codes [..., 16]) -> fp32 patterns, from the value formula.

    The result's exponent field is shared - (leading zeros of the magnitude);
    two fields are not plain numbers: 255 (the magnitude's fraction 0 gives
    Inf, else NaN with that fraction) and 0 (fp32 reads the fraction without
    its hidden bit, as a denormal)."""
    shared = shared.astype(np.int64)[..., None]
    sign = (codes.astype(np.int64) >> width) & 1
    magnitude = codes.astype(np.int64) & ((1 << width) - 1)
    lead = np.where(magnitude > 0, np.floor(np.log2(np.maximum(magnitude, 1))).astype(np.int64), 0)
    field = shared - (width - 1 - lead)
    fraction = magnitude - (1 << lead)  # below the leading one, in units of 2^-lead
    fraction_bits = (fraction << (23 - lead)).astype(np.uint64)
    value = magnitude.astype(np.float64) / 2.0 ** (width - 1) * np.exp2((shared - 127).astype(np.float64))
    with np.errstate(over="ignore"):
        out = value.astype(np.float32).view(np.uint32).astype(np.uint64)
    special = (field == 255) | (field == 0)
    out = np.where(special, (field.astype(np.uint64) << 23) | fraction_bits, out)
    out = np.where(magnitude == 0, 0, out)
    return ((sign.astype(np.uint64) << 31) | out).astype(np.uint32)


def ref_pack(x_bits, fmt):
    """[R, C] fp32 patterns (R, C multiples of 32) -> [R/32, C/32, tile bytes], by the layout:
    64 exponents (face 0 rows 0..15, faces 1..3), then the codes face by face,
    little-endian words, element 0 in the low bits."""
    width = FORMATS[fmt]
    r, c = x_bits.shape
    faces = (x_bits.reshape(r // 32, 2, 16, c // 32, 2, 16)
             .transpose(0, 3, 1, 4, 2, 5).reshape(r // 32, c // 32, 64, 16))
    shared, codes = ref_encode(faces, width)
    per_byte = 8 // (width + 1)
    codes = codes.reshape(r // 32, c // 32, 1024 // per_byte, per_byte).astype(np.uint16)
    data = np.zeros(codes.shape[:-1], np.uint16)
    for k in range(per_byte):
        data |= codes[..., k] << (k * (width + 1))
    return np.concatenate([shared, data.astype(np.uint8)], axis=-1)


def ref_unpack(packed, fmt, rows, cols):
    width = FORMATS[fmt]
    rt, ct = packed.shape[:2]
    per_byte = 8 // (width + 1)
    data = packed[..., 64:].astype(np.uint16)
    codes = np.stack([(data >> (k * (width + 1))) & ((1 << (width + 1)) - 1)
                      for k in range(per_byte)], axis=-1).reshape(rt, ct, 64, 16)
    out = ref_decode(packed[..., :64], codes.astype(np.uint8), width)
    out = out.reshape(rt, ct, 2, 2, 16, 16).transpose(0, 2, 4, 1, 3, 5).reshape(rt * 32, ct * 32)
    return out[:rows, :cols]


def bits_of(t):
    return t.detach().cpu().contiguous().view(torch.int32).numpy().view(np.uint32)


def random_fp32_bits(n, seed):
    """Random values over every exponent (normal draws times 2^e), plus raw patterns:
    denormals, Inf, NaN and near-overflow values all appear."""
    rng = np.random.default_rng(seed)
    scaled = rng.standard_normal(n // 2) * np.exp2(rng.integers(-140, 128, n // 2).astype(np.float64))
    with np.errstate(over="ignore"):
        scaled = scaled.astype(np.float32).view(np.uint32)
    raw = rng.integers(0, 2**32, n - n // 2, dtype=np.uint64).astype(np.uint32)
    bits = np.concatenate([scaled, raw])
    rng.shuffle(bits)
    return bits


# ----------------------------------------------------------------- numerics
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_million_random_values_bit_exact(fmt):
    bits = random_fp32_bits(1024 * 1024, seed=list(FORMATS).index(fmt))
    x = torch.from_numpy(bits.view(np.float32).reshape(1024, 1024).copy())
    packed = torch_accel.pack_block_float(x, fmt)
    assert packed.shape == (32, 32, TILE_BYTES[fmt]) and packed.dtype == torch.uint8
    expected = ref_pack(bits.reshape(1024, 1024), fmt)
    mismatched_tiles = (packed.numpy() != expected).any(axis=-1).sum()
    assert mismatched_tiles == 0, f"{mismatched_tiles} of 1024 tiles differ"
    back = torch_accel.unpack_block_float(packed, fmt, x.shape, torch.float32)
    want = ref_unpack(expected, fmt, 1024, 1024)
    assert (bits_of(back) != want).sum() == 0
    print(f"{fmt}: {bits.size} values, 1024 tiles: bytes and unpacked bits identical")


def codes_of(values, fmt):
    """The codes of one face row (16 values, padded with zeros) through the device API."""
    row = torch.zeros(16)
    row[:len(values)] = torch.tensor(values, dtype=torch.float32)
    packed = torch_accel.pack_block_float(row, fmt)[0, 0]
    width = FORMATS[fmt]
    per_byte = 8 // (width + 1)
    data = packed[64:64 + 16 // per_byte].numpy().astype(np.uint16)
    codes = [(int(data[i // per_byte]) >> ((i % per_byte) * (width + 1))) & ((1 << (width + 1)) - 1)
             for i in range(16)]
    return int(packed[0]), codes[:len(values)]


def test_edge_cases_by_hand():
    inf, nan = float("inf"), float("nan")
    # Zeros: an all-zero row has exponent 0; -0 packs as +0.
    assert codes_of([0.0, -0.0], "bfp8_b") == (0, [0, 0])
    # 1.5 and -0.75 against 2^0: 1.1000000b and 0.1100000b.
    assert codes_of([1.5, -0.75], "bfp8_b") == (127, [96, 0x80 | 48])
    # Overflow on rounding saturates the magnitude: 1.9999 -> 127 (Bfp8_b), 7 (Bfp4_b), 1 (Bfp2_b).
    assert codes_of([1.9999], "bfp8_b") == (127, [127])
    assert codes_of([1.9999], "bfp4_b") == (127, [7])
    assert codes_of([1.9999], "bfp2_b") == (127, [1])
    # Ties go to even; bits shifted out by the exponent distance are dropped
    # first, so 2^-7 (1 + 2^-23) beside 1.0 is a tie (0.5 of the last place) -> 0, sign cleared.
    assert codes_of([1.0, 1.125, 1.375], "bfp4_b") == (127, [4, 4, 6])
    assert codes_of([1.0, -float(np.float32(2**-7 * (1 + 2**-23)))], "bfp8_b") == (127, [64, 0])
    assert codes_of([1.0, 2**-7 * 1.5], "bfp8_b") == (127, [64, 1])
    # Denormals: the hidden bit is set, so a denormal alone reads as 1.m x 2^-127.
    # 2^-149 (fraction 1) packs as 64; 1e-40 (fraction 0x116C2, past the tie) as 65.
    assert codes_of([2**-149, 1e-40], "bfp8_b") == (0, [64, 65])
    # Inf and NaN take exponent 255 and flush the rest of their row.
    assert codes_of([inf, 1.0, -inf], "bfp8_b") == (255, [64, 0, 0x80 | 64])
    assert codes_of([nan, 3.0e38], "bfp8_b") == (255, [96, 56])  # 1.76 x 2^127 = 0.88 x 2^128
    # A NaN whose fraction sits below the kept bits rounds to the Inf pattern.
    low_nan = torch.tensor([0x7F800001], dtype=torch.int32).view(torch.float32)
    assert torch.isnan(low_nan).all() and torch.isinf(torch_accel.block_float(low_nan, "bfp8_b")).all()
    # The largest finite exponent.
    assert codes_of([3.0e38, -1.0e38], "bfp8_b")[0] == 254


def test_edge_cases_round_trip_values():
    inf, nan = float("inf"), float("nan")
    x = torch.tensor([[inf, -inf, nan, 1.0] + [0.0] * 12,
                      [1.9999, 2**-7 * 1.5, -0.0, 0.0] + [0.0] * 12,
                      [3.0e38, 1.0e38, 1e-40, 0.0] + [0.0] * 12], dtype=torch.float32)
    y = torch_accel.block_float(x, "bfp8_b")
    assert torch.isinf(y[0, 0]) and y[0, 0] > 0 and torch.isinf(y[0, 1]) and y[0, 1] < 0
    assert torch.isnan(y[0, 2]) and y[0, 3] == 0
    assert y[1, 0] == 127 / 64 and y[1, 1] == 2**-6 and bits_of(y[1, 2]) == 0
    assert y[2, 0] == pytest.approx(3.0e38, rel=2**-6) and torch.isfinite(y[2]).all()
    # Every pattern agrees with the reference too.
    padded = torch.zeros(32, 32)
    padded[:3, :16] = x
    want = ref_unpack(ref_pack(bits_of(padded), "bfp8_b"), "bfp8_b", 3, 16)
    assert (bits_of(y) == want).all()


def test_decoding_arbitrary_bytes_matches_the_formula():
    """Every code under every shared exponent a packer can emit beside it."""
    for fmt, width in FORMATS.items():
        rng = np.random.default_rng(width)
        packed = rng.integers(0, 256, (4, 4, TILE_BYTES[fmt]), dtype=np.uint8)
        # Exponents high enough that no code's normalisation runs below field 0.
        packed[..., :64] = rng.integers(width, 256, (4, 4, 64), dtype=np.uint8)
        got = torch_accel.unpack_block_float(torch.from_numpy(packed), fmt, (128, 128), torch.float32)
        assert (bits_of(got) == ref_unpack(packed, fmt, 128, 128)).all(), fmt


# ----------------------------------------------------------------- layout
def test_layout_tile_by_tile_with_padding():
    x = torch.randn(2, 70, 45, generator=torch.Generator().manual_seed(1))
    packed = torch_accel.pack_block_float(x, "bfp4_b")
    assert packed.shape == (2, 3, 2, 576)
    for b in range(2):
        padded = torch.zeros(96, 64)
        padded[:70, :45] = x[b]
        expected = ref_pack(bits_of(padded), "bfp4_b")
        for tr in range(3):
            for tc in range(2):
                assert torch.equal(packed[b, tr, tc], torch.from_numpy(expected[tr, tc])), (b, tr, tc)


def test_face_order_and_exponent_bytes():
    x = torch.zeros(32, 32)
    x[0, 16], x[16, 0], x[31, 31] = 2.0, 4.0, -1.0
    packed = torch_accel.pack_block_float(x, "bfp8_b")[0, 0]
    assert packed[16] == 128 and packed[32] == 129 and packed[63] == 127 and packed[0] == 0
    assert packed[64 + 256] == 64 and packed[64 + 512] == 64 and packed[64 + 1023] == 0x80 | 64


def test_vectors_and_scalars_tile_as_one_row():
    v = torch.arange(40, dtype=torch.float32)
    assert torch_accel.pack_block_float(v, "bfp8_b").shape == (1, 2, 1088)
    assert torch.equal(torch_accel.block_float(v, "bfp8_b")[:2], torch.tensor([0.0, 1.0]))
    s = torch.tensor(3.0)
    assert torch_accel.block_float(s, "bfp8_b").shape == () and torch_accel.block_float(s, "bfp8_b") == 3.0


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16, torch.float64])
def test_block_float_keeps_shape_and_dtype(dtype):
    x = torch.randn(3, 33, 20, generator=torch.Generator().manual_seed(2)).to(dtype)
    y = torch_accel.block_float(x, "bfp8_b")
    assert y.shape == x.shape and y.dtype == dtype
    ref = ref_unpack(ref_pack(bits_of(torch.nn.functional.pad(x[0].float(), (0, 12, 0, 31))), "bfp8_b"),
                     "bfp8_b", 33, 20)
    assert torch.equal(y[0], torch.from_numpy(ref.view(np.float32)).to(dtype))
    # Values of a block-float grid are fixed points of the conversion.
    assert torch.equal(torch_accel.block_float(y, "bfp8_b"), y)


# ----------------------------------------------------------------- device
@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_accel_and_cpu_agree_bitwise(fmt, dtype):
    bits = random_fp32_bits(3 * 64 * 96, seed=7)
    x = torch.from_numpy(bits.view(np.float32).reshape(3, 96, 64).copy()).to(dtype)
    x = x.transpose(1, 2)  # strided input: [3, 64, 96]
    cpu = torch_accel.pack_block_float(x, fmt)
    with torch_accel.profile() as prof:
        dev = torch_accel.pack_block_float(x.to("accel"), fmt)
    assert dev.device.type == "accel" and torch.equal(dev.cpu(), cpu)
    rec = [r for r in prof.records if r["op"] == "pack_block_float"]
    assert len(rec) == 1 and rec[0]["output_format"] == fmt.capitalize()
    assert rec[0]["compute"] == "pack_block_float_tile"
    assert rec[0]["dram_write_bytes"] == 3 * 2 * 3 * TILE_BYTES[fmt]
    back_cpu = torch_accel.unpack_block_float(cpu, fmt, x.shape, dtype)
    with torch_accel.profile() as prof:
        back_dev = torch_accel.unpack_block_float(dev, fmt, x.shape, dtype)
    assert [r["compute"] for r in prof.records] == ["unpack_block_float_tile"]
    assert torch.equal(back_dev.cpu().view(torch.int16 if dtype == torch.bfloat16 else torch.int32),
                       back_cpu.view(torch.int16 if dtype == torch.bfloat16 else torch.int32))


def test_meta_tensors_give_shapes():
    packed = torch_accel.pack_block_float(torch.empty(5, 100, 33, device="meta"), "bfp2_b")
    assert packed.shape == (5, 4, 2, 320) and packed.device.type == "meta"
    out = torch_accel.unpack_block_float(packed, "bfp2_b", (5, 100, 33), torch.bfloat16)
    assert out.shape == (5, 100, 33) and out.dtype == torch.bfloat16


# ----------------------------------------------------------------- bad input
def test_bad_input_errors():
    x = torch.randn(4, 4)
    with pytest.raises(ValueError, match="unknown format"):
        torch_accel.block_float(x, "bfp16")
    with pytest.raises(ValueError, match="unknown format"):
        torch.ops.accel.pack_block_float(x, "fp8")
    with pytest.raises(TypeError, match="floating"):
        torch_accel.block_float(torch.ones(4, 4, dtype=torch.int32), "bfp8_b")
    with pytest.raises(TypeError, match="floating"):
        torch.ops.accel.pack_block_float(torch.ones(4, dtype=torch.int64).to("accel"), "bfp8_b")
    packed = torch_accel.pack_block_float(x, "bfp8_b")
    with pytest.raises(ValueError, match="packed bytes"):
        torch_accel.unpack_block_float(packed, "bfp8_b", (40, 40))
    with pytest.raises(TypeError, match="uint8"):
        torch_accel.unpack_block_float(packed.float(), "bfp8_b", (4, 4))
    with pytest.raises(TypeError, match="floating"):
        torch_accel.unpack_block_float(packed, "bfp8_b", (4, 4), torch.int32)
