"""Convolution epilogues (torch_accel/compile/conv_fusion.py, accel::conv_act):
a convolution with its inference batch norm, residual add and activation runs
as one program whose writer applies them, on both host paths (the library's
convolution and the im2col program), with the numbers of the separate ops."""
import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import torch_accel
from examples.vision import cnn

pytestmark = pytest.mark.usefixtures("fresh_dynamo")

_ACTS = {"none": lambda t: t, "relu": F.relu, "gelu": F.gelu, "silu": F.silu,
         "gelu_tanh": lambda t: F.gelu(t, approximate="tanh")}


@pytest.fixture(params=["library", "im2col"])
def host_path(request, monkeypatch):
    monkeypatch.setenv("TORCH_ACCEL_LIBRARY_CONV", "1" if request.param == "library" else "0")
    return request.param


class ResidualBlock(nn.Module):
    """ResNet's basic block: relu(bn2(conv2(relu(bn1(conv1(x))))) + x)."""

    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + x)


def _trained(model, x):
    """model in eval mode with running statistics away from their defaults."""
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(x * 2 + 0.5)
    return model.eval()


def _fp32(module, *inputs):
    """module on float32 copies of its parameters and inputs, rounded once to
    the inputs' dtype: what one fused program computes."""
    return copy.deepcopy(module).float()(*(t.float() for t in inputs)).to(inputs[0].dtype)


def _cnn_reference(model, x):
    """Eager, but each conv + batch norm + relu computed in float32 and rounded once."""
    layers = list(model)
    i = 0
    while i < len(layers):
        if isinstance(layers[i], nn.Conv2d):
            x = _fp32(nn.Sequential(*layers[i:i + 3]), x)
            i += 3
        else:
            x = layers[i](x)
            i += 1
    return x


def _block_reference(block, x):
    y = _fp32(nn.Sequential(block.conv1, block.bn1, nn.ReLU()), x)
    return _fp32(_Tail(block), y, x)


class _Tail(nn.Module):
    def __init__(self, block):
        super().__init__()
        self.block = block

    def forward(self, y, x):
        return F.relu(self.block.bn2(self.block.conv2(y)) + x)


def _compare(model, x, dtype, reference):
    """(compiled output, reference, eager profile, compiled profile). The
    reference is eager's for float32; for bfloat16 the fused program keeps the
    convolution's fp32 sums through the epilogue and rounds once, so it is
    reference(model, x): eager with each fused unit computed so."""
    model = model.to("accel", dtype)
    xa = x.to("accel", dtype)
    compiled = torch.compile(copy.deepcopy(model), backend="accel", dynamic=False)
    with torch.no_grad():
        with torch_accel.profile() as eager_prof:
            eager = model(xa)
        compiled(xa)
        with torch_accel.profile() as comp_prof:
            got = compiled(xa)
        expected = eager if dtype == torch.float32 else reference(model, xa)
    return got.cpu(), expected.cpu(), eager_prof, comp_prof


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_cnn_inference_runs_conv_bn_relu_as_one_program(dtype, host_path):
    torch.manual_seed(0)
    model = _trained(cnn(16), torch.randn(64, 1, 8, 8))
    got, reference, eager_prof, prof = _compare(model, torch.randn(32, 1, 8, 8), dtype, _cnn_reference)
    torch.testing.assert_close(got, reference)
    fused = [r for r in prof.records if r["op"] == "accel::conv_act"]
    assert len(fused) == 2
    assert all(r["compute"] == "conv_implicit_gemm_relu" and r["writer"] == "writer_conv_epilogue"
               for r in fused)
    ops = prof.ops()
    for absorbed in ("aten::convolution", "aten::_native_batch_norm_legit_no_training", "aten::relu"):
        assert absorbed not in ops
    assert not any(r["op"].startswith("fused[mul") for r in prof.records)
    assert len(prof.records) < len(eager_prof.records)
    assert prof.total_dram_bytes < eager_prof.total_dram_bytes
    assert torch_accel.compile_stats()["conv_epilogues"] == 2


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_residual_block_absorbs_the_skip_add(dtype, host_path):
    torch.manual_seed(1)
    model = _trained(ResidualBlock(8), torch.randn(16, 8, 6, 6))
    got, reference, eager_prof, prof = _compare(model, torch.randn(4, 8, 6, 6), dtype, _block_reference)
    torch.testing.assert_close(got, reference)
    assert [r["op"] for r in prof.records].count("accel::conv_act") == 2
    assert "aten::add" not in prof.ops() and "aten::convolution" not in prof.ops()
    assert len(prof.records) < len(eager_prof.records)
    assert prof.total_dram_bytes < eager_prof.total_dram_bytes


def test_fp32_equals_conv_then_the_separate_ops(host_path):
    """The epilogue rounds each step to fp32 as the separate ops do and runs the
    element-wise ops' own activation kernels: the same numbers, bit for bit."""
    torch.manual_seed(2)
    x = torch.randn(2, 4, 7, 6).to("accel")
    w, b = torch.randn(8, 4, 3, 3).to("accel"), torch.randn(8).to("accel")
    scale, shift = torch.rand(8).to("accel"), torch.randn(8).to("accel")
    residual = torch.randn(2, 8, 4, 6).to("accel")
    for channels_last in (False, True):
        xs = x.to(memory_format=torch.channels_last) if channels_last else x
        for act, f in _ACTS.items():
            got = torch.ops.accel.conv_act(xs, w, b, [2, 1], [1, 1], [1, 1], 1, scale, shift, residual, act)
            y = F.conv2d(xs, w, b, stride=(2, 1), padding=1)
            expected = f(y * scale.view(8, 1, 1) + shift.view(8, 1, 1) + residual)
            torch.testing.assert_close(got.cpu(), expected.cpu(), rtol=0, atol=0)


def test_conv1d_grouped_and_partial_epilogues(host_path):
    torch.manual_seed(3)
    x = torch.randn(3, 6, 20).to("accel")
    w = torch.randn(4, 3, 5).to("accel")
    scale = torch.rand(4).to("accel")
    got = torch.ops.accel.conv_act(x, w, None, [2], [2], [1], 2, scale, None, None, "silu")
    expected = F.silu(F.conv1d(x, w, stride=2, padding=2, groups=2) * scale.view(4, 1))
    torch.testing.assert_close(got.cpu(), expected.cpu())
    residual = torch.randn(3, 4, 10).to("accel")
    got = torch.ops.accel.conv_act(x, w, None, [2], [2], [1], 2, None, None, residual, "none")
    torch.testing.assert_close(got.cpu(), (F.conv1d(x, w, stride=2, padding=2, groups=2) + residual).cpu())


def test_conv3d_epilogue(host_path):
    torch.manual_seed(6)
    x = torch.randn(2, 3, 5, 6, 4).to("accel")
    w, b = torch.randn(4, 3, 3, 3, 3).to("accel"), torch.randn(4).to("accel")
    shift, residual = torch.randn(4).to("accel"), torch.randn(2, 4, 5, 6, 4).to("accel")
    got = torch.ops.accel.conv_act(x, w, b, [1, 1, 1], [1, 1, 1], [1, 1, 1], 1, None, shift, residual,
                                   "gelu_tanh")
    y = F.conv3d(x, w, b, padding=1) + shift.view(4, 1, 1, 1) + residual
    torch.testing.assert_close(got.cpu(), F.gelu(y, approximate="tanh").cpu())


def test_bad_arguments_raise():
    x, w = torch.randn(1, 2, 5, 5).to("accel"), torch.randn(3, 2, 3, 3).to("accel")
    with pytest.raises(ValueError, match="act must be one of"):
        torch.ops.accel.conv_act(x, w, None, [1, 1], [0, 0], [1, 1], 1, None, None, None, "tanh")
    with pytest.raises(RuntimeError, match="scale must be a float vector of the 3 output channels"):
        torch.ops.accel.conv_act(x, w, None, [1, 1], [0, 0], [1, 1], 1, torch.ones(2).to("accel"),
                                 None, None, "relu")
    with pytest.raises(RuntimeError, match="do not match groups=2"):
        torch.ops.accel.conv_act(x, w, None, [1, 1], [0, 0], [1, 1], 2, None, None, None, "relu")
    with pytest.raises(RuntimeError, match="stride must be at least 1"):
        torch.ops.accel.conv_act(x, w, None, [0, 1], [0, 0], [1, 1], 1, None, None, None, "relu")
    with pytest.raises(RuntimeError, match="output size .* is too small"):
        torch.ops.accel.conv_act(x, w, None, [1, 1], [0, 0], [4, 4], 1, None, None, None, "relu")
    with pytest.raises(RuntimeError, match="residual must have the output's shape"):
        torch.ops.accel.conv_act(x, w, None, [1, 1], [0, 0], [1, 1], 1, None, None,
                                 torch.ones(1, 3, 5, 5).to("accel"), "relu")


def test_training_forward_keeps_what_the_backward_saves():
    """conv + relu in a training graph: the convolution's output is not saved
    (relu's backward reads relu's output), so it fuses; gradients still match."""
    torch.manual_seed(4)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 1)).to("accel")
    twin = copy.deepcopy(model)
    compiled = torch.compile(twin, backend="accel", dynamic=False)
    x = torch.randn(2, 3, 6, 6).to("accel")
    out, out_c = model(x), compiled(x)
    torch.testing.assert_close(out_c.cpu(), out.cpu())
    assert torch_accel.compile_stats()["conv_epilogues"] == 1
    out.square().sum().backward()
    out_c.square().sum().backward()
    for p, q in zip(model.parameters(), twin.parameters()):
        torch.testing.assert_close(q.grad.cpu(), p.grad.cpu())


def test_estimate_prices_the_fused_schedule_and_explain_shows_it():
    torch.manual_seed(5)
    model = _trained(ResidualBlock(16), torch.randn(8, 16, 8, 8))
    x = torch.randn(4, 16, 8, 8)
    est = torch_accel.estimate(model, x, compile=True)
    plain = torch_accel.estimate(model, x)
    assert sum(r["op"] == "accel::conv_act" for r in est.records) == 2
    assert len(est.records) < len(plain.records)
    assert est.total_dram_bytes < plain.total_dram_bytes
    with torch.no_grad():
        text = torch_accel.compile_explain(model.to("accel"), x.to("accel"))
    assert "conv epilogue: convolution + mul + add + relu -> accel::conv_act" in text
    assert "conv epilogue: convolution + mul + add + add + relu -> accel::conv_act" in text
