"""Norms and softmax fused with their element-wise neighbours
(torch_accel/compile/norm_fusion.py): the ops against eager, the compiled
graphs against eager (outputs and gradients), the programs and modelled DRAM
bytes they save, and whole models (the example GPT block, transformers' GPT-2)."""
import copy
import math

import pytest
import torch
import torch.nn.functional as F

import torch_accel
from examples.gpt import Block, GPTConfig
from torch_accel.compile.backend import lowered_graphs

pytestmark = pytest.mark.usefixtures("fresh_dynamo")

DTYPES = (torch.float32, torch.bfloat16)


def _accel(*ts):
    return [t.to("accel") for t in ts]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rows,cols", [(64, 96), (37, 1000), (3, 70000)])  # resident, partial tiles, streamed
def test_add_layer_norm_op_matches_add_then_layer_norm(dtype, rows, cols):
    torch.manual_seed(0)
    x, y, w, b = _accel(torch.randn(rows, cols, dtype=dtype), torch.randn(rows, cols, dtype=dtype),
                        torch.randn(cols, dtype=dtype), torch.randn(cols, dtype=dtype))
    got = torch.ops.accel.add_layer_norm(x, y, [cols], w, b, 1e-5)
    h = x + y
    want = (h, *torch.ops.aten.native_layer_norm(h, [cols], w, b, 1e-5))
    for g, e in zip(got, want):
        torch.testing.assert_close(g.cpu(), e.cpu())


@pytest.mark.parametrize("dtype", DTYPES)
def test_add_rms_norm_op_matches_add_then_rms_norm(dtype):
    torch.manual_seed(0)
    x, y, w = _accel(torch.randn(4, 8, 64, dtype=dtype), torch.randn(4, 8, 64, dtype=dtype),
                     torch.randn(64, dtype=dtype))
    h, out, rstd = torch.ops.accel.add_rms_norm(x, y, [64], w, 1e-6)
    want_out, want_rstd = torch.ops.aten._fused_rms_norm(x + y, [64], w, 1e-6)
    torch.testing.assert_close(h.cpu(), (x + y).cpu())
    torch.testing.assert_close(out.cpu(), want_out.cpu())
    torch.testing.assert_close(rstd.cpu(), want_rstd.cpu())


def test_fused_ops_reject_bad_input_by_name():
    x, y = _accel(torch.randn(4, 8), torch.randn(4, 9))
    with pytest.raises(RuntimeError, match="add_layer_norm: x and residual must have the same shape"):
        torch.ops.accel.add_layer_norm(x, y, [8], None, None, 1e-5)
    with pytest.raises(RuntimeError, match="does not end input"):
        torch.ops.accel.add_rms_norm(x, x, [5], None, None)
    with pytest.raises(ValueError, match="mask_kind must be one of"):
        torch.ops.accel.scale_mask_softmax(x, 1.0, None, "multiply", 0.0)
    with pytest.raises(RuntimeError, match="does not broadcast"):
        torch.ops.accel.scale_mask_softmax(x, 1.0, y, "add", 0.0)
    with pytest.raises(TypeError, match="a fill mask must be bool"):
        torch.ops.accel.scale_mask_softmax(x, 1.0, x, "fill_where_true", 0.0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cols", [40, 5000])  # resident, streamed twice
def test_scale_mask_softmax_op(dtype, cols):
    torch.manual_seed(0)
    s = torch.randn(2, 3, 8, cols, dtype=dtype)
    add_mask = torch.randn(2, 1, 8, cols, dtype=dtype)
    row_mask = torch.randn(2, 1, 8, 1, dtype=dtype)   # one value per row: a broadcast column
    keep = torch.rand(8, cols) > 0.3
    keep[:, 0] = True
    sa, ma, ra, ka = _accel(s, add_mask, row_mask, keep)
    # The program computes in fp32 and rounds once, so the reference does too.
    ref = lambda t: t.to(dtype)  # noqa: E731
    cases = [
        (torch.ops.accel.scale_mask_softmax(sa, 0.125, ma, "add", 0.0),
         ref(torch.softmax(s.float() * 0.125 + add_mask.float(), -1))),
        (torch.ops.accel.scale_mask_softmax(sa, 1.0, ra, "add", 0.0),
         ref(torch.softmax(s.float() + row_mask.float(), -1))),
        (torch.ops.accel.scale_mask_softmax(sa, 1.0, ka, "fill_where_false", -math.inf, torch.float32),
         torch.softmax(torch.where(keep, s.float(), -math.inf), -1)),
        (torch.ops.accel.scale_mask_softmax(sa, 2.0, ~ka, "fill_where_true", -1e4),
         ref(torch.softmax((s.float() * 2).masked_fill(~keep, -1e4), -1))),
        (torch.ops.accel.scale_mask_softmax(sa, 0.5, None, "none", 0.0),
         ref(torch.softmax(s.float() * 0.5, -1))),
    ]
    for got, want in cases:
        torch.testing.assert_close(got.cpu(), want)


def _prenorm(x, y, w, b):
    """Two pre-norm residual steps: each sum feeds the next residual and a norm."""
    h = x + y
    n = F.layer_norm(h, (h.shape[-1],), w, b)
    h2 = h + n * 0.5
    return h2, F.layer_norm(h2, (h.shape[-1],), w, b)


def _fusions(kind):
    """The norm fusions of every compiled graph of `kind` (forward, backward, inference)."""
    return [f for g in lowered_graphs() if g.kind == kind for f in g.norm_fusions]


def _compiled_vs_eager(fn, *inputs, grads=True):
    args = [t.detach().clone().requires_grad_(grads and t.is_floating_point()) for t in inputs]
    args_c = [t.detach().clone().requires_grad_(grads and t.is_floating_point()) for t in inputs]
    out = fn(*args)
    out_c = torch.compile(fn, backend="accel", dynamic=False)(*args_c)
    for o, oc in zip(out, out_c):
        torch.testing.assert_close(oc.cpu(), o.cpu())
    if grads:
        sum(o.float().square().sum() for o in out).backward()
        sum(o.float().square().sum() for o in out_c).backward()
        for a, ac in zip(args, args_c):
            if a.requires_grad:
                torch.testing.assert_close(ac.grad.cpu(), a.grad.cpu())


@pytest.mark.parametrize("dtype", DTYPES)
def test_compiled_residual_layer_norm_matches_eager_with_grads(dtype):
    torch.manual_seed(0)
    x, y = _accel(torch.randn(4, 32, 64, dtype=dtype), torch.randn(4, 32, 64, dtype=dtype))
    w, b = _accel(torch.randn(64, dtype=dtype), torch.randn(64, dtype=dtype))
    _compiled_vs_eager(_prenorm, x, y, w, b)
    stats = torch_accel.compile_stats()
    # Both pairs in the training forward (the backward still gets h, mean and rstd),
    # and in the backward both norms' input gradients meet the residual's gradient.
    assert len(_fusions("forward")) == 2 and len(_fusions("backward")) == 2
    assert stats["norm_fusions"] == 4
    assert "native_layer_norm.default" not in stats["eager_ops"]
    assert "native_layer_norm_backward.default" not in stats["eager_ops"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_compiled_residual_rms_norm_matches_eager(dtype):
    torch.manual_seed(0)
    x, y, w = _accel(torch.randn(2, 32, 64, dtype=dtype), torch.randn(2, 32, 64, dtype=dtype),
                     torch.randn(64, dtype=dtype))

    def fn(x, y, w):
        h = x + y
        return h, torch.ops.aten._fused_rms_norm(h, [64], w, 1e-6)[0]
    with torch.no_grad():
        _compiled_vs_eager(fn, x, y, w, grads=False)
    assert torch_accel.compile_stats()["norm_fusions"] == 1
    assert torch_accel.compile_stats()["eager_op_count"] == 0


def _attention(q, k, v, mask):
    scores = q @ k.transpose(-1, -2) * (q.shape[-1] ** -0.5) + mask
    return (torch.softmax(scores, dim=-1) @ v,)


def _attention_bool(q, k, v, keep):
    scores = (q @ k.transpose(-1, -2) / 8).masked_fill(~keep, float("-inf"))
    return (F.dropout(torch.softmax(scores, dim=-1), p=0.0) @ v,)


def _attention_fp32_softmax(q, k, v, mask):
    scores = q @ k.transpose(-1, -2) * 0.125 + mask
    return (torch.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype) @ v,)


@pytest.mark.parametrize("fn", [_attention, _attention_bool, _attention_fp32_softmax])
def test_compiled_attention_softmax_matches_eager_with_grads(fn):
    torch.manual_seed(0)
    q, k, v = _accel(*(torch.randn(2, 4, 32, 16) for _ in range(3)))
    keep = torch.ones(32, 32).tril().bool()
    mask = torch.zeros(32, 32).masked_fill(~keep, float("-inf"))
    extra = _accel(keep if fn is _attention_bool else mask)
    _compiled_vs_eager(fn, q, k, v, *extra)
    stats = torch_accel.compile_stats()
    assert stats["norm_fusions"] == 1
    assert "_softmax.default" not in stats["eager_ops"]


def test_compiled_bf16_attention_softmax_rounds_once():
    """bf16: the scale and mask stay fp32 on the row, so the result is the
    fp32 computation rounded once (eager rounds after each op)."""
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 4, 32, 16, dtype=torch.bfloat16) for _ in range(3))
    mask = torch.zeros(32, 32).masked_fill(~torch.ones(32, 32).tril().bool(), float("-inf")).bfloat16()

    def probs(q, k, mask):
        return torch.softmax(q @ k.transpose(-1, -2) * 0.25 + mask, dim=-1)
    with torch.no_grad():
        got = torch.compile(probs, backend="accel", dynamic=False)(*_accel(q, k, mask))
    scores = (q.to("accel") @ k.to("accel").transpose(-1, -2)).cpu()  # the chip's bf16 product
    torch.testing.assert_close(got.cpu(), torch.softmax(scores.float() * 0.25 + mask.float(), -1).bfloat16())
    assert torch_accel.compile_stats()["norm_fusions"] == 1


def test_compiled_bf16_fp32_softmax_absorbs_both_casts():
    """Llama's eager attention: softmax(scores, dtype=float32).to(bf16). The
    program reads the bf16 scores, computes in fp32 and writes bf16 once."""
    torch.manual_seed(0)
    s = torch.randn(2, 4, 32, 32, dtype=torch.bfloat16)
    mask = torch.zeros(32, 32).masked_fill(~torch.ones(32, 32).tril().bool(), float("-inf")).bfloat16()

    def probs(s, mask):
        return torch.softmax(s * 0.125 + mask, dim=-1, dtype=torch.float32).to(torch.bfloat16)
    with torch.no_grad():
        got = torch.compile(probs, backend="accel", dynamic=False)(*_accel(s, mask))
    assert got.dtype == torch.bfloat16
    torch.testing.assert_close(got.cpu(), torch.softmax(s.float() * 0.125 + mask.float(), -1).bfloat16())
    (fusion,) = _fusions("inference")
    assert fusion.startswith("mul.Tensor + add.Tensor + _to_copy.default + _softmax.default + _to_copy.default")
    assert torch_accel.compile_stats()["eager_op_count"] == 0


@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_compiled_fp32_softmax_of_bf16_scores_stays_fp32(scale):
    """A mixture-of-experts router: softmax(logits, dtype=float32) of bf16
    logits, its fp32 probabilities read by topk. Absorbing the upcast must not
    round them to bf16: the program's result equals eager's bit for bit."""
    torch.manual_seed(0)
    logits = torch.randn(24, 8, dtype=torch.bfloat16).to("accel")

    def route(x):
        probs = torch.softmax(x * scale if scale != 1.0 else x, dim=-1, dtype=torch.float32)
        return probs, probs.topk(2, dim=-1).values
    with torch.no_grad():
        got = torch.compile(route, backend="accel", dynamic=False)(logits)
    want = route(logits)
    assert got[0].dtype == torch.float32
    for g, w in zip(got, want):
        assert torch.equal(g.cpu(), w.cpu())
    assert torch_accel.compile_stats()["norm_fusions"] == 1


def _tile_bytes(t):
    rows = math.prod(t.shape[:-1])
    return math.ceil(rows / 32) * 32 * math.ceil(t.shape[-1] / 32) * 32 * t.element_size()


@pytest.mark.parametrize("dtype", DTYPES)
def test_profile_saves_one_read_of_the_sum_per_fused_pair(dtype):
    torch.manual_seed(0)
    x, y = _accel(torch.randn(4, 64, 128, dtype=dtype), torch.randn(4, 64, 128, dtype=dtype))
    w, b = _accel(torch.randn(128, dtype=dtype), torch.randn(128, dtype=dtype))
    compiled = torch.compile(_prenorm, backend="accel", dynamic=False)
    with torch.no_grad():
        with torch_accel.profile() as eager:
            _prenorm(x, y, w, b)
        compiled(x, y, w, b)
        with torch_accel.profile() as fused:
            compiled(x, y, w, b)
    assert fused.ops().get("accel::add_layer_norm") == 2
    # Eager: add, layer_norm, mul, add, layer_norm; fused: add_layer_norm, mul, add_layer_norm.
    assert len(fused.records) == len(eager.records) - 2
    assert eager.total_dram_bytes - fused.total_dram_bytes == 2 * _tile_bytes(x)
    assert fused.total_time_s < eager.total_time_s


def test_profile_softmax_saves_the_intermediates_round_trips():
    torch.manual_seed(0)
    s, mask = _accel(torch.randn(2, 4, 64, 64), torch.randn(2, 1, 64, 64))

    def probs(s, mask):
        return torch.softmax(s * 0.125 + mask, dim=-1)
    compiled = torch.compile(probs, backend="accel", dynamic=False)
    with torch.no_grad():
        with torch_accel.profile() as eager:
            want = probs(s, mask)
        compiled(s, mask)
        with torch_accel.profile() as fused:
            got = compiled(s, mask)
    torch.testing.assert_close(got.cpu(), want.cpu())
    assert len(eager.records) == 3 and len(fused.records) == 1
    # One program reads the scores and the mask (a tile per scores tile, as the
    # element-wise add reads a broadcast operand) and writes the probabilities;
    # eager also writes and reads back the scaled and the masked scores.
    (record,) = fused.records
    assert (record["dram_read_bytes"], record["dram_write_bytes"]) == (2 * _tile_bytes(s), _tile_bytes(s))
    assert eager.total_dram_bytes - fused.total_dram_bytes >= 4 * _tile_bytes(s)
    assert fused.total_time_s < eager.total_time_s


def test_estimate_compiled_prices_the_fused_rows():
    def model(x, y, w, b):
        return _prenorm(x, y, w, b)[1]
    inputs = (torch.randn(8, 128, 256), torch.randn(8, 128, 256), torch.randn(256), torch.randn(256))
    eager = torch_accel.estimate(model, *inputs)
    fused = torch_accel.estimate(model, *inputs, compile=True)
    assert fused.ops().get("accel::add_layer_norm") == 2
    assert eager.total_dram_bytes - fused.total_dram_bytes == 2 * _tile_bytes(inputs[0])
    assert fused.total_time_s < eager.total_time_s


def test_compile_explain_names_the_norm_fusions():
    x, y = _accel(torch.randn(2, 32, 64), torch.randn(2, 32, 64))
    w, b = _accel(torch.randn(64), torch.randn(64))
    text = torch_accel.compile_explain(_prenorm, x, y, w, b)
    assert text.count("-> accel::add_layer_norm") == 2


def test_gpt_block_compiles_and_matches_eager():
    torch.manual_seed(0)
    block = Block(GPTConfig(vocab_size=65, block_size=64, n_layer=1, n_head=4, n_embd=64)).to("accel")
    twin = copy.deepcopy(block)
    x = torch.randn(2, 32, 64, device="accel")
    compiled = torch.compile(twin, backend="accel", dynamic=False)
    torch.testing.assert_close(compiled(x).cpu(), block(x).cpu())
    block(x).square().mean().backward()
    compiled(x).square().mean().backward()
    for (name, p), (_, q) in zip(block.named_parameters(), twin.named_parameters()):
        torch.testing.assert_close(q.grad.cpu(), p.grad.cpu(), msg=lambda m: f"{name}: {m}")
    assert len(_fusions("forward")) == 1  # x + attn(...) into ln2
    # ln1's input gradient plus the residual's gradient of the block's input x.
    assert len(_fusions("backward")) == 1


def test_transformers_gpt2_eager_attention_matches_eager():
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    config = transformers.GPT2Config(vocab_size=40, n_positions=32, n_embd=32, n_layer=2, n_head=4,
                                     resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    config._attn_implementation = "eager"
    model = transformers.GPT2LMHeadModel(config).to("accel")
    twin = copy.deepcopy(model)
    ids = torch.randint(0, 40, (2, 16)).to("accel")
    compiled = torch.compile(twin, backend="accel", dynamic=False)
    out, out_c = model(ids).logits, compiled(ids).logits
    torch.testing.assert_close(out_c.cpu(), out.cpu())
    out.square().mean().backward()
    out_c.square().mean().backward()
    for (name, p), (_, q) in zip(model.named_parameters(), twin.named_parameters()):
        torch.testing.assert_close(q.grad.cpu(), p.grad.cpu(), msg=lambda m: f"{name}: {m}")
    stats = torch_accel.compile_stats()
    # Per layer: the attention softmax; between layers and before ln_f: residual add + layer norm.
    assert stats["norm_fusions"] >= 2 * 2
    assert "_softmax.default" not in stats["eager_ops"]
