"""3-D convolutions on accel against CPU ATen (forward, input, weight and bias
gradients, groups, stride, padding, dilation, channels_last_3d), and every
convolution OpInfo of PyTorch's op_db in fp32 and bf16. All run as the conv
programs on the cores: none may fall back to the CPU."""
import pytest
import torch
import torch.nn.functional as F
from torch.testing._internal.common_methods_invocations import op_db
from torch.testing._internal.common_device_type import toleranceOverride


pytestmark = pytest.mark.usefixtures("no_fallback")


CONV_OPS = [op for op in op_db if "conv" in op.name]


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
    """assert_close's defaults for dtype; for a reduced-precision dtype widened
    by any toleranceOverride the OpInfo declares for it."""
    from torch.testing._comparison import default_tolerances
    rtol, atol = default_tolerances(dtype)
    if dtype in (torch.bfloat16, torch.float16):
        for info in op.decorators:
            decorators = info.decorators if isinstance(info.decorators, (list, tuple)) else [info.decorators]
            for decorator in decorators:
                if isinstance(decorator, toleranceOverride) and dtype in decorator.d:
                    atol, rtol = max(atol, decorator.d[dtype].atol), max(rtol, decorator.d[dtype].rtol)
    return dict(atol=atol, rtol=rtol)


def assert_matches_cpu(op, sample, dtype):
    """Output and input gradients against CPU with opinfo_tolerance. Where they
    differ by more, the two devices summed in different orders; then accel's
    result must be about as close to the fp64 result of the same inputs as
    CPU's is: PyTorch's own check of a reordered computation against eager
    (torch._dynamo.utils.same with an fp64 reference: RMS error at most 2x
    CPU's in fp32, 3x in bf16 or for small tensors, plus tol/10)."""
    from torch._dynamo.utils import same

    tol = opinfo_tolerance(op, dtype)
    got, want = run_sample(op, sample, "accel"), run_sample(op, sample, "cpu")
    assert [g is None for g in got] == [w is None for w in want]
    for i, (g, w) in enumerate(zip(got, want)):
        if w is None:
            continue
        assert g.shape == w.shape, f"{op.name}: result {i} has shape {g.shape}, CPU's {w.shape}"
        try:
            torch.testing.assert_close(g, w, **tol)
        except AssertionError:
            exact = run_sample(op, sample, "cpu", torch.float64)[i]
            assert same(w, g, fp64_ref=exact, tol=tol["rtol"]), f"{op.name} result {i}, {sample}"


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
    """Every sample of every conv OpInfo (conv1d/2d/3d and the transposed ones)."""
    for sample in op.sample_inputs("accel", dtype, requires_grad=True):
        assert_matches_cpu(op, sample, dtype)
