"""3-D convolutions on accel against CPU ATen, and every convolution OpInfo of
PyTorch's op_db in fp32 and bf16. The conv programs have 1-D and 2-D windows;
conv3d and conv_transpose3d run on the CPU through the counted fallback, so
they must give CPU's shapes and values and show up in fallback_stats()."""
import pytest
import torch
import torch.nn.functional as F
from torch.testing._internal.common_methods_invocations import op_db
from torch.testing._internal.common_device_type import toleranceOverride

import torch_accel

pytestmark = pytest.mark.allows_fallback
CONV_OPS = [op for op in op_db if "conv" in op.name]
CONV3D_OPS = [op for op in CONV_OPS if op.name.endswith("3d")]


def randn(*shape, seed, dtype=torch.float32):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed)).to(dtype)


def leaf(t, device, dtype=None):
    return t.detach().to(device, dtype or t.dtype).requires_grad_(t.requires_grad)


def sample_tensors(sample):
    found = [sample.input] + list(sample.args) + list(sample.kwargs.values())
    return [t for t in found if isinstance(t, torch.Tensor)]


def run_sample(op, sample, device, dtype=None):
    """op on the sample moved to `device` (and `dtype`), then the gradient of every
    tensor input for a fixed random output gradient. Returns [out, *grads]."""
    moved = sample.transform(lambda t: leaf(t, device, dtype) if isinstance(t, torch.Tensor) else t)
    out = op(moved.input, *moved.args, **moved.kwargs)
    needs = [t for t in sample_tensors(moved) if t.requires_grad]
    # Drawn in the sample's dtype, so an fp64 run sees the same rounded values.
    grad_out = randn(*out.shape, seed=7, dtype=sample.input.dtype).to(device, out.dtype)
    grads = torch.autograd.grad(out, needs, grad_out, allow_unused=True)
    return [out.detach().cpu()] + [g.cpu() if g is not None else None for g in grads]


def opinfo_tolerance(op, dtype):
    """assert_close's defaults for dtype, widened by any toleranceOverride the
    OpInfo declares for it."""
    from torch.testing._comparison import default_tolerances
    rtol, atol = default_tolerances(dtype)
    for info in op.decorators:
        for decorator in info.decorators if isinstance(info.decorators, (list, tuple)) else [info.decorators]:
            if isinstance(decorator, toleranceOverride) and dtype in decorator.d:
                atol, rtol = max(atol, decorator.d[dtype].atol), max(rtol, decorator.d[dtype].rtol)
    return dict(atol=atol, rtol=rtol)


def test_conv3d_opinfo_samples_run_through_the_counted_fallback():
    for op in CONV3D_OPS:
        for sample in op.sample_inputs("accel", torch.float32, requires_grad=True):
            torch_accel.reset_fallback_stats()
            got, want = run_sample(op, sample, "accel"), run_sample(op, sample, "cpu")
            for g, w in zip(got, want):
                assert (g is None) == (w is None)
                if w is not None:
                    torch.testing.assert_close(g, w)
            assert torch_accel.fallback_stats() == {"aten::convolution": 1, "aten::convolution_backward": 1}


CONV3D = [
    # (N, Cin, D, H, W), (Cout, Cin/groups, T, R, S), kwargs
    ((2, 3, 5, 6, 7), (4, 3, 3, 3, 3), dict(padding=1)),
    ((1, 4, 6, 5, 5), (6, 2, 2, 3, 1), dict(stride=(2, 1, 2), padding=(1, 0, 1), dilation=(1, 2, 1), groups=2)),
    ((2, 4, 4, 4, 4), (4, 1, 3, 3, 3), dict(padding="same", groups=4)),
    ((1, 2, 7, 3, 4), (3, 2, 1, 1, 1), dict()),
]


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("x_shape,w_shape,kwargs", CONV3D)
def test_conv3d_forward_and_gradients_match_cpu(x_shape, w_shape, kwargs, bias, transposed):
    if transposed:
        if kwargs.get("padding") == "same":
            pytest.skip("conv_transpose3d has no padding='same'")
        groups = kwargs.get("groups", 1)
        w_shape = (w_shape[1] * groups, w_shape[0] // groups, *w_shape[2:])
        x_shape = (x_shape[0], w_shape[0], *x_shape[2:])
    fn = F.conv_transpose3d if transposed else F.conv3d
    cpu = [randn(*x_shape, seed=1), randn(*w_shape, seed=2)]
    if bias:
        cpu.append(randn(w_shape[1] * kwargs.get("groups", 1) if transposed else w_shape[0], seed=3))
    cpu = [t.requires_grad_() for t in cpu]
    dev = [leaf(t, "accel") for t in cpu]
    out, out_dev = fn(*cpu, **kwargs), fn(*dev, **kwargs)
    assert out_dev.shape == out.shape
    torch.testing.assert_close(out_dev.cpu(), out)
    g = randn(*out.shape, seed=4)
    out.backward(g)
    out_dev.backward(g.to("accel"))
    for d, c in zip(dev, cpu):
        torch.testing.assert_close(d.grad.cpu(), c.grad)
    assert torch_accel.fallback_stats() == {"aten::convolution": 1, "aten::convolution_backward": 1}


def test_conv3d_module_channels_last_matches_cpu():
    torch.manual_seed(0)
    cpu = torch.nn.Conv3d(3, 5, 3, stride=2, padding=1)
    dev = torch.nn.Conv3d(3, 5, 3, stride=2, padding=1).to("accel")
    dev.load_state_dict(cpu.state_dict())
    x = randn(2, 3, 6, 7, 5, seed=1)
    out = cpu(x)
    out_dev = dev(x.to("accel").to(memory_format=torch.channels_last_3d))
    torch.testing.assert_close(out_dev.cpu(), out)
    out.sum().backward()
    out_dev.sum().backward()
    for (name, p), q in zip(cpu.named_parameters(), dev.parameters()):
        torch.testing.assert_close(q.grad.cpu(), p.grad, msg=lambda m: f"{name}: {m}")


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=str)
@pytest.mark.parametrize("op", CONV_OPS, ids=lambda op: op.name + op.variant_test_name)
def test_conv_opinfo_samples_match_cpu(op, dtype):
    """Every sample of every conv OpInfo: output and input gradients against CPU
    with assert_close's tolerances for dtype and the OpInfo's own overrides.
    Where bf16 results differ by more, the two devices rounded differently;
    then accel's result must be at least as close to the fp64 result of the
    same bf16 inputs as CPU's is (PyTorch's own reduced-precision check,
    torch._dynamo.utils.same with an fp64 reference)."""
    from torch._dynamo.utils import same

    tol = opinfo_tolerance(op, dtype)
    for sample in op.sample_inputs("accel", dtype, requires_grad=True):
        got, want = run_sample(op, sample, "accel"), run_sample(op, sample, "cpu")
        assert [g is None for g in got] == [w is None for w in want]
        got, want = [g for g in got if g is not None], [w for w in want if w is not None]
        try:
            for g, w in zip(got, want):
                torch.testing.assert_close(g, w, **tol)
        except AssertionError:
            if dtype != torch.bfloat16:
                raise
            exact = [t for t in run_sample(op, sample, "cpu", torch.float64) if t is not None]
            assert same(want, got, fp64_ref=exact, tol=tol["rtol"]), f"{op.name} sample {sample}"
