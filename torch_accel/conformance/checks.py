"""Runs one OpInfo entry on accel and on the CPU, sample for sample, and judges it.

Every sample input the OpInfo generates is checked, made on the accel device as
PyTorch's device-generic tests make them: the forward result, the same sample
made non-contiguous, the out= variant, the in-place variant, and (float32) the
gradient of every input. Where the CPU raises, accel must raise the same type.
"""
import contextlib
import dataclasses

import torch
import torch.utils._pytree as pytree

import torch_accel
from . import pytorch_rules as rules

DEVICE = "accel"
# Dtypes whose results are judged against a float64 reference when they differ from
# the CPU's (see OpChecker._as_accurate_as_cpu).
_REDUCED = (torch.bfloat16, torch.float16)
# Ops that return the indices of tied values: any tie order is allowed unless the
# call asks for a stable sort (PyTorch's sort tests check indices by gathering).
_TIE_ORDER_FREE = {"sort", "argsort", "topk", "msort", "kthvalue", "mode", "median",
                   "nanmedian", "max.reduction_with_dim", "min.reduction_with_dim",
                   "argmax", "argmin"}


@dataclasses.dataclass
class Outcome:
    op: str
    dtype: str
    status: str  # "pass", "fail", or "skip" (not comparable, with PyTorch's reason)
    reason: str = ""
    native: bool = True
    fallbacks: tuple = ()
    samples: int = 0


class Mismatch(AssertionError):
    """A difference from the CPU. `values_only` when shapes, dtypes and exceptions
    agree and only the numbers differ: the one kind a PyTorch exclusion excuses."""

    def __init__(self, message, values_only=False, cpu_raised=False):
        super().__init__(message)
        self.values_only, self.cpu_raised = values_only, cpu_raised


def op_id(op):
    return f"{op.name}.{op.variant_test_name}" if op.variant_test_name else op.name


def _one_line(error):
    text = f"{type(error).__name__}: {error}".replace("\n", " ").strip()
    return text if len(text) <= 200 else text[:197] + "..."


def _to_cpu(value):
    """The CPU twin of a sample argument: same strides (a non-contiguous sample stays
    non-contiguous), and a factory's device="accel" becomes the CPU."""
    if isinstance(value, torch.Tensor):
        if value.layout != torch.strided:
            return value.detach().to("cpu").requires_grad_(value.requires_grad)
        twin = torch.empty_strided(value.size(), value.stride(), dtype=value.dtype, device="cpu")
        if torch._debug_has_internal_overlap(twin) == 1:  # expanded: a copy can't keep it
            return value.detach().to("cpu").requires_grad_(value.requires_grad)
        with torch.no_grad():
            twin.copy_(value.detach())
        return twin.requires_grad_(value.requires_grad)
    if isinstance(value, torch.device) and value.type == DEVICE:
        return torch.device("cpu")
    if isinstance(value, str) and value.split(":")[0] == DEVICE:
        return "cpu"
    return value


def _cpu_sample(sample):
    twin = sample.transform(_to_cpu)
    twin.kwargs = {k: _to_cpu(v) for k, v in twin.kwargs.items()}
    return twin


def _host(value):
    return value.detach().cpu() if isinstance(value, torch.Tensor) else value


def _seed_everything():
    """Samples draw from torch's, Python's and NumPy's generators (as PyTorch's
    TestCase.setUp seeds them all): an entry's samples must not depend on what ran
    before it in the process."""
    from torch.testing._internal.common_utils import set_rng_seed
    set_rng_seed(0)


@contextlib.contextmanager
def _counting_fallbacks(into):
    """Adds to the set `into` the ops that went through the CPU fallback inside."""
    before = torch_accel.fallback_stats()
    try:
        yield
    finally:
        after = torch_accel.fallback_stats()
        into.update(k for k, n in after.items() if n > before.get(k, 0))


class OpChecker:
    def __init__(self, op, dtype):
        self.op, self.dtype, self.name = op, dtype, op_id(op)
        self.atol, self.rtol = rules.tolerance(op, dtype)
        self.fallback_ops = set()
        self.samples = 0
        self.excused = []

    # --- running both sides -------------------------------------------------
    def _run_pair(self, what, call_accel, call_cpu):
        """(accel result, cpu result), or None when both raised the same type."""
        try:
            expected = call_cpu()
        except Exception as cpu_error:
            try:
                with _counting_fallbacks(self.fallback_ops):
                    call_accel()
            except Exception as accel_error:
                if isinstance(accel_error, type(cpu_error)):
                    return None
                raise Mismatch(f"{what}: CPU raised {type(cpu_error).__name__}, accel raised "
                               f"{_one_line(accel_error)}") from accel_error
            # The CPU copy of a sample can be what is wrong (a view whose storage the
            # copy did not keep); PyTorch's exclusions cover that case.
            raise Mismatch(f"{what}: CPU raised {_one_line(cpu_error)}, accel did not",
                           values_only=True, cpu_raised=True)
        try:
            with _counting_fallbacks(self.fallback_ops):
                actual = call_accel()
        except Exception as error:
            raise Mismatch(f"{what}: accel raised {_one_line(error)}") from error
        return actual, expected

    def _compare(self, what, actual, expected, sample=None):
        actual_leaves, actual_spec = pytree.tree_flatten(actual)
        expected_leaves, expected_spec = pytree.tree_flatten(expected)
        if len(actual_leaves) != len(expected_leaves):
            raise Mismatch(f"{what}: accel returned {actual_spec}, CPU {expected_spec}")
        for index, (a, e) in enumerate(zip(actual_leaves, expected_leaves)):
            if isinstance(e, torch.Tensor) and isinstance(a, torch.Tensor):
                a = _host(a)
                if self._tie_order_free(sample, e):
                    continue
            if not isinstance(e, (torch.Tensor, int, float, complex, bool)) or e is None:
                if a != e:  # None, NotImplemented, dtypes, devices, strings
                    raise Mismatch(f"{what}: output {index}: accel gave {a!r}, CPU {e!r}")
                continue
            try:
                torch.testing.assert_close(a, _host(e), atol=self.atol, rtol=self.rtol,
                                           equal_nan=True, check_device=False)
            except AssertionError as error:
                raise Mismatch(f"{what}: output {index}: {_one_line(error)}",
                               values_only="are not close" in str(error)) from None

    def _tie_order_free(self, sample, expected):
        """An index output of a non-stable sort or select: compared by _check_indices."""
        return (self.name in _TIE_ORDER_FREE and sample is not None
                and expected.dtype == torch.int64 and not sample.kwargs.get("stable")
                and isinstance(sample.input, torch.Tensor) and sample.input.dim() > 0)

    def _index_dim(self, sample):
        if "dim" in sample.kwargs:
            return sample.kwargs["dim"]
        args = sample.args
        if self.name in ("topk", "kthvalue"):
            return args[1] if len(args) > 1 else -1
        if args and isinstance(args[0], int) and not isinstance(args[0], bool):
            return args[0]
        return None if self.name in ("argmax", "argmin") else -1

    def _check_indices(self, what, sample, actual, expected):
        """Tied values may come in any order: the accel indices must pick the values
        the CPU's indices pick."""
        source = _host(sample.input)
        dim = self._index_dim(sample)

        def pick(indices):
            if dim is None:
                return source.flatten()[indices]
            if indices.dim() < source.dim():
                indices = indices.unsqueeze(dim)
            return source.gather(dim, indices)

        pairs = zip(pytree.tree_leaves(actual), pytree.tree_leaves(expected))
        for index, (a, e) in enumerate(pairs):
            if isinstance(e, torch.Tensor) and self._tie_order_free(sample, e):
                try:
                    torch.testing.assert_close(pick(_host(a)), pick(_host(e)), atol=self.atol,
                                               rtol=self.rtol, equal_nan=True)
                except (AssertionError, RuntimeError, IndexError) as error:
                    raise Mismatch(f"{what}: indices {index} pick other values: "
                                   f"{_one_line(error)}", values_only=True) from None

    # --- the checks ---------------------------------------------------------
    def forward(self, sample, what, layout_free=False):
        """`layout_free`: the sample was made non-contiguous for this check. Where only
        the CPU kernel refuses that layout, accel is compared with the CPU's result on
        contiguous copies of the same values (as test_noncontiguous_samples compares
        with the contiguous result)."""
        cpu_sample = _cpu_sample(sample)

        def run_cpu():
            return self.op(cpu_sample.input, *cpu_sample.args, **cpu_sample.kwargs)

        def run_accel():
            return self.op(sample.input, *sample.args, **sample.kwargs)

        try:
            pair = self._run_pair(what, run_accel, run_cpu)
        except Mismatch as error:
            if not (layout_free and error.cpu_raised):
                raise
            cpu_sample = cpu_sample.transform(
                lambda t: t.contiguous() if isinstance(t, torch.Tensor) else t)
            pair = self._run_pair(what, run_accel, run_cpu)
        if pair is not None:
            actual, expected = pair
            actual = sample.output_process_fn_grad(actual)
            expected = cpu_sample.output_process_fn_grad(expected)
            self._compare_result(what, actual, expected, sample, cpu_sample, run_cpu)
            if self.name in _TIE_ORDER_FREE:
                self._check_indices(what, sample, actual, expected)
        return pair

    def _compare_result(self, what, actual, expected, sample, cpu_sample, run_cpu=None):
        try:
            self._compare(what, actual, expected, sample)
        except Mismatch as error:
            if not error.values_only:
                raise
            if self.dtype in _REDUCED and self._as_accurate_as_cpu(cpu_sample, actual, expected):
                return
            if run_cpu is not None and not self._reproducible(run_cpu, expected, cpu_sample):
                self.excused.append(f"not comparable: the CPU gives different results for the "
                                    f"same inputs from run to run ({what})")
                return
            raise

    @staticmethod
    def _reproducible(run_cpu, expected, cpu_sample):
        """Whether a second CPU run on the same inputs gives the same bits."""
        def same(a, e):
            if not e.is_floating_point():
                return torch.equal(a, e)
            return torch.equal(a.isnan(), e.isnan()) and torch.equal(a.nan_to_num(0.0),
                                                                     e.nan_to_num(0.0))
        again = cpu_sample.output_process_fn_grad(run_cpu())
        return all(same(a, e) for a, e in zip(pytree.tree_leaves(again), pytree.tree_leaves(expected))
                   if isinstance(e, torch.Tensor))

    def _as_accurate_as_cpu(self, cpu_sample, actual, expected):
        """Reduced precision, judged as PyTorch's reference tests judge it: against the
        op computed in float64 from the same inputs, accel may not be less accurate
        than the CPU by more than one rounding of the dtype at the result's scale."""
        def widen(t):
            return t.detach().double() if isinstance(t, torch.Tensor) and t.dtype == self.dtype else t
        try:
            wide = cpu_sample.transform(widen)
            reference = cpu_sample.output_process_fn_grad(
                self.op(wide.input, *wide.args, **wide.kwargs))
        except Exception:  # no float64 kernel: the plain comparison stands
            return False
        eps = torch.finfo(self.dtype).eps
        for a, e, r in zip(*(pytree.tree_leaves(x) for x in (actual, expected, reference))):
            if not (isinstance(a, torch.Tensor) and a.is_floating_point()):
                continue
            a, e, r = _host(a).double(), _host(e).double(), _host(r).double()
            finite = torch.isfinite(r)
            if not torch.equal(torch.isnan(a), torch.isnan(r)) and not torch.equal(
                    torch.isnan(a), torch.isnan(e)):
                return False
            if not finite.any():
                continue
            accel_error = (a - r)[finite].abs().nan_to_num(float("inf")).max()
            cpu_error = (e - r)[finite].abs().nan_to_num(float("inf")).max()
            scale = r[finite].abs().max()
            if accel_error > cpu_error + eps * scale:
                return False
        return True

    def out_variant(self, sample, result, what):
        """`result`: the accel result of the functional call, whose shapes, dtypes and
        devices the out= tensors take (all-CPU samples compute on the CPU)."""
        leaves = pytree.tree_leaves(result)
        if not leaves or not all(isinstance(t, torch.Tensor) for t in leaves):
            return
        out = pytree.tree_map(torch.empty_like, result)
        cpu_out = pytree.tree_map(lambda t: torch.empty_like(_host(t)), result)
        cpu_sample = _cpu_sample(sample)
        pair = self._run_pair(
            what,
            lambda: self.op(sample.input, *sample.args, **sample.kwargs, out=out),
            lambda: self.op(cpu_sample.input, *cpu_sample.args, **cpu_sample.kwargs, out=cpu_out))
        if pair is not None:
            self._compare_result(what, out, cpu_out, sample, cpu_sample)

    def inplace_variant(self, sample, what):
        # As PyTorch's in-place tests: a sample whose input the other operands would
        # broadcast cannot be updated in place.
        if not isinstance(sample.input, torch.Tensor) or sample.broadcasts_input:
            return
        cpu_sample = _cpu_sample(sample)
        target, cpu_target = sample.input.clone(), cpu_sample.input.clone()
        inplace = self.op.inplace_variant
        pair = self._run_pair(what, lambda: inplace(target, *sample.args, **sample.kwargs),
                              lambda: inplace(cpu_target, *cpu_sample.args, **cpu_sample.kwargs))
        if pair is not None:
            self._compare_result(what, target, cpu_target, sample, cpu_sample)

    def backward(self, sample, what):
        cpu_sample = _cpu_sample(sample)

        def grads(s):
            inputs = [t for t in pytree.tree_leaves((s.input, s.args, s.kwargs))
                      if isinstance(t, torch.Tensor) and t.requires_grad]
            outputs = [t for t in pytree.tree_leaves(
                s.output_process_fn_grad(self.op(s.input, *s.args, **s.kwargs)))
                if isinstance(t, torch.Tensor) and t.requires_grad]
            if not inputs or not outputs:
                return None
            generator = torch.Generator().manual_seed(0)
            seeds = [torch.randn(t.shape, generator=generator, dtype=t.dtype).to(t.device)
                     for t in outputs]
            return torch.autograd.grad(outputs, inputs, seeds, allow_unused=True)

        pair = self._run_pair(what, lambda: grads(sample), lambda: grads(cpu_sample))
        if pair is not None and pair[1] is not None:
            self._compare(what, pair[0], pair[1])

    # --- the whole entry ----------------------------------------------------
    def run(self):
        """Runs every check. A check PyTorch itself skips or expects to fail on every
        device (random or uninitialised results, views whose storage a copy to the CPU
        cannot keep) does not count against the op when it mismatches here."""
        op, dtype = self.op, self.dtype
        if dtype not in op.supported_dtypes("cpu"):
            return self._outcome("skip", f"PyTorch's CPU has no {dtype} kernel for it")
        try:
            self._run_checks()
        except Mismatch as error:
            return self._outcome("fail", str(error))
        except Exception as error:  # sample generation or the harness itself
            return self._outcome("fail", f"harness or samples: {_one_line(error)}")
        if self.excused:
            return self._outcome("skip", self.excused[0])
        return self._outcome("pass")

    def _guarded(self, test, check, *args):
        """Runs one check. A value mismatch in a check PyTorch excludes (that test, or
        the CPU comparison as a whole) is noted, not raised; a wrong shape, dtype or
        exception never is."""
        try:
            return check(*args)
        except Mismatch as error:
            reason = (rules.excluded(self.op, test, self.dtype)
                      or rules.excluded(self.op, rules.FORWARD, self.dtype))
            if reason is None or not error.values_only:
                raise
            self.excused.append(f"{reason} (here: {error})"[:300])
            return None

    def _run_checks(self):
        op, dtype = self.op, self.dtype
        _seed_everything()
        for i, sample in enumerate(op.reference_inputs(DEVICE, dtype, requires_grad=False)):
            self.samples += 1
            pair = self._guarded(rules.FORWARD, self.forward, sample, f"forward sample {i}")
            self._guarded(rules.NONCONTIGUOUS, self.forward, sample.noncontiguous(),
                          f"non-contiguous sample {i}", True)
            if op.supports_out and pair is not None:
                self._guarded(rules.OUT, self.out_variant, sample, pair[0], f"out= sample {i}")
            if op.inplace_variant is not None:
                self._guarded(rules.INPLACE, self.inplace_variant, sample, f"in-place sample {i}")
        if dtype == torch.float32 and op.supports_autograd:
            _seed_everything()
            for i, sample in enumerate(op.sample_inputs(DEVICE, dtype, requires_grad=True)):
                self._guarded(rules.BACKWARD, self.backward, sample, f"gradient sample {i}")

    def _outcome(self, status, reason=""):
        fallbacks = tuple(sorted(self.fallback_ops))
        return Outcome(self.name, str(self.dtype).replace("torch.", ""), status, reason,
                       native=not fallbacks, fallbacks=fallbacks, samples=self.samples)


def check_op(op, dtype):
    """The Outcome of one OpInfo entry in one dtype."""
    checker = OpChecker(op, dtype)
    try:
        return checker.run()
    except Exception as error:  # the OpInfo's own rules or samples could not be read
        return checker._outcome("fail", f"harness: {_one_line(error)}")
