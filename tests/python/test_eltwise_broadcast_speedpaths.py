"""The element-wise reader's layouts against CPU ATen: operands used in place,
broadcast runs filled or loaded once, rows packed when narrow and cut when
wide, strided and transposed operands, 16-bit data with float32 operands,
non-contiguous outputs, in-place ops and host thread splits that start
mid-row. The program record must not depend on how the host walks."""
import pytest
import torch

import torch_accel

pytestmark = pytest.mark.usefixtures("no_fallback")


def make(shape, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    if dtype.is_floating_point:
        return (torch.randn(shape, generator=g) * 3).to(dtype)
    return torch.randint(-6, 7, shape, generator=g).to(dtype)


# (name, a's shape or a view of it, b): b broadcasts against a in every way
# the reader distinguishes. Shapes are chosen for partial tiles.
def layouts(dtype):
    x = make((6, 37, 70), dtype, 0)
    yield "row_broadcast", x, make((70,), dtype, 1)
    yield "column_broadcast", x, make((6, 37, 1), dtype, 1)
    yield "size1_middle", x, make((6, 1, 70), dtype, 1)
    yield "expanded_middle", x, make((6, 1, 70), dtype, 1).expand(6, 37, 70)
    yield "outer_broadcast", x, make((37, 70), dtype, 1)
    yield "zero_dim", x, make((), dtype, 1)
    yield "transposed", x.transpose(1, 2), make((6, 70, 37), dtype, 1)
    yield "strided", x[:, ::2, ::3], make((6, 19, 24), dtype, 1)
    yield "narrow_rows", make((200, 3), dtype, 0), make((3,), dtype, 1)
    yield "narrow_column", make((200, 3), dtype, 0), make((200, 1), dtype, 1)
    yield "wide_rows", make((5, 3000), dtype, 0), make((3000,), dtype, 1)
    yield "wide_column", make((5, 3000), dtype, 0), make((5, 1), dtype, 1)
    yield "wide_transposed", make((3000, 5), dtype, 0).t(), make((5, 3000), dtype, 1)
    yield "four_dims", make((2, 3, 33, 65), dtype, 0).permute(0, 2, 1, 3), make((33, 1, 65), dtype, 1)
    yield "flat", make((5000,), dtype, 0), make((1,), dtype, 1)


LAYOUT_NAMES = [name for name, _, _ in layouts(torch.float32)]
DTYPES = [torch.float32, torch.bfloat16, torch.float16, torch.float64, torch.int32, torch.int64]


def layout(name, dtype):
    return next((a, b) for n, a, b in layouts(dtype) if n == name)


def on_accel(*tensors):
    return [t.to("accel") for t in tensors]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name", LAYOUT_NAMES)
def test_binary_and_comparison(name, dtype):
    a, b = layout(name, dtype)
    aa, bb = on_accel(a, b)
    for op in (torch.mul, lambda p, q: torch.add(p, q, alpha=2), lambda p, q: q - p, torch.maximum, torch.lt):
        torch.testing.assert_close(op(aa, bb).cpu(), op(a, b))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16], ids=str)
@pytest.mark.parametrize("name", LAYOUT_NAMES)
def test_where_ternary_and_unary(name, dtype):
    a, b = layout(name, dtype)
    aa, bb = on_accel(a, b)
    torch.testing.assert_close(torch.where(aa > 0, aa, bb).cpu(), torch.where(a > 0, a, b))
    torch.testing.assert_close(torch.where(bb > 0, 1.5, aa).cpu(), torch.where(b > 0, 1.5, a))
    torch.testing.assert_close(torch.addcmul(aa, aa, bb, value=0.5).cpu(), torch.addcmul(a, a, b, value=0.5))
    torch.testing.assert_close(torch.sigmoid(aa).cpu(), torch.sigmoid(a))


# 16-bit lerp differs from CPU's bit for bit with or without broadcasting (the
# lerp kernel, not the reader), so the reader's layouts are checked in float.
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("name", LAYOUT_NAMES)
def test_lerp(name, dtype):
    a, b = layout(name, dtype)
    aa, bb = on_accel(a, b)
    torch.testing.assert_close(torch.lerp(aa, bb, 0.3).cpu(), torch.lerp(a, b, 0.3))
    torch.testing.assert_close(torch.lerp(aa, bb, bb.sigmoid()).cpu(), torch.lerp(a, b, b.sigmoid()))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=str)
@pytest.mark.parametrize("name", ["row_broadcast", "column_broadcast", "zero_dim", "transposed", "wide_rows"])
def test_16bit_with_float32(name, dtype):
    a, b = layout(name, dtype)
    aa, bb = on_accel(a, b)
    # Promoted to float32: the 16-bit operand is converted on load.
    torch.testing.assert_close((aa * bb.float()).cpu(), a * b.float())
    # A 16-bit op into a float32 out=: the 16-bit result, widened.
    out = torch.empty(torch.broadcast_shapes(a.shape, b.shape), device="accel")
    torch.add(aa, bb, out=out)
    torch.testing.assert_close(out.cpu(), torch.add(a, b).float())
    # A float32 0-dim operand in a 16-bit op is rounded to the 16-bit format first.
    scale = torch.tensor(1.7)
    torch.testing.assert_close((aa * scale.to("accel")).cpu(), a * scale)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.int64], ids=str)
@pytest.mark.parametrize("name", LAYOUT_NAMES)
def test_transposed_output(name, dtype):
    a, b = layout(name, dtype)
    aa, bb = on_accel(a, b)
    shape = torch.broadcast_shapes(a.shape, b.shape)
    out = torch.empty(tuple(reversed(shape)), dtype=dtype, device="accel").permute(*reversed(range(len(shape))))
    torch.mul(aa, bb, out=out)
    torch.testing.assert_close(out.cpu(), a * b)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.int32], ids=str)
@pytest.mark.parametrize("name", LAYOUT_NAMES)
def test_in_place_input_aliases_output(name, dtype):
    a, b = layout(name, dtype)
    aa, bb = on_accel(a, b)
    if a.shape != torch.broadcast_shapes(a.shape, b.shape):
        pytest.skip("in place needs the output's shape")
    expected = a.clone().mul_(b)
    torch.testing.assert_close(aa.clone().mul_(bb).cpu(), expected)
    # The view itself, not a copy: the write goes through a's strides.
    target = aa.clone()
    view = target.transpose(0, -1)
    view.add_(view)
    torch.testing.assert_close(target.cpu(), a + a)


def test_broadcast_scalar_into_every_row():
    x = make((9, 2500), torch.float32, 0)
    for other in (torch.tensor(-2.5), 0.75, make((1, 1), torch.float32, 1)):
        acc = other.to("accel") if isinstance(other, torch.Tensor) else other
        torch.testing.assert_close((x.to("accel") * acc).cpu(), x * other)
        torch.testing.assert_close((acc - x.to("accel")).cpu(), other - x)


@pytest.mark.parametrize("shapes", [((0, 7), (7,)), ((3, 0, 5), (5,)), ((4, 0), (4, 1)), ((0,), ())])
def test_empty(shapes):
    a, b = make(shapes[0], torch.float32, 0), make(shapes[1], torch.float32, 1)
    with torch_accel.profile() as prof:
        result = a.to("accel") + b.to("accel")
    assert result.shape == (a + b).shape
    assert all(r["tiles"] == 0 for r in prof.records)


def records_of(fn):
    with torch_accel.profile() as prof:
        fn()
    keep = ("op", "tiles", "cores_used", "max_tiles_per_core", "dram_read_bytes", "dram_write_bytes",
            "noc_bytes", "l1_bytes_per_core", "flops", "input_format", "output_format")
    return [{k: r[k] for k in keep} for r in prof.records]


def test_record_prices_the_plan_not_the_host_walk():
    # A row and a column broadcast iterate the same [1120, 300] space and the
    # host walks them differently (in place vs filled); the plan, and so the
    # record, is the same: 35 x 10 tiles, each input read as whole tiles.
    x = make((16, 70, 300), torch.float32, 0).to("accel")
    row = make((300,), torch.float32, 1).to("accel")
    column = make((16, 70, 1), torch.float32, 1).to("accel")
    by_row = records_of(lambda: x * row)
    assert records_of(lambda: x * column) == by_row
    assert by_row[0]["tiles"] == 35 * 10
    assert by_row[0]["dram_read_bytes"] == 2 * 35 * 10 * 32 * 32 * 4
    assert by_row[0]["dram_write_bytes"] == 35 * 10 * 32 * 32 * 4


def test_host_threads_split_rows_anywhere():
    # 658 tiles: two host threads split them in the middle of a tile row.
    a = make((200, 3000), torch.float32, 0)
    b, c = make((3000,), torch.float32, 1), make((200, 1), torch.bfloat16, 2)
    aa, bb, cc = on_accel(a, b, c)
    previous = torch.get_num_threads()
    results, records = [], []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            results.append([(aa * bb).cpu(), (aa.t() + cc.t()).cpu(), (cc * bb).cpu()])
            records.append(records_of(lambda: aa * bb))
    finally:
        torch.set_num_threads(previous)
    for one, two in zip(*results):
        assert torch.equal(one, two)
    assert records[0] == records[1]
    torch.testing.assert_close(results[0][0], a * b)
    torch.testing.assert_close(results[0][1], a.t() + c.t())
    torch.testing.assert_close(results[0][2], c * b)
