"""PyTorch's device-generic OpInfo tests, instantiated for accel.

Each op_db entry runs every sample on accel and on the CPU (see
torch_accel/conformance/checks.py) and its outcome is held against
expectations.json: a regression (pass to fail, native to fallback) fails; an
improvement or a new entry warns that the file needs `python -m
torch_accel.conformance --update`. A plain run takes a representative shard,
TORCH_ACCEL_CONFORMANCE=all the whole of op_db (`make conformance` runs it in
worker processes, so that a crash is recorded rather than fatal).
"""
import os
import pathlib
import warnings

import pytest
import torch
from torch.testing._internal.common_device_type import instantiate_device_type_tests, ops
from torch.testing._internal.common_methods_invocations import op_db
from torch.testing._internal.common_utils import TestCase

from torch_accel.conformance import check_op, compare, load_expectations, op_id

EXPECTATIONS = load_expectations(pathlib.Path(__file__).with_name("expectations.json"))
# Every 3rd op of op_db: a third of each op family, about 2 minutes on 2 cores.
SHARD = os.environ.get("TORCH_ACCEL_CONFORMANCE", "0/3")


def _selected():
    if SHARD == "all":
        return op_db
    start, step = (int(x) for x in SHARD.split("/"))
    return op_db[start::step]


class TestAccelOpInfo(TestCase):
    @ops(_selected(), allowed_dtypes=(torch.float32, torch.bfloat16))
    def test_conformance(self, device, dtype, op):
        outcome = check_op(op, dtype)
        kind, why = compare(outcome, EXPECTATIONS.get(f"{outcome.op}|{outcome.dtype}"))
        if kind == "regression":
            self.fail(f"{op_id(op)} [{outcome.dtype}] regressed: {why}")
        if kind is not None:
            warnings.warn(f"{op_id(op)} [{outcome.dtype}]: {why}; update "
                          "tests/conformance/expectations.json (python -m "
                          "torch_accel.conformance --update)")
        if outcome.status == "skip":
            self.skipTest(outcome.reason)
        if outcome.status == "fail":
            pytest.xfail(f"known failure, in the expectation file: {outcome.reason}")


instantiate_device_type_tests(TestAccelOpInfo, globals(), only_for="privateuse1")
