"""What PyTorch's own suite says about an OpInfo entry: which of its tests PyTorch
skips or expects to fail on every device, and the per-dtype tolerances it grants.

The conformance checks are judged by these rules, not by margins of our own: an
op PyTorch cannot compare against the CPU (random, uninitialised or layout-
dependent results) is not comparable here either, and an op whose accumulation
order PyTorch allows to differ by `tol(atol, rtol)` in bf16 gets that tolerance.
"""
import unittest

import torch
from torch.testing._internal.common_device_type import precisionOverride, toleranceOverride
from torch.testing._internal.opinfo.core import DecorateInfo

# The PyTorch tests whose rules map onto our checks (TestCommon in test/test_ops.py).
FORWARD = ("TestCommon", "test_compare_cpu")
NONCONTIGUOUS = ("TestCommon", "test_noncontiguous_samples")
OUT = ("TestCommon", "test_out")
INPLACE = ("TestCommon", "test_variant_consistency_eager")
BACKWARD = ("TestBwdGradients", "test_fn_grad")

# test_compare_cpu's own tolerance for device-vs-CPU results (test/test_ops.py).
COMPARE_CPU_TOL = (1e-3, 1e-3)
# torch.testing.assert_close's defaults, the floor for reduced precision.
DEFAULT_TOL = {torch.float32: (1e-5, 1.3e-6), torch.bfloat16: (1e-5, 1.6e-2),
               torch.float16: (1e-5, 1e-3)}


def _rules(op):
    # op.decorators also holds bare decorators (skipCUDAIfNoMagma and the like),
    # which gate on a device's libraries, not on the op's comparability.
    return [info for info in getattr(op, "decorators", ()) if isinstance(info, DecorateInfo)]


def _applies_everywhere(info, test, dtype):
    """A rule that holds for every device (device_type None) or for PrivateUse1."""
    cls_name, test_name = test
    if info.device_type not in (None, "privateuse1", torch._C._get_privateuse1_backend_name()):
        return False
    return bool(info.is_active(cls_name, test_name, info.device_type, dtype, {}))


def _kind(decorator):
    """'skip' / 'xfail' with PyTorch's reason, or None for other decorators."""
    if decorator is unittest.expectedFailure:
        return "xfail", "PyTorch expects this to fail"
    if isinstance(decorator, (toleranceOverride, precisionOverride)):
        return None
    try:
        probe = decorator(lambda: None)
    except Exception:  # decorators that need a real test method
        return None
    if getattr(probe, "__unittest_skip__", False):
        return "skip", getattr(probe, "__unittest_skip_why__", "") or "skipped by PyTorch"
    if getattr(probe, "__unittest_expecting_failure__", False):
        return "xfail", "PyTorch expects this to fail"
    return None


def excluded(op, test, dtype):
    """PyTorch's reason for not running `test` on this op and dtype on any device, or None."""
    for info in _rules(op):
        if not _applies_everywhere(info, test, dtype):
            continue
        for decorator in info.decorators:
            kind = _kind(decorator)
            if kind is not None:
                return f"{kind[0]} in PyTorch's {test[1]}: {kind[1]}"
    return None


def tolerance(op, dtype):
    """(atol, rtol) for comparing this op's accel result with the CPU's.

    The loosest of test_compare_cpu's tolerance, assert_close's default for the
    dtype, and any tolerance PyTorch's OpInfo grants this op for this dtype in
    any of its tests (those record how far accumulation order may move it).
    """
    atol, rtol = COMPARE_CPU_TOL
    default_atol, default_rtol = DEFAULT_TOL.get(dtype, (0.0, 0.0))
    atol, rtol = max(atol, default_atol), max(rtol, default_rtol)
    for info in _rules(op):
        if info.dtypes is not None and dtype not in info.dtypes:
            continue
        for decorator in info.decorators:
            if isinstance(decorator, toleranceOverride) and dtype in decorator.d:
                atol = max(atol, decorator.d[dtype].atol)
                rtol = max(rtol, decorator.d[dtype].rtol)
            elif isinstance(decorator, precisionOverride) and dtype in decorator.d:
                atol = max(atol, decorator.d[dtype])
    return atol, rtol
