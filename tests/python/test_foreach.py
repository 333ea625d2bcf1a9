"""The _foreach_* ops run as one multi-tensor program on accel and match CPU
for every overload form (List, Scalar, ScalarList, Tensor), in place or not."""
import pytest
import torch

import torch_accel

pytestmark = pytest.mark.usefixtures("no_fallback")


SHAPES = [(5, 3), (7,), (2, 2, 33), (0,), ()]


def lists(seed, positive=False, dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    ts = [torch.randn(s, generator=gen).to(dtype) for s in SHAPES]
    return [t.abs() + 0.5 for t in ts] if positive else ts


CASES = {
    "add_list_alpha": lambda a, b, c: torch._foreach_add(a, b, alpha=0.3),
    "add_scalar": lambda a, b, c: torch._foreach_add(a, 1.5),
    "add_scalarlist": lambda a, b, c: torch._foreach_add(a, [0.1 * i for i in range(len(a))]),
    "add_tensor": lambda a, b, c: torch._foreach_add(a, torch.tensor(2.0, device=a[0].device), alpha=0.5),
    "sub_list": lambda a, b, c: torch._foreach_sub(a, b, alpha=2),
    "mul_list": lambda a, b, c: torch._foreach_mul(a, b),
    "mul_tensor": lambda a, b, c: torch._foreach_mul(a, torch.tensor(0.5, device=a[0].device)),
    "div_list": lambda a, b, c: torch._foreach_div(a, c),
    "div_scalar": lambda a, b, c: torch._foreach_div(a, 3.0),
    "maximum": lambda a, b, c: torch._foreach_maximum(a, b),
    "minimum_scalar": lambda a, b, c: torch._foreach_minimum(a, 0.2),
    "clamp_min": lambda a, b, c: torch._foreach_clamp_min(a, -0.1),
    "clamp_max_list": lambda a, b, c: torch._foreach_clamp_max(a, b),
    "pow_scalar": lambda a, b, c: torch._foreach_pow(c, 1.5),
    "sqrt": lambda a, b, c: torch._foreach_sqrt(c),
    "exp": lambda a, b, c: torch._foreach_exp(a),
    "log": lambda a, b, c: torch._foreach_log(c),
    "reciprocal": lambda a, b, c: torch._foreach_reciprocal(c),
    "neg": lambda a, b, c: torch._foreach_neg(a),
    "abs": lambda a, b, c: torch._foreach_abs(a),
    "sign": lambda a, b, c: torch._foreach_sign(a),
    "addcmul_scalar": lambda a, b, c: torch._foreach_addcmul(a, b, c, 0.2),
    "addcmul_scalarlist": lambda a, b, c: torch._foreach_addcmul(a, b, c, [0.1 * i for i in range(len(a))]),
    "addcmul_tensor": lambda a, b, c: torch._foreach_addcmul(a, b, c, torch.arange(len(a), dtype=torch.float32)),
    "addcdiv_scalar": lambda a, b, c: torch._foreach_addcdiv(a, b, c, -0.5),
    "lerp_scalar": lambda a, b, c: torch._foreach_lerp(a, b, 0.25),
    "lerp_list": lambda a, b, c: torch._foreach_lerp(a, b, [t.clamp(0, 1) for t in c]),
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_functional_matches_cpu(name, dtype):
    cpu = lists(1, dtype=dtype), lists(2, dtype=dtype), lists(3, positive=True, dtype=dtype)
    acc = [[t.to("accel") for t in ts] for ts in cpu]
    expected = CASES[name](*cpu)
    actual = CASES[name](*acc)
    tol = dict(rtol=1.6e-2, atol=1e-2) if dtype == torch.bfloat16 else {}
    for e, a in zip(expected, actual):
        torch.testing.assert_close(a.cpu(), e, **tol)


@pytest.mark.parametrize("name", ["add_list_alpha", "mul_tensor", "addcdiv_scalar", "lerp_scalar", "sqrt",
                                  "clamp_max_list", "addcmul_tensor"])
def test_in_place_matches_cpu(name):
    cpu = lists(4), lists(5), lists(6, positive=True)
    acc = [[t.to("accel") for t in ts] for ts in cpu]
    op_name = {"add_list_alpha": "_foreach_add_", "mul_tensor": "_foreach_mul_",
               "addcdiv_scalar": "_foreach_addcdiv_", "lerp_scalar": "_foreach_lerp_",
               "sqrt": "_foreach_sqrt_", "clamp_max_list": "_foreach_clamp_max_",
               "addcmul_tensor": "_foreach_addcmul_"}[name]
    args = {"add_list_alpha": lambda a, b, c: ((a, b), {"alpha": 0.3}),
            "mul_tensor": lambda a, b, c: ((a, torch.tensor(0.5, device=a[0].device)), {}),
            "addcdiv_scalar": lambda a, b, c: ((a, b, c, -0.5), {}),
            "lerp_scalar": lambda a, b, c: ((a, b, 0.25), {}),
            "sqrt": lambda a, b, c: ((c,), {}),
            "clamp_max_list": lambda a, b, c: ((a, b), {}),
            "addcmul_tensor": lambda a, b, c: ((a, b, c, torch.arange(len(a), dtype=torch.float32)), {})}[name]
    for lists_ in (cpu, acc):
        positional, kw = args(*lists_)
        getattr(torch, op_name)(*positional, **kw)
    for e, a in zip(cpu[0] + cpu[2], acc[0] + acc[2]):
        torch.testing.assert_close(a.cpu(), e)


def test_one_program_for_the_whole_list():
    a = [t.to("accel") for t in lists(7)]
    b = [t.to("accel") for t in lists(8)]
    with torch_accel.profile() as prof:
        torch._foreach_add_(a, b, alpha=0.1)
    assert [r["op"] for r in prof.records] == ["aten::_foreach_add_.List"]
    # Contiguous tensors iterate flat: one 32x32 tile per 1024 elements each.
    assert prof.records[0]["tiles"] == sum(-(-t.numel() // 1024) for t in a if t.numel() > 0)


def test_mismatched_list_lengths_raise():
    a = [torch.ones(2, device="accel")] * 2
    with pytest.raises(RuntimeError, match="same number of tensors"):
        torch._foreach_add(a, [torch.ones(2, device="accel")] * 3)


def test_scalar_tensor_must_be_0_dim():
    a = [torch.ones(2, device="accel")]
    with pytest.raises(RuntimeError, match="0 dim"):
        torch._foreach_mul(a, torch.ones(2, device="accel"))


@pytest.mark.parametrize("name", ["add_list_alpha", "add_scalar", "mul_list", "div_scalar", "sqrt", "lerp_scalar",
                                  "addcdiv_scalar", "addcmul_scalarlist"])
def test_flat_jobs_same_bits_as_strided(name):
    # Contiguous same-shape lists are built as flat jobs without a
    # TensorIterator; transposed views of the same values take the iterator.
    # Both run the same kernel on the same values.
    gen = torch.Generator().manual_seed(5)
    make = lambda: [torch.randn(s, generator=gen) for s in [(6, 40), (33, 7)]]
    a, b, c = make(), make(), [t.abs() + 0.5 for t in make()]
    flat = [[t.to("accel") for t in ts] for ts in (a, b, c)]
    strided = [[t.t().contiguous().to("accel").t() for t in ts] for ts in (a, b, c)]
    for x, y in zip(CASES[name](*flat), CASES[name](*strided)):
        assert torch.equal(x.cpu(), y.cpu())
