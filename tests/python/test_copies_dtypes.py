"""Copies between the CPU and accel devices, for every dtype PyTorch has.

Copies are native accel kernels: none of these tests may go through the CPU
fallback, which each test checks at its end.
"""
import warnings

import pytest
import torch
import torch_accel

ALL_DTYPES = sorted({getattr(torch, n) for n in dir(torch)
                     if isinstance(getattr(torch, n), torch.dtype)}, key=str)
QUANTIZED = {getattr(torch, n) for n in ("qint8", "quint8", "qint32", "quint4x2", "quint2x4")
             if hasattr(torch, n)}
PLAIN_DTYPES = [d for d in ALL_DTYPES if d not in QUANTIZED]
SHAPE = (6, 8)


@pytest.fixture(autouse=True)
def _no_fallback():
    """Every copy, view and conversion here is native: nothing falls back."""
    yield
    assert torch_accel.fallback_stats() == {}


def cpu_tensor(dtype, shape=SHAPE):
    """Random bytes (NaN payloads and all) viewed as `dtype`. Skips when the CPU
    itself cannot make or copy such a tensor (the sub-byte dtypes uint1..7 and
    int1..7 have no CPU copy kernel)."""
    n = 1
    for s in shape:
        n *= s
    try:
        raw = torch.randint(0, 256, (n * dtype.itemsize,), dtype=torch.uint8)
        if dtype == torch.bool:
            raw = raw % 2  # only 0 and 1 are bools; the CPU itself normalizes other bytes
        t = raw.view(dtype).reshape(shape)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "ComplexHalf support is experimental"
            t.clone()
            t.t().contiguous()
    except Exception as e:  # noqa: BLE001 - any CPU failure means: nothing to compare with
        pytest.skip(f"the CPU cannot make or copy a {dtype} tensor either: "
                    f"{type(e).__name__}: {str(e).splitlines()[0]}")
    return t


def as_bytes(t):
    t = t.cpu() if t.device.type != "cpu" else t
    return t.contiguous().view(torch.uint8)


def assert_bitwise_equal(actual, expected):
    assert actual.dtype == expected.dtype
    assert actual.shape == expected.shape
    assert torch.equal(as_bytes(actual), as_bytes(expected))


def test_dtype_partition_covers_every_dtype():
    assert len(ALL_DTYPES) > 20
    assert set(PLAIN_DTYPES) | QUANTIZED == set(ALL_DTYPES)
    assert torch.float32 in PLAIN_DTYPES and torch.qint8 in QUANTIZED


@pytest.mark.parametrize("dtype", PLAIN_DTYPES, ids=str)
def test_roundtrip_contiguous(dtype):
    c = cpu_tensor(dtype)
    a = c.to("accel")
    assert a.device == torch.device("accel:0")
    assert a.dtype == dtype and a.shape == c.shape and a.is_contiguous()
    back = a.cpu()
    assert back.device.type == "cpu"
    assert_bitwise_equal(back, c)
    # copy_ into existing tensors, both directions
    dst = torch.empty(SHAPE, dtype=dtype, device="accel")
    dst.copy_(c)
    out = torch.empty(SHAPE, dtype=dtype)
    out.copy_(dst)
    assert_bitwise_equal(out, c)


@pytest.mark.parametrize("dtype", PLAIN_DTYPES, ids=str)
def test_roundtrip_noncontiguous(dtype):
    c = cpu_tensor(dtype)
    # CPU -> accel from non-contiguous sources
    for src in (c.t(), c[::2, 1::3], c[1:5:3, ::2]):
        a = src.to("accel")
        assert a.stride() == src.clone().stride()  # .to() keeps strides like the CPU does
        assert_bitwise_equal(a.cpu(), src)
    # accel -> CPU from non-contiguous accel views
    a = c.to("accel")
    assert_bitwise_equal(a.t().cpu(), c.t())
    assert_bitwise_equal(a[1::2, ::3].cpu(), c[1::2, ::3])
    assert_bitwise_equal(a.t()[::2].cpu(), c.t()[::2])
    # CPU -> strided accel destination, strided accel -> strided CPU destination
    big = torch.zeros(SHAPE[0] * 2, SHAPE[1] * 2 * dtype.itemsize, dtype=torch.uint8).view(dtype)
    dst = big.to("accel")
    dst[1::2, ::2].copy_(c)
    expected = big.clone()
    expected[1::2, ::2].copy_(c)
    assert_bitwise_equal(dst.cpu(), expected)
    out = torch.empty(SHAPE[1], SHAPE[0], dtype=dtype).t()
    out.copy_(a)
    assert_bitwise_equal(out, c)


@pytest.mark.parametrize("dtype", PLAIN_DTYPES, ids=str)
def test_accel_to_accel_copies(dtype):
    c = cpu_tensor(dtype)
    a = c.to("accel:0")
    # same device, strided
    assert_bitwise_equal(a.t().contiguous(), c.t())
    assert_bitwise_equal(a[::2, 1::3].clone(), c[::2, 1::3])
    d = torch.empty(SHAPE[1], SHAPE[0], dtype=dtype, device="accel:0")
    d.copy_(a.t())
    assert_bitwise_equal(d, c.t())
    # across devices, contiguous and strided, both directions
    b = a.to("accel:1")
    assert b.device == torch.device("accel:1")
    assert_bitwise_equal(b, c)
    bt = a.t().to("accel:1")
    assert bt.device == torch.device("accel:1") and bt.stride() == c.t().clone().stride()
    assert_bitwise_equal(bt, c.t())
    assert_bitwise_equal(a[1::2, ::3].to("accel:1"), c[1::2, ::3])
    e = torch.empty(SHAPE[1], SHAPE[0], dtype=dtype, device="accel:1")
    e.copy_(a.t())
    assert_bitwise_equal(e, c.t())
    back = torch.empty(SHAPE, dtype=dtype, device="accel:0")
    back.t().copy_(e)
    assert_bitwise_equal(back, c)
    assert_bitwise_equal(b[::2].to("accel:0"), c[::2])


@pytest.mark.parametrize("dtype", sorted(QUANTIZED, key=str), ids=str)
def test_quantized_dtype_empty_raises_type_error(dtype):
    with pytest.raises(TypeError, match="quantized"):
        torch.empty(2, dtype=dtype, device="accel")


@pytest.mark.parametrize("dtype", [torch.qint8, torch.quint8, torch.qint32], ids=str)
def test_quantized_tensor_to_accel_raises_type_error(dtype):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # quantize_per_tensor is deprecated
        q = torch.quantize_per_tensor(torch.randn(4), 0.1, 3, dtype)
    with pytest.raises(TypeError, match="quantized"):
        q.to("accel")


@pytest.mark.parametrize("dtype", sorted(QUANTIZED, key=str), ids=str)
def test_quantized_dtype_other_factories_raise_type_error(dtype):
    for make in [lambda: torch.zeros(2, dtype=dtype, device="accel:1"),
                 lambda: torch.empty_strided((2, 2), (1, 2), dtype=dtype, device="accel")]:
        with pytest.raises(TypeError, match="quantized"):
            make()


CONVERSION_DTYPES = [torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64,
                     torch.float16, torch.bfloat16, torch.float32, torch.float64,
                     torch.complex64, torch.complex128]


def _conversion_source(src, dst):
    g = torch.Generator().manual_seed(1234)
    vals = torch.randn(5, 7, generator=g, dtype=torch.float64) * 40
    vals = vals.clamp(-100, 100).round(decimals=2)
    vals[0, :4] = torch.tensor([0.0, 1.0, -1.0, 0.5], dtype=torch.float64)  # every value fits int8
    if dst == torch.uint8 and (src.is_floating_point or src.is_complex):
        vals = vals.abs()  # a negative float to uint8 is undefined behaviour in C++
    if src.is_complex:
        return torch.complex(vals, vals.flip(0)).to(src)
    return vals.to(src)


@pytest.mark.parametrize("src", CONVERSION_DTYPES, ids=str)
def test_copies_with_dtype_conversion_match_cpu(src):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # complex -> real discards the imaginary part
        for dst in CONVERSION_DTYPES:
            c = _conversion_source(src, dst)
            expected = c.to(dst)
            a = c.to("accel")
            assert_bitwise_equal(c.to("accel", dtype=dst), expected)          # cpu -> accel
            assert_bitwise_equal(a.to(dst), expected)                         # accel -> accel
            assert_bitwise_equal(a.to("cpu", dtype=dst), expected)            # accel -> cpu
            assert_bitwise_equal(a.to("accel:1", dtype=dst), expected)        # accel:0 -> accel:1
            assert_bitwise_equal(a.t().to(dst), expected.t())                 # strided
            assert_bitwise_equal(c.t().to("accel", dtype=dst), expected.t())
            out = torch.zeros(7, 5, dtype=dst, device="accel:1")
            out.copy_(a.t())
            assert_bitwise_equal(out, expected.t())


def test_empty_and_scalar_tensors_roundtrip():
    for shape in [(0,), (3, 0), (0, 4, 2)]:
        c = torch.empty(shape)
        a = c.to("accel")
        assert a.shape == c.shape and a.device.type == "accel"
        assert a.cpu().shape == c.shape
        assert a.to("accel:1").shape == c.shape
        assert a.transpose(0, -1).to("accel:1").cpu().shape == c.transpose(0, -1).shape
    s = torch.tensor(3.25, dtype=torch.float64)
    a = s.to("accel")
    assert a.dim() == 0 and a.item() == 3.25 and a.cpu().item() == 3.25
    assert torch.tensor(7, device="accel:1").item() == 7


def test_large_tensor_roundtrip():
    c = torch.randn(1 << 20)  # 4 MiB, a large-pool allocation
    a = c.to("accel")
    assert torch.equal(a.cpu(), c)
    assert torch.equal(a.to("accel:1").cpu(), c)
    assert torch.equal(a.view(1024, 1024).t().contiguous().cpu(), c.view(1024, 1024).t())


def test_item_for_many_dtypes():
    for dtype, value in [(torch.float32, 1.5), (torch.float64, -2.25), (torch.float16, 0.5),
                         (torch.bfloat16, 3.0), (torch.int8, -7), (torch.uint8, 200),
                         (torch.int32, 123456), (torch.int64, -(1 << 40)), (torch.bool, True),
                         (torch.complex64, 1 - 2j)]:
        a = torch.tensor([value, value], dtype=dtype, device="accel")[1]
        assert a.item() == value
        assert type(a.item()) is type(torch.tensor(value, dtype=dtype).item())


def test_non_blocking_copies():
    c = torch.randn(9, 4)
    a = c.to("accel", non_blocking=True)
    torch.accel.synchronize()
    assert torch.equal(a.cpu(), c)
    out = torch.empty(9, 4)
    out.copy_(a, non_blocking=True)
    torch.accel.synchronize()
    assert torch.equal(out, c)
    assert torch.equal(a.to("accel:1", non_blocking=True).cpu(), c)


def test_tensor_constructor_and_to_accel():
    data = [[1.5, 2.0, -3.0], [4.0, 5.5, 6.0]]
    a = torch.tensor(data, device="accel")
    assert a.device == torch.device("accel:0") and a.dtype == torch.float32
    assert torch.equal(a.cpu(), torch.tensor(data))
    b = torch.tensor(data, dtype=torch.int64, device="accel:1")
    assert b.device == torch.device("accel:1") and torch.equal(b.cpu(), torch.tensor(data).long())
    assert torch.as_tensor(data, device="accel").device.type == "accel"
    assert torch.equal(torch.ones(2).accel().cpu(), torch.ones(2))  # generated Tensor.accel()
    assert torch.ones(2).accel().is_accel


def test_conjugate_and_negative_views_copy_out():
    """Copying a conjugate or negative view anywhere materializes it (this once
    recursed without end and crashed the interpreter)."""
    x = torch.tensor([1 + 2j, -3 - 4j, 5j], dtype=torch.complex64)
    a = x.to("accel")
    for out in [a.conj().cpu(), a.conj().to("accel:1").cpu(), a.conj().clone().cpu(),
                a.conj().resolve_conj().cpu(), a[None].mH[:, 0].cpu(), torch.empty_like(a).copy_(a.conj()).cpu()]:
        assert torch.equal(out.resolve_conj(), x.conj().resolve_conj())
    assert torch.equal(x.conj().to("accel").cpu().resolve_conj(), x.conj().resolve_conj())
    f = torch.tensor([1.0, -2.0], device="accel")
    assert torch.equal(torch._neg_view(f).cpu().resolve_neg(), torch.tensor([-1.0, 2.0]))
    assert torch.equal(torch._neg_view(f).to("accel:1").cpu().resolve_neg(), torch.tensor([-1.0, 2.0]))
    assert torch.equal(a.conj().imag.cpu().resolve_neg(), x.conj().imag.resolve_neg())
