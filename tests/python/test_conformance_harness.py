"""The OpInfo conformance checks (torch_accel.conformance) catch what they exist to
catch: wrong values, wrong shapes, exceptions CPU does not raise, CPU fallbacks,
and a regression against the expectation file."""
import copy

import pytest
import torch

pytest.importorskip("expecttest")
from torch.testing._internal.common_methods_invocations import op_db  # noqa: E402

from torch_accel.conformance import check_op, compare  # noqa: E402

ABS = next(op for op in op_db if op.name == "abs")


def _variant(op, fn):
    twin = copy.copy(op)
    twin.op = fn
    twin.inplace_variant = None
    return twin


def test_a_correct_op_passes_natively():
    outcome = check_op(ABS, torch.float32)
    assert (outcome.status, outcome.native) == ("pass", True) and outcome.samples > 0


def test_wrong_values_on_accel_fail():
    off_by_one = _variant(ABS, lambda x, *a, **k: torch.abs(x) + (x.device.type == "accel"))
    outcome = check_op(off_by_one, torch.float32)
    assert outcome.status == "fail" and "not close" in outcome.reason


def test_a_wrong_shape_fails():
    flat = _variant(ABS, lambda x, *a, **k: torch.abs(x).reshape(-1) if x.device.type == "accel"
                    else torch.abs(x))
    outcome = check_op(flat, torch.float32)
    assert outcome.status == "fail" and "shape" in outcome.reason


def test_an_exception_only_accel_raises_fails():
    def broken(x, *a, **k):
        if x.device.type == "accel":
            raise RuntimeError("accel kernel broke")
        return torch.abs(x)
    outcome = check_op(_variant(ABS, broken), torch.float32)
    assert outcome.status == "fail" and "accel kernel broke" in outcome.reason


def test_fallback_calls_are_counted():
    via_fft = _variant(ABS, lambda x, *a, **k: torch.fft.ifft(torch.fft.fft(torch.abs(x))).real)
    outcome = check_op(via_fft, torch.float32)
    assert not outcome.native and any("fft" in name for name in outcome.fallbacks)


def test_regressions_and_improvements_are_told_apart():
    outcome = check_op(ABS, torch.float32)
    passing = {"status": "pass", "native": True, "reason": "", "fallbacks": []}
    failing = {"status": "fail", "native": True, "reason": "x", "fallbacks": []}
    assert compare(outcome, passing)[0] is None
    assert compare(outcome, failing)[0] == "improvement"
    outcome.status, outcome.reason = "fail", "broke"
    assert compare(outcome, passing)[0] == "regression"
    assert compare(outcome, None)[0] == "new"
