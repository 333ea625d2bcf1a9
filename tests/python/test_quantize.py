"""torch_accel.quantize: per-layer formats, mixed precision, fidelity, the
straight-through gradient, block-float weights stored on the device, and
pricing in the formats."""
import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import torch_accel
from torch_accel.quant import Int8, quantized_layers
from torch_accel.quant.pricing import estimate_quantized

pytestmark = pytest.mark.usefixtures("no_fallback")


def mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 96), nn.ReLU(), nn.Linear(96, 48), nn.ReLU(),
                         nn.Linear(48, 10))


def expected_linear(layer, x, wq, aq):
    return F.linear(aq(x), wq(layer.weight), layer.bias)


def mx_padded(t, elem):
    """MX along the last dim, a short last block padded with zeros."""
    k = t.shape[-1]
    return torch_accel.mx_quantize(F.pad(t, (0, -k % 32)), elem)[..., :k]


FORMATS = {
    "bf16": lambda t: t.bfloat16().float(),
    "bfp8_b": lambda t: torch_accel.block_float(t, "bfp8_b"),
    "bfp4_b": lambda t: torch_accel.block_float(t, "bfp4_b"),
    "mxfp6_e3m2": lambda t: mx_padded(t, "fp6_e3m2"),
    "mxfp4": lambda t: mx_padded(t, "fp4_e2m1"),
}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_layer_computes_with_the_formats_values(fmt):
    model = mlp().to("accel")
    ref = copy.deepcopy(model)
    torch_accel.quantize(model, weights=fmt, activations=fmt)
    x = torch.randn(8, 64, device="accel")
    q = FORMATS[fmt]
    h = F.relu(expected_linear(ref[0], x, q, q))
    h = F.relu(expected_linear(ref[2], h, q, q))
    torch.testing.assert_close(model(x), expected_linear(ref[4], h, q, q))


def test_mixed_precision_by_name_pattern_and_function():
    model = torch_accel.quantize(mlp(), weights={"0": "bfp8_b", "[24]": "bfp4_b"},
                                 activations=lambda name, m: "bfp8_b" if name != "0" else None,
                                 math_fidelity={"4": "LoFi"})
    layers = quantized_layers(model)
    assert {n: (f["weight"].name, f["activation"].name, f["math_fidelity"])
            for n, f in layers.items()} == {"0": ("bfp8_b", "fp32", None),
                                            "2": ("bfp4_b", "bfp8_b", None),
                                            "4": ("bfp4_b", "bfp8_b", "LoFi")}
    only = torch_accel.quantize(mlp(), weights="mxfp8", layers=lambda n, m: m.out_features == 10)
    assert list(quantized_layers(only)) == ["4"]


def test_fidelity_reaches_the_matmul_program():
    model = torch_accel.quantize(mlp().to("accel"), weights=None, math_fidelity="LoFi")
    with torch_accel.profile() as prof:
        model(torch.randn(4, 64, device="accel"))
    matmuls = [r for r in prof.records if r["compute_engine"] == "matrix"]
    assert len(matmuls) == 3 and all(r["math_fidelity"] == 1 for r in matmuls)


@pytest.mark.parametrize("fmt", ["bf16", "bfp8_b", "bfp2_b", "mxfp6_e2m3", "mxint8", "int8"])
def test_every_format_trains_straight_through(fmt):
    """QAT: the weight's gradient is the loss's gradient at the quantized weight."""
    layer = torch_accel.quantize(nn.Linear(64, 32).to("accel"), weights=fmt)
    x = torch.randn(8, 64, device="accel")
    layer(x).square().sum().backward()
    wq = layer.weight_quantizer(layer.weight.detach()).requires_grad_()
    F.linear(x, wq, layer.bias.detach()).square().sum().backward()
    assert not torch.equal(wq.detach(), layer.weight.detach())
    torch.testing.assert_close(layer.weight.grad, wq.grad)


def test_straight_through_gradient():
    layer = nn.Linear(64, 32).to("accel")
    ref = copy.deepcopy(layer)
    torch_accel.quantize(layer, weights="bfp4_b", activations="mxfp8")
    x = torch.randn(8, 64, device="accel", requires_grad=True)
    layer(x).square().sum().backward()
    wq = torch_accel.block_float(ref.weight.detach(), "bfp4_b").requires_grad_()
    xq = torch_accel.mx_quantize(x.detach(), "fp8_e4m3").requires_grad_()
    F.linear(xq, wq, ref.bias).square().sum().backward()
    torch.testing.assert_close(layer.weight.grad, wq.grad)
    torch.testing.assert_close(x.grad, xq.grad)


def test_block_float_weight_is_stored_on_the_device_for_inference():
    model = torch_accel.quantize(mlp().to("accel"), weights="bfp4_b").eval()
    x = torch.randn(8, 64, device="accel")
    fake = model(x)  # grad enabled: fake quantization
    with torch.no_grad(), torch_accel.profile() as prof:
        stored = model(x)
    torch.testing.assert_close(stored, fake)
    matmuls = [r for r in prof.records if r["compute_engine"] == "matrix"]
    assert [r["in1_format"] for r in matmuls] == ["Bfp4_b"] * 3
    with torch.no_grad():
        torch.testing.assert_close(copy.deepcopy(model)(x), stored)  # the cache is not copied


@pytest.mark.parametrize("spec,observer", [
    (Int8("per_channel", symmetric=True), "per_channel"),
    (Int8("per_tensor", symmetric=True), "per_tensor"),
    (Int8("per_tensor", symmetric=False), "per_tensor"),
])
def test_int8_weights_match_torch_ao(spec, observer):
    """Weights: the scale and zero point torch.ao's min-max observer gives,
    and torch's fake_quantize rounding."""
    from torch.ao.quantization.observer import MinMaxObserver, PerChannelMinMaxObserver
    layer = nn.Linear(64, 32)
    w = layer.weight.detach().clone()
    torch_accel.quantize(layer, weights=spec)
    layer.to("accel")
    x = torch.randn(4, 64)
    scheme = {(True, "per_channel"): torch.per_channel_symmetric,
              (True, "per_tensor"): torch.per_tensor_symmetric,
              (False, "per_tensor"): torch.per_tensor_affine}[(spec.symmetric, observer)]
    if observer == "per_channel":
        obs = PerChannelMinMaxObserver(0, dtype=torch.qint8, qscheme=scheme)
        obs(w)
        s, z = obs.calculate_qparams()
        wq = torch.fake_quantize_per_channel_affine(w, s, z.int(), 0, -128, 127)
    else:
        obs = MinMaxObserver(dtype=torch.qint8, qscheme=scheme)
        obs(w)
        s, z = obs.calculate_qparams()
        wq = torch.fake_quantize_per_tensor_affine(w, s.item(), int(z.item()), -128, 127)
    with torch.no_grad():
        torch.testing.assert_close(layer(x.to("accel")).cpu(), F.linear(x, wq, layer.bias.cpu()))


def test_int8_activations_calibrate_then_freeze():
    model = torch_accel.quantize(mlp().to("accel"), weights="int8", activations="int8")
    x = torch.randn(32, 64, device="accel") * 3
    with pytest.raises(RuntimeError, match="calibrat"):
        model.eval()(x)
    torch_accel.quant.calibrate(model, [x[:16], x[16:]])
    obs = model[0].input_quantizer.observer
    torch.testing.assert_close(obs.min_val, x.amin())
    torch.testing.assert_close(obs.max_val, x.amax())
    before = model(x)
    model(x * 100)  # eval: frozen
    torch.testing.assert_close(model(x), before)


def test_percentile_observer_clips_outliers():
    layer = torch_accel.quantize(nn.Linear(256, 8).to("accel"), weights=None,
                                 activations=Int8(observer="percentile", percentile=99.0))
    x = torch.randn(64, 256, device="accel")
    x[0, 0] = 1000.0
    torch_accel.quant.calibrate(layer, [x])
    obs = layer.input_quantizer.observer
    expected = torch.quantile(x.flatten().cpu(), torch.tensor([0.01, 0.99]))
    torch.testing.assert_close(torch.stack([obs.min_val, obs.max_val]).cpu(), expected)
    assert obs.max_val.item() < 10


def test_conv_and_lstm_layers():
    conv = nn.Conv2d(3, 8, 3, padding=1).to("accel")
    ref = copy.deepcopy(conv)
    torch_accel.quantize(conv, weights="mxfp8", activations="bfp8_b")
    x = torch.randn(2, 3, 6, 6, device="accel")
    xq = torch_accel.block_float(x.movedim(1, -1), "bfp8_b").movedim(-1, 1)
    wq = mx_padded(ref.weight.flatten(1), "fp8_e4m3").view_as(ref.weight)  # K = 27
    torch.testing.assert_close(conv(x), F.conv2d(xq, wq, ref.bias, padding=1))

    lstm = nn.LSTM(16, 32, batch_first=True).to("accel")
    ref = copy.deepcopy(lstm)
    torch_accel.quantize(lstm, weights="bfp8_b")
    seq = torch.randn(2, 5, 16, device="accel")
    with torch.no_grad():
        for name in ("weight_ih_l0", "weight_hh_l0"):
            getattr(ref, name).copy_(torch_accel.block_float(getattr(ref, name), "bfp8_b"))
    torch.testing.assert_close(lstm(seq)[0], ref(seq)[0])


def test_pricing_reads_weights_in_their_format():
    x = torch.randn(256, 64)
    fp32 = estimate_quantized(mlp(), x, arch="wormhole_n150")
    bfp8 = estimate_quantized(torch_accel.quantize(mlp(), weights="bfp8_b"), x,
                              arch="wormhole_n150")
    bfp4 = estimate_quantized(torch_accel.quantize(mlp(), weights="bfp4_b", math_fidelity="LoFi"),
                              x, arch="wormhole_n150")
    assert fp32.total_dram_bytes > bfp8.total_dram_bytes > bfp4.total_dram_bytes
    assert fp32.total_energy_j > bfp4.total_energy_j
    formats = {r["in1_format"] for r in bfp4.records if r["compute_engine"] == "matrix"}
    assert formats == {"Bfp4_b"}
    assert fp32.host_fallbacks == {} == bfp4.host_fallbacks


@pytest.mark.allows_fallback
def test_bad_input():
    with pytest.raises(ValueError, match="unknown quantization format 'fp5'"):
        torch_accel.quantize(mlp(), weights="fp5")
    with pytest.raises(TypeError, match="must be an nn.Module"):
        torch_accel.quantize(torch.randn(3), weights="bfp8_b")
    with pytest.raises(ValueError, match="no Linear, Conv or LSTM"):
        torch_accel.quantize(nn.ReLU(), weights="bfp8_b")
    with pytest.raises(TypeError, match="a name, an Int8 or None"):
        torch_accel.quantize(mlp(), weights=8)
    with pytest.raises(ValueError, match="math_fidelity must be one of"):
        torch_accel.quantize(mlp(), math_fidelity="MidFi")
    with pytest.raises(ValueError, match="per_channel is for weights"):
        torch_accel.quantize(mlp(), activations=Int8("per_channel"))
    with pytest.raises(ValueError, match="granularity must be one of"):
        Int8("per_row")
    with pytest.raises(ValueError, match="layer '2'"):
        torch_accel.quantize(mlp(), weights=lambda n, m: "bfp3_b" if n == "2" else None)
