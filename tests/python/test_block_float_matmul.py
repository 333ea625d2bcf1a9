"""Tensors stored in the chip's block-float formats (torch_accel.to_block_float,
BlockFloatTensor): device memory, matmuls that read the format, nn.Linear
forward and backward, and the modelled time the smaller bytes and the
fidelity buy."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import torch_accel

FIDELITIES = ("LoFi", "HiFi2", "HiFi4")


def gen(seed):
    return torch.Generator().manual_seed(seed)


def equal_bits(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(
        a.detach().cpu().view(torch.int16 if a.element_size() == 2 else torch.int32),
        b.detach().cpu().view(torch.int16 if b.element_size() == 2 else torch.int32))


@pytest.mark.parametrize("fmt", ["bfp8_b", "bfp4_b", "bfp2_b"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("fp32_dest_acc", [True, False])
def test_matmul_equals_the_matmul_of_the_unpacked_weight_bitwise(fmt, dtype, fp32_dest_acc):
    """Same program, same fidelity, same accumulation: the block-float weight
    only changes what the unpacker reads, never the sums."""
    x = torch.randn(70, 300, generator=gen(0)).to(dtype).to("accel")  # K spans several blocks
    w = torch.randn(50, 300, generator=gen(1)).to(dtype).to("accel")  # an nn.Linear weight [N, K]
    bias = torch.randn(50, generator=gen(2)).to(dtype).to("accel")
    q = torch_accel.to_block_float(w, fmt)
    unpacked = q.dequantize()
    assert equal_bits(unpacked, torch_accel.block_float(w, fmt))
    for fidelity in FIDELITIES:
        with torch_accel.compute_config(math_fidelity=fidelity, fp32_dest_acc=fp32_dest_acc):
            with torch_accel.profile() as prof:
                got = F.linear(x, q, bias)
            assert equal_bits(got, F.linear(x, unpacked, bias)), fidelity
            assert equal_bits(x @ q.t(), x @ unpacked.t()), fidelity
            assert equal_bits(x[:, :50] @ q[:, :50], x[:, :50] @ unpacked[:, :50]), fidelity
        rec = prof.records[0]
        assert rec["op"] == "accel::linear_block_float" and rec["in1_format"] == fmt.capitalize()
        assert rec["math_fidelity"] == {"LoFi": 1, "HiFi2": 2, "HiFi4": 4}[fidelity]
        assert rec["fp32_dest_acc"] == fp32_dest_acc
    # Fidelity still matters: LoFi drops the activation's low mantissa bits.
    with torch_accel.compute_config(math_fidelity="LoFi"):
        lofi = F.linear(x, q)
    with torch_accel.compute_config(math_fidelity="HiFi4"):
        hifi = F.linear(x, q)
    assert not torch.equal(lofi.cpu(), hifi.cpu())


def test_both_operands_in_block_float():
    a = torch_accel.to_block_float(torch.randn(64, 96, generator=gen(3)).to("accel"), "bfp8_b")
    b = torch_accel.to_block_float(torch.randn(96, 40, generator=gen(4)).to("accel"), "bfp8_b")
    with torch_accel.profile() as prof:
        got = a @ b
    assert equal_bits(got, a.dequantize() @ b.dequantize())
    rec = prof.records[0]
    assert rec["input_format"] == "Bfp8_b" and rec["in1_format"] in ("", "Bfp8_b")  # "": as in0
    assert equal_bits(a.t().t() @ b, got)


def test_half_activations():
    x = torch.randn(33, 64, generator=gen(5)).half().to("accel")
    q = torch_accel.to_block_float(torch.randn(64, 64, generator=gen(6)).half().to("accel"), "bfp8_b")
    assert equal_bits(x @ q, x @ q.dequantize())


def test_linear_layer_forward_and_backward():
    torch.manual_seed(0)
    layer = nn.Linear(64, 48).to("accel")
    reference = nn.Linear(64, 48).to("accel")
    q = torch_accel.to_block_float(layer.weight.detach(), "bfp4_b")
    reference.weight = nn.Parameter(q.dequantize())
    reference.bias = nn.Parameter(layer.bias.detach().clone())
    layer.weight = nn.Parameter(q, requires_grad=False)
    assert isinstance(layer.weight, torch_accel.BlockFloatTensor)
    x = torch.randn(4, 9, 64, generator=gen(7)).to("accel").requires_grad_()
    x_ref = x.detach().clone().requires_grad_()
    with torch_accel.profile() as prof:
        out = layer(x)
        out.square().sum().backward()
    out_ref = reference(x_ref)
    out_ref.square().sum().backward()
    assert equal_bits(out, out_ref)
    assert equal_bits(x.grad, x_ref.grad) and equal_bits(layer.bias.grad, reference.bias.grad)
    matmuls = [r for r in prof.records if r["op"] == "accel::linear_block_float"]
    assert len(matmuls) == 2 and all(r["in1_format"] == "Bfp4_b" for r in matmuls)  # forward, grad of x


def test_weight_lives_in_device_dram_at_its_packed_size():
    base = torch.accel.memory_allocated()
    w = torch.randn(1024, 1024, generator=gen(8)).to("accel")
    fp32_bytes = torch.accel.memory_allocated() - base
    assert fp32_bytes == 4 * 1024 * 1024
    for fmt, tile_bytes in (("bfp8_b", 1088), ("bfp4_b", 576)):
        before = torch.accel.memory_allocated()
        q = torch_accel.to_block_float(w, fmt)
        stored = torch.accel.memory_allocated() - before
        print(f"{fmt}: {stored} bytes on the device for a 1024x1024 weight "
              f"({100 * stored / fp32_bytes:.1f}% of float32)")
        assert stored == 32 * 32 * tile_bytes
        del q
    assert 32 * 32 * 1088 / fp32_bytes < 0.27 and 32 * 32 * 576 / fp32_bytes < 0.15


def test_tensor_operations_keep_or_leave_the_format():
    w = torch.randn(40, 24, generator=gen(9))
    q = torch_accel.to_block_float(w, "bfp8_b")
    assert q.device.type == "cpu" and q.shape == (40, 24) and q.packed.shape == (2, 1, 1088)
    moved = q.to("accel")
    assert isinstance(moved, torch_accel.BlockFloatTensor) and moved.packed.device.type == "accel"
    assert torch.equal(moved.dequantize().cpu(), q.dequantize())
    assert isinstance(q.t(), torch_accel.BlockFloatTensor) and q.t().shape == (24, 40)
    assert torch.equal(q.t().dequantize(), q.dequantize().t())
    assert isinstance(q.detach(), torch_accel.BlockFloatTensor)
    assert isinstance(q.clone(), torch_accel.BlockFloatTensor)
    assert q.to(torch.bfloat16).dtype == torch.bfloat16
    # Anything else computes on the unpacked values.
    assert torch.equal(q * 2, q.dequantize() * 2) and type(q * 2) is torch.Tensor
    x = torch.randn(3, 40, generator=gen(10))
    assert torch.equal(x @ q, x @ q.dequantize())  # the CPU matmul of the unpacked weight


def test_bad_input():
    with pytest.raises(ValueError, match="unknown format"):
        torch_accel.to_block_float(torch.randn(4, 4), "int8")
    with pytest.raises(TypeError, match="floating"):
        torch_accel.to_block_float(torch.ones(4, 4, dtype=torch.int8), "bfp8_b")
    q = torch_accel.to_block_float(torch.randn(8, 8).to("accel"), "bfp8_b")
    with pytest.raises(ValueError, match="does not match"):
        torch.ops.accel.linear_block_float(torch.randn(3, 5).to("accel"), q.packed, "bfp8_b", [8, 8],
                                           False, None)
    with pytest.raises(RuntimeError, match="read-only"):
        q.add_(1)
    with pytest.raises(RuntimeError, match="read-only"):
        torch.add(torch.ones(8, 8, device="accel"), 1, out=q)
    with pytest.raises(RuntimeError, match="same device|accel"):
        torch.ops.accel.linear_block_float(torch.randn(3, 8), q.packed, "bfp8_b", [8, 8], False, None)


# ----------------------------------------------------------------- modelled time
def estimate(x, w, fidelity, arch="wormhole_n150"):
    prof = torch_accel.estimate(torch.matmul, x, w, arch=arch,
                                compute_config=dict(math_fidelity=fidelity, fp32_dest_acc=False))
    assert len(prof.records) == 1
    return prof.records[0]


def test_block_float_weight_moves_fewer_bytes_and_is_faster_when_dram_bound():
    """A decode step's matmul streams its weight from DRAM once."""
    x = torch.empty(32, 4096, dtype=torch.bfloat16, device="meta")
    w = torch.empty(4096, 14336, dtype=torch.bfloat16, device="meta")
    plain = estimate(x, w, "LoFi")
    bfp8 = estimate(x, torch_accel.to_block_float(w, "bfp8_b"), "LoFi")
    bfp4 = estimate(x, torch_accel.to_block_float(w, "bfp4_b"), "LoFi")
    print({k: (r["dram_read_bytes"], f"{r['cost']['time_s'] * 1e6:.0f} us", r["cost"]["bound"])
           for k, r in (("bf16", plain), ("bfp8_b", bfp8), ("bfp4_b", bfp4))})
    assert plain["cost"]["bound"] == "dram" and bfp8["cost"]["bound"] == "dram"
    weight_tiles = 4096 * 14336 // 1024
    assert plain["dram_read_bytes"] - bfp8["dram_read_bytes"] == weight_tiles * (2048 - 1088)
    assert bfp8["dram_read_bytes"] - bfp4["dram_read_bytes"] == weight_tiles * (1088 - 576)
    assert plain["cost"]["time_s"] > bfp8["cost"]["time_s"] > bfp4["cost"]["time_s"]


def test_lofi_is_faster_when_compute_bound():
    a = torch_accel.to_block_float(torch.empty(16384, 16384, dtype=torch.bfloat16, device="meta"), "bfp8_b")
    times = {}
    for fidelity in ("HiFi4", "HiFi2", "LoFi"):
        rec = estimate(a, a, fidelity)
        times[fidelity] = rec["cost"]["time_s"]
        if fidelity != "LoFi":
            assert rec["cost"]["bound"] == "compute", fidelity
    print({k: f"{v * 1e3:.1f} ms" for k, v in times.items()})
    assert times["HiFi4"] > times["HiFi2"] > times["LoFi"]


def test_eager_record_prices_the_block_float_bytes():
    x = torch.randn(64, 256, generator=gen(11)).bfloat16().to("accel")
    w = torch.randn(256, 512, generator=gen(12)).bfloat16().to("accel")
    q = torch_accel.to_block_float(w, "bfp8_b")
    with torch_accel.profile() as plain:
        x @ w
    with torch_accel.profile() as packed:
        x @ q
    saved = plain.records[0]["dram_read_bytes"] - packed.records[0]["dram_read_bytes"]
    assert packed.records[0]["in1_format"] == "Bfp8_b"
    assert saved > 0 and saved % (2048 - 1088) == 0  # whole weight tiles, each read in fewer bytes


def test_estimate_of_a_model_with_block_float_weights():
    model = nn.Sequential(nn.Linear(512, 1024), nn.ReLU(), nn.Linear(1024, 256))
    for layer in (model[0], model[2]):
        layer.weight = nn.Parameter(torch_accel.to_block_float(layer.weight.detach(), "bfp8_b"),
                                    requires_grad=False)
    prof = torch_accel.estimate(model, torch.empty(64, 512), arch="wormhole_n150")
    matmuls = [r for r in prof.records if r.get("m_tiles", 0) > 0]
    assert [r["in1_format"] for r in matmuls] == ["Bfp8_b", "Bfp8_b"]
    assert not prof.host_fallbacks


def test_fidelity_passes_a_block_float_operand_needs():
    """The multipliers take hidden + 6 bits of in1 and hidden + 4 of in0
    (engine/matrix_engine.h). A Bfp8_b weight (hidden + 6) is whole in in1's
    high part, so HiFi2 already computes the exact product: HiFi2 == HiFi4 to
    the bit. With both operands Bfp4_b (hidden + 2) LoFi is exact too; this is
    why the chip recommends LoFi/HiFi2 for BFP8 and LoFi for BFP4."""
    x = torch.randn(64, 256, generator=gen(13)).to("accel")
    w8 = torch_accel.to_block_float(torch.randn(256, 96, generator=gen(14)).to("accel"), "bfp8_b")
    out = {}
    for fidelity in ("LoFi", "HiFi2", "HiFi3", "HiFi4"):
        with torch_accel.compute_config(math_fidelity=fidelity):
            out[fidelity] = (x @ w8).cpu()
    assert torch.equal(out["HiFi2"], out["HiFi4"]) and torch.equal(out["HiFi3"], out["HiFi4"])
    assert not torch.equal(out["LoFi"], out["HiFi4"])  # the fp32 activation still loses bits
    x4 = torch_accel.to_block_float(x, "bfp4_b")
    w4 = torch_accel.to_block_float(w8.dequantize(), "bfp4_b")
    with torch_accel.compute_config(math_fidelity="LoFi"):
        lofi = (x4 @ w4).cpu()
    with torch_accel.compute_config(math_fidelity="HiFi4"):
        assert torch.equal(lofi, (x4 @ w4).cpu())


def test_eager_and_estimate_price_the_same_block_float_program():
    arch = torch_accel.arch_info()["name"]
    x = torch.randn(96, 256, generator=gen(15)).bfloat16()
    w = torch_accel.to_block_float(torch.randn(256, 160, generator=gen(16)).bfloat16(), "bfp8_b")
    with torch_accel.compute_config(math_fidelity="LoFi"):
        with torch_accel.profile() as eager:
            x.to("accel") @ w.to("accel")
    est = torch_accel.estimate(torch.matmul, x, w, arch=arch, compute_config=dict(math_fidelity="LoFi"))
    eager_rec = [r for r in eager.records if r["op"] == "accel::linear_block_float"]
    assert len(eager_rec) == 1 and len(est.records) == 1
    for key in ("reader", "in1_format", "dram_read_bytes", "dram_write_bytes", "multicast_bytes",
                "l1_bytes_per_core", "math_fidelity"):
        assert eager_rec[0][key] == est.records[0][key], key
    assert eager_rec[0]["cost"]["time_s"] == est.records[0]["cost"]["time_s"]
