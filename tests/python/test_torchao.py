"""torchao's quantization configs (torchao==0.18.0) applied with quantize_ to a
model on accel: the result equals the same config on the CPU (or, for MX,
torchao's own emulation), with no CPU fallback."""
import copy
import warnings

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

import torch_accel

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from torchao.quantization import (Float8WeightOnlyConfig, Int8DynamicActivationInt8WeightConfig,
                                      Int8WeightOnlyConfig, quantize_)
    from torchao.prototype.mx_formats import MXDynamicActivationMXWeightConfig
    from torchao.quantization.quantize_.common import KernelPreference

pytestmark = pytest.mark.usefixtures("no_fallback")


def model_and_input(dtype=torch.float32):
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 32))
    return m.to(dtype), torch.randn(16, 64, dtype=dtype)


class ExactIntMatmul(TorchDispatchMode):
    """aten::_int_mm as defined (exact int32 sums). On CPUs without AVX-512 VNNI,
    oneDNN's CPU kernel saturates pairs of u8*s8 products to int16 and returns
    wrong sums, so the CPU reference computes it in int64 instead."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is torch.ops.aten._int_mm.default:
            a, b = args
            return (a.long() @ b.long()).int()
        return func(*args, **(kwargs or {}))


def on_both(config, dtype=torch.float32, reference_config=None):
    model, x = model_and_input(dtype)
    cpu = copy.deepcopy(model)
    quantize_(cpu, reference_config or config)
    accel = copy.deepcopy(model).to("accel")
    quantize_(accel, config)
    with torch.no_grad():
        got = accel(x.to("accel")).cpu()
        with ExactIntMatmul():
            expected = cpu(x)
    return got, expected, accel


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_int8_weight_only(dtype):
    got, expected, model = on_both(Int8WeightOnlyConfig(), dtype)
    assert type(model[0].weight).__name__ == "Int8Tensor"
    assert model[0].weight.device.type == "accel"
    torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_int8_dynamic_takes_torchaos_float_matmul(dtype, fallback_is_error):
    """torchao tries an int8 x int8 -> int32 aten::mm first, which accel has no
    kernel for; with fallbacks as errors it takes its float32-matmul path,
    exact here (every sum stays below 2^24)."""
    got, expected, _ = on_both(Int8DynamicActivationInt8WeightConfig(), dtype)
    torch.testing.assert_close(got, expected)


@pytest.mark.allows_fallback
def test_int8_dynamic_integer_matmul_is_a_counted_fallback():
    got, expected, _ = on_both(Int8DynamicActivationInt8WeightConfig())
    torch.testing.assert_close(got, expected)
    assert torch_accel.fallback_stats() == {"aten::mm": 2}  # one per Linear


def test_float8_weight_only():
    got, expected, model = on_both(Float8WeightOnlyConfig(), torch.bfloat16)
    assert model[0].weight.qdata.dtype == torch.float8_e4m3fn
    torch.testing.assert_close(got, expected)


def test_mx_dynamic_config_runs_the_mx_scaled_mm():
    """MXFP8 activations and weights; torch._scaled_mm with E8M0 block scales
    on accel, against torchao's emulated MX gemm on the CPU."""
    emulated = MXDynamicActivationMXWeightConfig(kernel_preference=KernelPreference.EMULATED)
    got, expected, model = on_both(MXDynamicActivationMXWeightConfig(), torch.bfloat16, emulated)
    assert type(model[0].weight).__name__ == "MXTensor"
    torch.testing.assert_close(got, expected)
