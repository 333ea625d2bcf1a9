"""Sort-family ops on accel against CPU ATen: sort (stable and not, both
directions, every dim, NaN and ties), argsort, msort, topk, kthvalue, median;
0-size and 1-element shapes, non-contiguous inputs, out= forms; none may fall back."""
import pytest
import torch

import torch_accel

pytestmark = pytest.mark.usefixtures("no_fallback")

DTYPES = [torch.float32, torch.bfloat16, torch.float16, torch.float64, torch.int32, torch.int64,
          torch.uint8, torch.int8, torch.bool]


def with_ties_and_nans(shape, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(-5, 6, shape, generator=g).to(torch.float32)
    if dtype.is_floating_point:
        x = x * 0.5
        x[torch.rand(shape, generator=g) < 0.1] = float("nan")
        x[x == 0] = -0.0
    elif dtype == torch.bool:
        x = x > 0
    elif dtype == torch.uint8:
        x = x + 5
    return x.to(dtype)


def same(a, b):
    torch.testing.assert_close(a.cpu(), b, equal_nan=True, rtol=0, atol=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("descending", [False, True])
def test_stable_sort_matches_cpu_exactly(dtype, descending):
    x = with_ties_and_nans((6, 70), dtype)
    for dim in (0, 1, -1):
        v, i = torch.sort(x.to("accel"), dim=dim, descending=descending, stable=True)
        cv, ci = torch.sort(x, dim=dim, descending=descending, stable=True)
        same(v, cv)
        same(i, ci)


@pytest.mark.parametrize("shape", [(), (0,), (1,), (5, 0), (300,), (3, 4, 129)])
def test_unstable_sort_values_and_consistent_indices(shape):
    x = with_ties_and_nans(shape, torch.float32)
    v, i = torch.sort(x.to("accel"), descending=True)
    same(v, torch.sort(x, descending=True).values)
    if x.dim() > 0:
        same(torch.gather(x, -1, i.cpu()).to("accel"), v.cpu())


def test_sort_non_contiguous_and_out():
    x = with_ties_and_nans((40, 33), torch.float32).t()[::2]
    a = x.to("accel")
    assert not a.is_contiguous()
    same(torch.sort(a, dim=0).values, torch.sort(x, dim=0).values)
    vals = torch.empty(0, device="accel")
    idx = torch.empty(0, dtype=torch.long, device="accel")
    torch.sort(a, dim=1, stable=True, out=(vals, idx))
    cv, ci = torch.sort(x, dim=1, stable=True)
    same(vals, cv)
    same(idx, ci)
    with pytest.raises(RuntimeError, match="dtype"):
        torch.sort(a, out=(torch.empty(0, dtype=torch.long, device="accel"), idx))
    with pytest.raises(IndexError):
        torch.sort(a, dim=3)


def test_argsort_and_msort():
    x = with_ties_and_nans((9, 65), torch.float32, 2)
    a = x.to("accel")
    same(torch.argsort(a, dim=0, stable=True), torch.argsort(x, dim=0, stable=True))
    same(torch.argsort(a, descending=True, stable=True), torch.argsort(x, descending=True, stable=True))
    same(torch.msort(a), torch.msort(x))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.int64, torch.float64])
@pytest.mark.parametrize("largest", [True, False])
def test_topk(dtype, largest):
    x = with_ties_and_nans((7, 150), dtype, 3)
    for dim, k in ((1, 5), (0, 7), (-1, 0), (1, 150)):
        v, i = torch.topk(x.to("accel"), k, dim=dim, largest=largest)
        cv, _ = torch.topk(x, k, dim=dim, largest=largest)
        same(v, cv)
        same(torch.gather(x, dim, i.cpu()), cv)


def test_topk_unsorted_out_and_errors():
    x = torch.randn(4, 100)
    v = torch.empty(0, device="accel")
    i = torch.empty(0, dtype=torch.long, device="accel")
    torch.topk(x.to("accel"), 9, sorted=False, out=(v, i))
    same(v.sort(descending=True).values, torch.topk(x, 9).values)
    same(torch.topk(torch.tensor(3.0, device="accel"), 1).values, torch.tensor(3.0))
    with pytest.raises(RuntimeError, match="out of range"):
        torch.topk(x.to("accel"), 101)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.int32, torch.float64])
@pytest.mark.parametrize("keepdim", [False, True])
def test_kthvalue_and_median_dim(dtype, keepdim):
    x = with_ties_and_nans((5, 31), dtype, 4)
    a = x.to("accel")
    for dim in (0, 1):
        v, i = torch.kthvalue(a, 3, dim=dim, keepdim=keepdim)
        cv, _ = torch.kthvalue(x, 3, dim=dim, keepdim=keepdim)
        same(v, cv)
        same(torch.gather(x, dim, i.cpu() if keepdim else i.cpu().unsqueeze(dim)).reshape(cv.shape), cv)
        mv, mi = torch.median(a, dim=dim, keepdim=keepdim)
        cmv, cmi = torch.median(x, dim=dim, keepdim=keepdim)
        same(mv, cmv)
        if dtype.is_floating_point:  # a NaN median points at the row's first NaN, as on CPU
            nan_rows = cmv.isnan()
            same(mi.cpu()[nan_rows], cmi[nan_rows])


def test_median_full_and_errors():
    x = torch.randn(6, 7)
    same(torch.median(x.to("accel")), torch.median(x))
    same(torch.median(torch.tensor([], device="accel")), torch.median(torch.tensor([])))
    same(torch.median(x.t().to("accel")), torch.median(x.t()))
    with pytest.raises(RuntimeError, match="out of range"):
        torch.kthvalue(x.to("accel"), 8)
    with pytest.raises(IndexError):
        torch.median(torch.empty(3, 0, device="accel"), 1)


def test_sort_records_a_program():
    with torch_accel.profile() as prof:
        torch.sort(torch.randn(64, 33, device="accel"))
    rec = [r for r in prof.records if r["op"] == "sort"]
    assert rec and rec[0]["cores_used"] == 4 and rec[0]["compute"] == "sort_radix_rows"
