"""Reflection and replication padding on accel: values and gradients against the
CPU, negative pads, bad pads raising CPU's errors, and no CPU fallback."""
import pytest
import torch
import torch.nn.functional as F

import torch_accel

CASES = [((3, 7), (2, 3)), ((2, 3, 7), (3, 1)), ((2, 3, 5, 6), (1, 2, 3, 4)),
         ((3, 5, 6), (2, 0, 1, 3)), ((1, 2, 4, 5, 3), (1, 2, 0, 3, 2, 1)),
         ((2, 4, 5, 3), (1, 1, 2, 2, 1, 0)), ((2, 3, 9), (-2, 3))]


@pytest.mark.parametrize("mode", ["reflect", "replicate"])
@pytest.mark.parametrize("shape,pad", CASES)
def test_pad_matches_cpu(mode, shape, pad):
    x = torch.randn(shape, dtype=torch.float32, requires_grad=True)
    xa = x.detach().to("accel").requires_grad_()
    expected = F.pad(x, pad, mode=mode)
    actual = F.pad(xa, pad, mode=mode)
    torch.testing.assert_close(actual.cpu(), expected)
    grad = torch.randn(expected.shape)
    expected.backward(grad)
    actual.backward(grad.to("accel"))
    torch.testing.assert_close(xa.grad.cpu(), x.grad)
    assert torch_accel.fallback_stats() == {}


@pytest.mark.parametrize("mode,shape,pad", [("reflect", (1, 3, 4), (4, 1)),
                                            ("replicate", (1, 3, 0), (1, 1)),
                                            ("reflect", (2, 3, 4), (-3, -2))])
def test_bad_padding_raises_as_on_cpu(mode, shape, pad):
    with pytest.raises(RuntimeError) as cpu_error:
        F.pad(torch.randn(shape), pad, mode=mode)
    with pytest.raises(type(cpu_error.value)):
        F.pad(torch.randn(shape, device="accel"), pad, mode=mode)
    assert (torch.ones(2, device="accel") + 1).cpu().tolist() == [2.0, 2.0]
