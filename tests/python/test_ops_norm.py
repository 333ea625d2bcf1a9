"""Softmax, layer/RMS/group/batch norm on accel against CPU ATen, forward and
backward (gradients vs CPU autograd in float32; float64 takes the counted
fallback, so no gradcheck). On the "tiny" chip (256 KiB L1) rows of a few
thousand float32 elements no longer fit and take the two-pass programs."""
import pytest
import torch
import torch.nn.functional as F

import torch_accel

pytestmark = pytest.mark.usefixtures("no_fallback")

LOW = [torch.bfloat16, torch.float16]


def tol(dtype):
    return {torch.bfloat16: dict(rtol=2e-2, atol=2e-2), torch.float16: dict(rtol=2e-3, atol=2e-3)}.get(
        dtype, dict(rtol=1e-4, atol=1e-4))


def make(shape, seed, dtype=torch.float32, scale=2.0, shift=0.5):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=g) * scale + shift).to(dtype)


def grads_match(fn, cpu_inputs, seed=9, atol=1e-4, rtol=1e-4):
    """fn's outputs and the gradients of every input on accel vs CPU autograd."""
    cpu = [t.clone().requires_grad_() for t in cpu_inputs]
    dev = [t.to("accel").requires_grad_() for t in cpu_inputs]
    yc, yd = fn(*cpu), fn(*dev)
    torch.testing.assert_close(yd.cpu(), yc, atol=atol, rtol=rtol)
    go = make(yc.shape, seed)
    gc = torch.autograd.grad(yc, cpu, go)
    gd = torch.autograd.grad(yd, dev, go.to("accel"))
    for a, b in zip(gd, gc):
        torch.testing.assert_close(a.cpu(), b, atol=atol, rtol=rtol)


SOFTMAX_CASES = [((), 0), ((1,), 0), ((0, 4), 1), ((7, 45), -1), ((7, 45), 0), ((2, 3, 33, 17), 1),
                 ((3, 5000), 1), ((4, 3000, 5), 1), ((4, 70, 40), 1)]


@pytest.mark.parametrize("fn", [F.softmax, F.log_softmax], ids=["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim", SOFTMAX_CASES)
def test_softmax_forward_backward(fn, shape, dim):
    grads_match(lambda x: fn(x, dim=dim), [make(shape, 0)])


@pytest.mark.parametrize("fn", [torch.softmax, torch.log_softmax])
@pytest.mark.parametrize("dtype", LOW)
def test_softmax_low_precision_and_noncontiguous(fn, dtype):
    x = make((40, 66), 1, dtype)
    torch.testing.assert_close(fn(x.to("accel"), 1).cpu(), fn(x, 1), **tol(dtype))
    xt = make((66, 40), 2).t()
    torch.testing.assert_close(fn(xt.to("accel"), 0).cpu(), fn(xt, 0))


def test_softmax_out_and_backward_data_ops():
    x, g = make((5, 37), 3), make((5, 37), 4)
    for op, bw, kw in [(torch._softmax, torch._softmax_backward_data, "grad_input"),
                       (torch._log_softmax, torch._log_softmax_backward_data, "out")]:
        out = torch.empty(0, device="accel")
        op(x.to("accel"), 1, False, out=out)
        y = op(x, 1, False)
        torch.testing.assert_close(out.cpu(), y)
        gi = torch.empty(0, device="accel")
        bw(g.to("accel"), y.to("accel"), 1, torch.float32, **{kw: gi})
        torch.testing.assert_close(gi.cpu(), bw(g, y, 1, torch.float32))


def test_softmax_masks_and_errors():
    x = make((3, 8), 5)
    x[:, 2:5] = float("-inf")
    torch.testing.assert_close(torch.softmax(x.to("accel"), 1).cpu(), torch.softmax(x, 1))
    torch.testing.assert_close(torch.log_softmax(x.to("accel"), 1).cpu(), torch.log_softmax(x, 1))
    with pytest.raises(RuntimeError, match="half to float"):
        torch._softmax(x.half().to("accel"), 1, True)
    with pytest.raises(IndexError):
        torch.softmax(x.to("accel"), 3)


def test_softmax_records_resident_and_two_pass():
    small, big = torch.randn(64, 256, device="accel"), torch.randn(64, 8192, device="accel")
    with torch_accel.profile() as prof:
        torch.softmax(small, -1)
        torch.softmax(big, -1)
    r_small, r_big = prof.records
    assert r_small["reader"].endswith("resident") and r_big["reader"].endswith("two_pass")
    assert r_small["tiles"] == 2 * 8 and r_small["dram_read_bytes"] == 16 * 4096
    assert r_big["dram_read_bytes"] == 2 * r_big["dram_write_bytes"]
    assert r_small["compute_engine"] == "sfpu" and r_small["l1_bytes_per_core"] > 0


LN_CASES = [((7, 45), [45]), ((2, 3, 4, 5), [4, 5]), ((3, 5000), [5000]), ((0, 8), [8]), ((1, 1), [1])]


@pytest.mark.parametrize("shape,ns", LN_CASES)
@pytest.mark.parametrize("affine", ["wb", "w", "none"])
def test_layer_norm(shape, ns, affine):
    params = [make(ns, 1), make(ns, 2)][: {"wb": 2, "w": 1, "none": 0}[affine]]
    grads_match(lambda x, *p: F.layer_norm(x, ns, *p), [make(shape, 0)] + params, atol=2e-4, rtol=2e-4)


@pytest.mark.parametrize("shape,ns", LN_CASES)
@pytest.mark.parametrize("weight", [True, False])
def test_rms_norm(shape, ns, weight):
    params = [make(ns, 1)] if weight else []
    grads_match(lambda x, *p: F.rms_norm(x, ns, *p), [make(shape, 0)] + params, atol=2e-4, rtol=2e-4)
    grads_match(lambda x, *p: F.rms_norm(x, ns, *p, eps=1e-3), [make(shape, 0)] + params, atol=2e-4, rtol=2e-4)


@pytest.mark.parametrize("dtype", LOW)
def test_layer_and_rms_norm_low_precision_and_mixed(dtype):
    x, w, b = make((6, 70), 0, dtype), make(70, 1), make(70, 2)
    for args in [(w.to(dtype), b.to(dtype)), (w, b)]:  # same dtype and fp32 parameters
        got = torch.native_layer_norm(x.to("accel"), [70], *[a.to("accel") for a in args], 1e-5)
        want = torch.native_layer_norm(x, [70], *args, 1e-5)
        for u, v in zip(got, want):
            assert u.dtype == v.dtype and u.shape == v.shape
            torch.testing.assert_close(u.cpu(), v, **tol(dtype))
    torch.testing.assert_close(F.rms_norm(x.to("accel"), [70], w.to(dtype).to("accel")).cpu(),
                               F.rms_norm(x, [70], w.to(dtype)), **tol(dtype))


def test_layer_norm_errors():
    x = torch.randn(3, 4, device="accel")
    with pytest.raises(RuntimeError, match="normalized_shape"):
        F.layer_norm(x, [5])
    with pytest.raises(RuntimeError, match="weight"):
        F.layer_norm(x, [4], torch.randn(5, device="accel"))
    with pytest.raises(RuntimeError, match="mixed dtype"):
        torch.native_layer_norm(x, [4], torch.randn(4, device="accel").bfloat16(), None, 1e-5)


@pytest.mark.parametrize("shape,groups", [((2, 6, 5, 7), 3), ((3, 4, 100, 200), 2), ((2, 4), 4), ((1, 8, 33), 1)])
@pytest.mark.parametrize("affine", [True, False])
def test_group_norm(shape, groups, affine):
    c = shape[1]
    params = [make(c, 1), make(c, 2)] if affine else []
    grads_match(lambda x, *p: F.group_norm(x, groups, *p), [make(shape, 0)] + params, atol=1e-3, rtol=1e-3)


def test_group_norm_mixed_and_errors():
    x, w, b = make((2, 4, 9), 0, torch.bfloat16), make(4, 1), make(4, 2)
    got = torch.native_group_norm(x.to("accel"), w.to("accel"), b.to("accel"), 2, 4, 9, 2, 1e-5)
    for u, v in zip(got, torch.native_group_norm(x, w, b, 2, 4, 9, 2, 1e-5)):
        assert u.dtype == v.dtype
        torch.testing.assert_close(u.cpu(), v, **tol(torch.bfloat16))
    with pytest.raises(RuntimeError, match="divisible"):
        F.group_norm(torch.randn(2, 6, 3, device="accel"), 4)


BN_SHAPES = [(4, 3, 5, 6), (8, 5), (2, 3, 150, 150), (3, 2, 7)]


@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm(shape, training):
    c = shape[1]
    rm, rv = make(c, 3, scale=1.0), make(c, 4, scale=0.2, shift=1.0).abs()
    rmd, rvd = rm.to("accel"), rv.to("accel")
    grads_match(lambda x, w, b: F.batch_norm(x, rmd if x.device.type == "accel" else rm,
                                             rvd if x.device.type == "accel" else rv, w, b, training=training,
                                             momentum=0.3), [make(shape, 0), make(c, 1), make(c, 2)],
                atol=1e-3, rtol=1e-3)
    torch.testing.assert_close(rmd.cpu(), rm)
    torch.testing.assert_close(rvd.cpu(), rv)


def test_batch_norm_entry_points_and_mixed_dtype():
    x, w, b = make((4, 3, 5), 0), make(3, 1), make(3, 2)
    d = [t.to("accel") for t in (x, w, b)]
    for training in [True, False]:
        rm, rv = torch.zeros(3), torch.ones(3)
        rmd, rvd = rm.to("accel"), rv.to("accel")
        got = torch.native_batch_norm(*d, rmd, rvd, training, 0.1, 1e-5)
        want = torch.native_batch_norm(x, w, b, rm, rv, training, 0.1, 1e-5)
        for u, v in zip(got, want):
            assert u.shape == v.shape
            torch.testing.assert_close(u.cpu(), v)
        torch.testing.assert_close(rvd.cpu(), rv)
    got = torch._native_batch_norm_legit_no_training(*d, torch.zeros(3, device="accel"), torch.ones(3, device="accel"), 0.1, 1e-5)
    torch.testing.assert_close(got[0].cpu(), torch._native_batch_norm_legit_no_training(x, w, b, torch.zeros(3), torch.ones(3), 0.1, 1e-5)[0])
    got = torch._native_batch_norm_legit(d[0], d[1], d[2], True, 0.1, 1e-5)
    torch.testing.assert_close(got[0].cpu(), torch._native_batch_norm_legit(x, w, b, True, 0.1, 1e-5)[0])
    # bfloat16 activations with fp32 parameters and statistics, as CPU allows.
    xb, rm, rv = x.bfloat16(), torch.zeros(3), torch.ones(3)
    rmd, rvd = rm.to("accel"), rv.to("accel")
    got = torch.native_batch_norm(xb.to("accel"), d[1], d[2], rmd, rvd, True, 0.1, 1e-5)
    want = torch.native_batch_norm(xb, w, b, rm, rv, True, 0.1, 1e-5)
    for u, v in zip(got, want):
        assert u.dtype == v.dtype
        torch.testing.assert_close(u.cpu(), v, **tol(torch.bfloat16))
    torch.testing.assert_close(rmd.cpu(), rm)


def test_batch_norm_channels_last_and_errors():
    x = make((2, 3, 4, 5), 0).to(memory_format=torch.channels_last)
    torch.testing.assert_close(F.batch_norm(x.to("accel"), None, None, training=True).cpu(),
                               F.batch_norm(x, None, None, training=True))
    with pytest.raises(RuntimeError, match="running_mean"):
        F.batch_norm(x.to("accel"), torch.zeros(4, device="accel"), torch.ones(4, device="accel"), training=True)


def test_float64_takes_counted_fallback():
    torch_accel.set_fallback_policy("silent")
    x = make((3, 7), 0, torch.float64)
    torch.testing.assert_close(torch.softmax(x.to("accel"), 1).cpu(), torch.softmax(x, 1))
    torch.testing.assert_close(F.layer_norm(x.to("accel"), [7]).cpu(), F.layer_norm(x, [7]))
    assert set(torch_accel.fallback_stats()) == {"aten::_softmax", "aten::native_layer_norm"}
    torch_accel.reset_fallback_stats()
