"""torch.compile(model, backend="accel"): registration, fused programs, their
numerics and records, recompiles, graph breaks, fallback counts."""
import pytest
import torch
import torch.nn.functional as F

import torch_accel


pytestmark = pytest.mark.usefixtures("fresh_dynamo")


def chain(x, b):
    return F.gelu(x + b) * 0.5 + x


def test_default_inductor_refuses_accel_naming_the_backend():
    f = torch.compile(lambda x: torch.relu(x) * 2)
    with pytest.raises(Exception, match='backend="accel"'):
        f(torch.randn(8, device="accel"))


def test_device_interface_is_registered():
    from torch._dynamo.device_interface import get_interface_for_device
    iface = get_interface_for_device("accel")
    assert iface.device_count() == torch.accel.device_count()
    assert iface.current_stream() == torch.accel.current_stream()
    iface.synchronize()


def test_fused_chain_is_one_program_reading_inputs_and_writing_outputs_only():
    x, b = torch.randn(64, 96, device="accel"), torch.randn(96, device="accel")
    compiled = torch.compile(chain, backend="accel")
    with torch_accel.profile() as eager:
        expected = chain(x, b)
    compiled(x, b)
    with torch_accel.profile() as prof:
        got = compiled(x, b)
    torch.testing.assert_close(got.cpu(), expected.cpu())
    assert len(eager.records) == 4 and len(prof.records) == 1
    rec = prof.records[0]
    assert rec["op"] == "fused[add+gelu+mul+add]" and rec["compute"] == "fused_eltwise"
    # Predicted: x in (6 tiles), b's own elements in (one tile: it is broadcast), one result out.
    tile_bytes = 64 * 96 * 4
    assert rec["dram_read_bytes"] == tile_bytes + 32 * 32 * 4
    assert rec["dram_write_bytes"] == tile_bytes
    assert prof.total_dram_bytes < eager.total_dram_bytes / 3
    assert prof.total_time_s < eager.total_time_s
    stats = torch_accel.compile_stats()
    assert stats["fused_programs"] == 1 and stats["fused_ops"] == 4


def test_bfloat16_chain_rounds_only_its_output():
    x = torch.randn(64, 96, dtype=torch.bfloat16)
    b = torch.randn(96, dtype=torch.bfloat16)
    got = torch.compile(chain, backend="accel")(x.to("accel"), b.to("accel"))
    # fp32 intermediates, one rounding at the output: the fp32 result rounded.
    torch.testing.assert_close(got.cpu(), chain(x.float(), b.float()).bfloat16())


def test_fused_backward_and_multiple_outputs_match_eager():
    def f(x, w):
        h = torch.tanh(x * w) + torch.sigmoid(x)
        return (h * h).sum(), h
    x = torch.randn(40, 70, device="accel", requires_grad=True)
    w = torch.randn(70, device="accel", requires_grad=True)
    xc, wc = (t.detach().clone().requires_grad_() for t in (x, w))
    (loss, h), (lc, hc) = f(x, w), torch.compile(f, backend="accel")(xc, wc)
    loss.backward()
    lc.backward()
    torch.testing.assert_close(hc.cpu(), h.cpu())
    torch.testing.assert_close(xc.grad.cpu(), x.grad.cpu())
    torch.testing.assert_close(wc.grad.cpu(), w.grad.cpu())
    assert torch_accel.compile_stats()["fused_programs"] >= 2  # forward and backward


def test_matmul_absorbs_bias_and_activation():
    lin = torch.nn.Linear(64, 96).to("accel")
    x = torch.randn(8, 16, 64, device="accel")
    f = lambda x: F.gelu(lin(x))  # noqa: E731
    with torch.no_grad():
        expected = f(x)
        compiled = torch.compile(f, backend="accel")
        compiled(x)
        with torch_accel.profile() as prof:
            got = compiled(x)
    torch.testing.assert_close(got.cpu(), expected.cpu())
    assert [r["op"] for r in prof.records] == ["accel::linear_act"]
    assert torch_accel.compile_stats()["matmul_epilogues"] == 1


def test_new_shape_recompiles_and_same_shape_does_not():
    compiled = torch.compile(chain, backend="accel", dynamic=False)
    b = torch.randn(32, device="accel")
    compiled(torch.randn(4, 32, device="accel"), b)
    assert torch_accel.compile_stats()["graphs"] == 1
    compiled(torch.randn(4, 32, device="accel"), b)
    assert torch_accel.compile_stats()["graphs"] == 1
    x = torch.randn(6, 32, device="accel")
    torch.testing.assert_close(compiled(x, b).cpu(), chain(x, b).cpu())
    assert torch_accel.compile_stats()["graphs"] == 2


def test_graph_break():
    def f(x):
        y = torch.exp(x) * 2 + 1
        torch._dynamo.graph_break()
        return torch.relu(y) - x
    x = torch.randn(33, 65, device="accel")
    torch.testing.assert_close(torch.compile(f, backend="accel")(x).cpu(), f(x).cpu())
    assert torch_accel.compile_stats()["graphs"] == 2


@pytest.mark.allows_fallback
def test_ops_without_accel_kernel_are_counted():
    def f(x):
        return torch.igamma(x.abs() + 1, x.abs() + 2) * 3
    x = torch.rand(16, device="accel")
    torch_accel.set_fallback_policy("silent")
    torch.testing.assert_close(torch.compile(f, backend="accel")(x).cpu(), f(x).cpu())
    stats = torch_accel.compile_stats()
    assert any("igamma" in op for op in stats["host_ops"]), stats
    assert stats["host_op_count"] >= 1 and stats["eager_op_count"] >= 1


def test_bad_program_is_a_value_error():
    x = torch.randn(4, device="accel")
    with pytest.raises(ValueError, match="no tile kernel named 'nope'"):
        torch.ops.accel.fused_eltwise([x], "nope %0 | %1:float32")
    # The inputs say how many the program has: "%1" is neither an input nor a step here.
    with pytest.raises(ValueError, match="operand '%1' is not a value defined before it"):
        torch.ops.accel.fused_eltwise([x], "add %0 %1 | %2:float32")
    with pytest.raises(ValueError, match="the result %2 is never read"):
        torch.ops.accel.fused_eltwise([x, x], "neg %0 | %1:float32")


def test_program_reads_inputs_after_a_later_input_is_first_read():
    # Five inputs; the text alone would read as four inputs and a missing value.
    a, b, c, d, e = (torch.randn(3, 5) for _ in range(5))
    outs = torch.ops.accel.fused_eltwise(
        [t.to("accel") for t in (a, b, c, d, e)],
        "mul %0 %1;mul %0 %2;mul %5 %3;mul %5 %4 | %6:float32,%7:float32,%8:float32")
    for got, want in zip(outs, (a * c, a * b * d, a * b * e)):
        torch.testing.assert_close(got.cpu(), want)


def test_fused_outputs_shared_values_and_in_place_reads_match_cpu():
    # fp32 inputs are read and fp32 results written in place, the rest through
    # the core's tile: one value as several outputs, an input as an output, a
    # value read again after it is an output, a broadcast and a bf16 input, and
    # a last tile that is partly empty (3700 elements).
    x, y, s = torch.randn(37, 100), torch.randn(37, 100), torch.randn(100)
    z = torch.randn(37, 100).bfloat16()
    program = ("add %0 %1 alpha=1.0; mul %4 %2; mul %4 %3; neg %4"
               " | %4:float32,%5:float32,%4:bfloat16,%0:float32,%4:float32,%6:float32,%7:float32")
    outs = torch.ops.accel.fused_eltwise([t.to("accel") for t in (x, y, z, s)], program)
    total = x + y
    expected = [total, total * z.float(), total.bfloat16(), x, total, total * s, -total]
    assert [o.dtype for o in outs] == [e.dtype for e in expected]
    for out, want in zip(outs, expected):
        torch.testing.assert_close(out.cpu(), want)


@pytest.mark.parametrize("shape,repeated", [
    ((20, 64), (64,)),          # the period divides the host's piece of a tile
    ((9, 512), (512,)),         # read in place, a piece never wraps
    ((31, 100), (100,)),        # pieces wrap around the period: gathered
    ((6, 5, 384), (5, 384)),    # a two-dim block repeated
    ((7, 3, 4), (3, 1)),        # not a repeated block (stride 0 inside): gathered
    ((2, 3000), ()),            # a 0-d value
])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_fused_repeated_broadcast_inputs_read_every_layout_exactly(shape, repeated, dtype):
    # The host's shortcuts for a broadcast bias or scale (expanded once per job,
    # read in place, or gathered) must give what the separate ops give.
    x, s, b = torch.randn(shape), torch.randn(repeated).to(dtype), torch.randn(repeated)
    xa, sa, ba = x.to("accel"), s.to("accel").expand(shape), b.to("accel").expand(shape)
    out, = torch.ops.accel.fused_eltwise([xa, sa, ba], "mul %0 %1; add %3 %2 alpha=1.0 | %4:float32")
    torch.testing.assert_close(out.cpu(), x * s.float() + b, rtol=0, atol=0)


def test_estimate_compile_prices_the_fused_schedule():
    model = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.GELU(), torch.nn.Linear(64, 32))
    x = torch.randn(64, 32)
    est = torch_accel.estimate(model, x, arch="tiny", compile=True)
    plain = torch_accel.estimate(model, x, arch="tiny")
    torch._dynamo.reset()
    accel_model = model.to("accel")
    compiled = torch.compile(accel_model, backend="accel", dynamic=False)
    with torch.no_grad():
        compiled(x.to("accel"))
        with torch_accel.profile() as prof:
            compiled(x.to("accel"))
    assert [r["op"] for r in est.records] == [r["op"] for r in prof.records]
    assert est.total_dram_bytes == prof.total_dram_bytes
    assert est.total_time_s == pytest.approx(prof.total_time_s)
    assert len(est.records) < len(plain.records)
    assert est.total_dram_bytes < plain.total_dram_bytes


def test_compile_explain_and_dump(tmp_path, monkeypatch):
    dump = tmp_path / "dump.txt"
    monkeypatch.setenv("TORCH_ACCEL_COMPILE_DUMP", str(dump))
    text = torch_accel.compile_explain(chain, torch.randn(64, 96, device="accel"),
                                       torch.randn(96, device="accel"))
    assert "fused program 0: add.Tensor + gelu.default + mul.Tensor + add.Tensor" in text
    assert "L1-resident" in text and "DRAM buffer plan" in dump.read_text()
    assert "L1 " in text and "B/core" in text


def test_symbolic_shapes_compile_once():
    compiled = torch.compile(chain, backend="accel", dynamic=True)
    b = torch.randn(96, device="accel")
    for rows in (5, 9, 40):
        x = torch.randn(rows, 96, device="accel")
        torch.testing.assert_close(compiled(x, b).cpu(), chain(x, b).cpu())
    stats = torch_accel.compile_stats()
    assert stats["graphs"] == 1 and stats["fused_programs"] == 1
