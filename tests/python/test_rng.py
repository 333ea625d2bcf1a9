"""Random numbers on accel: seeding, the CPU-identical stream, generator state,
per-device generators, explicit generators, and native random kernels."""
import warnings

import pytest
import torch
import torch.nn.functional as F
import torch_accel

# op(device, generator) for each random op; results on accel equal the CPU's
# for the same seed because the accel generator wraps a CPU generator.
RANDOM_OPS = {
    "rand": lambda d: torch.rand(5, 3, device=d),
    "randn": lambda d: torch.randn(7, device=d),
    "randn_float64": lambda d: torch.randn(4, dtype=torch.float64, device=d),
    "randn_half": lambda d: torch.randn(4, dtype=torch.float16, device=d),
    "randn_bfloat16": lambda d: torch.randn(4, dtype=torch.bfloat16, device=d),
    "randn_complex": lambda d: torch.randn(4, dtype=torch.complex64, device=d),
    "rand_like": lambda d: torch.rand_like(torch.empty(6, device=d)),
    "randn_like": lambda d: torch.randn_like(torch.empty(6, device=d)),
    "randint": lambda d: torch.randint(0, 10, (9,), device=d),
    "randint_like": lambda d: torch.randint_like(torch.empty(6, device=d), 3, 8),
    "randperm": lambda d: torch.randperm(20, device=d),
    "randperm_large": lambda d: torch.randperm(50000, device=d),
    "bernoulli_tensor": lambda d: torch.bernoulli(torch.full((12,), 0.3, device=d)),
    "bernoulli_p": lambda d: torch.bernoulli(torch.empty(12, device=d), 0.7),
    "bernoulli_": lambda d: torch.empty(12, device=d).bernoulli_(0.4),
    "multinomial": lambda d: torch.multinomial(torch.arange(1.0, 11.0, device=d), 5),
    "multinomial_replacement": lambda d: torch.multinomial(torch.ones(2, 6, device=d), 10, True),
    "normal_": lambda d: torch.empty(6, device=d).normal_(2.0, 0.5),
    "normal_tensor_float": lambda d: torch.normal(torch.arange(4.0, device=d), 1.0),
    "normal_float_tensor": lambda d: torch.normal(1.0, torch.arange(1.0, 5.0, device=d)),
    "normal_tensor_tensor": lambda d: torch.normal(torch.zeros(4, device=d), torch.ones(4, device=d)),
    "normal_sizes": lambda d: torch.normal(0.0, 1.0, (5,), device=d),
    "uniform_": lambda d: torch.empty(6, device=d).uniform_(-2, 3),
    "cauchy_": lambda d: torch.empty(6, device=d).cauchy_(),
    "log_normal_": lambda d: torch.empty(6, device=d).log_normal_(),
    "exponential_": lambda d: torch.empty(6, device=d).exponential_(2.0),
    "geometric_": lambda d: torch.empty(6, device=d).geometric_(0.3),
    "random_": lambda d: torch.empty(6, device=d).random_(),
    "random_range": lambda d: torch.empty(6, dtype=torch.int64, device=d).random_(3, 9),
    "random_to": lambda d: torch.empty(6, device=d).random_(100),
    "dropout": lambda d: F.dropout(torch.ones(20, device=d), 0.5, training=True),
    "dropout_eval": lambda d: F.dropout(torch.ones(20, device=d), 0.5, training=False),
    "dropout_module": lambda d: torch.nn.Dropout(0.25)(torch.ones(20, device=d)),
    "native_dropout": lambda d: torch.native_dropout(torch.ones(20, device=d), 0.5, True)[1],
    "noncontiguous_uniform_": lambda d: torch.zeros(4, 6, device=d)[:, ::2].uniform_(),
}


@pytest.mark.parametrize("name", list(RANDOM_OPS))
def test_random_op_matches_cpu_stream_and_is_native(name):
    op = RANDOM_OPS[name]
    torch_accel.set_fallback_policy("error")  # a random op that falls back would raise
    torch.manual_seed(1234)
    a = op("accel")
    torch.manual_seed(1234)
    c = op("cpu")
    assert a.device == torch.device("accel:0")
    assert a.dtype == c.dtype and a.shape == c.shape
    assert torch.equal(a.cpu(), c)
    assert torch_accel.fallback_stats() == {}


def test_manual_seed_reproducible():
    torch.manual_seed(7)
    a = torch.randn(10, device="accel")
    b = torch.randn(10, device="accel")
    torch.manual_seed(7)
    a2 = torch.randn(10, device="accel")
    b2 = torch.randn(10, device="accel")
    assert torch.equal(a.cpu(), a2.cpu()) and torch.equal(b.cpu(), b2.cpu())
    assert not torch.equal(a.cpu(), b.cpu())
    torch.accel.manual_seed(7)
    assert torch.equal(torch.randn(10, device="accel").cpu(), a.cpu())


def test_torch_manual_seed_seeds_every_accel_device():
    torch.manual_seed(99)
    assert torch.accel.initial_seed() == 99
    with torch.accel.device(1):
        assert torch.accel.initial_seed() == 99
    a0 = torch.randn(5, device="accel:0")
    a1 = torch.randn(5, device="accel:1")
    assert torch.equal(a0.cpu(), a1.cpu())


def test_accel_stream_is_independent_of_the_cpu_generator():
    torch.manual_seed(5)
    expected = torch.randn(6)
    torch.manual_seed(5)
    torch.randn(100)  # draws from the CPU generator only
    assert torch.equal(torch.randn(6, device="accel").cpu(), expected)


def test_rng_state_replay():
    torch.accel.manual_seed(3)
    torch.randn(3, device="accel")
    state = torch.accel.get_rng_state()
    assert state.dtype == torch.uint8 and state.device.type == "cpu"
    a = torch.randn(8, device="accel")
    b = torch.rand(8, device="accel")
    torch.accel.set_rng_state(state)
    assert torch.equal(torch.randn(8, device="accel").cpu(), a.cpu())
    assert torch.equal(torch.rand(8, device="accel").cpu(), b.cpu())
    torch.accel.set_rng_state(state, device="accel:0")
    assert torch.equal(torch.randn(8, device="accel").cpu(), a.cpu())
    with pytest.raises(TypeError):
        torch.accel.set_rng_state(torch.zeros(3))
    with pytest.raises(RuntimeError):
        torch.accel.set_rng_state(torch.zeros(10, dtype=torch.uint8))


def test_rng_state_all_and_per_device_state():
    torch.accel.manual_seed_all(11)
    states = torch.accel.get_rng_state_all()
    assert len(states) == 2
    a0 = torch.randn(4, device="accel:0")
    a1 = torch.randn(4, device="accel:1")
    torch.accel.set_rng_state_all(states)
    assert torch.equal(torch.randn(4, device="accel:0").cpu(), a0.cpu())
    assert torch.equal(torch.randn(4, device="accel:1").cpu(), a1.cpu())
    s1 = torch.accel.get_rng_state(1)
    x = torch.randn(4, device="accel:1")
    torch.randn(50, device="accel:0")
    torch.accel.set_rng_state(s1, 1)
    assert torch.equal(torch.randn(4, device="accel:1").cpu(), x.cpu())


def test_per_device_generators_are_independent():
    torch.accel.manual_seed_all(21)
    r1 = torch.randn(5, device="accel:1")
    torch.accel.manual_seed_all(21)
    torch.randn(1000, device="accel:0")  # consuming accel:0 leaves accel:1 alone
    assert torch.equal(torch.randn(5, device="accel:1").cpu(), r1.cpu())
    # manual_seed seeds the current device only
    torch.accel.manual_seed_all(1)
    with torch.accel.device(1):
        torch.accel.manual_seed(2)
        assert torch.accel.initial_seed() == 2
    assert torch.accel.initial_seed() == 1
    torch.manual_seed(2)
    expected = torch.randn(5)
    torch.accel.manual_seed_all(1)
    with torch.accel.device(1):
        torch.accel.manual_seed(2)
    assert torch.equal(torch.randn(5, device="accel:1").cpu(), expected)
    assert not torch.equal(torch.randn(5, device="accel:0").cpu(), expected)


def test_seed_and_seed_all():
    torch.accel.seed()
    s = torch.accel.initial_seed()
    torch.accel.seed()
    assert torch.accel.initial_seed() != s  # a fresh non-deterministic seed
    torch.accel.seed_all()
    s0 = torch.accel.initial_seed()
    with torch.accel.device(1):
        assert torch.accel.initial_seed() == s0


def test_explicit_generator():
    g = torch.Generator(device="accel")
    assert g.device == torch.device("accel:0")
    g.manual_seed(42)
    assert g.initial_seed() == 42
    torch.manual_seed(0)
    default_state = torch.accel.get_rng_state()
    a = torch.randn(6, device="accel", generator=g)
    b = torch.randint(0, 100, (6,), device="accel", generator=g)
    p = torch.randperm(10, device="accel", generator=g)
    cg = torch.Generator().manual_seed(42)
    assert torch.equal(a.cpu(), torch.randn(6, generator=cg))
    assert torch.equal(b.cpu(), torch.randint(0, 100, (6,), generator=cg))
    assert torch.equal(p.cpu(), torch.randperm(10, generator=cg))
    # the default generator did not move
    assert torch.equal(torch.accel.get_rng_state(), default_state)
    # state of an explicit generator round-trips
    st = g.get_state()
    x = torch.rand(4, device="accel", generator=g)
    g.set_state(st)
    assert torch.equal(torch.rand(4, device="accel", generator=g).cpu(), x.cpu())
    g1 = torch.Generator(device="accel:1")
    assert g1.device == torch.device("accel:1")
    g1.manual_seed(42)
    assert torch.equal(torch.randn(6, device="accel:1", generator=g1).cpu(), a.cpu())


def test_cpu_generator_rejected_for_accel_ops():
    with pytest.raises(RuntimeError, match="generator"):
        torch.randn(3, device="accel", generator=torch.Generator())


def test_dropout_statistics():
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = F.dropout(torch.ones(10000, device="accel"), 0.3, training=True).cpu()
    kept = (y != 0).float().mean().item()
    assert 0.67 < kept < 0.73
    assert torch.allclose(y[y != 0], torch.tensor(1 / 0.7))


# Larger and strided outputs, every dtype the programs take: the cores split
# the tiles, and the draw order must still be CPU's (memory order for a
# permuted output, TensorIterator order for a sliced one).
def _shapes(d, dtype):
    return {
        "big": torch.empty(3, 1000, dtype=dtype, device=d),
        "transposed": torch.empty(70, 40, dtype=dtype, device=d).t(),
        "sliced": torch.empty(33, 66, dtype=dtype, device=d)[:, 1::3],
    }


PROGRAM_OPS = {
    "uniform_": (lambda t: t.uniform_(-2.5, 3.25), [torch.float32, torch.float64, torch.bfloat16, torch.float16]),
    "rand_": (lambda t: t.uniform_(), [torch.float32, torch.float64, torch.bfloat16, torch.float16]),
    "exponential_": (lambda t: t.exponential_(1.5), [torch.float32, torch.float64, torch.bfloat16]),
    "geometric_": (lambda t: t.geometric_(0.2), [torch.float32, torch.int64, torch.int32]),
    "cauchy_": (lambda t: t.cauchy_(0.5, 2.0), [torch.float32, torch.float64, torch.float16]),
    "random_": (lambda t: t.random_(), [torch.float32, torch.float64, torch.int64, torch.int32, torch.uint8,
                                        torch.bool, torch.bfloat16, torch.float16]),
    "random_range": (lambda t: t.random_(-5, 17), [torch.float32, torch.int64, torch.int32, torch.int8]),
    "random_wide_range": (lambda t: t.random_(0, 2**40), [torch.int64, torch.float64]),
    "normal_": (lambda t: t.normal_(1.5, 0.75), [torch.float32, torch.float64, torch.bfloat16, torch.float16]),
    "log_normal_": (lambda t: t.log_normal_(0.25, 0.5), [torch.float32, torch.float64, torch.bfloat16]),
    "random_full_range": (lambda t: t.random_(-2**63, None), [torch.int64, torch.float32]),
    "bernoulli_scalar": (lambda t: t.bernoulli_(0.35), [torch.float32, torch.bool, torch.int64, torch.bfloat16]),
    "bernoulli_tensor_p": (lambda t: t.bernoulli_(torch.linspace(0, 1, t.shape[-1], device=t.device)),
                           [torch.float32, torch.uint8]),
    "bernoulli_double_p": (lambda t: t.bernoulli_(torch.full_like(t, 0.6, dtype=torch.float64)), [torch.float32]),
}


@pytest.mark.parametrize("name", list(PROGRAM_OPS))
def test_random_programs_match_cpu_on_tiles(name):
    op, dtypes = PROGRAM_OPS[name]
    torch_accel.set_fallback_policy("error")
    for dtype in dtypes:
        for layout in ("big", "transposed", "sliced"):
            torch.manual_seed(77)
            a = op(_shapes("accel", dtype)[layout])
            torch.manual_seed(77)
            c = op(_shapes("cpu", dtype)[layout])
            assert torch.equal(a.cpu(), c), (name, dtype, layout)
    assert torch_accel.fallback_stats() == {}


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16, torch.float64])
def test_native_dropout_matches_cpu_bernoulli_stream(dtype):
    x = torch.randn(37, 45, dtype=dtype)
    xa = x.to("accel")
    torch.manual_seed(3)
    out, mask = torch.native_dropout(xa.t(), 0.3, True)
    torch.manual_seed(3)
    keep = torch.empty(45, 37, dtype=dtype).bernoulli_(0.7)
    expected = x.t().mul(keep).mul_(1 / 0.7)
    assert mask.dtype == torch.bool
    assert torch.equal(mask.cpu(), keep.bool())
    assert torch.equal(out.cpu(), expected)
    grad = torch.randn(45, 37, dtype=dtype)
    back = torch.ops.aten.native_dropout_backward(grad.to("accel"), mask, 1 / 0.7)
    torch.testing.assert_close(back.cpu(), torch.ops.aten.native_dropout_backward(grad, keep.bool(), 1 / 0.7))


def test_random_programs_record_sfpu_transforms():
    with torch_accel.profile() as prof:
        torch.empty(100, device="accel").uniform_()
        torch.empty(100, device="accel").bernoulli_(0.5)
    recs = [r for r in prof.records if r["op"] in ("uniform_", "bernoulli_")]
    assert [r["compute"] for r in recs] == ["sfpu_rand_uniform", "sfpu_bernoulli"]
    assert all(r["compute_engine"] == "sfpu" and r["tiles"] == 1 for r in recs)


def test_random_bad_arguments_raise_like_cpu():
    for d in ("cpu", "accel"):
        with pytest.raises(RuntimeError, match="from"):
            torch.empty(3, device=d).uniform_(3, 2)
        with pytest.raises(RuntimeError, match="p to be in"):
            torch.empty(3, device=d).bernoulli_(1.5)
        with pytest.raises(RuntimeError, match="less than"):
            torch.empty(3, dtype=torch.int64, device=d).random_(5, 2)
        with pytest.raises(RuntimeError):
            torch.empty(3, dtype=torch.int64, device=d).exponential_()


# normal_ has two CPU schemes: a per-element Box-Muller that leaves its spare
# sine sample in the generator (< 16 elements or strided), and a 16-wide fill
# (contiguous >= 16, a recomputed last block when the size is not a multiple
# of 16, spanning tiles for the larger sizes).
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16, torch.float16])
def test_normal_matches_cpu_for_both_schemes(dtype):
    torch_accel.set_fallback_policy("error")

    def draws(d):
        outs = [torch.randn(n, dtype=dtype, device=d) for n in (1, 3, 15, 16, 17, 40, 1050, 2048)]
        outs.append(torch.empty(30, 9, dtype=dtype, device=d)[:, ::2].normal_(-1.0, 3.0))
        outs.append(torch.empty(5, dtype=dtype, device=d).normal_(2.0, 0.5))
        outs.append(torch.empty(24, 40, dtype=dtype, device=d).t().normal_(0.5, 2.0))
        return [o.cpu() for o in outs]

    torch.manual_seed(11)
    a = draws("accel")
    torch.manual_seed(11)
    c = draws("cpu")
    for x, y in zip(a, c):
        assert torch.equal(x, y), (dtype, x.shape)
    assert torch_accel.fallback_stats() == {}


def test_log_normal_and_normal_overloads_match_cpu():
    torch_accel.set_fallback_policy("error")

    def draws(d):
        m = torch.linspace(-1, 1, 40, device=d)
        return [torch.empty(7, device=d).log_normal_(0.1, 0.3), torch.empty(70, dtype=torch.float64, device=d).log_normal_(),
                torch.normal(m, 2.0), torch.normal(0.5, m.abs() + 0.1), torch.normal(m, m.abs()),
                torch.randn(33, dtype=torch.complex64, device=d)]

    torch.manual_seed(5)
    a = draws("accel")
    torch.manual_seed(5)
    for x, y in zip(a, draws("cpu")):
        assert torch.equal(x.cpu(), y)
    assert torch_accel.fallback_stats() == {}


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.float32, torch.float16, torch.bfloat16])
def test_randperm_matches_cpu(dtype):
    torch_accel.set_fallback_policy("error")
    for n in (0, 1, 2, 31, 1500):
        torch.manual_seed(n)
        a = torch.randperm(n, dtype=dtype, device="accel")
        torch.manual_seed(n)
        assert torch.equal(a.cpu(), torch.randperm(n, dtype=dtype)), n
    out = torch.empty(50, 2, dtype=dtype, device="accel")[:, 0]
    torch.manual_seed(9)
    torch.randperm(50, out=out)
    torch.manual_seed(9)
    assert torch.equal(out.cpu(), torch.randperm(50, dtype=dtype))
    assert torch_accel.fallback_stats() == {}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_multinomial_matches_cpu(dtype):
    torch_accel.set_fallback_policy("error")
    probs = torch.rand(6, 37).to(dtype)
    probs[2, :30] = 0
    cases = [(probs, 50, True), (probs, 1, True), (probs, 7, False), (probs[1], 40, True), (probs.t()[:9], 12, True)]
    for p, n, rep in cases:
        torch.manual_seed(21)
        a = torch.multinomial(p.to("accel"), n, rep)
        torch.manual_seed(21)
        assert torch.equal(a.cpu(), torch.multinomial(p, n, rep)), (p.shape, n, rep)
    assert torch_accel.fallback_stats() == {}


def test_multinomial_bad_probabilities_raise_like_cpu():
    for d in ("cpu", "accel"):
        for bad in (-1.0, float("inf"), float("nan")):
            p = torch.tensor([1.0, bad, 1.0], device=d)
            with pytest.raises(RuntimeError, match="invalid multinomial distribution|probability tensor"):
                torch.multinomial(p, 4, True)
        with pytest.raises(RuntimeError, match="sum of probabilities"):
            torch.multinomial(torch.zeros(2, 3, device=d), 4, True)
        with pytest.raises(RuntimeError, match="without replacement"):
            torch.multinomial(torch.ones(3, device=d), 4, False)
        with pytest.raises(RuntimeError, match="Long tensor out"):
            torch.multinomial(torch.ones(3, device=d), 2, True, out=torch.empty(2, device=d))
        with pytest.raises(RuntimeError, match="negative"):
            torch.randperm(-1, device=d)
        with pytest.raises(RuntimeError, match="std"):
            torch.empty(3, device=d).normal_(0, -1)
        with pytest.raises(RuntimeError, match="std"):
            torch.empty(3, device=d).log_normal_(0, 0)


def test_normal_family_records_sfpu_programs():
    with torch_accel.profile() as prof:
        torch.randn(5, device="accel")
        torch.randn(100, device="accel")
        torch.randn(100, dtype=torch.bfloat16, device="accel")
        torch.empty(8, dtype=torch.float64, device="accel").log_normal_()
        torch.randperm(40, device="accel")
        torch.multinomial(torch.ones(3, 4, device="accel"), 6, True)
    recs = {(r["op"], r["output_format"]): r for r in prof.records
            if r["op"] in ("normal_", "log_normal_", "randperm", "multinomial")}
    assert recs[("normal_", "Float32")]["compute"].startswith("sfpu_box_muller")
    assert recs[("normal_", "Float16_b")]["tiles"] == 1
    assert recs[("log_normal_", "Float64")]["compute"].endswith("_exp")
    assert recs[("randperm", "Int64")]["compute"] == "sfpu_randperm_swaps"
    assert recs[("multinomial", "Int64")]["input_format"] == "Float32"
    assert all(r["compute_engine"] == "sfpu" and r["cores_used"] >= 1 for r in recs.values())
    assert len([r for r in prof.records if r["op"] == "normal_"]) == 3
