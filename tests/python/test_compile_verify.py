"""The lowering check (torch_accel/compile/verify.py), which the suite turns on
for every compiled graph: a fused op whose result differs from what was
traced is named at compile time."""
import math

import pytest
import torch
from torch._subclasses.fake_tensor import FakeTensorMode

import torch_accel  # noqa: F401
from torch_accel.compile.verify import check_lowered_values


def _graph(result_dtype):
    """x (bf16) -> accel::scale_mask_softmax(x) recorded as giving result_dtype."""
    mode = FakeTensorMode()
    with mode:
        x = torch.empty(4, 8, dtype=torch.bfloat16, device="accel")
        traced = torch.empty(4, 8, dtype=result_dtype, device="accel")
    g = torch.fx.Graph()
    ph = g.placeholder("x")
    ph.meta["val"] = x
    sm = g.call_function(torch.ops.accel.scale_mask_softmax.default, (ph, 1.0, None, "none", -math.inf, None))
    sm.meta["val"] = traced
    g.output(sm)
    return torch.fx.GraphModule(torch.nn.Module(), g), sm, traced


def test_a_fused_op_that_changes_a_dtype_is_named():
    # The op returns its input's dtype unless told: recorded as fp32, it is wrong.
    gm, node, traced = _graph(torch.float32)
    with pytest.raises(AssertionError, match=r"scale_mask_softmax.*traced \(torch.float32.*gives \(torch.bfloat16"):
        check_lowered_values(gm)
    assert node.meta["val"] is traced  # the graph's recorded values are left as they were


def test_a_faithful_lowering_passes():
    gm, _, _ = _graph(torch.bfloat16)
    check_lowered_values(gm)
