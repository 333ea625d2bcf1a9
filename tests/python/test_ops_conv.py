"""Convolutions, pooling and resampling on accel against CPU ATen: forward values
and autograd gradients (input, weight, bias), odd shapes, strides, groups,
dilation, channels_last and non-contiguous inputs, reduced precision; none may
fall back to the CPU."""
import pytest
import torch
import torch.nn.functional as F

import torch_accel

pytestmark = pytest.mark.usefixtures("no_fallback")


@pytest.fixture(params=["library", "im2col"], autouse=True)
def conv_host_path(request, monkeypatch):
    """Every test runs on both of the host's ways to compute an fp32 HiFi4
    convolution: the library's (oneDNN) and the chip's im2col programs."""
    monkeypatch.setenv("TORCH_ACCEL_LIBRARY_CONV", "1" if request.param == "library" else "0")
    return request.param


def _conv_step_records(x, w):
    x = x.detach().requires_grad_()
    w = w.detach().requires_grad_()
    with torch_accel.profile() as prof:
        F.conv2d(x, w, padding=1, stride=2).sum().backward()
    return [{k: v for k, v in r.items() if k != "executor"} for r in prof.records]


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_library_conv_records_the_chip_program(monkeypatch, dtype):
    """The host's choice of arithmetic changes no program: the records of the
    forward and both gradients equal the im2col programs' exactly."""
    x, w = make((2, 8, 13, 11), 0).to(dtype).to("accel"), make((16, 8, 3, 3), 1).to(dtype).to("accel")
    monkeypatch.setenv("TORCH_ACCEL_LIBRARY_CONV", "1")
    library = _conv_step_records(x, w)
    monkeypatch.setenv("TORCH_ACCEL_LIBRARY_CONV", "0")
    im2col = _conv_step_records(x, w)
    assert library == im2col
    assert any("convolution_backward.weight" in r["op"] for r in library)


def test_library_conv_keeps_lower_fidelity_on_the_chip_path(monkeypatch):
    """LoFi truncates operands: only the chip's programs compute that, so the
    library must not run (its result would be the full-precision one)."""
    x, w = make((2, 4, 9, 9), 0), make((6, 4, 3, 3), 1)
    results = {}
    for path in ("1", "0"):
        monkeypatch.setenv("TORCH_ACCEL_LIBRARY_CONV", path)
        with torch_accel.compute_config(math_fidelity="LoFi"):
            results[path] = F.conv2d(x.to("accel"), w.to("accel"), padding=1).cpu()
    torch.testing.assert_close(results["1"], results["0"], rtol=0, atol=0)
    assert not torch.allclose(results["1"], F.conv2d(x, w, padding=1), rtol=1e-5, atol=1e-5)


def tol(dtype):
    # float16: PyTorch's own override for conv2d when the accumulation order
    # differs from eager CPU (OpInfo nn.functional.conv2d, TestInductorOpInfo),
    # so one-ulp rounding flips pass on any CPU.
    return {torch.bfloat16: dict(rtol=2e-2, atol=5e-2), torch.float16: dict(rtol=1e-3, atol=5e-3)}.get(
        dtype, dict(rtol=1e-4, atol=1e-4))


def make(shape, seed, dtype=torch.float32, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=g) * scale).to(dtype)


def check_grads(fn, cpu_inputs, dtype=torch.float32, layout=None):
    """fn on CPU and accel, forward and backward of a random output gradient."""
    dev = [t.to("accel") for t in cpu_inputs]
    if layout is not None:
        dev[0] = layout(dev[0])
    cpu = [t.clone().requires_grad_() for t in cpu_inputs]
    dev = [t.detach().requires_grad_() for t in dev]
    y, y_dev = fn(*cpu), fn(*dev)
    torch.testing.assert_close(y_dev.cpu(), y, **tol(dtype))
    g = make(y.shape, 99, dtype)
    y.backward(g)
    y_dev.backward(g.to("accel"))
    for a, b in zip(dev, cpu):
        torch.testing.assert_close(a.grad.cpu(), b.grad, **tol(dtype))


CONV2D = [
    # (N, Cin, H, W), (Cout, Cin/groups, R, S), kwargs
    ((2, 3, 9, 11), (5, 3, 3, 3), dict(padding=1)),
    ((1, 4, 10, 10), (6, 4, 1, 1), dict()),
    ((2, 3, 23, 19), (4, 3, 7, 7), dict(stride=2, padding=3)),
    ((2, 4, 9, 11), (6, 2, 3, 2), dict(stride=(2, 1), padding=(1, 0), dilation=(2, 1), groups=2)),
    ((2, 6, 8, 7), (6, 1, 3, 3), dict(padding=1, groups=6)),  # depthwise
    ((1, 5, 9, 9), (7, 5, 4, 4), dict(padding="same")),
    ((2, 3, 8, 8), (4, 3, 3, 3), dict(padding="valid", stride=3)),
    ((1, 40, 12, 12), (36, 40, 3, 3), dict(padding=1)),  # K spans several tiles
]


@pytest.mark.parametrize("xs,ws,kw", CONV2D)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d(xs, ws, kw, bias):
    inputs = [make(xs, 0), make(ws, 1, scale=0.3)] + ([make(ws[0], 2)] if bias else [])
    check_grads(lambda x, w, *b: F.conv2d(x, w, *b, **kw), inputs)


@pytest.mark.parametrize("layout", ["channels_last", "transposed_view"])
def test_conv2d_layouts(layout):
    x, w, b = make((2, 6, 9, 10), 0), make((8, 6, 3, 3), 1, scale=0.3), make(8, 2)
    fmt = {
        "channels_last": lambda t: t.contiguous(memory_format=torch.channels_last),
        "transposed_view": lambda t: t.transpose(2, 3).contiguous().transpose(2, 3),
    }[layout]
    check_grads(lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1), [x, w, b], layout=fmt)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_conv2d_reduced_precision(dtype):
    x, w, b = make((2, 8, 10, 10), 0, dtype), make((4, 8, 3, 3), 1, dtype, 0.2), make(4, 2, dtype)
    y = F.conv2d(x.to("accel"), w.to("accel"), b.to("accel"), padding=1)
    assert y.dtype == dtype
    ref = F.conv2d(x.float(), w.float(), b.float(), padding=1).to(dtype)
    torch.testing.assert_close(y.cpu(), ref, **tol(dtype))
    check_grads(lambda x, w, b: F.conv2d(x, w, b, padding=1), [x, w, b], dtype)


@pytest.mark.parametrize("kw", [dict(padding=2), dict(stride=2, dilation=2, groups=2), dict(padding="same")])
def test_conv1d(kw):
    check_grads(lambda x, w, b: F.conv1d(x, w, b, **kw), [make((2, 4, 17), 0), make((6, 2 if kw.get("groups") else 4, 5), 1), make(6, 2)])


@pytest.mark.parametrize("kw", [dict(stride=2, padding=1, output_padding=1), dict(stride=3, groups=2), dict(dilation=2, padding=2)])
def test_conv_transpose2d(kw):
    cin = 4
    w = make((cin, 3, 3, 3), 1, scale=0.3)
    check_grads(lambda x, w, b: F.conv_transpose2d(x, w, b, **kw), [make((2, cin, 5, 6), 0), w, make(3 * kw.get("groups", 1), 2)])


def test_conv2d_empty_batch_and_single_pixel():
    w = make((3, 2, 1, 1), 1)
    y = F.conv2d(torch.empty(0, 2, 4, 4, device="accel"), w.to("accel"))
    assert y.shape == (0, 3, 4, 4)
    check_grads(lambda x, w: F.conv2d(x, w), [make((1, 2, 1, 1), 0), w])


def test_conv2d_records_program():
    x, w = make((2, 4, 8, 8), 0).to("accel"), make((6, 4, 3, 3), 1).to("accel")
    with torch_accel.profile() as prof:
        F.conv2d(x, w, padding=1)
    recs = [r for r in prof.records if r["op"] == "aten::convolution"]
    assert len(recs) == 1
    assert recs[0]["compute_engine"] == "matrix"
    assert recs[0]["flops"] == 2 * 2 * 8 * 8 * 6 * 4 * 3 * 3


def test_conv_errors_match_cpu():
    x, w = torch.randn(1, 3, 5, 5), torch.randn(4, 2, 3, 3)
    with pytest.raises(RuntimeError):
        F.conv2d(x, w)
    with pytest.raises(RuntimeError):
        F.conv2d(x.to("accel"), w.to("accel"))
    with pytest.raises(RuntimeError):
        F.conv2d(x.to("accel"), torch.randn(4, 3, 3, 3, dtype=torch.bfloat16, device="accel"))


POOLS = {
    "max_3x3_s2": lambda t: F.max_pool2d(t, 3, 2, 1),
    "max_dil_ceil": lambda t: F.max_pool2d(t, (3, 2), (2, 1), (1, 0), dilation=(1, 2), ceil_mode=True),
    "avg_3x3_s2": lambda t: F.avg_pool2d(t, 3, 2, 1),
    "avg_ceil_nopad": lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False),
    "avg_divisor": lambda t: F.avg_pool2d(t, 2, divisor_override=3),
    "adaptive_avg": lambda t: F.adaptive_avg_pool2d(t, (4, 5)),
    "adaptive_avg_grow": lambda t: F.adaptive_avg_pool2d(t, (13, 17)),
    "adaptive_max": lambda t: F.adaptive_max_pool2d(t, (4, 5)),
    "nearest_x2": lambda t: F.interpolate(t, scale_factor=2, mode="nearest"),
    "nearest_size": lambda t: F.interpolate(t, size=(7, 20), mode="nearest"),
    "bilinear": lambda t: F.interpolate(t, size=(7, 20), mode="bilinear", align_corners=False),
    "bilinear_scale": lambda t: F.interpolate(t, scale_factor=1.7, mode="bilinear", align_corners=False),
    "bilinear_corners": lambda t: F.interpolate(t, size=(17, 20), mode="bilinear", align_corners=True),
}


@pytest.mark.parametrize("name", list(POOLS))
@pytest.mark.parametrize("layout", ["contiguous", "channels_last"])
def test_pool(name, layout):
    fmt = None if layout == "contiguous" else (lambda t: t.contiguous(memory_format=torch.channels_last))
    check_grads(POOLS[name], [make((2, 3, 11, 13), 0)], layout=fmt)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("name", ["max_3x3_s2", "avg_3x3_s2", "adaptive_avg", "bilinear"])
def test_pool_reduced_precision(name, dtype):
    check_grads(POOLS[name], [make((2, 3, 11, 13), 0, dtype)], dtype)


def test_max_pool2d_indices_and_nan():
    x = make((1, 2, 6, 6), 0)
    x[0, 0, 1, 1] = float("nan")
    y, i = F.max_pool2d(x.to("accel"), 2, return_indices=True)
    y_ref, i_ref = F.max_pool2d(x, 2, return_indices=True)
    torch.testing.assert_close(y.cpu(), y_ref, equal_nan=True)
    assert torch.equal(i.cpu(), i_ref)
    out, idx = torch.empty(0, device="accel"), torch.empty(0, dtype=torch.long, device="accel")
    torch.ops.aten.max_pool2d_with_indices.out(x.to("accel"), [2, 2], [2, 2], [0, 0], [1, 1], False, out=out, indices=idx)
    torch.testing.assert_close(out.cpu(), y_ref, equal_nan=True)


def test_pool_unbatched_and_out():
    x = make((3, 9, 8), 0)
    check_grads(lambda t: F.max_pool2d(t, 3, 2, 1), [x])
    out = torch.empty(0, device="accel")
    torch.ops.aten.avg_pool2d.out(x.to("accel"), [2, 2], [2, 2], [0, 0], False, True, None, out=out)
    torch.testing.assert_close(out.cpu(), F.avg_pool2d(x, 2))


def test_pool_errors_match_cpu():
    x = torch.randn(1, 2, 4, 4)
    for fn in (lambda t: F.max_pool2d(t, 3, padding=2), lambda t: F.avg_pool2d(t, 2, divisor_override=0),
               lambda t: F.max_pool2d(t, 5)):
        with pytest.raises(RuntimeError):
            fn(x)
        with pytest.raises(RuntimeError):
            fn(x.to("accel"))


def test_float64_falls_back_counted():
    x, w = torch.randn(1, 2, 5, 5, dtype=torch.float64), torch.randn(3, 2, 3, 3, dtype=torch.float64)
    torch.testing.assert_close(F.conv2d(x.to("accel"), w.to("accel")).cpu(), F.conv2d(x, w))
    xa = x.to("accel").requires_grad_()
    F.conv2d(xa, w.to("accel")).sum().backward()
    x.requires_grad_()
    F.conv2d(x, w).sum().backward()
    torch.testing.assert_close(xa.grad.cpu(), x.grad)
    torch.testing.assert_close(F.max_pool2d(x.to("accel"), 2).cpu(), F.max_pool2d(x, 2))
    assert torch_accel.fallback_stats()
    torch_accel.reset_fallback_stats()
