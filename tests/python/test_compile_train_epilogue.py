"""Training graphs: a matmul whose product the activation's backward also
reads runs as accel::linear_act_saved, one program writing both the product
and the activation; in the backward, mm feeding only the activation's
gradient runs as accel::mm_act_backward, and a linear's weight gradient with
its bias gradient as accel::mm_bias_grad. All give the separate ops' numbers."""
import sys
import pathlib

import pytest
import torch
import torch.nn.functional as F

import torch_accel

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "examples"))
from gpt import GPT, GPTConfig  # noqa: E402

pytestmark = pytest.mark.usefixtures("fresh_dynamo")

ACTS = {"relu": F.relu, "gelu": F.gelu, "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"), "silu": F.silu}


@pytest.mark.parametrize("act", list(ACTS))
@pytest.mark.parametrize("bias", [True, False])
def test_op_matches_separate_ops_bit_for_bit_fp32(act, bias):
    x = torch.randn(70, 96, device="accel")
    w = torch.randn(50, 96, device="accel")
    b = torch.randn(50, device="accel") if bias else None
    pre, out = torch.ops.accel.linear_act_saved(x, w, b, act)
    want_pre = F.linear(x, w, b)
    assert torch.equal(pre.cpu(), want_pre.cpu())
    assert torch.equal(out.cpu(), ACTS[act](want_pre).cpu())


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_op_activation_reads_the_rounded_product(dtype):
    x = torch.randn(3, 40, 64, device="accel", dtype=dtype)
    w = torch.randn(33, 64, device="accel", dtype=dtype)
    b = torch.randn(33, device="accel", dtype=dtype)
    pre, out = torch.ops.accel.linear_act_saved(x, w, b, "gelu")
    assert pre.shape == out.shape == (3, 40, 33) and pre.dtype == out.dtype == dtype
    torch.testing.assert_close(pre.cpu(), F.linear(x, w, b).cpu())
    assert torch.equal(out.cpu(), F.gelu(pre).cpu())  # gelu of pre as stored, like eager


def test_op_record_names_the_epilogue_and_counts_both_writes():
    x, w = torch.randn(64, 64, device="accel"), torch.randn(64, 64, device="accel")
    with torch_accel.profile() as prof:
        torch.ops.accel.linear_act(x, w, None, "silu")
        torch.ops.accel.linear_act_saved(x, w, None, "silu")
    one, two = prof.records
    assert (one["compute"], two["compute"]) == ("matmul_block_silu", "matmul_block_silu_saved")
    assert two["dram_write_bytes"] == 2 * one["dram_write_bytes"]


def test_op_rejects_bad_arguments():
    x, w = torch.randn(4, 8, device="accel"), torch.randn(5, 8, device="accel")
    with pytest.raises(ValueError, match="act must be one of"):
        torch.ops.accel.linear_act_saved(x, w, None, "tanh")
    with pytest.raises(RuntimeError, match="does not match weight"):
        torch.ops.accel.linear_act_saved(x, w.t(), None, "relu")
    with pytest.raises(RuntimeError, match="bias must have shape"):
        torch.ops.accel.linear_act_saved(x, w, torch.randn(4, device="accel"), "relu")
    with pytest.raises(RuntimeError, match="one dtype"):
        torch.ops.accel.linear_act_saved(x, w.double(), None, "relu")


BACKWARDS = {
    "relu": lambda g, s: torch.ops.aten.threshold_backward(g, s, 0),
    "gelu": lambda g, s: torch.ops.aten.gelu_backward(g, s),
    "gelu_tanh": lambda g, s: torch.ops.aten.gelu_backward(g, s, approximate="tanh"),
    "silu": lambda g, s: torch.ops.aten.silu_backward(g, s),
}


@pytest.mark.parametrize("act", list(BACKWARDS))
def test_backward_op_matches_separate_ops_bit_for_bit_fp32(act):
    g = torch.randn(70, 96, device="accel")
    w = torch.randn(50, 96, device="accel").t()  # [96, 50], a transposed view as autograd gives
    saved = torch.randn(70, 50, device="accel")
    got = torch.ops.accel.mm_act_backward(g, w, saved, act)
    assert torch.equal(got.cpu(), BACKWARDS[act](g @ w, saved).cpu())


def test_backward_op_reads_the_rounded_product_bf16():
    g = torch.randn(40, 64, device="accel", dtype=torch.bfloat16)
    w = torch.randn(64, 33, device="accel", dtype=torch.bfloat16)
    saved = torch.randn(2, 20, 33, device="accel", dtype=torch.bfloat16)
    got = torch.ops.accel.mm_act_backward(g, w, saved, "gelu")
    want = BACKWARDS["gelu"](g @ w, saved.reshape(40, 33))
    assert got.dtype == torch.bfloat16 and torch.equal(got.cpu(), want.cpu())


def test_backward_op_record_and_bad_arguments():
    g, w = torch.randn(64, 64, device="accel"), torch.randn(64, 64, device="accel")
    with torch_accel.profile() as prof:
        torch.mm(g, w)
        torch.ops.accel.mm_act_backward(g, w, g, "silu")
    mm, fused = prof.records
    assert fused["compute"] == "matmul_block_silu_backward"
    assert fused["dram_read_bytes"] == mm["dram_read_bytes"] + 64 * 64 * 4
    with pytest.raises(RuntimeError, match="saved must hold"):
        torch.ops.accel.mm_act_backward(g, w, g[:10], "gelu")
    with pytest.raises(RuntimeError, match=r"expected \[M, K\] and \[K, N\]"):
        torch.ops.accel.mm_act_backward(g, w[:10], g, "gelu")
    with pytest.raises(ValueError, match="act must be one of"):
        torch.ops.accel.mm_act_backward(g, w, g, "tanh")


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
@pytest.mark.parametrize("m,n,k", [(1024, 384, 128), (70, 33, 50), (4096, 3, 8), (5, 7, 0), (0, 4, 3)])
def test_bias_grad_op_matches_mm_and_sum_bit_for_bit(dtype, m, n, k):
    grad = torch.randn(m, n, device="accel", dtype=dtype)
    x = torch.randn(m, k, device="accel", dtype=dtype)
    weight_grad, bias_grad = torch.ops.accel.mm_bias_grad(grad, x)
    assert weight_grad.shape == (n, k) and bias_grad.shape == (n,)
    assert torch.equal(weight_grad.cpu(), torch.mm(grad.t(), x).cpu())
    assert torch.equal(bias_grad.cpu(), grad.sum(0).cpu())


def test_bias_grad_op_record_and_bad_arguments():
    grad, x = torch.randn(1024, 384, device="accel"), torch.randn(1024, 128, device="accel")
    with torch_accel.profile() as prof:
        torch.mm(grad.t(), x)
        grad.sum(0)
        torch.ops.accel.mm_bias_grad(grad, x)
    mm, total, fused = prof.records
    assert fused["op"] == "accel::mm_bias_grad" and fused["compute"] == "matmul_block_bias_grad"
    # grad is read once for both; the ones column adds a tile column of x's side and of output.
    assert fused["dram_read_bytes"] < mm["dram_read_bytes"] + total["dram_read_bytes"]
    assert fused["dram_read_bytes"] > mm["dram_read_bytes"]
    assert fused["flops"] == 2 * 384 * 129 * 1024
    with pytest.raises(RuntimeError, match=r"expected grad \[M, N\] and x \[M, K\] with one M"):
        torch.ops.accel.mm_bias_grad(grad, x[:10])
    with pytest.raises(RuntimeError, match="one dtype"):
        torch.ops.accel.mm_bias_grad(grad, x.double())
    meta = torch.ops.accel.mm_bias_grad(torch.empty(10, 6, device="meta", dtype=torch.bfloat16),
                                        torch.empty(10, 3, device="meta", dtype=torch.bfloat16))
    assert [(t.shape, t.dtype) for t in meta] == [((6, 3), torch.bfloat16), ((6,), torch.bfloat16)]


def _train_step(model, x, loss_of):
    model.zero_grad(set_to_none=True)
    loss = loss_of(model, x)
    loss.backward()
    return loss.detach(), [p.grad for p in model.parameters()]


def _compare(model, x, loss_of):
    ref = _train_step(model, x, loss_of)
    torch._dynamo.reset()
    torch_accel.reset_compile_stats()
    compiled = torch.compile(model, backend="accel", dynamic=False)
    got = _train_step(compiled, x, loss_of)
    torch.testing.assert_close(got[0].cpu(), ref[0].cpu())
    for g, r in zip(got[1], ref[1]):
        torch.testing.assert_close(g.cpu(), r.cpu())
    with torch_accel.profile() as prof:
        _train_step(compiled, x, loss_of)
    return prof


def _mlp(act, dtype):
    torch.manual_seed(0)
    layers = [torch.nn.Linear(48, 96), torch.nn.Linear(96, 64, bias=False), torch.nn.Linear(64, 16)]
    mods = {"relu": torch.nn.ReLU, "gelu": torch.nn.GELU, "silu": torch.nn.SiLU}
    model = torch.nn.Sequential(layers[0], mods[act](), layers[1], mods[act](), layers[2])
    return model.to("accel", dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("act", ["relu", "gelu", "silu"])
def test_mlp_training_step_matches_eager(act, dtype):
    model = _mlp(act, dtype)
    x = torch.randn(2, 40, 48, device="accel", dtype=dtype)
    loss_of = lambda m, x: m(x).float().square().mean()  # noqa: E731
    with torch_accel.profile() as eager:
        _train_step(model, x, loss_of)
    prof = _compare(model, x, loss_of)
    ops = [r["op"] for r in prof.records]
    # relu's backward reads relu's output, not the product: the plain epilogue.
    assert ops.count("accel::linear_act" if act == "relu" else "accel::linear_act_saved") == 2
    # The gradients into the second and third layers' inputs (the first's input needs none).
    assert ops.count("accel::mm_act_backward") == 2
    # The first and third layers have a bias: its gradient comes with the weight's.
    assert ops.count("accel::mm_bias_grad") == 2 and "aten::sum" not in ops
    assert len(prof.records) < len(eager.records)
    assert torch_accel.compile_stats()["matmul_epilogues"] >= 4


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_gpt_training_step_matches_eager(dtype):
    torch.manual_seed(0)
    cfg = GPTConfig(vocab_size=40, block_size=32, n_layer=2, n_head=2, n_embd=64)
    model = GPT(cfg).to("accel", dtype)
    idx = torch.randint(0, 40, (2, 32), device="accel")
    targets = torch.randint(0, 40, (2, 32), device="accel")
    loss_of = lambda m, x: m(x, targets)[1].float()  # noqa: E731
    with torch_accel.profile() as eager:
        _train_step(model, idx, loss_of)
    prof = _compare(model, idx, loss_of)
    ops = [r["op"] for r in prof.records]
    assert ops.count("accel::linear_act_saved") == ops.count("accel::mm_act_backward") == cfg.n_layer
    # Four biased linears per block (qkv, attention out, MLP in and out) and the head.
    assert ops.count("accel::mm_bias_grad") == 4 * cfg.n_layer + 1
    assert len(prof.records) < len(eager.records)
    assert prof.total_dram_bytes < eager.total_dram_bytes


def test_explain_names_the_saved_epilogue():
    model = _mlp("gelu", torch.float32)
    x = torch.randn(8, 48, device="accel")
    text = torch_accel.compile_explain(model, x)
    assert "addmm.default + gelu -> accel::linear_act_saved" in text
