"""Matmul-class ops on accel against CPU ATen: every op incl. 0-size and
1-element, transposed and strided inputs, out= and in-place forms, batch
broadcasting, low-precision dtypes; compute settings; none may fall back."""
import pytest
import torch
import torch.nn.functional as F

import torch_accel

pytestmark = pytest.mark.usefixtures("no_fallback")

LOW = {torch.bfloat16: dict(rtol=2e-2, atol=2e-2), torch.float16: dict(rtol=2e-3, atol=2e-3)}


def rnd(*shape, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed + sum(shape))
    return torch.randn(shape, generator=g).to(dtype)


def acc(*ts):
    return [t.to("accel") for t in ts]


def check(fn, *inputs, **tol):
    got = fn(*acc(*inputs))
    torch.testing.assert_close(got.cpu(), fn(*inputs), **tol)


MM_SHAPES = [(0, 5, 3), (5, 0, 3), (4, 3, 0), (1, 1, 1), (33, 47, 65), (64, 64, 64), (70, 5, 129)]


@pytest.mark.parametrize("m,k,n", MM_SHAPES)
def test_mm(m, k, n):
    check(torch.mm, rnd(m, k), rnd(k, n, seed=1))


def test_mm_transposed_and_strided_inputs():
    a, b = rnd(40, 33), rnd(50, 40, seed=1)
    check(lambda x, y: x.t() @ y.t(), a, b)
    c = rnd(40, 66)
    check(lambda x, y: x[:, ::2].t() @ y[::2, ::3], c, rnd(80, 90, seed=2))


def test_mm_out_and_aliasing():
    a, b = rnd(20, 30), rnd(30, 20, seed=1)
    out = torch.empty(0, device="accel")
    torch.mm(*acc(a, b), out=out)
    torch.testing.assert_close(out.cpu(), a @ b)
    x = rnd(20, 20)
    xa = x.to("accel")
    torch.mm(xa, xa, out=xa)  # the output is also both operands
    torch.testing.assert_close(xa.cpu(), x @ x)


def test_products_into_strided_and_overlapping_outputs():
    # The host multiplies straight into an fp32 output (row stride ldc): a
    # column slice of a wider tensor must receive the product and nothing
    # beside it change; an output overlapping an operand still reads it whole.
    a, b, bias = rnd(70, 40), rnd(40, 50, seed=1), rnd(50, seed=2)
    wide = torch.full((70, 120), 7.0)
    wa = wide.to("accel")
    torch.addmm(*acc(bias, a, b), out=wa[:, 10:60])
    wide[:, 10:60] = torch.addmm(bias, a, b)
    torch.testing.assert_close(wa.cpu(), wide)
    packed = torch.cat([a, torch.zeros(70, 10)], 1)  # out = its first 40 columns
    pa = packed.to("accel")
    torch.mm(pa[:, :40], acc(b[:, :40])[0], out=pa[:, :40])
    torch.testing.assert_close(pa[:, :40].cpu(), a @ b[:, :40])


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_low_precision(dtype):
    check(torch.mm, rnd(37, 70, dtype=dtype), rnd(70, 45, dtype=dtype, seed=1), **LOW[dtype])
    check(torch.bmm, rnd(3, 17, 40, dtype=dtype), rnd(3, 40, 9, dtype=dtype, seed=1), **LOW[dtype])


@pytest.mark.parametrize("shape_self", [(33, 20), (20,), (1, 20), ()])
def test_addmm(shape_self):
    s, a, b = rnd(*shape_self), rnd(33, 50), rnd(50, 20, seed=1)
    check(lambda s, a, b: torch.addmm(s, a, b, beta=0.5, alpha=2.0), s, a, b)
    check(lambda s, a, b: torch.addmm(s, a, b, beta=0), s, a, b)


def test_addmm_beta_zero_ignores_nan_and_inplace_and_out():
    s, a, b = torch.full((8, 9), float("nan")), rnd(8, 5), rnd(5, 9, seed=1)
    check(lambda s, a, b: torch.addmm(s, a, b, beta=0), s, a, b)
    s = rnd(8, 9)
    sa = s.to("accel")
    sa.addmm_(*acc(a, b), alpha=3)
    torch.testing.assert_close(sa.cpu(), s.addmm(a, b, alpha=3))
    out = torch.empty(0, device="accel")
    torch.addmm(*acc(s, a, b), out=out)
    torch.testing.assert_close(out.cpu(), torch.addmm(s, a, b))


@pytest.mark.parametrize("shape", [(0, 3, 4, 5), (4, 0, 3, 5), (1, 1, 1, 1), (5, 33, 17, 40)])
def test_bmm(shape):
    b, m, k, n = shape
    check(torch.bmm, rnd(b, m, k), rnd(b, k, n, seed=1))


def test_bmm_transposed_out_and_baddbmm():
    a, b = rnd(4, 30, 20), rnd(4, 30, 25, seed=1)
    check(lambda a, b: torch.bmm(a.transpose(1, 2), b), a, b)
    out = torch.empty(0, device="accel")
    torch.bmm(*acc(a.transpose(1, 2), b), out=out)
    torch.testing.assert_close(out.cpu(), torch.bmm(a.transpose(1, 2), b))
    s = rnd(4, 1, 25)
    check(lambda s, a, b: torch.baddbmm(s, a.transpose(1, 2), b, beta=0.5, alpha=-1), s, a, b)
    s = rnd(4, 20, 25)
    sa = s.to("accel")
    sa.baddbmm_(*acc(a.transpose(1, 2), b))
    torch.testing.assert_close(sa.cpu(), s.baddbmm(a.transpose(1, 2), b))


def test_addbmm():
    s, a, b = rnd(20, 25), rnd(3, 20, 30), rnd(3, 30, 25, seed=1)
    check(lambda s, a, b: torch.addbmm(s, a, b, beta=2, alpha=0.5), s, a, b)
    sa = s.to("accel")
    sa.addbmm_(*acc(a, b))
    torch.testing.assert_close(sa.cpu(), s.addbmm(a, b))


@pytest.mark.parametrize("sa,sb", [((7,), (7,)), ((7,), (7, 5)), ((6, 7), (7,)), ((3, 6, 7), (7, 5)),
                                   ((2, 1, 6, 7), (3, 7, 5)), ((6, 7), (2, 7, 5)), ((4, 6, 7), (4, 7, 5))])
def test_matmul_broadcast(sa, sb):
    check(torch.matmul, rnd(*sa), rnd(*sb, seed=1))


def test_linear_with_and_without_bias():
    x, w, b = rnd(3, 10, 40), rnd(24, 40, seed=1), rnd(24, seed=2)
    check(F.linear, x, w, b)
    check(F.linear, x, w)
    check(F.linear, x[:, ::2], w, b)  # non-contiguous input takes matmul + add


def test_mv_addmv_dot_vdot():
    m, v, s = rnd(37, 50), rnd(50, seed=1), rnd(37, seed=2)
    check(torch.mv, m, v)
    check(lambda m, v: torch.mv(m.t(), v[:37]), m, v)
    check(lambda s, m, v: torch.addmv(s, m, v, beta=0.5, alpha=2), s, m, v)
    check(torch.dot, v, rnd(50, seed=3))
    check(lambda a, b: torch.dot(a[::2], b[::2]), v, rnd(50, seed=3))
    check(torch.vdot, v, rnd(50, seed=3))
    check(torch.dot, rnd(0), rnd(0))
    out = torch.empty(0, device="accel")
    torch.mv(*acc(m, v), out=out)
    torch.testing.assert_close(out.cpu(), m @ v)


@pytest.mark.parametrize("fn,args,exc", [
    (torch.mm, ((3, 4), (5, 6)), RuntimeError),
    (torch.mm, ((3,), (3, 6)), RuntimeError),
    (torch.bmm, ((2, 3, 4), (3, 4, 5)), RuntimeError),
    (torch.dot, ((3,), (4,)), RuntimeError),
    (torch.mv, ((3, 4), (5,)), RuntimeError),
])
def test_errors_match_cpu(fn, args, exc):
    with pytest.raises(exc):
        fn(*[rnd(*s) for s in args])
    with pytest.raises(exc):
        fn(*acc(*[rnd(*s) for s in args]))
    with pytest.raises(RuntimeError):
        torch.mm(*acc(rnd(3, 4), rnd(4, 5, dtype=torch.bfloat16)))


def test_mm_gradients():
    a, b = rnd(20, 30).requires_grad_(), rnd(30, 10, seed=1).requires_grad_()
    aa, ba = (t.detach().to("accel").requires_grad_() for t in (a, b))
    (a @ b).backward(torch.ones(20, 10))
    (aa @ ba).backward(torch.ones(20, 10, device="accel"))
    torch.testing.assert_close(aa.grad.cpu(), a.grad)
    torch.testing.assert_close(ba.grad.cpu(), b.grad)


def test_float64_goes_through_counted_fallback():
    a = torch.randn(4, 5, dtype=torch.float64)
    torch.testing.assert_close(torch.mm(*acc(a, a.t())).cpu(), a @ a.t())
    assert "aten::mm" in torch_accel.fallback_stats()
    torch_accel.reset_fallback_stats()


# --- compute settings ---------------------------------------------------------

def test_lofi_changes_results_and_hifi4_matches_cpu():
    a, b = rnd(64, 256), rnd(256, 64, seed=1)
    aa, ba = acc(a, b)
    exact = a.double() @ b.double()
    with torch_accel.compute_config(math_fidelity="HiFi4"):
        torch.testing.assert_close((aa @ ba).cpu(), a @ b)
    errors = {}
    for fid in ["LoFi", "HiFi2", "HiFi3", "HiFi4"]:
        with torch_accel.compute_config(math_fidelity=fid):
            errors[fid] = ((aa @ ba).cpu().double() - exact).abs().max().item()
    assert errors["LoFi"] > errors["HiFi2"] > errors["HiFi4"]
    assert errors["HiFi3"] > errors["HiFi4"] and errors["LoFi"] > 100 * errors["HiFi4"]
    with torch_accel.compute_config(fp32_dest_acc=False):
        out = (aa @ ba).cpu()
    assert torch.equal(out, out.bfloat16().float())
    assert not torch.equal(out, (aa @ ba).cpu())


def test_compute_config_scope_global_and_errors():
    assert torch_accel.get_compute_config() == torch_accel.ComputeConfig("HiFi4", True)
    with torch_accel.compute_config(math_fidelity="lofi", fp32_dest_acc=False) as cfg:
        assert cfg == torch_accel.ComputeConfig("LoFi", False)
        with torch_accel.compute_config(math_fidelity=2) as inner:
            assert inner == torch_accel.ComputeConfig("HiFi2", False)
        assert torch_accel.compute.current_compute_config() == cfg
        assert torch_accel.get_compute_config().math_fidelity == "HiFi4"
    try:
        torch_accel.set_compute_config(math_fidelity="HiFi3")
        assert torch_accel.get_compute_config() == torch_accel.ComputeConfig("HiFi3", True)
        assert torch_accel.compute.current_compute_config().math_fidelity == "HiFi3"
    finally:
        torch_accel.set_compute_config(math_fidelity="HiFi4", fp32_dest_acc=True)
    for bad in [dict(math_fidelity="HiFi5"), dict(math_fidelity=0), dict(math_fidelity=True),
                dict(fp32_dest_acc="yes")]:
        with pytest.raises(ValueError, match="HiFi4|True or False"):
            torch_accel.compute_config(**bad)
        with pytest.raises(ValueError):
            torch_accel.set_compute_config(**bad)


def test_program_records_report_settings():
    a, b = acc(rnd(64, 96), rnd(96, 40, seed=1))
    with torch_accel.compute_config(math_fidelity="HiFi2", fp32_dest_acc=False):
        with torch_accel.profile() as prof:
            torch.mm(a, b)
    (r,) = [r for r in prof.records if r["op"] == "aten::mm"]
    assert (r["math_fidelity"], r["fp32_dest_acc"], r["compute_engine"]) == (2, False, "matrix")
    assert r["flops"] == 2 * 64 * 96 * 40
    assert r["tiles"] == 2 * 2 and r["dram_read_bytes"] > 0


# --- scaled_dot_product_attention -----------------------------------------------

@pytest.mark.parametrize("case", ["plain", "causal", "float_mask", "bool_mask", "bf16", "transposed"])
def test_sdpa_and_gradients_match_cpu(case):
    dtype = torch.bfloat16 if case == "bf16" else torch.float32
    L, S = (45, 45) if case == "causal" else (37, 45)
    q, k, v = rnd(2, 3, L, 16, dtype=dtype), rnd(2, 3, S, 16, dtype=dtype, seed=1), rnd(2, 3, S, 24, dtype=dtype, seed=2)
    if case == "transposed":  # [N, L, H, E] storage seen as [N, H, L, E]
        q, k, v = (t.transpose(1, 2).contiguous().transpose(1, 2) for t in (q, k, v))
    mask = {"float_mask": rnd(L, S, seed=3), "bool_mask": torch.rand(2, 1, L, S) > 0.3}.get(case)
    tol = LOW.get(dtype, {})

    def sdpa(q, k, v, mask):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=case == "causal")

    cpu_in = [t.detach().clone().requires_grad_() for t in (q, k, v)]
    acc_in = [t.detach().to("accel").requires_grad_() for t in (q, k, v)]
    out = sdpa(*cpu_in, mask)
    with torch_accel.profile() as prof:
        out_a = sdpa(*acc_in, None if mask is None else mask.to("accel"))
    assert "aten::_scaled_dot_product_fused_attention_overrideable" in prof.ops()
    torch.testing.assert_close(out_a.cpu(), out, **tol)
    grad = rnd(*out.shape, dtype=dtype, seed=4)
    out.backward(grad)
    out_a.backward(grad.to("accel"))
    for a, c in zip(acc_in, cpu_in):
        torch.testing.assert_close(a.grad.cpu(), c.grad, **tol)


def test_sdpa_float_mask_gradient():
    q, k, v, m = rnd(1, 2, 20, 8), rnd(1, 2, 30, 8, seed=1), rnd(1, 2, 30, 8, seed=2), rnd(20, 30, seed=3)
    cpu_in = [t.clone().requires_grad_() for t in (q, k, v, m)]
    acc_in = [t.to("accel").requires_grad_() for t in (q, k, v, m)]
    F.scaled_dot_product_attention(*cpu_in[:3], attn_mask=cpu_in[3]).sum().backward()
    F.scaled_dot_product_attention(*acc_in[:3], attn_mask=acc_in[3]).sum().backward()
    torch.testing.assert_close(acc_in[3].grad.cpu(), cpu_in[3].grad)


# --- accel::linear_act --------------------------------------------------------

ACTS = {"none": lambda y: y, "relu": torch.relu, "gelu": F.gelu,
        "gelu_tanh": lambda y: F.gelu(y, approximate="tanh"), "silu": F.silu}


@pytest.mark.parametrize("act", list(ACTS))
def test_linear_act_fuses_bias_and_activation(act):
    x, w, b = rnd(3, 10, 40), rnd(24, 40, seed=1), rnd(24, seed=2)
    with torch_accel.profile() as prof:
        got = torch.ops.accel.linear_act(*acc(x, w, b), act)
    torch.testing.assert_close(got.cpu(), ACTS[act](F.linear(x, w, b)))
    (r,) = prof.records
    assert r["op"] == "accel::linear_act" and r["compute"].startswith("matmul_block")
    got = torch.ops.accel.linear_act(*acc(x[:, ::2], w), None, act)
    torch.testing.assert_close(got.cpu(), ACTS[act](F.linear(x[:, ::2], w)))


def test_linear_act_errors_and_meta():
    x, w = acc(rnd(4, 8), rnd(5, 8))
    with pytest.raises(ValueError, match="relu"):
        torch.ops.accel.linear_act(x, w, None, "tanh")
    with pytest.raises(RuntimeError):
        torch.ops.accel.linear_act(x, acc(rnd(5, 7))[0], None, "none")
    meta = torch.ops.accel.linear_act(torch.empty(2, 3, 8, device="meta"), torch.empty(5, 8, device="meta"), None, "relu")
    assert meta.shape == (2, 3, 5)


def test_scoped_compute_config_reaches_backward():
    """backward() runs on autograd's device thread; a compute_config around it
    still sets the fidelity of the backward products, as autocast's state does."""
    x = torch.randn(64, 64, device="accel", requires_grad=True)
    w = torch.randn(64, 64, device="accel", requires_grad=True)
    with torch_accel.compute_config(math_fidelity="LoFi", fp32_dest_acc=False):
        with torch_accel.profile() as prof:
            (x @ w).sum().backward()
    products = [r for r in prof.records if r["m_tiles"] > 0]
    assert len(products) == 3  # the forward mm and the two gradient mms
    assert all(r["math_fidelity"] == 1 and not r["fp32_dest_acc"] for r in products)
    with torch_accel.profile() as prof:
        (x @ w).sum().backward()
    assert all(r["math_fidelity"] == 4 for r in prof.records if r["m_tiles"] > 0)


@pytest.mark.parametrize("k", [37, 129, 600])
@pytest.mark.parametrize("fidelity", ["LoFi", "HiFi2", "HiFi3", "HiFi4"])
def test_bf16_transposed_weight_packs_like_a_row_major_one(k, fidelity):
    # A linear's weight reaches the bf16 product transposed (its pairs of K
    # are packed as whole words) and a row-major one element by element: the
    # products must be the same bits, odd K and every fidelity's split included.
    x, w = rnd(70, k, dtype=torch.bfloat16), rnd(90, k, dtype=torch.bfloat16, seed=1)
    xa, wa = acc(x, w)
    with torch_accel.compute_config(math_fidelity=fidelity):
        assert torch.equal((xa @ wa.t()).cpu(), (xa @ wa.t().contiguous()).cpu())
