"""Differential fuzzing of the accel device against the CPU.

A program is a list of steps; each step calls one op (fuzz_ops.py, fuzz_ops_compute.py)
on values of earlier steps. generate() builds a program step by step while
running it on the CPU, so that each next op is drawn for the shapes and dtypes
actually at hand. check() runs the program on the CPU and on accel from the
same inputs and compares each step's result when it is made and every value
again at the end (so that writes through views that should reach, or must not
reach, earlier values are seen), with torch.testing.assert_close's default
tolerances for the dtype. A step that raises must raise the same exception type
on both devices; values of failed steps are None and steps using them are not
generated.

Draws go through a small interface (int, bool, choice, rare, permutation) with
two implementations: RandomDraw (random.Random, for the long run) and
HypothesisDraw (hypothesis' data.draw, so hypothesis can shrink a failure).
"""
import random
from dataclasses import dataclass, field

import torch

import fuzz_ops as ops
import fuzz_ops_compute  # noqa: F401  (registers the computing ops)

# Mostly computing ops, with enough views to make operands non-contiguous.
VIEW_WEIGHT = 3


class RandomDraw:
    def __init__(self, seed):
        self.rng = random.Random(seed)

    def int(self, lo, hi):
        return self.rng.randint(lo, hi)

    def bool(self):
        return self.rng.random() < 0.5

    def rare(self):
        return self.rng.random() < 0.05

    def choice(self, seq):
        return seq[self.rng.randrange(len(seq))]

    def permutation(self, n):
        p = list(range(n))
        self.rng.shuffle(p)
        return tuple(p)


class HypothesisDraw:
    def __init__(self, data):
        from hypothesis import strategies as st
        self.data, self.st = data, st

    def int(self, lo, hi):
        return self.data.draw(self.st.integers(lo, hi))

    def bool(self):
        return self.data.draw(self.st.booleans())

    def rare(self):
        return self.data.draw(self.st.integers(0, 19)) == 19

    def choice(self, seq):
        return self.data.draw(self.st.sampled_from(seq))

    def permutation(self, n):
        return tuple(self.data.draw(self.st.permutations(range(n))))


@dataclass
class Step:
    op: str
    args: tuple = ()
    params: dict = field(default_factory=dict)

    def __repr__(self):
        return f"Step({self.op!r}, {self.args!r}, {self.params!r})"


def _make_index(shape, lo, hi, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(lo, hi + 1, shape, generator=g) if hi >= lo else torch.empty(shape, dtype=torch.long)


ops.Op("index_input", None,
       lambda ts, p, dev: _make_index(p["shape"], p["lo"], p["hi"], p["seed"]).to(dev))


# Explicit values, for regression tests (generate() does not draw it).
ops.Op("literal", None, lambda ts, p, dev: torch.tensor(p["values"], dtype=p["dtype"]).to(dev))


# The results of these ops (sums of many products and exponentials) are
# compared with the op computed in float64 and rounded once to the result's
# dtype, as PyTorch's OpInfo tests compare low-precision ops with a reference
# in higher precision: the CPU's own float32 and bfloat16 kernels round
# intermediates in their own order (its bfloat16 log_softmax is off by several
# ulps, its float32 dot products by more than float32's rtol on cancelling
# sums), and the device need not copy that order. The CPU program carries on
# with the reference value.
REFERENCE_IN_FLOAT64 = {"softmax", "log_softmax", "matmul", "sum", "mean", "prod", "var", "cumsum"}


def _in_float64(t):
    return t.double() if isinstance(t, torch.Tensor) and t.dtype.is_floating_point else t


def apply_step(step, values, device):
    """The step's result on `device`, or the exception it raised. A step whose
    operand failed is not run (None)."""
    operands = [values[a] for a in step.args]
    if any(v is None or isinstance(v, BaseException) for v in operands):
        return None
    op = ops.Op.registry[step.op]
    try:
        result = op.apply(operands, step.params, device)
    except Exception as e:  # noqa: BLE001  (compared between devices)
        return e
    if device == "cpu" and step.op in REFERENCE_IN_FLOAT64 and result.dtype in (torch.float32, torch.bfloat16):
        result = op.apply([_in_float64(t) for t in operands], step.params, device).to(result.dtype)
    return result


def run(program, device):
    values = []
    for step in program:
        values.append(apply_step(step, values, device))
    return values


def _resolve_operand(draw, operand, program, pool):
    """Turns ("new", shape, dtype) and ("index", shape, lo, hi) operands into
    input steps; returns the value index."""
    if isinstance(operand, int):
        return operand
    if operand[0] == "new":
        step = Step("input", (), ops.gen_input(draw, operand[1], operand[2])[1])
    else:
        _, shape, lo, hi = operand
        step = Step("index_input", (), {"shape": tuple(shape), "lo": lo, "hi": hi,
                                        "seed": draw.int(0, 2 ** 16)})
    program.append(step)
    pool.append(ops.Op.registry[step.op].apply([], step.params, "cpu"))
    return len(pool) - 1


def generate(draw, max_steps=8):
    """A program of up to max_steps ops after one or two inputs."""
    program, pool = [], []
    names = [n for n in ops.Op.registry if n not in ("input", "index_input", "literal")]
    weighted = names + [n for n in names if ops.Op.registry[n].is_view] * VIEW_WEIGHT
    for _ in range(draw.int(1, 2)):
        _resolve_operand(draw, ("new", ops._fresh_shape(draw), draw.choice(ops.DTYPES)), program, pool)
    for _ in range(draw.int(1, max_steps)):
        name = draw.choice(weighted)
        live = [t if isinstance(t, torch.Tensor) else None for t in pool]
        drawn = ops.Op.registry[name].gen(draw, live)
        if drawn is None:
            continue
        operands, params = drawn
        args = tuple(_resolve_operand(draw, o, program, pool) for o in operands)
        step = Step(name, args, params)
        program.append(step)
        result = apply_step(step, pool, "cpu")
        pool.append(result if isinstance(result, torch.Tensor) else None)
    return program


class Mismatch(AssertionError):
    pass


def _compare(index, step, expected, actual, when, view_operands=None):
    where = f"step {index} {step!r} ({when})"
    if isinstance(expected, BaseException) or isinstance(actual, BaseException):
        if type(expected) is not type(actual) and not (_cpu_index_select_quirk(expected, actual)
                                                       or _cpu_empty_bmm_quirk(step, expected, actual)):
            raise Mismatch(f"{where}: CPU gave {_describe(expected)}, accel gave {_describe(actual)}")
        return
    if expected is None or actual is None:
        if (expected is None) != (actual is None):
            raise Mismatch(f"{where}: only one device ran the step")
        return
    if actual.device.type != "accel":
        raise Mismatch(f"{where}: result on {actual.device}, not accel")
    try:
        torch.testing.assert_close(actual.cpu(), expected, equal_nan=True)
    except AssertionError as e:
        raise Mismatch(f"{where}: {e}") from None
    if ops.Op.registry[step.op].is_view and view_operands is not None:
        # A view's strides follow from its operand's, which need not match the
        # CPU's (an op may lay its result out differently), so the expected
        # strides come from the same view of a meta tensor with accel's layout.
        metas = [torch.empty_strided(t.shape, t.stride(), dtype=t.dtype, device="meta")
                 if isinstance(t, torch.Tensor) else t for t in view_operands]
        want = ops.Op.registry[step.op].apply(metas, step.params, "meta").stride()
        if actual.stride() != want:
            raise Mismatch(f"{where}: view strides {actual.stride()}, expected {want}")


def _cpu_index_select_quirk(expected, actual):
    """CPU's index_select raises IndexError for an index out of range, except
    along dim 1 of a contiguous tensor, whose special path raises RuntimeError
    ("INDICES element is out of DATA bounds"). accel raises IndexError for all."""
    return (type(expected) is RuntimeError and "INDICES element is out of DATA bounds" in str(expected)
            and type(actual) is IndexError and "out of range" in str(actual))


def _cpu_empty_bmm_quirk(step, expected, actual):
    """CPU's bmm checks that its operands share a dtype only in the kernel, so
    a batched matmul with nothing to compute (an empty result, or an empty
    inner dim) of mixed dtypes returns on the CPU; accel refuses it, as the
    CPU's mm does for the same operands."""
    return (step.op == "matmul" and isinstance(expected, torch.Tensor) and type(actual) is RuntimeError
            and "same dtype" in str(actual))


def _describe(v):
    if isinstance(v, BaseException):
        return f"{type(v).__name__}: {str(v).splitlines()[0] if str(v) else ''}"
    return "a tensor" if isinstance(v, torch.Tensor) else repr(v)


def _host_copy(v):
    return v.cpu().clone() if isinstance(v, torch.Tensor) else v


def check(program):
    """Runs the program on both devices; raises Mismatch on the first difference.

    Rounding differences within tolerance at one step can grow past it in the
    steps after (exp of a large value, a cancelling sum). So a step whose
    result differs from the CPU program's is checked again against the CPU
    running the same op on accel's own operands (copied before the step);
    matching that, the difference came from its inputs, and only the
    step-by-step checks decide the rest of that program."""
    cpu_values, accel_values, drifted = [], [], False
    for i, step in enumerate(program):
        cpu_values.append(apply_step(step, cpu_values, "cpu"))
        operands = {a: _host_copy(accel_values[a]) for a in step.args}
        accel_values.append(apply_step(step, accel_values, "accel"))
        try:
            _compare(i, step, cpu_values[i], accel_values[i], "when made",
                     [accel_values[a] for a in step.args])
        except Mismatch:
            same_inputs = [operands.get(k) for k in range(i)]
            reference = apply_step(step, same_inputs, "cpu")
            if not isinstance(reference, torch.Tensor) or not isinstance(accel_values[i], torch.Tensor):
                raise
            _compare(i, step, reference, accel_values[i], "from accel's own operands")
            drifted = True
        failed = [v for v in (cpu_values[i], accel_values[i]) if isinstance(v, BaseException)]
        if failed:  # an accepted CPU quirk (see _compare): neither device uses the value
            cpu_values[i] = accel_values[i] = failed[0]
    if drifted:
        return
    for i, step in enumerate(program):
        _compare(i, step, cpu_values[i], accel_values[i], "at the end")


def format_program(program):
    return "[\n" + "".join(f"    {s!r},\n" for s in program) + "]"
