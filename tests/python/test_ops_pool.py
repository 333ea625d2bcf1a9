"""Pooling on accel against CPU ATen where the kernels take their vector path:
many small planes (the small CNN's 8x8 -> 4x4 and 4x4 -> 2x2), planes that
share a block of eight outputs (3x3, 2x2), wide rows (ResNet's stem pool),
padding, dilation, ceil_mode, channels_last and strided inputs, NaN,
infinities and ties, bf16. Max values and indices must equal the CPU's
exactly; sums use PyTorch's default tolerances."""
import pytest
import torch
import torch.nn.functional as F

import torch_accel  # noqa: F401

pytestmark = pytest.mark.usefixtures("no_fallback")

LAYOUTS = ["contiguous", "channels_last", "strided"]


def make(shape, seed, dtype, data="normal", layout="contiguous"):
    g = torch.Generator().manual_seed(seed)
    if data == "ties":
        x = torch.randint(-2, 3, shape, generator=g).float()
    else:
        x = torch.randn(shape, generator=g)
        if data == "special":
            r = torch.rand(shape, generator=g)
            x[r < 0.06] = float("nan")
            x[(r >= 0.06) & (r < 0.1)] = float("inf")
            x[(r >= 0.1) & (r < 0.14)] = -float("inf")
    return x.to(dtype)


def on_accel(x, layout):
    """x on accel in `layout` (strided: every other column of a wider map)."""
    if layout == "channels_last":
        return x.to("accel").contiguous(memory_format=torch.channels_last)
    if layout == "strided":
        wide = torch.zeros(x.shape[:-1] + (2 * x.shape[-1],), dtype=x.dtype, device="accel")
        wide[..., ::2] = x.to("accel")
        return wide[..., ::2]
    return x.to("accel")


# name: (shape, fn(x) -> (values, indices))
MAX_CASES = {
    "small_cnn_8x8_k2": ((16, 16, 8, 8), lambda t: F.max_pool2d(t, 2, return_indices=True)),
    "odd_planes_6x6_k2": ((3, 7, 6, 6), lambda t: F.max_pool2d(t, 2, return_indices=True)),
    "stem_k3s2p1": ((2, 3, 40, 37), lambda t: F.max_pool2d(t, 3, 2, 1, return_indices=True)),
    "k3s1p1": ((4, 6, 9, 7), lambda t: F.max_pool2d(t, 3, 1, 1, return_indices=True)),
    "dilated_ceil": ((2, 5, 11, 13), lambda t: F.max_pool2d(t, (3, 2), (2, 1), (1, 0), (1, 2), True, True)),
    "ceil_k3s2": ((4, 8, 8, 8), lambda t: F.max_pool2d(t, 3, 2, 0, 1, True, True)),
    "large_plane_k3s2p1": ((1, 2, 70, 66), lambda t: F.max_pool2d(t, 3, 2, 1, return_indices=True)),
    "adaptive_4x4_to_2": ((32, 32, 4, 4), lambda t: F.adaptive_max_pool2d(t, 2, True)),
    "adaptive_uneven": ((3, 5, 7, 10), lambda t: F.adaptive_max_pool2d(t, (3, 4), True)),
    "adaptive_grow": ((2, 3, 5, 6), lambda t: F.adaptive_max_pool2d(t, (7, 9), True)),
}


@pytest.mark.parametrize("data", ["normal", "ties", "special"])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", list(MAX_CASES))
def test_max_pools_equal_cpu(name, layout, data):
    shape, fn = MAX_CASES[name]
    x = make(shape, 0, torch.float32, data)
    y, i = fn(on_accel(x, layout))
    y_ref, i_ref = fn(x)
    torch.testing.assert_close(y.cpu(), y_ref, rtol=0, atol=0, equal_nan=True)
    assert torch.equal(i.cpu(), i_ref)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", list(MAX_CASES))
def test_max_pool_gradients(name, layout, dtype):
    """Gradients sum in fp32 in output order, as the CPU's fp32 kernel adds
    them (its bf16 kernel rounds each partial sum to bf16)."""
    shape, fn = MAX_CASES[name]
    x = make(shape, 1, dtype, "ties")  # ties: the gradient goes to the first maximum
    xa = on_accel(x, layout).detach().requires_grad_()
    xc = x.float().requires_grad_()
    ya, ia = fn(xa)
    yc, ic = fn(xc)
    assert torch.equal(ya.cpu(), yc.to(dtype)) and torch.equal(ia.cpu(), ic)
    g = make(yc.shape, 2, dtype)
    ya.backward(g.to("accel"))
    yc.backward(g.float())
    assert torch.equal(xa.grad.cpu(), xc.grad.to(dtype))


AVG_CASES = {
    "small_cnn_8x8_k2": ((16, 16, 8, 8), lambda t: F.avg_pool2d(t, 2)),
    "odd_planes_6x6_k2": ((3, 7, 6, 6), lambda t: F.avg_pool2d(t, 2)),
    "stem_k3s2p1": ((2, 3, 40, 37), lambda t: F.avg_pool2d(t, 3, 2, 1)),
    "k3s1p1_nopad_count": ((4, 6, 9, 7), lambda t: F.avg_pool2d(t, 3, 1, 1, count_include_pad=False)),
    "ceil_nopad": ((2, 5, 11, 13), lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False)),
    "ceil_pad": ((2, 5, 11, 13), lambda t: F.avg_pool2d(t, (2, 3), (2, 2), (1, 1), ceil_mode=True)),
    "divisor": ((3, 4, 9, 9), lambda t: F.avg_pool2d(t, (2, 3), (1, 2), (1, 1), divisor_override=5)),
    "adaptive_4x4_to_2": ((32, 32, 4, 4), lambda t: F.adaptive_avg_pool2d(t, 2)),
    "adaptive_uneven": ((3, 5, 7, 10), lambda t: F.adaptive_avg_pool2d(t, (3, 4))),
    "adaptive_grow": ((2, 3, 5, 6), lambda t: F.adaptive_avg_pool2d(t, (7, 9))),
    "adaptive_7x7_to_1x1": ((4, 20, 7, 7), lambda t: torch.ops.aten._adaptive_avg_pool2d(t, [1, 1])),
}


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", list(AVG_CASES))
def test_avg_pools_and_gradients(name, layout, dtype):
    """Against the CPU's fp32 kernels (sums in fp32, as accel's), rounded."""
    shape, fn = AVG_CASES[name]
    x = make(shape, 3, dtype)
    xa = on_accel(x, layout).detach().requires_grad_()
    xc = x.float().requires_grad_()
    ya, yc = fn(xa), fn(xc)
    torch.testing.assert_close(ya.cpu(), yc.to(dtype))
    g = make(yc.shape, 4, dtype)
    ya.backward(g.to("accel"))
    yc.backward(g.float())
    torch.testing.assert_close(xa.grad.cpu(), xc.grad.to(dtype))


@pytest.mark.parametrize("name", ["small_cnn_8x8_k2", "stem_k3s2p1", "adaptive_4x4_to_2", "adaptive_uneven"])
def test_avg_pools_propagate_nan_and_inf(name):
    shape, fn = AVG_CASES[name]
    x = make(shape, 5, torch.float32, "special")
    torch.testing.assert_close(fn(on_accel(x, "contiguous")).cpu(), fn(x), equal_nan=True)


def test_plane_split_across_cores():
    """Planes larger than a tile split over cores mid-plane; many tiny planes
    split mid-period: every output is computed once, on the right plane."""
    for shape, k in (((1, 2, 90, 90), 1), ((3, 45, 5, 5), 2), ((1, 1001, 2, 2), 2)):
        x = make(shape, 6, torch.float32)
        y, i = F.max_pool2d(x.to("accel"), k, return_indices=True)
        y_ref, i_ref = F.max_pool2d(x, k, return_indices=True)
        assert torch.equal(y.cpu(), y_ref) and torch.equal(i.cpu(), i_ref)
        torch.testing.assert_close(F.avg_pool2d(x.to("accel"), k).cpu(), F.avg_pool2d(x, k))


@pytest.mark.parametrize("shape", [(2, 3, 8, 8), (1, 2, 70, 66)])
def test_max_pool_backward_takes_any_indices(shape):
    """Indices from elsewhere (not this forward's, outside their windows)
    scatter as on the CPU."""
    x = make(shape, 7, torch.float32)
    oh, ow = (shape[2] + 2 - 3) // 2 + 1, (shape[3] + 2 - 3) // 2 + 1
    g = make(shape[:2] + (oh, ow), 8, torch.float32)
    idx = torch.randint(0, shape[2] * shape[3], g.shape, generator=torch.Generator().manual_seed(9))
    args = ([3, 3], [2, 2], [1, 1], [1, 1], False)
    ref = torch.ops.aten.max_pool2d_with_indices_backward(g, x, *args, idx)
    out = torch.ops.aten.max_pool2d_with_indices_backward(g.to("accel"), x.to("accel"), *args, idx.to("accel"))
    torch.testing.assert_close(out.cpu(), ref)
