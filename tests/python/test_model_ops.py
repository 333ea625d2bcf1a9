"""Ops that real models reach on accel against CPU: isneginf, isposinf and
isnan, hardtanh with its gradient (ReLU6), weight norm, nn.Unfold/nn.Fold and
Tensor.unfold's gradient, and torch.isin. None may fall back to the CPU."""
import pytest
import torch
import torch.nn.functional as F


pytestmark = pytest.mark.usefixtures("fallback_is_error", "no_fallback")

INF, NAN = float("inf"), float("nan")


def _special_values(dtype):
    if dtype.is_floating_point:
        values = torch.tensor([[-INF, INF, NAN, 0.0, -0.0, 1.5], [-3.0, 6.0, 7.0, -INF, 2.0, INF]])
        return values.to(dtype)
    if dtype == torch.bool:
        return torch.tensor([[True, False, True], [False, False, True]])
    return torch.tensor([[-3, 0, 6], [7, 2, 100]]).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16, torch.float16,
                                   torch.int64, torch.int32, torch.uint8, torch.bool])
@pytest.mark.parametrize("op", [torch.isneginf, torch.isposinf, torch.isnan])
def test_isinf_signed_and_isnan_match_cpu(op, dtype):
    x = _special_values(dtype)
    got = op(x.to("accel"))
    assert got.dtype == torch.bool and got.device.type == "accel"
    torch.testing.assert_close(got.cpu(), op(x))


@pytest.mark.parametrize("op", [torch.isneginf, torch.isposinf, torch.isnan])
def test_isinf_signed_and_isnan_out_and_views(op):
    x = _special_values(torch.float32)
    out = torch.empty(0, dtype=torch.bool, device="accel")
    out_form = getattr(torch.ops.aten, op.__name__).out  # torch.isnan has no out= argument
    assert out_form(x.to("accel"), out=out) is out
    torch.testing.assert_close(out.cpu(), op(x))
    # A transposed (non-contiguous) input, and a method call.
    torch.testing.assert_close(getattr(x.to("accel").t(), op.__name__)().cpu(), op(x.t()))


@pytest.mark.parametrize("op", [torch.isneginf, torch.isposinf])
def test_isinf_signed_rejects_what_cpu_rejects(op):
    with pytest.raises(RuntimeError, match="does not support complex inputs"):
        op(torch.zeros(3, dtype=torch.complex64, device="accel"))
    with pytest.raises(RuntimeError, match="does not support non-boolean outputs"):
        op(torch.zeros(3, device="accel"), out=torch.empty(3, device="accel"))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16, torch.int64,
                                   torch.uint8])
@pytest.mark.parametrize("bounds", [(-1.0, 1.0), (0.0, 6.0), (-2.5, 0.5)])
def test_hardtanh_matches_cpu(dtype, bounds):
    x = _special_values(dtype)
    low, high = bounds
    if dtype == torch.uint8 and low < 0:
        pytest.skip("a negative bound on an unsigned type is an error (tested below)")
    torch.testing.assert_close(F.hardtanh(x.to("accel"), low, high).cpu(), F.hardtanh(x, low, high),
                               equal_nan=True)
    in_place = x.to("accel")
    F.hardtanh(in_place, low, high, inplace=True)
    torch.testing.assert_close(in_place.cpu(), F.hardtanh(x, low, high), equal_nan=True)
    out = torch.empty(0, dtype=dtype, device="accel")
    torch._C._nn.hardtanh(x.to("accel"), low, high, out=out)
    torch.testing.assert_close(out.cpu(), F.hardtanh(x, low, high), equal_nan=True)


def test_relu6_module_and_functional_match_cpu():
    x = torch.randn(4, 5, 6) * 5
    torch.testing.assert_close(torch.nn.ReLU6()(x.to("accel")).cpu(), torch.nn.ReLU6()(x))
    torch.testing.assert_close(F.relu6(x.to("accel")[:, ::2]).cpu(), F.relu6(x[:, ::2]))


def test_hardtanh_rejects_what_cpu_rejects():
    with pytest.raises(RuntimeError, match="Bool inputs not supported for hardtanh"):
        F.hardtanh(torch.ones(3, dtype=torch.bool, device="accel"))
    with pytest.raises(RuntimeError, match="unsigned type with negative limits"):
        F.hardtanh(torch.ones(3, dtype=torch.uint8, device="accel"), -1, 1)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
@pytest.mark.parametrize("inplace", [False, True])
def test_hardtanh_gradient_matches_cpu(dtype, inplace):
    # Values on and around the bounds: the gradient is 0 at a bound and beyond.
    x = torch.tensor([-7.0, -1.0, -0.5, 0.0, 0.25, 1.0, 3.0, 6.0, 6.5, NAN]).to(dtype)
    grad_out = torch.linspace(1, 2, x.numel()).to(dtype)

    def grad(device):
        leaf = x.to(device).requires_grad_()
        # In place needs a non-leaf; its gradient formula then reads the result.
        y = F.hardtanh(leaf * 1, 0.0, 6.0, inplace=inplace)
        y.backward(grad_out.to(device))
        return leaf.grad

    torch.testing.assert_close(grad("accel").cpu(), grad("cpu"))


def test_hardtanh_backward_op_and_grad_input_match_cpu():
    x = torch.randn(3, 7) * 3
    g = torch.randn(3, 7)
    expected = torch.ops.aten.hardtanh_backward(g, x, -1.0, 2.0)
    got = torch.ops.aten.hardtanh_backward(g.to("accel"), x.to("accel"), -1.0, 2.0)
    torch.testing.assert_close(got.cpu(), expected)
    grad_input = torch.empty(0, device="accel")
    torch.ops.aten.hardtanh_backward.grad_input(g.to("accel"), x.to("accel"), -1.0, 2.0,
                                                grad_input=grad_input)
    torch.testing.assert_close(grad_input.cpu(), expected)
    # A grad_output broadcast against a transposed input.
    x_t = (torch.randn(7, 3) * 3).t()
    got = torch.ops.aten.hardtanh_backward(g[0].to("accel"), x_t.to("accel"), -1.0, 2.0)
    torch.testing.assert_close(got.cpu(), torch.ops.aten.hardtanh_backward(g[0], x_t, -1.0, 2.0))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
@pytest.mark.parametrize("shape,dim", [((16, 8, 5), 2), ((6, 4, 3), 0), ((7,), 0), ((5, 9), 1),
                                       ((6, 4, 3), 1), ((5, 9), -1)])
def test_weight_norm_and_its_gradient_match_cpu(shape, dim, dtype):
    """dim 0 and the last dim take the fused _weight_norm_interface; a middle
    dim, and -1 (one norm over the whole tensor), ATen's composite, which
    calls the legacy Tensor.norm."""
    torch.manual_seed(0)
    v = torch.randn(shape).to(dtype)
    g_shape = [1] if dim == -1 else [s if i == dim else 1 for i, s in enumerate(shape)]
    g = torch.randn(g_shape).to(dtype)
    grad_w = torch.linspace(-1, 1, v.numel()).reshape(shape).to(dtype)

    def run(device):
        v_leaf, g_leaf = v.to(device).requires_grad_(), g.to(device).requires_grad_()
        w = torch._weight_norm(v_leaf, g_leaf, dim)
        w.backward(grad_w.to(device))
        return w, v_leaf.grad, g_leaf.grad

    for got, expected in zip(run("accel"), run("cpu")):
        assert got.dtype == expected.dtype
        torch.testing.assert_close(got.cpu(), expected)


def test_weight_norm_interface_returns_the_norm_in_float32_for_bfloat16():
    v = torch.randn(4, 6).to(torch.bfloat16)
    g = torch.rand(4, 1).to(torch.bfloat16) + 0.5
    w, norm = torch._weight_norm_interface(v.to("accel"), g.to("accel"), 0)
    w_cpu, norm_cpu = torch._weight_norm_interface(v, g, 0)
    assert norm.dtype == norm_cpu.dtype == torch.float32
    torch.testing.assert_close(norm.cpu(), norm_cpu)
    torch.testing.assert_close(w.cpu(), w_cpu)


def test_weight_norm_module_trains_like_cpu():
    torch.manual_seed(0)
    conv = torch.nn.utils.parametrizations.weight_norm(torch.nn.Conv1d(4, 6, 3), dim=2)
    x = torch.randn(2, 4, 10)

    def grads(module, device):
        module = module.to(device)
        module(x.to(device)).square().sum().backward()
        return {name: p.grad.cpu() for name, p in module.named_parameters()}

    import copy
    accel, cpu = grads(copy.deepcopy(conv), "accel"), grads(conv, "cpu")
    assert accel.keys() == cpu.keys()
    for name in cpu:
        torch.testing.assert_close(accel[name], cpu[name], msg=lambda m: f"{name}: {m}")


UNFOLD_CASES = [  # (input shape, kernel_size, dilation, padding, stride)
    ((2, 3, 7, 6), (3, 2), 1, 0, 1),
    ((2, 4, 9, 1), (9, 1), 1, (4, 0), 1),  # ConvBERT's span convolution
    ((1, 2, 8, 9), 3, 2, 1, 2),
    ((3, 5, 6), (2, 3), (1, 2), (1, 0), (2, 1)),  # unbatched
    ((0, 2, 5, 5), 2, 1, 0, 1),  # empty batch
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
@pytest.mark.parametrize("shape,kernel,dilation,padding,stride", UNFOLD_CASES)
def test_unfold_fold_and_their_gradients_match_cpu(shape, kernel, dilation, padding, stride, dtype):
    torch.manual_seed(0)
    x = torch.randn(shape).to(dtype)
    window = dict(kernel_size=kernel, dilation=dilation, padding=padding, stride=stride)

    def run(device):
        leaf = x.to(device).requires_grad_()
        columns = F.unfold(leaf, **window)
        # fold(unfold(x)) sums each pixel once per block that covers it.
        image = F.fold(columns * 1.5, shape[-2:], **window)
        image.backward(torch.linspace(-1, 1, image.numel()).reshape(image.shape).to(dtype).to(device))
        return columns, image, leaf.grad

    for got, expected in zip(run("accel"), run("cpu")):
        torch.testing.assert_close(got.cpu(), expected)


def test_unfold_fold_out_forms_match_cpu():
    x = torch.randn(2, 3, 6, 5)
    window = dict(kernel_size=(2, 2), dilation=(1, 1), padding=(1, 0), stride=(1, 2))
    out = torch.empty(0, device="accel")
    torch.ops.aten.im2col.out(x.to("accel"), **window, out=out)
    expected = torch.ops.aten.im2col(x, **window)
    torch.testing.assert_close(out.cpu(), expected)
    folded = torch.empty(0, device="accel")
    torch.ops.aten.col2im.out(out, (6, 5), **window, out=folded)
    torch.testing.assert_close(folded.cpu(), torch.ops.aten.col2im(expected, (6, 5), **window))


@pytest.mark.parametrize("call,message", [
    (lambda x: torch.ops.aten.im2col(x, (0, 2), (1, 1), (0, 0), (1, 1)), "kernel size should be greater than zero"),
    (lambda x: torch.ops.aten.im2col(x, (2, 2), (1, 1), (-1, 0), (1, 1)), "padding should be non-negative"),
    (lambda x: torch.ops.aten.im2col(x, (2, 2), (1, 1), (0, 0), (0, 1)), "stride should be greater than zero"),
    (lambda x: torch.ops.aten.im2col(x, (9, 2), (1, 1), (0, 0), (1, 1)), "must be at least one"),
    (lambda x: torch.ops.aten.im2col(x[None], (2, 2), (1, 1), (0, 0), (1, 1)), "Expected 3D or 4D"),
    (lambda x: torch.ops.aten.col2im(x.flatten(2), (4, 5), (3, 3), (1, 1), (0, 0), (1, 1)), "divisible by the product"),
    (lambda x: torch.ops.aten.col2im(x.flatten(2)[:, :2], (4, 5), (2, 1), (1, 1), (0, 0), (1, 1)), "match the calculated number"),
])
def test_unfold_fold_reject_bad_windows_like_cpu(call, message):
    x = torch.randn(2, 4, 4, 5)
    with pytest.raises(RuntimeError, match=message):
        call(x)
    with pytest.raises(RuntimeError, match=message):
        call(x.to("accel"))


ISIN_CASES = [  # (elements, test elements)
    (torch.tensor([[1, 5, 3], [7, 2, 9]]), torch.tensor([2, 3, 11])),
    (torch.tensor([1, 2, 3]), torch.tensor([1.0, 2.5])),  # promoted to float
    (torch.tensor([1.0, 2.0, NAN, -INF]), torch.tensor([NAN, 2.0, -INF])),  # NaN matches nothing
    (torch.arange(40).reshape(4, 10) % 7, torch.arange(0, 300, 3)),
    (torch.tensor([1, 2, 3]), torch.tensor([], dtype=torch.long)),
    (torch.tensor([], dtype=torch.long), torch.tensor([1, 2])),
    (torch.tensor([0.5, 1.5]).to(torch.bfloat16), torch.tensor([1.5]).to(torch.bfloat16)),
    (torch.tensor([1, 200, 3], dtype=torch.uint8), torch.tensor([200], dtype=torch.uint8)),
]


@pytest.mark.parametrize("invert", [False, True])
@pytest.mark.parametrize("case", range(len(ISIN_CASES)))
def test_isin_matches_cpu(case, invert):
    elements, test = ISIN_CASES[case]
    expected = torch.isin(elements, test, invert=invert)
    got = torch.isin(elements.to("accel"), test.to("accel"), invert=invert)
    assert got.device.type == "accel"
    torch.testing.assert_close(got.cpu(), expected)
    out = torch.empty(0, dtype=torch.bool, device="accel")
    torch.isin(elements.to("accel"), test.to("accel"), invert=invert, out=out)
    torch.testing.assert_close(out.cpu(), expected)


def test_isin_chunks_a_large_comparison():
    # 2**22 comparisons per chunk: 3000 elements take 1398 test elements per chunk.
    elements = torch.randint(0, 10_000, (3000,), generator=torch.Generator().manual_seed(0))
    test = torch.randint(0, 10_000, (5000,), generator=torch.Generator().manual_seed(1))
    got = torch.isin(elements.to("accel"), test.to("accel"))
    torch.testing.assert_close(got.cpu(), torch.isin(elements, test))


def test_isin_scalar_forms_match_cpu():
    elements = torch.tensor([[1, 2], [3, 2]])
    torch.testing.assert_close(torch.isin(elements.to("accel"), 2).cpu(), torch.isin(elements, 2))
    torch.testing.assert_close(torch.isin(2, elements.to("accel"), invert=True).cpu(),
                               torch.isin(2, elements, invert=True))


@pytest.mark.parametrize("dtype", [torch.bool, torch.complex64])
def test_isin_rejects_what_cpu_rejects(dtype):
    x = torch.ones(3, dtype=dtype)
    with pytest.raises(RuntimeError, match="Unsupported input type encountered for isin"):
        torch.isin(x, x)
    with pytest.raises(RuntimeError, match="Unsupported input type encountered for isin"):
        torch.isin(x.to("accel"), x.to("accel"))


@pytest.mark.parametrize("shape,dim,size,step", [
    ((10,), 0, 3, 1),  # overlapping windows
    ((4, 11), 1, 2, 3),  # gaps between windows
    ((5, 6, 7), -2, 4, 2),
    ((6, 2), 0, 6, 1),  # one window
    ((), 0, 1, 1),  # a 0-d tensor's one window
])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_tensor_unfold_gradient_matches_cpu(shape, dim, size, step, dtype):
    x = torch.randn(shape).to(dtype)

    def grad(device):
        leaf = x.to(device).requires_grad_()
        windows = leaf.unfold(dim, size, step)
        windows.backward(torch.linspace(-2, 2, windows.numel()).reshape(windows.shape).to(dtype).to(device))
        return leaf.grad

    torch.testing.assert_close(grad("accel").cpu(), grad("cpu"))
