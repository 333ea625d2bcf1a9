"""Factory ops on accel against CPU ATen, bit for bit: fill_/zero_/full/zeros/
ones (every tile dtype, strided outputs), arange, range and linspace (incl.
inexact floating ranges), out= forms and CPU's errors; none may fall back."""
import pytest
import torch

import torch_accel

pytestmark = pytest.mark.usefixtures("no_fallback")

DTYPES = [torch.float32, torch.float64, torch.bfloat16, torch.float16, torch.int32, torch.int64,
          torch.int16, torch.int8, torch.uint8, torch.bool]


def same(a, b):
    assert a.device.type == "accel"
    assert a.dtype == b.dtype and a.shape == b.shape
    assert torch.equal(a.cpu(), b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (0,), (1,), (33,), (5, 1030)])
def test_constant_factories(dtype, shape):
    same(torch.zeros(shape, dtype=dtype, device="accel"), torch.zeros(shape, dtype=dtype))
    same(torch.ones(shape, dtype=dtype, device="accel"), torch.ones(shape, dtype=dtype))
    same(torch.full(shape, 7, dtype=dtype, device="accel"), torch.full(shape, 7, dtype=dtype))


def test_fill_strided_tensor_and_value_tensor():
    base = torch.arange(48.0).reshape(6, 8)
    a = base.to("accel")
    a[:, ::2].fill_(-2.5)
    a.t()[1:3].zero_()
    base[:, ::2].fill_(-2.5)
    base.t()[1:3].zero_()
    same(a, base)
    a.fill_(torch.tensor(4.0, device="accel"))
    same(a, torch.full((6, 8), 4.0))
    c = torch.zeros(3, dtype=torch.complex64, device="accel").fill_(1 + 2j)
    same(c, torch.full((3,), 1 + 2j, dtype=torch.complex64))


def test_fill_overflow_raises_like_cpu():
    with pytest.raises(RuntimeError, match="overflow"):
        torch.zeros(3, dtype=torch.int8, device="accel").fill_(300)
    with pytest.raises(RuntimeError):
        torch.zeros(3, device="accel").fill_(torch.ones(2, device="accel"))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16, torch.float16, torch.int32,
                                   torch.int64, torch.uint8])
@pytest.mark.parametrize("args", [(5,), (0, 70001), (-7, 300, 3), (10, -5, -1), (0.5, 700.3, 0.37), (-3, 5, 0.1)])
def test_arange_and_range(dtype, args):
    if not dtype.is_floating_point and isinstance(args[-1], float):
        return  # shapes come from the meta kernel, which rejects what CPU truncates to step 0
    expected = torch.arange(*args, dtype=dtype)
    if dtype == torch.uint8 and min(args) < 0:
        return
    same(torch.arange(*args, dtype=dtype, device="accel"), expected)
    if len(args) > 1 and (dtype.is_floating_point or not isinstance(args[-1], float)):
        with pytest.warns(UserWarning):
            same(torch.range(*args, dtype=dtype, device="accel"), torch.range(*args, dtype=dtype))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16, torch.float16, torch.int32,
                                   torch.int64])
@pytest.mark.parametrize("args", [(0, 1, 100000), (-3.3, 7.7, 1001), (5, -2, 33), (2, 2, 1), (1, 5, 0)])
def test_linspace(dtype, args):
    same(torch.linspace(*args, dtype=dtype, device="accel"), torch.linspace(*args, dtype=dtype))


def test_out_forms_strided_out_and_errors():
    out = torch.zeros(10, 2, device="accel")[:, 0]
    torch.arange(10, out=out)
    same(out, torch.arange(10.0))
    torch.linspace(0, 1, 10, out=out)
    same(out, torch.linspace(0, 1, 10))
    with pytest.raises(RuntimeError, match="overflow"):
        torch.linspace(0, 255, 7, dtype=torch.int8, device="accel")
    with pytest.raises(RuntimeError):
        torch.arange(0, 10, 0, device="accel")


def test_fill_and_arange_record_writer_only_programs():
    with torch_accel.profile() as prof:
        torch.zeros(5000, device="accel")
        torch.arange(5000, device="accel")
    recs = {r["op"]: r for r in prof.records}
    assert recs["fill"]["writer"] == "writer_fill_constant" and recs["fill"]["dram_read_bytes"] == 0
    assert recs["arange"]["cores_used"] == 4 and recs["arange"]["tiles"] == 5


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16, torch.float16, torch.int64,
                                   torch.int32, torch.uint8])
@pytest.mark.parametrize("args", [(0, 3, 7, 10.0), (-2.5, 4.0, 2000, 2.0), (1, 1, 1, 10.0), (3, -1, 0, 10.0),
                                  (0.5, 2.0, 33, 3.0)])
def test_logspace_program_matches_cpu(dtype, args):
    start, end, steps, base = args
    if not dtype.is_floating_point and (start < 0 or end < 0):
        start, end = abs(start), abs(end)
    a = torch.logspace(start, end, steps, base, dtype=dtype, device="accel")
    c = torch.logspace(start, end, steps, base, dtype=dtype)
    assert torch.equal(a.cpu(), c)
    out = torch.empty(2 * steps, dtype=dtype, device="accel")[::2]  # strided, right size
    torch.logspace(start, end, steps, base, out=out)
    assert torch.equal(out.cpu(), c)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.int64, torch.bool])
@pytest.mark.parametrize("shape", [(0,), (1,), (5,), (70,), (3, 40), (45, 2)])
def test_eye_program_matches_cpu(dtype, shape):
    assert torch.equal(torch.eye(*shape, dtype=dtype, device="accel").cpu(), torch.eye(*shape, dtype=dtype))
    n, m = shape if len(shape) == 2 else shape * 2
    out = torch.zeros(m, n, dtype=dtype, device="accel").t()  # transposed, right size
    torch.eye(*shape, out=out)
    assert torch.equal(out.cpu(), torch.eye(*shape, dtype=dtype))


@pytest.mark.parametrize("fn", [torch.tril_indices, torch.triu_indices])
@pytest.mark.parametrize("args", [(0, 0, 0), (1, 1, 0), (4, 3, 0), (3, 5, 1), (50, 40, -7), (40, 50, 12),
                                  (6, 6, -20), (6, 6, 20)])
def test_triangle_indices_program_matches_cpu(fn, args):
    for dtype in (torch.int64, torch.int32):
        assert torch.equal(fn(*args, dtype=dtype, device="accel").cpu(), fn(*args, dtype=dtype))
    for bad in ((-1, 3), (3, -1)):
        with pytest.raises(RuntimeError, match="non-negative"):
            fn(*bad, device="accel")
    with pytest.raises(NotImplementedError):
        fn(3, 3, dtype=torch.float32, device="accel")


def test_factory_programs_are_recorded():
    with torch_accel.profile() as prof:
        torch.eye(40, device="accel")
        torch.logspace(0, 1, 5, device="accel")
        torch.tril_indices(5, 5, device="accel")
    ops = [r["op"] for r in prof.records]
    assert ops == ["eye", "logspace", "tril_indices"]
    assert all(r["compute_engine"] == "sfpu" for r in prof.records)
