"""Batch norm with its activation in training graphs: the forward's batch norm
feeding only an activation runs as accel::batch_norm_act, the activation's
gradient feeding only the batch norm's backward as
accel::batch_norm_act_backward. Both give the separate ops' numbers, with a
program and a DRAM round trip fewer."""
import copy
import pathlib
import sys

import pytest
import torch
import torch.nn.functional as F

import torch_accel
from torch_accel.compile.backend import lowered_graphs

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "examples"))
from vision import cnn  # noqa: E402

pytestmark = pytest.mark.usefixtures("fresh_dynamo")

aten = torch.ops.aten
ACTS = {"relu": F.relu, "gelu": F.gelu, "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"), "silu": F.silu}
BACKWARDS = {
    "relu": lambda g, s: aten.threshold_backward(g, s, 0),
    "gelu": lambda g, s: aten.gelu_backward(g, s),
    "gelu_tanh": lambda g, s: aten.gelu_backward(g, s, approximate="tanh"),
    "silu": lambda g, s: aten.silu_backward(g, s),
}
SHAPES = [(16, 8, 6, 6), (32, 5), (16, 2, 128, 128)]  # resident channels, no plane, streamed twice


def test_the_long_channels_stream_twice():
    x, w, b, rm, rv = _operands(SHAPES[2], torch.bfloat16)
    with torch_accel.profile() as prof:
        out = torch.ops.accel.batch_norm_act(x, w, b, rm, rv, True, 0.1, 1e-5, "relu")
        torch.ops.accel.batch_norm_act_backward(x, out[0], "relu", x, w, rm, rv, out[1], out[2], True, 1e-5,
                                                [True, True, True])
    assert [r["reader"] for r in prof.records] == ["reader_norm_row_two_pass"] * 2


def _operands(shape, dtype):
    torch.manual_seed(0)
    c = shape[1]
    x = torch.randn(shape, dtype=dtype, device="accel") * 2 + 0.5
    w = torch.randn(c, dtype=dtype, device="accel")
    b = torch.randn(c, dtype=dtype, device="accel")
    return x, w, b, torch.randn(c, device="accel", dtype=dtype), torch.rand(c, device="accel", dtype=dtype) + 0.5


def _equal(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        assert torch.equal(g.cpu(), w.cpu())


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("act", list(ACTS))
def test_forward_matches_batch_norm_then_activation(act, shape, dtype):
    x, w, b, rm, rv = _operands(shape, dtype)
    rm2, rv2 = rm.clone(), rv.clone()
    y, mean, invstd = aten._native_batch_norm_legit(x, w, b, rm, rv, True, 0.1, 1e-5)
    got = torch.ops.accel.batch_norm_act(x, w, b, rm2, rv2, True, 0.1, 1e-5, act)
    # The activation reads the norm's output as stored, as the separate op does.
    _equal(got, (ACTS[act](y), mean, invstd))
    _equal((rm2, rv2), (rm, rv))  # running statistics updated in place, alike


@pytest.mark.parametrize("act", ["relu", "silu"])
def test_forward_without_running_stats_and_in_evaluation(act):
    x, w, b, rm, rv = _operands((8, 4, 5, 5), torch.float32)
    y, mean, invstd = aten._native_batch_norm_legit.no_stats(x, w, b, True, 0.1, 1e-5)
    _equal(torch.ops.accel.batch_norm_act(x, w, b, None, None, True, 0.1, 1e-5, act), (ACTS[act](y), mean, invstd))
    y, mean, invstd = aten._native_batch_norm_legit_no_training(x, w, b, rm, rv, 0.1, 1e-5)
    _equal(torch.ops.accel.batch_norm_act(x, w, b, rm, rv, False, 0.1, 1e-5, act), (ACTS[act](y), mean, invstd))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("act", list(ACTS))
def test_backward_matches_activation_backward_then_batch_norm_backward(act, shape, dtype):
    x, w, b, rm, rv = _operands(shape, dtype)
    y, mean, invstd = aten._native_batch_norm_legit(x, w, b, rm, rv, True, 0.1, 1e-5)
    saved = F.relu(y) if act == "relu" else y  # what each activation's backward reads
    grad = torch.randn(shape, dtype=dtype, device="accel")
    mask = [True, True, True]
    want = aten.native_batch_norm_backward(BACKWARDS[act](grad, saved), x, w, rm, rv, mean, invstd, True, 1e-5, mask)
    got = torch.ops.accel.batch_norm_act_backward(grad, saved, act, x, w, rm, rv, mean, invstd, True, 1e-5, mask)
    _equal(got, want)


def test_backward_leaves_out_unwanted_gradients():
    x, w, b, rm, rv = _operands((8, 4, 5, 5), torch.float32)
    y, mean, invstd = aten._native_batch_norm_legit(x, w, b, rm, rv, True, 0.1, 1e-5)
    grad = torch.randn_like(x)
    dx, dw, db = torch.ops.accel.batch_norm_act_backward(grad, F.relu(y), "relu", x, w, rm, rv, mean, invstd, True,
                                                         1e-5, [True, False, False])
    want = aten.native_batch_norm_backward(aten.threshold_backward(grad, F.relu(y), 0), x, w, rm, rv, mean, invstd,
                                           True, 1e-5, [True, False, False])
    assert dw is None and db is None
    assert torch.equal(dx.cpu(), want[0].cpu())


def test_records_save_the_activation_round_trip():
    x, w, b, rm, rv = _operands((64, 16, 8, 8), torch.float32)
    with torch_accel.profile() as separate:
        y = aten._native_batch_norm_legit(x, w, b, rm, rv, True, 0.1, 1e-5)
        r = F.relu(y[0])
        g = aten.threshold_backward(torch.ones_like(x), r, 0)
        aten.native_batch_norm_backward(g, x, w, rm, rv, y[1], y[2], True, 1e-5, [True, True, True])
    with torch_accel.profile() as fused:
        out = torch.ops.accel.batch_norm_act(x, w, b, rm, rv, True, 0.1, 1e-5, "relu")
        torch.ops.accel.batch_norm_act_backward(torch.ones_like(x), out[0], "relu", x, w, rm, rv, out[1], out[2],
                                                True, 1e-5, [True, True, True])
    kept = [r for r in separate.records if r["op"] != "aten::ones_like" and "fill" not in r["op"]]
    ops = [r["op"] for r in fused.records if "fill" not in r["op"]]
    assert ops == ["accel::batch_norm_act", "accel::batch_norm_act_backward"]
    assert [r["compute"] for r in fused.records if r["op"] in ops] == ["batch_norm_act_sfpu", "batch_norm_act_bw_sfpu"]
    tensor = x.numel() * 4
    fused_bytes = sum(r["dram_read_bytes"] + r["dram_write_bytes"] for r in fused.records if r["op"] in ops)
    separate_bytes = sum(r["dram_read_bytes"] + r["dram_write_bytes"] for r in kept)
    # relu's read and write of the norm's output; the gradient's write and its second read.
    assert separate_bytes - fused_bytes >= 3 * tensor


def test_meta_kernels_give_the_shapes_and_dtypes():
    x = torch.empty(8, 4, 5, 5, device="meta", dtype=torch.bfloat16)
    w = torch.empty(4, device="meta", dtype=torch.bfloat16)
    y, mean, invstd = torch.ops.accel.batch_norm_act(x, w, w, w, w, True, 0.1, 1e-5, "silu")
    assert (y.shape, y.dtype, mean.shape, invstd.shape) == (x.shape, x.dtype, (4,), (4,))
    mixed = torch.empty(4, device="meta")  # float32 parameters: float32 statistics, as ATen's
    assert torch.ops.accel.batch_norm_act(x, mixed, mixed, None, None, True, 0.1, 1e-5, "relu")[1].dtype \
        == torch.float32
    dx, dw, db = torch.ops.accel.batch_norm_act_backward(x, x, "gelu", x, w, None, None, mean, invstd, True, 1e-5,
                                                         [True, False, True])
    assert dx.shape == x.shape and dw is None and db.shape == (4,)


def test_bad_arguments_are_clear_errors():
    x, w, b, rm, rv = _operands((8, 4, 5, 5), torch.float32)
    with pytest.raises(ValueError, match="act must be one of relu, gelu, gelu_tanh, silu"):
        torch.ops.accel.batch_norm_act(x, w, b, rm, rv, True, 0.1, 1e-5, "tanh")
    with pytest.raises(ValueError, match="act must be one of"):
        torch.ops.accel.batch_norm_act(x, w, b, rm, rv, True, 0.1, 1e-5, "none")
    with pytest.raises(TypeError, match="expected a float32, bfloat16 or float16 input"):
        torch.ops.accel.batch_norm_act(x.int(), None, None, None, None, True, 0.1, 1e-5, "relu")
    _, mean, invstd = aten._native_batch_norm_legit(x, w, b, rm, rv, True, 0.1, 1e-5)
    with pytest.raises(RuntimeError, match="like the input"):
        torch.ops.accel.batch_norm_act_backward(x, x[:4], "relu", x, w, rm, rv, mean, invstd, True, 1e-5,
                                                [True, True, True])
    with pytest.raises(RuntimeError, match="weight should contain 4 elements"):
        torch.ops.accel.batch_norm_act(x, w[:3], b, rm, rv, True, 0.1, 1e-5, "relu")


def _cnn_step(model, x, y):
    model.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    return loss.detach(), [p.grad for p in model.parameters()]


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_compiled_cnn_training_step_fuses_and_matches_eager(dtype):
    torch.manual_seed(0)
    eager_model = cnn(8).to("accel", dtype)
    compiled_model = cnn(8).to("accel", dtype)
    compiled_model.load_state_dict(eager_model.state_dict())
    x = torch.randn(16, 1, 8, 8, device="accel", dtype=dtype)
    y = torch.randint(0, 10, (16,), device="accel")
    torch_accel.reset_compile_stats()
    compiled = torch.compile(compiled_model, backend="accel", dynamic=False)
    _cnn_step(compiled, x, y)  # compiles
    _cnn_step(eager_model, x, y)  # the running statistics take the same two steps
    with torch_accel.profile() as eager:
        want = _cnn_step(eager_model, x, y)
    with torch_accel.profile() as prof:
        got = _cnn_step(compiled, x, y)
    torch.testing.assert_close(got[0].cpu(), want[0].cpu())
    for g, w in zip(got[1], want[1]):
        torch.testing.assert_close(g.cpu(), w.cpu())
    for a, b in zip(compiled_model.buffers(), eager_model.buffers()):  # running stats, batches tracked
        torch.testing.assert_close(a.cpu(), b.cpu())
    ops = [r["op"] for r in prof.records]
    assert ops.count("accel::batch_norm_act") == ops.count("accel::batch_norm_act_backward") == 2
    assert "aten::relu" not in ops and "aten::threshold_backward" not in ops
    assert len(prof.records) < len(eager.records)
    assert prof.total_dram_bytes < eager.total_dram_bytes
    lines = [g.norm_fusions for g in lowered_graphs()]
    assert sum("accel::batch_norm_act " in text for group in lines for text in group) == 2
    assert sum("accel::batch_norm_act_backward" in text for group in lines for text in group) == 2


@pytest.mark.parametrize("act", ["silu", "gelu_tanh"])
def test_compiled_backward_fuses_an_activation_whose_input_is_saved(act):
    """silu and gelu save their input (the batch norm's output), so the forward
    keeps the two programs; the backward still takes the gradient in the
    batch norm's backward (gelu's approximate arrives as a keyword)."""
    torch.manual_seed(0)
    module = torch.nn.SiLU() if act == "silu" else torch.nn.GELU(approximate="tanh")
    eager_model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8), module).to("accel")
    compiled_model = copy.deepcopy(eager_model)
    x = torch.randn(4, 3, 10, 10, device="accel")
    compiled = torch.compile(compiled_model, backend="accel", dynamic=False)
    loss_of = lambda m: m(x).square().mean()  # noqa: E731
    loss_of(compiled).backward()
    compiled_model.zero_grad(set_to_none=True)
    loss_of(eager_model).backward()
    eager_model.zero_grad(set_to_none=True)
    with torch_accel.profile() as prof:
        loss = loss_of(compiled)
        loss.backward()
    want = loss_of(eager_model)
    want.backward()
    torch.testing.assert_close(loss.cpu(), want.cpu())
    for g, w in zip(compiled_model.parameters(), eager_model.parameters()):
        torch.testing.assert_close(g.grad.cpu(), w.grad.cpu())
    ops = [r["op"] for r in prof.records]
    assert ops.count("accel::batch_norm_act_backward") == 1 and ops.count("accel::batch_norm_act") == 0


def test_batch_norm_read_twice_stays_whole():
    """A batch norm output that something besides the activation reads is not fused."""
    class TwoReaders(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bn = torch.nn.BatchNorm2d(4)

        def forward(self, x):
            y = self.bn(x)
            return F.relu(y) + y

    model = TwoReaders().to("accel")
    x = torch.randn(8, 4, 5, 5, device="accel", requires_grad=True)
    compiled = torch.compile(model, backend="accel", dynamic=False)
    want = TwoReaders().to("accel")
    want.load_state_dict(model.state_dict())
    out = compiled(x)
    torch.testing.assert_close(out.cpu(), want(x).cpu())
    with torch_accel.profile() as prof:
        compiled(x).sum().backward()
    ops = [r["op"] for r in prof.records]
    assert "accel::batch_norm_act" not in ops and "aten::native_batch_norm" in ops
