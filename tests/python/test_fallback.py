"""The counted CPU fallback for ops without an accel kernel, and its policy.

Which ops have kernels grows over time, so the op these tests use is the first
of a list of candidates that still falls back (see fallback_op below)."""
import re
import warnings

import pytest
import torch
import torch_accel
import torch_accel.fallback

import accel_subprocess

# (name, out-of-place, in-place): ops that, at this stage, have no accel kernel.
CANDIDATES = [
    ("renorm", lambda t: torch.renorm(t, 2, 0, 1.0), lambda t: t.renorm_(2, 0, 1.0)),
    ("digamma", torch.digamma, torch.Tensor.digamma_),
    ("lgamma", torch.lgamma, torch.Tensor.lgamma_),
    ("i0", torch.i0, torch.Tensor.i0_),
    ("erfc", torch.erfc, torch.Tensor.erfc_),
    ("polygamma1", lambda t: torch.polygamma(1, t), lambda t: t.polygamma_(1)),
    ("sin", torch.sin, torch.Tensor.sin_),
    ("add", lambda t: torch.add(t, t), lambda t: t.add_(t)),
]


def _input(device="accel"):
    return (torch.arange(12, dtype=torch.float32).reshape(3, 4) / 12 + 0.5).to(device)


@pytest.fixture(scope="module")
def fallback_op():
    """(name, fn, fn_, op key) for the first candidate whose out-of-place and
    in-place forms both run through the fallback, under one op key."""
    previous = torch_accel.fallback.fallback_policy()
    torch_accel.set_fallback_policy("silent")
    try:
        for name, fn, fn_ in CANDIDATES:
            torch_accel.reset_fallback_stats()
            fn(_input())
            out_of_place = torch_accel.fallback_stats()
            torch_accel.reset_fallback_stats()
            fn_(_input())
            in_place = torch_accel.fallback_stats()
            if len(out_of_place) == 1 and out_of_place == in_place:
                return name, fn, fn_, next(iter(out_of_place))
    finally:
        torch_accel.set_fallback_policy(previous)
        torch_accel.reset_fallback_stats()
    pytest.skip("every candidate op has an accel kernel now: extend CANDIDATES")


def _fallback_warnings(records):
    return [str(w.message) for w in records if "has no accel kernel" in str(w.message)]


def test_fallback_gives_correct_results_and_counts(fallback_op):
    name, fn, _, key = fallback_op
    assert key.startswith("aten::")
    a, c = _input(), _input("cpu")
    r = fn(a)
    assert r.device == torch.device("accel:0")
    assert torch.equal(r.cpu(), fn(c))
    assert torch_accel.fallback_stats() == {key: 1}
    fn(a)
    fn(a.t())  # non-contiguous inputs go through it too
    assert torch_accel.fallback_stats() == {key: 3}
    assert torch.equal(fn(a.t()).cpu(), fn(c.t()))


def test_warns_once_per_op(fallback_op):
    name, fn, _, key = fallback_op
    a = _input()
    with pytest.warns(UserWarning, match="has no accel kernel") as records:
        fn(a)
    messages = _fallback_warnings(records)
    assert len(messages) == 1 and key in messages[0]
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        fn(a)
        fn(a)
    assert _fallback_warnings(records) == []
    assert torch_accel.fallback_stats()[key] == 3
    # reset clears the counts and re-arms the warning
    torch_accel.reset_fallback_stats()
    assert torch_accel.fallback_stats() == {}
    with pytest.warns(UserWarning, match=re.escape(key)):
        fn(a)
    assert torch_accel.fallback_stats() == {key: 1}


def test_silent_policy(fallback_op):
    name, fn, _, key = fallback_op
    torch_accel.set_fallback_policy("silent")
    assert torch_accel.fallback.fallback_policy() == "silent"
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        r = fn(_input())
    assert _fallback_warnings(records) == []
    assert torch.equal(r.cpu(), fn(_input("cpu")))
    assert torch_accel.fallback_stats() == {key: 1}


def test_error_policy(fallback_op):
    name, fn, fn_, key = fallback_op
    torch_accel.set_fallback_policy("error")
    assert torch_accel.fallback.fallback_policy() == "error"
    a = _input()
    before = a.cpu()
    with pytest.raises(NotImplementedError, match=re.escape(key)):
        fn(a)
    with pytest.raises(NotImplementedError, match=re.escape(key)):
        fn_(a)
    assert torch.equal(a.cpu(), before)  # the failed in-place op left its input alone
    # native ops still run under "error"
    assert torch.equal(a.t().contiguous().cpu(), before.t())
    torch_accel.set_fallback_policy("warn")
    with pytest.warns(UserWarning):
        assert torch.equal(fn(a).cpu(), fn(before))


def test_invalid_policy():
    for bad in ["bogus", "", "WARN", "errors"]:
        with pytest.raises(ValueError, match="warn, silent or error"):
            torch_accel.set_fallback_policy(bad)
    assert torch_accel.fallback.fallback_policy() == "warn"  # unchanged
    for good in ["silent", "error", "warn"]:
        torch_accel.set_fallback_policy(good)
        assert torch_accel.fallback.fallback_policy() == good


def test_inplace_fallback_through_views(fallback_op):
    name, _, fn_, key = fallback_op
    torch_accel.set_fallback_policy("silent")
    a, c = _input(), _input("cpu")
    fn_(a[:, 1:3])
    fn_(c[:, 1:3])
    assert torch.equal(a.cpu(), c)
    fn_(a.t()[::2])
    fn_(c.t()[::2])
    assert torch.equal(a.cpu(), c)
    assert torch_accel.fallback_stats()[key] == 2


def test_fallback_keeps_the_device(fallback_op):
    name, fn, fn_, key = fallback_op
    torch_accel.set_fallback_policy("silent")
    a = _input("accel:1")
    r = fn(a)
    assert r.device == torch.device("accel:1")
    assert r.untyped_storage().device == torch.device("accel:1")
    assert torch.equal(r.cpu(), fn(_input("cpu")))
    fn_(a)
    assert a.device == torch.device("accel:1")
    assert torch.accel.current_device() == 0


def test_out_variant_fallback(fallback_op):
    name, fn, _, key = fallback_op
    if name == "polygamma1" or name == "add":
        pytest.skip("no single-input out= form")
    torch_accel.set_fallback_policy("silent")
    out = torch.empty(3, 4, device="accel")
    args = (2, 0, 1.0) if name == "renorm" else ()
    getattr(torch, name)(_input(), *args, out=out)
    assert torch.equal(out.cpu(), fn(_input("cpu")))


NATIVE = {
    "empty": lambda: torch.empty(3, 4, device="accel"),
    "empty_strided": lambda: torch.empty_strided((2, 3), (1, 2), device="accel"),
    "as_strided": lambda: torch.zeros(10, device="accel").as_strided((3, 3), (3, 1), 1),
    "view": lambda: torch.zeros(12, device="accel").view(3, 4),
    "reshape_alias": lambda: torch.zeros(3, 4, device="accel").t().reshape(12),
    "resize_": lambda: torch.zeros(3, device="accel").resize_(5, 5),
    "copy_h2d": lambda: torch.ones(3, 4).t().to("accel"),
    "copy_d2h": lambda: torch.ones(3, 4, device="accel").t().cpu(),
    "copy_d2d": lambda: torch.ones(3, 4, device="accel").t().to("accel:1"),
    "copy_dtype": lambda: torch.ones(3, 4, device="accel").t().to("accel:1", torch.float16),
    "item": lambda: torch.ones(1, device="accel").item(),
    "tolist": lambda: torch.arange(3, device="accel").tolist(),
    "set_": lambda: torch.empty(0, device="accel").set_(torch.ones(4, device="accel")),
    "fill_": lambda: torch.zeros(4, device="accel")[::2].fill_(3),
    "zero_": lambda: torch.ones(4, device="accel").t().zero_(),
    "unfold": lambda: torch.ones(8, device="accel").unfold(0, 2, 2),
    "view_as_complex": lambda: torch.view_as_real(torch.view_as_complex(torch.ones(4, 2, device="accel"))),
    "arange": lambda: torch.arange(0, 5, 0.5, device="accel"),
    "range": lambda: torch.range(0, 4, device="accel"),
    "linspace": lambda: torch.linspace(-1, 1, 9, device="accel"),
    "logspace": lambda: torch.logspace(0, 2, 5, device="accel"),
    "eye": lambda: torch.eye(3, 5, device="accel"),
    "tril_indices": lambda: torch.tril_indices(4, 4, device="accel"),
    "triu_indices": lambda: torch.triu_indices(4, 4, 1, device="accel"),
    "zeros": lambda: torch.zeros(2, 3, device="accel"),
    "ones": lambda: torch.ones(2, 3, dtype=torch.int64, device="accel"),
    "full": lambda: torch.full((2, 3), 7.0, device="accel"),
    "rand": lambda: torch.rand(4, device="accel"),
    "randn": lambda: torch.randn(4, device="accel"),
    "randint": lambda: torch.randint(5, (4,), device="accel"),
    "randperm": lambda: torch.randperm(8, device="accel"),
    "empty_like": lambda: torch.empty_like(torch.ones(2, device="accel")),
    "zeros_like": lambda: torch.zeros_like(torch.ones(2, device="accel")),
    "tensor": lambda: torch.tensor([[1, 2], [3, 4]], device="accel"),
    "views": lambda: torch.zeros(2, 3, 4, device="accel").permute(2, 0, 1)[1:, 0].transpose(0, 1)
    .unsqueeze(0).expand(2, 3, 3).squeeze(0).select(0, 1).narrow(0, 0, 2),
    "bernoulli": lambda: torch.bernoulli(torch.full((4,), 0.5, device="accel")),
    "multinomial": lambda: torch.multinomial(torch.ones(4, device="accel"), 2),
    "normal": lambda: torch.normal(torch.zeros(4, device="accel"), torch.ones(4, device="accel")),
    "dropout": lambda: torch.nn.functional.dropout(torch.ones(8, device="accel"), 0.5),
    "random_family": lambda: [torch.empty(4, device="accel").cauchy_(),
                              torch.empty(4, device="accel").log_normal_(),
                              torch.empty(4, device="accel").exponential_(),
                              torch.empty(4, device="accel").geometric_(0.5),
                              torch.empty(4, device="accel").random_(),
                              torch.empty(4, device="accel").uniform_(),
                              torch.empty(4, device="accel").normal_()],
}


@pytest.mark.parametrize("name", list(NATIVE))
def test_native_ops_never_fall_back(name):
    torch_accel.set_fallback_policy("error")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch.range is deprecated
        NATIVE[name]()
    assert torch_accel.fallback_stats() == {}


def test_fallback_policy_from_environment():
    """TORCH_ACCEL_FALLBACK=error in a fresh process: fallback ops raise, native ops run."""
    names = [name for name, _, _ in CANDIDATES if name != "polygamma1"]
    proc = accel_subprocess.start(f'''
import torch, torch_accel, torch_accel.fallback
x = torch.rand(3, device="accel") + 0.5
r = {{"policy": torch_accel.fallback.fallback_policy()}}
r["errors"] = {{n: attempt(lambda: (torch.add(x, x) if n == "add" else torch.renorm(x[None], 2, 0, 1.0)
                                    if n == "renorm" else getattr(torch, n)(x)))
               for n in {names!r}}}
r["native"] = attempt(lambda: (torch.randn(3, device="accel").t().cpu(),
                               torch.arange(4, device="accel").tolist()))
emit(r)
''', env={"TORCH_ACCEL_FALLBACK": "error"})
    r = proc.json()
    assert r["policy"] == "error"
    assert r["native"] is None
    raised = {n: e for n, e in r["errors"].items() if e is not None}
    assert raised, "no candidate op fell back: extend CANDIDATES"
    for n, (etype, msg) in raised.items():
        assert etype == "NotImplementedError", (n, etype, msg)
        assert re.search(r"aten::\w+", msg) and "no accel kernel" in msg, msg
