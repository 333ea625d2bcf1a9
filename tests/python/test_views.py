"""Views, indexing, in-place writes, printing and dtype conversions on accel
tensors, against the same operations on CPU tensors."""
import re

import pytest
import torch

pytestmark = pytest.mark.usefixtures("no_fallback")

VIEWS = {
    "view": lambda x: x.view(6, 4),
    "view_neg1": lambda x: x.view(-1, 3),
    "view_dtype": lambda x: x.view(torch.int32),
    "view_dtype_narrow": lambda x: x.view(torch.int16),
    "reshape": lambda x: x.reshape(4, 6),
    "reshape_of_transpose": lambda x: x.transpose(0, 2).reshape(-1),
    "transpose": lambda x: x.transpose(0, 1),
    "permute": lambda x: x.permute(2, 0, 1),
    "movedim": lambda x: x.movedim(0, -1),
    "slice_steps": lambda x: x[:, ::2, 1::2],
    "slice_negative_start": lambda x: x[-1:, -2:, :-1],
    "select": lambda x: x.select(1, 2),
    "narrow": lambda x: x.narrow(2, 1, 2),
    "expand": lambda x: x[:, :1].expand(2, 5, 4),
    "expand_as": lambda x: x[:1, :1, :1].expand_as(x),
    "unsqueeze": lambda x: x.unsqueeze(1),
    "squeeze": lambda x: x[:, :1].squeeze(1),
    "squeeze_all": lambda x: x[:1, 1:2].squeeze(),
    "diagonal": lambda x: x.diagonal(0, 1, 2),
    "diagonal_offset": lambda x: x.diagonal(1, 1, 2),
    "as_strided": lambda x: x.as_strided((3, 3), (2, 5), 1),
    "unfold": lambda x: x.unfold(2, 2, 1),
    "unfold_step": lambda x: x.unfold(2, 2, 2),
    "t": lambda x: x[0].t(),
    "mT": lambda x: x.mT,
    "flatten": lambda x: x.flatten(),
    "flatten_noncontiguous": lambda x: x.transpose(1, 2).flatten(),
    "flatten_range": lambda x: x.flatten(1),
    "unflatten": lambda x: x.unflatten(2, (2, 2)),
    "unbind": lambda x: x.unbind(1)[2],
    "split": lambda x: x.split(2, dim=2)[1],
    "chunk": lambda x: x.chunk(3, dim=1)[1],
    "view_as_complex": lambda x: torch.view_as_complex(x.reshape(12, 2)),
    "view_as_real": lambda x: torch.view_as_real(torch.view_as_complex(x.reshape(12, 2))),
    "real_imag": lambda x: torch.view_as_complex(x.reshape(12, 2)).imag,
    "contiguous": lambda x: x.transpose(0, 2).contiguous(),
    "clone_preserves_strides": lambda x: x.transpose(0, 2).clone(),
    "clone_contiguous_format": lambda x: x.transpose(0, 2).clone(memory_format=torch.contiguous_format),
}

INDEXING = {
    "int": lambda x: x[1],
    "ints": lambda x: x[1, 2],
    "negative_int": lambda x: x[-1, -2],
    "slice": lambda x: x[:, 1:3],
    "none": lambda x: x[None],
    "none_middle": lambda x: x[1, None, ..., 2],
    "ellipsis": lambda x: x[..., 1:3],
    "ellipsis_int": lambda x: x[..., -1],
    "mixed": lambda x: x[1:, None, ::2, 3],
    "empty_slice": lambda x: x[:, 3:1],
}


def _base():
    return torch.arange(24, dtype=torch.float32).reshape(2, 3, 4)


def _check_view(fn):
    c = _base()
    a = c.to("accel")
    r, e = fn(a), fn(c)
    assert r.device == torch.device("accel:0")
    assert r.dtype == e.dtype and r.shape == e.shape
    assert r.stride() == e.stride() and r.storage_offset() == e.storage_offset()
    assert torch.equal(r.cpu(), e)
    return a, r, e


@pytest.mark.parametrize("name", list(VIEWS))
def test_view_matches_cpu(name):
    a, r, e = _check_view(VIEWS[name])
    # a view on the CPU is a view on accel too: same storage as its base
    cpu_base = _base()
    if VIEWS[name](cpu_base).untyped_storage().data_ptr() == cpu_base.untyped_storage().data_ptr():
        assert r.untyped_storage().data_ptr() == a.untyped_storage().data_ptr()


@pytest.mark.parametrize("name", list(INDEXING))
def test_indexing_matches_cpu(name):
    a, r, e = _check_view(INDEXING[name])
    assert r.untyped_storage().data_ptr() == a.untyped_storage().data_ptr()


def test_writes_through_views_are_visible_in_base():
    x = torch.zeros(4, 5, device="accel")
    x[1:3].fill_(5)
    expected = torch.zeros(4, 5)
    expected[1:3] = 5
    assert torch.equal(x.cpu(), expected)

    y = torch.ones(4, 6, device="accel")
    y[:, 1:4].t().zero_()
    expected = torch.ones(4, 6)
    expected[:, 1:4] = 0
    assert torch.equal(y.cpu(), expected)

    z = torch.zeros(4, 6, device="accel")
    z[::2, ::3].copy_(torch.arange(4.0).reshape(2, 2))                      # from the CPU
    z[1::2, 1::3].copy_(torch.arange(4.0, 8.0).reshape(2, 2).to("accel:1").t())  # from accel:1
    expected = torch.zeros(4, 6)
    expected[::2, ::3] = torch.arange(4.0).reshape(2, 2)
    expected[1::2, 1::3] = torch.arange(4.0, 8.0).reshape(2, 2).t()
    assert torch.equal(z.cpu(), expected)

    w = torch.zeros(3, 4, device="accel")
    w[1] = 3
    w[:, 2] = torch.arange(3.0)
    w[..., 0] = 7.5
    w.diagonal().fill_(-1)
    expected = torch.zeros(3, 4)
    expected[1] = 3
    expected[:, 2] = torch.arange(3.0)
    expected[..., 0] = 7.5
    expected.diagonal().fill_(-1)
    assert torch.equal(w.cpu(), expected)

    u = torch.zeros(2, 6, device="accel")
    u.unfold(1, 2, 2).select(2, 1).fill_(9)
    expected = torch.zeros(2, 6)
    expected.unfold(1, 2, 2).select(2, 1).fill_(9)
    assert torch.equal(u.cpu(), expected)

    cplx = torch.zeros(3, dtype=torch.complex64, device="accel")
    torch.view_as_real(cplx)[:, 1].fill_(2)
    assert torch.equal(cplx.cpu(), torch.full((3,), 2j, dtype=torch.complex64))


def test_inplace_native_ops_match_cpu():
    c = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    a = c.to("accel")
    for fn in [lambda t: t.fill_(2.5), lambda t: t.zero_(), lambda t: t[:, ::2].fill_(-1),
               lambda t: t.t()[1].fill_(4), lambda t: t.copy_(torch.ones(4)),  # broadcast copy
               lambda t: t.fill_(torch.tensor(3.0)), lambda t: t.resize_(2, 6)]:
        fn(a)
        fn(c)
        assert a.shape == c.shape and torch.equal(a.cpu(), c)


def test_resize_keeps_data_and_grows():
    a = torch.arange(6.0, device="accel")
    a.resize_(2, 2)
    assert torch.equal(a.cpu(), torch.tensor([[0.0, 1.0], [2.0, 3.0]]))
    a.resize_(10)
    assert torch.equal(a[:6].cpu(), torch.arange(6.0))
    assert a.device == torch.device("accel:0")


def test_set_variants():
    src = torch.arange(10.0, device="accel")
    t = torch.empty(2, device="accel").set_(src.untyped_storage(), 2, (2, 3), (3, 1))
    assert torch.equal(t.cpu(), torch.arange(10.0).as_strided((2, 3), (3, 1), 2))
    t2 = torch.empty(0, device="accel").set_(src)
    assert t2.data_ptr() == src.data_ptr() and torch.equal(t2.cpu(), src.cpu())
    t3 = torch.empty(0, device="accel").set_(src.untyped_storage())
    assert t3.shape == (10,)
    t4 = torch.ones(3, device="accel").set_()
    assert t4.shape == (0,) and t4.device.type == "accel"


def _strip_device(s):
    return re.sub(r",\s*device='accel:\d'", "", s)


def test_printing():
    for c in [torch.arange(6.0).reshape(2, 3) / 3, torch.arange(6).reshape(2, 3),
              torch.tensor([True, False]), torch.tensor([1.5 + 2j]), torch.zeros(0, 3),
              torch.tensor(2.5), torch.randn(3, 4).t()]:
        a = c.to("accel")
        assert "device='accel:0'" in repr(a)
        assert _strip_device(str(a)) == str(c)
        assert _strip_device(repr(a)) == repr(c)
    b = torch.arange(3).to("accel:1")
    assert "device='accel:1'" in repr(b)


CONVERSIONS = {
    "double": lambda t: t.double(),
    "float": lambda t: t.float(),
    "half": lambda t: t.half(),
    "bfloat16": lambda t: t.bfloat16(),
    "int": lambda t: t.int(),
    "long": lambda t: t.long(),
    "short": lambda t: t.short(),
    "char": lambda t: t.char(),
    "byte": lambda t: t.byte(),
    "bool": lambda t: t.bool(),
    "to_dtype": lambda t: t.to(torch.int8),
    "to_complex": lambda t: t.to(torch.complex64),
    "type": lambda t: t.type(torch.int16),
    "noncontiguous_half": lambda t: t.t().half(),
    "noncontiguous_int": lambda t: t[:, ::2].int(),
}


@pytest.mark.parametrize("name", list(CONVERSIONS))
def test_type_conversions_match_cpu(name):
    c = torch.tensor([[0.0, 1.5, -2.25, 3.75], [100.0, -7.5, 0.125, 42.0]])
    if name == "byte":
        c = c.abs()  # a negative float to uint8 is undefined behaviour in C++
    fn = CONVERSIONS[name]
    r, e = fn(c.to("accel")), fn(c)
    assert r.device.type == "accel" and r.dtype == e.dtype and r.stride() == e.stride()
    assert torch.equal(r.cpu(), e)


def test_to_accel_with_dtype():
    c = torch.tensor([1.25, -2.5, 3.0])
    for dtype in [torch.float64, torch.float16, torch.bfloat16, torch.int32, torch.bool,
                  torch.complex128]:
        r = c.to("accel", dtype=dtype)
        assert r.device == torch.device("accel:0") and r.dtype == dtype
        assert torch.equal(r.cpu(), c.to(dtype))
        r1 = c.to(device="accel:1", dtype=dtype)
        assert r1.device == torch.device("accel:1") and torch.equal(r1.cpu(), c.to(dtype))
    a = c.to("accel")
    assert a.to("accel") is a  # no-op conversions return the tensor itself
    assert a.to(torch.float32) is a
    assert a.to("accel", copy=True) is not a
    assert a.cpu().to("accel", torch.float64).dtype == torch.float64


def test_new_tensor_methods_stay_on_device():
    a = torch.ones(2, 3, device="accel:1")
    for r in [a.new_empty(4), a.new_zeros(4), a.new_ones(2, 2), a.new_full((3,), 2.0),
              a.new_tensor([1, 2]), torch.empty_like(a), torch.zeros_like(a), torch.ones_like(a),
              torch.full_like(a, 3.0), torch.rand_like(a), torch.randn_like(a)]:
        assert r.device == torch.device("accel:1")
    assert torch.equal(a.new_full((3,), 2.0).cpu(), torch.full((3,), 2.0))
