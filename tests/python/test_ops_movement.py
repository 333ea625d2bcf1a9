"""Data-movement ops on accel against CPU ATen: copies of permuted/expanded
views, cat/stack/split, the gather/scatter/index family, masks, nonzero,
embedding (+backward), flip/roll/repeat/tril/triu. 0-size, 1-element and
non-contiguous inputs, out= and in-place forms; bad indices raise what CPU
raises; none may fall back."""
import pytest
import torch
import torch.nn.functional as F

import torch_accel

pytestmark = pytest.mark.usefixtures("no_fallback")

DTYPES = [torch.float32, torch.bfloat16, torch.float16, torch.int32, torch.int64, torch.bool, torch.uint8]


def make(shape, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g) * 4
    return x > 0 if dtype == torch.bool else x.to(dtype)


def acc(t):
    return t.to("accel")


def same(actual, expected, **kw):
    torch.testing.assert_close(actual.cpu(), expected, **kw)


# ---- copies ----
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("view", ["t", "permute", "expand", "slice", "flipdims", "0size", "1elem"])
def test_contiguous_copies(dtype, view):
    x = make((3, 33, 40) if view not in ("0size", "1elem") else ((0, 4, 2) if view == "0size" else (1, 1, 1)), dtype)
    fns = {
        "t": lambda t: t.transpose(1, 2), "permute": lambda t: t.permute(2, 0, 1),
        "expand": lambda t: t[:, :1].expand(3, 5, 40), "slice": lambda t: t[:, 1::3, ::2],
        "flipdims": lambda t: t.transpose(0, 2)[::2], "0size": lambda t: t.transpose(0, 1),
        "1elem": lambda t: t.permute(2, 1, 0),
    }
    fn = fns[view]
    same(fn(acc(x)).contiguous(), fn(x).contiguous())
    same(fn(acc(x)).clone(), fn(x).clone())


@pytest.mark.parametrize("src,dst", [(torch.float32, torch.bfloat16), (torch.bfloat16, torch.float32),
                                     (torch.float16, torch.int32), (torch.int64, torch.float32),
                                     (torch.float32, torch.bool), (torch.uint8, torch.float16)])
def test_copy_converts(src, dst):
    x = make((7, 45), src)
    same(acc(x).t().to(dst), x.t().to(dst))
    out = torch.empty(45, 7, dtype=dst, device="accel")
    out.copy_(acc(x).t())
    same(out, x.t().to(dst))


def test_copy_into_strided_and_overlapping():
    x = make((64, 64))
    a = acc(x)
    # A source overlapping its destination: CPU and CUDA refuse, and so does accel.
    for dst, src in ((a.t(), a), (a[1:], a[:-1])):
        with pytest.raises(RuntimeError, match="refer to a single memory location"):
            dst.copy_(src)
    same(a, x)
    a.t().copy_(a.clone())  # into a transposed view
    y = x.clone()
    y.t().copy_(y.clone())
    same(a, y)
    b = acc(x)
    b[1:].copy_(b[:-1].clone())
    z = x.clone()
    z[1:] = x[:-1]
    same(b, z)


def test_copy_records_program():
    with torch_accel.profile() as prof:
        acc(make((64, 64))).t().contiguous()
    recs = [r for r in prof.records if r["op"] == "copy"]
    assert recs and recs[-1]["compute"] == "transpose_wh_tile" and recs[-1]["dram_read_bytes"] == 64 * 64 * 4


# ---- cat / stack / split ----
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.int64, torch.bool])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_stack(dtype, dim):
    xs = [make((4, 5, 6), dtype, s) for s in range(3)]
    xs[1] = make((6, 5, 4), dtype, 9).transpose(0, 2)
    same(torch.cat([acc(x) for x in xs], dim), torch.cat(xs, dim))
    same(torch.stack([acc(x) for x in xs], dim), torch.stack(xs, dim))
    out = torch.empty(0, dtype=dtype, device="accel")
    torch.cat([acc(x) for x in xs], dim, out=out)
    same(out, torch.cat(xs, dim))


def test_cat_promotes_and_skips_empty():
    a, b = make((2, 3)), make((2, 3), torch.int32)
    same(torch.cat([acc(a), acc(b)]), torch.cat([a, b]))
    same(torch.cat([acc(torch.empty(0)), acc(a)]), torch.cat([torch.empty(0), a]))
    same(torch.cat([acc(make((0, 3))), acc(a)]), torch.cat([make((0, 3)), a]))
    with pytest.raises(RuntimeError, match="Sizes of tensors must match"):
        torch.cat([acc(a), acc(make((3, 4)))])


def test_split_chunk_are_views():
    x = make((10, 6))
    for got, want in zip(acc(x).split(3), x.split(3)):
        same(got, want)
    for got, want in zip(acc(x).chunk(4, 1), x.chunk(4, 1)):
        same(got.contiguous(), want.contiguous())


# ---- gather family ----
@pytest.mark.parametrize("dtype", DTYPES)
def test_index_select(dtype):
    x = make((6, 7, 5), dtype)
    for dim in (0, 1, 2):
        idx = torch.randint(0, x.shape[dim], (9,))
        same(acc(x).index_select(dim, acc(idx)), x.index_select(dim, idx))
        same(acc(x).transpose(0, 2).index_select(dim if dim != 1 else 1, acc(idx.clamp(max=4))),
             x.transpose(0, 2).index_select(dim if dim != 1 else 1, idx.clamp(max=4)))
    out = torch.empty(0, dtype=dtype, device="accel")
    torch.index_select(acc(x), 1, acc(torch.tensor([1, 1], dtype=torch.int32)), out=out)
    same(out, x.index_select(1, torch.tensor([1, 1])))
    same(acc(make((), dtype)).index_select(0, acc(torch.tensor([0]))), make((), dtype).index_select(0, torch.tensor([0])))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.int64, torch.bool])
def test_gather(dtype):
    x = make((5, 8, 3), dtype)
    for dim in (0, 1, 2):
        idx = torch.randint(0, x.shape[dim], (4, 6, 3))
        same(acc(x).gather(dim, acc(idx)), x.gather(dim, idx))
    idx = torch.randint(0, 5, (3, 8))
    same(acc(x)[..., 0].t().gather(1, acc(idx)), x[..., 0].t().gather(1, idx))
    out = torch.empty(0, dtype=dtype, device="accel")
    torch.gather(acc(x), 0, acc(torch.zeros(1, 1, 1, dtype=torch.long)), out=out)
    same(out, x.gather(0, torch.zeros(1, 1, 1, dtype=torch.long)))
    same(acc(x).gather(1, acc(torch.zeros(5, 0, 3, dtype=torch.long))), x.gather(1, torch.zeros(5, 0, 3, dtype=torch.long)))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16, torch.int32, torch.int64])
def test_scatter_forms(dtype):
    x, src = make((5, 6), dtype), make((4, 6), dtype, 1)
    g = torch.Generator().manual_seed(0)
    idx = torch.stack([torch.randperm(5, generator=g)[:4] for _ in range(6)], 1)  # unique per column
    same(acc(x).scatter(0, acc(idx), acc(src)), x.scatter(0, idx, src))
    same(acc(x).scatter(0, acc(idx), 3), x.scatter(0, idx, 3))
    for red in ("add", "multiply"):
        same(acc(x).scatter(0, acc(idx), acc(src), reduce=red), x.scatter(0, idx, src, reduce=red))
    dup = torch.randint(0, 5, (7, 6), generator=g)
    big = make((7, 6), dtype, 2)

    def same_sums(actual, dim, index):
        # Duplicates add in an order the op leaves open. In a 16-bit format each
        # addition rounds (CPU adds in index order, rounding after each), so
        # two orders differ by at most the summation bound: eps times the
        # number of terms at a position times the sum of their magnitudes.
        expected = x.scatter_add(dim, index, big)
        if dtype not in (torch.bfloat16, torch.float16):
            return same(actual, expected)
        magnitude = x.float().abs().scatter_add(dim, index, big.float().abs())
        terms = torch.ones_like(magnitude).scatter_add(dim, index, torch.ones_like(big, dtype=torch.float32))
        bound = torch.finfo(dtype).eps * terms * magnitude
        assert ((actual.cpu().float() - expected.float()).abs() <= bound).all()

    same_sums(acc(x).scatter_add(0, acc(dup), acc(big)), 0, dup)
    y = acc(x)
    y.scatter_add_(1, acc(dup[:5, :5]), acc(big))
    same_sums(y, 1, dup[:5, :5])
    out = torch.empty_like(acc(x))
    torch.scatter_add(acc(x), 0, acc(dup), acc(big), out=out)
    same_sums(out, 0, dup)


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.int64])
def test_scatter_reduce(reduce, include_self, dtype):
    x, src = make((5, 4), dtype), make((9, 4), dtype, 1)
    idx = torch.randint(0, 5, (9, 4))
    got = acc(x).scatter_reduce(0, acc(idx), acc(src), reduce, include_self=include_self)
    same(got, x.scatter_reduce(0, idx, src, reduce, include_self=include_self))


def test_scatter_1d_and_value_dtypes():
    x = torch.zeros(10)
    idx, src = torch.randint(0, 10, (1000,)), make((1000,))
    same(acc(x).scatter_add(0, acc(idx), acc(src)), x.scatter_add(0, idx, src), rtol=1e-5, atol=1e-4)
    b = torch.zeros(4, dtype=torch.bool)
    same(acc(b).scatter(0, acc(torch.tensor([1, 3])), True), b.scatter(0, torch.tensor([1, 3]), True))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.int32])
def test_index_add(dtype):
    x, src = make((6, 5), dtype), make((8, 5), dtype, 1)
    idx = torch.randint(0, 6, (8,))
    tol = dict(rtol=2e-2, atol=5e-2) if dtype == torch.bfloat16 else {}
    same(acc(x).index_add(0, acc(idx), acc(src), alpha=2), x.index_add(0, idx, src, alpha=2), **tol)
    y = acc(x)
    y.index_add_(1, acc(torch.tensor([4, 0, 4])), acc(make((6, 3), dtype, 2)))
    same(y, x.index_add(1, torch.tensor([4, 0, 4]), make((6, 3), dtype, 2)), **tol)


# ---- advanced indexing ----
@pytest.mark.parametrize("dtype", [torch.float32, torch.int64, torch.bool, torch.float16])
def test_index_tensor(dtype):
    x = make((5, 6, 7), dtype)
    i, j = torch.tensor([[0, 4], [3, -1]]), torch.tensor([1, -6])
    cases = [lambda t, i, j: t[i], lambda t, i, j: t[:, j], lambda t, i, j: t[i, j], lambda t, i, j: t[i, :, j],
             lambda t, i, j: t[..., j], lambda t, i, j: t[t.float() > 0] if t.dtype != torch.bool else t[t],
             lambda t, i, j: t[:, torch.tensor([True, False, True, True, False, False])],
             lambda t, i, j: t.transpose(0, 2)[j.clamp(min=0)]]
    for fn in cases:
        same(fn(acc(x), acc(i), acc(j)), fn(x, i, j))


@pytest.mark.parametrize("accumulate", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.int64])
def test_index_put(accumulate, dtype):
    x = make((5, 6), dtype)
    i = torch.tensor([0, 3, 3, 1]) if accumulate else torch.tensor([0, 3, 1])
    v = make((i.numel(), 6), dtype, 1)
    tol = dict(rtol=2e-2, atol=5e-2) if dtype == torch.bfloat16 else {}
    same(acc(x).index_put((acc(i),), acc(v), accumulate=accumulate), x.index_put((i,), v, accumulate=accumulate), **tol)
    y, z = acc(x), x.clone()
    y[:, acc(torch.tensor([5, 0]))] = acc(make((5, 2), dtype, 2))
    z[:, torch.tensor([5, 0])] = make((5, 2), dtype, 2)
    same(y, z)
    y[acc(x) > 1] = 0
    z[x > 1] = 0
    same(y, z)
    y.index_put_((acc(torch.tensor([1, 2])), acc(torch.tensor([0, 5]))), acc(torch.tensor(7).to(dtype)), accumulate=accumulate)
    z.index_put_((torch.tensor([1, 2]), torch.tensor([0, 5])), torch.tensor(7).to(dtype), accumulate=accumulate)
    same(y, z)


# ---- masks ----
@pytest.mark.parametrize("dtype", DTYPES)
def test_masked_fill_select_nonzero(dtype):
    x = make((4, 33, 5), dtype)
    m = make((33, 5), torch.bool, 3)
    val = True if dtype == torch.bool else 2
    same(acc(x).masked_fill(acc(m), val), x.masked_fill(m, val))
    same(acc(x).masked_fill(acc(m), acc(torch.tensor(val))), x.masked_fill(m, torch.tensor(val)))
    y = acc(x).transpose(0, 2)
    y.masked_fill_(acc(m.t()[:, :, None]), val)
    same(y, x.transpose(0, 2).masked_fill(m.t()[:, :, None], val))
    same(acc(x).masked_select(acc(m)), x.masked_select(m))
    same(acc(x)[:, ::2].masked_select(acc(m[::2])), x[:, ::2].masked_select(m[::2]))
    same(torch.nonzero(acc(x)), torch.nonzero(x))
    same(torch.nonzero(acc(x).transpose(0, 1)), torch.nonzero(x.transpose(0, 1)))
    for got, want in zip(torch.where(acc(x)), torch.where(x)):
        same(got, want)


def test_mask_edge_cases():
    same(torch.nonzero(acc(torch.tensor(3.0))), torch.nonzero(torch.tensor(3.0)))
    same(torch.nonzero(acc(torch.zeros(0, 3))), torch.nonzero(torch.zeros(0, 3)))
    same(acc(torch.zeros(3)).masked_select(acc(torch.zeros(3, dtype=torch.bool))), torch.zeros(0))
    out = torch.empty(0, dtype=torch.long, device="accel")
    torch.nonzero(acc(torch.tensor([0, 1, 1])), out=out)
    same(out, torch.tensor([[1], [2]]))
    x, m, s = make((3, 4)), make((3, 4), torch.bool, 1), make((12,), seed=2)
    same(acc(x).masked_scatter(acc(m), acc(s)), x.masked_scatter(m, s))
    with pytest.raises(RuntimeError, match="only supports boolean masks"):
        acc(x).masked_fill_(acc(m.to(torch.uint8)), 1.0)


# ---- embedding ----
@pytest.mark.parametrize("padding_idx,scale", [(None, False), (2, False), (None, True), (0, True)])
def test_embedding_and_backward(padding_idx, scale):
    w = make((11, 6))
    idx = torch.tensor([[1, 2, 2, 10], [0, 2, 5, 1]])
    wc, wa = w.clone().requires_grad_(), acc(w).requires_grad_()
    gout = make((2, 4, 6), seed=4)
    oc = F.embedding(idx, wc, padding_idx=padding_idx, scale_grad_by_freq=scale)
    oa = F.embedding(acc(idx), wa, padding_idx=padding_idx, scale_grad_by_freq=scale)
    same(oa, oc)
    oc.backward(gout)
    oa.backward(acc(gout))
    same(wa.grad, wc.grad)


def test_one_hot():
    t = torch.tensor([[0, 3], [2, 1]])
    same(F.one_hot(acc(t), 5), F.one_hot(t, 5))


# ---- flip / roll / repeat / tril / triu ----
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.int64, torch.bool])
def test_flip_roll_repeat(dtype):
    x = make((3, 5, 40), dtype)
    for dims in ((0,), (1, 2), (0, 1, 2), (-1,)):
        same(acc(x).flip(dims), x.flip(dims))
    same(acc(x).transpose(0, 2).flip(1), x.transpose(0, 2).flip(1))
    for shifts, dims in ((2, 0), ((1, -7), (1, 2)), (-3, None), ((40, 1), (2, 0))):
        same(acc(x).roll(shifts, dims), x.roll(shifts, dims))
    same(acc(x)[:, :, ::3].roll(1, 2), x[:, :, ::3].roll(1, 2))
    same(acc(x).repeat(2, 1, 1, 3), x.repeat(2, 1, 1, 3))
    same(acc(x).expand(2, 3, 5, 40).contiguous(), x.expand(2, 3, 5, 40).contiguous())
    same(acc(make((0, 3), dtype)).flip(0), make((0, 3), dtype).flip(0))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.int32, torch.bool])
@pytest.mark.parametrize("k", [0, 2, -3, 50])
def test_tril_triu(dtype, k):
    x = make((2, 37, 45), dtype)
    same(acc(x).tril(k), x.tril(k))
    same(acc(x).triu(k), x.triu(k))
    same(acc(x).transpose(1, 2).triu(k), x.transpose(1, 2).triu(k))
    y = acc(x)
    y.tril_(k)
    same(y, x.tril(k))
    out = torch.empty(0, dtype=dtype, device="accel")
    torch.triu(acc(x), k, out=out)
    same(out, x.triu(k))
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        acc(make((4,), dtype)).tril()


# ---- bad indices raise what CPU raises ----
BAD = {
    "index": lambda t, i: t[i],
    "index_neg": lambda t, i: t[-i - 1],
    "index_select": lambda t, i: t.index_select(0, i),
    "gather": lambda t, i: t.gather(0, i.view(1, 1).expand(1, 3)),
    "scatter": lambda t, i: t.scatter(0, i.view(1, 1).expand(1, 3), 1.0),
    "scatter_add": lambda t, i: t.scatter_add(0, i.view(1, 1).expand(1, 3), t[:1]),
    "index_add": lambda t, i: t.index_add(0, i, t[:1]),
    "index_put": lambda t, i: t.index_put((i,), torch.tensor(1.0, device=t.device)),
    "index_put_acc": lambda t, i: t.index_put((i,), torch.tensor(1.0, device=t.device), accumulate=True),
    "embedding": lambda t, i: F.embedding(i, t),
}


@pytest.mark.parametrize("name", list(BAD))
@pytest.mark.parametrize("bad", [5, -9])
def test_bad_indices(name, bad):
    x, i = make((4, 3)), torch.tensor([bad])
    with pytest.raises(Exception) as cpu_err:
        BAD[name](x, i)
    with pytest.raises(cpu_err.type) as accel_err:
        BAD[name](acc(x), acc(i))
    assert str(accel_err.value).split("\n")[0] == str(cpu_err.value).split("\n")[0]


def test_print_does_not_fall_back_to_movement_ops():
    torch_accel.reset_fallback_stats()
    s = str(acc(make((5, 5))))
    assert "accel" in s
    movement = {"aten::masked_select", "aten::nonzero", "aten::index.Tensor", "aten::_copy_from", "aten::cat"}
    assert not movement & set(torch_accel.fallback_stats())
    torch_accel.reset_fallback_stats()  # max/min reductions belong to the reduction ops
