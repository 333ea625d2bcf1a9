"""complex64 multiply and torch.polar on accel (csrc/aten/complex_ops.cpp),
against CPU ATen: the rotary embeddings of Meta's Llama reference code and
Hugging Face's Llama 4 run natively, forward and backward."""
import pytest
import torch

import torch_accel


pytestmark = pytest.mark.usefixtures("no_fallback")


def _complex(*shape, seed=0):
    return torch.randn(*shape, dtype=torch.complex64, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("case", ["complex*complex", "complex*real", "real*complex", "conj", "number", "complex number"])
def test_mul_equals_cpu(case):
    a, b, r = _complex(4, 1, 8), _complex(3, 8, seed=1), torch.randn(4, 3, 1)
    pairs = {"complex*complex": (a, b), "complex*real": (a, r), "real*complex": (r, b),
             "conj": (a, b.conj()), "number": (a, 2.5), "complex number": (b, 1 - 2j)}
    x, y = pairs[case]
    on_accel = [t.to("accel") if isinstance(t, torch.Tensor) else t for t in (x, y)]
    got = on_accel[0] * on_accel[1]
    assert got.dtype == torch.complex64 and got.device.type == "accel"
    torch.testing.assert_close(got.cpu(), x * y)


def test_mul_in_place_and_out():
    a, b = _complex(5, 6), _complex(6, seed=1)
    x = a.to("accel")
    x.mul_(b.to("accel"))
    torch.testing.assert_close(x.cpu(), a * b)
    out = torch.empty(0, dtype=torch.complex64, device="accel")
    torch.mul(a.to("accel"), b.to("accel"), out=out)
    torch.testing.assert_close(out.cpu(), a * b)


def test_rotary_embedding_forward_and_backward():
    """Llama's apply_rotary_emb: q as complex pairs times polar(1, angles)."""
    q = torch.randn(2, 8, 4, 16, requires_grad=True)
    angles = torch.outer(torch.arange(8.0), 1.0 / 10000 ** (torch.arange(0, 16, 2).float() / 16))

    def rotate(q, angles):
        freqs = torch.polar(torch.ones_like(angles), angles)[None, :, None, :]
        pairs = torch.view_as_complex(q.reshape(*q.shape[:-1], -1, 2))
        return torch.view_as_real(pairs * freqs).flatten(3)

    qa = q.detach().to("accel").requires_grad_()
    out, out_cpu = rotate(qa, angles.to("accel")), rotate(q, angles)
    torch.testing.assert_close(out.cpu(), out_cpu)
    grad = torch.randn_like(out_cpu)
    out.backward(grad.to("accel"))
    out_cpu.backward(grad)
    torch.testing.assert_close(qa.grad.cpu(), q.grad)


def test_polar_equals_cpu():
    abs_, angle = torch.rand(7, 5), torch.randn(7, 5) * 4
    torch.testing.assert_close(torch.polar(abs_.to("accel"), angle.to("accel")).cpu(), torch.polar(abs_, angle))


@pytest.mark.allows_fallback
def test_complex128_still_goes_to_the_cpu_and_is_counted():
    torch_accel.set_fallback_policy("silent")
    a = torch.randn(3, dtype=torch.complex128)
    torch.testing.assert_close((a.to("accel") * a.to("accel")).cpu(), a * a)
    assert torch_accel.fallback_stats() == {"aten::mul.Tensor": 1}
