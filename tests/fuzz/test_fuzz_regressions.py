"""Every mismatch the fuzzer found, as its minimal program (each was fixed in
the C++ code; the comment says where). Each runs on the CPU and on accel, which
must agree on the values or on the exception type."""
import pytest
import torch

from programs import Step, check


def inputs(*specs):
    """Input steps for (shape, dtype) pairs."""
    return [Step("input", (), {"shape": shape, "dtype": dtype, "seed": i}) for i, (shape, dtype) in enumerate(specs)]


B, L, F, H = torch.bool, torch.int64, torch.float32, torch.bfloat16

# Dtypes CPU kernels refuse (csrc/aten/eltwise_dtype_checks.h): accel computed a
# result where CPU and CUDA raise NotImplementedError or RuntimeError.
REFUSED_DTYPES = [
    ("abs_bool", inputs(((3,), B)) + [Step("abs", (0,))]),
    ("floor_bool", inputs(((3,), B)) + [Step("floor", (0,))]),
    ("neg_bool", inputs(((3,), B)) + [Step("neg", (0,))]),
    ("relu_bool", inputs(((3,), B)) + [Step("relu", (0,))]),
    ("silu_long", inputs(((2, 3), L)) + [Step("silu", (0,))]),
    ("gelu_long", inputs(((2, 3), L)) + [Step("gelu", (0,))]),
    ("gelu_bool", inputs(((2,), B)) + [Step("gelu", (0,))]),
    ("bitwise_and_float", inputs(((3,), F), ((3,), F)) + [Step("bitwise_and", (0, 1))]),
    ("bitwise_and_bf16_long", inputs(((3,), H), ((3,), L)) + [Step("bitwise_and", (0, 1))]),
    ("pow_bool", inputs(((3,), B), ((3,), B)) + [Step("pow", (0, 1))]),
    ("remainder_bool", inputs(((3,), B), ((3,), B)) + [Step("remainder", (0, 1))]),
    ("sub_bool_float", inputs(((3,), B), ((3,), F)) + [Step("sub", (0, 1))]),
    # The shape error comes first, as on the CPU, before the dtype error.
    ("remainder_bool_bad_shapes", inputs(((2, 5), B), ((2,), B)) + [Step("remainder", (0, 1))]),
]

# clamp promotes integer inputs with its bounds (csrc/aten/eltwise_ops.cpp, clamp_impl).
CLAMP = [
    ("clamp_long_float_bounds", inputs(((2, 3), L)) + [Step("clamp", (0,), {"min": -0.5, "max": 1.5})]),
    ("clamp_bool_int_bounds", inputs(((4,), B)) + [Step("clamp", (0,), {"min": -1, "max": 1})]),
    ("clamp__long_float_bounds", inputs(((2, 3), L)) + [Step("clamp_", (0,), {"min": -0.25, "max": None})]),
]

# Empty tensors: checks CPU makes even when there is nothing to compute.
EMPTY = [
    # csrc/aten/index_ops.cpp, index_select_out
    ("index_select_zero_size_dim", inputs(((0, 5, 5), L)) + [
        Step("index_input", (), {"shape": (1,), "lo": 0, "hi": 0, "seed": 0}),
        Step("index_select", (0, 1), {"dim": 0})]),
    ("index_select_out_of_range_empty", inputs(((3, 0), F)) + [
        Step("index_input", (), {"shape": (1,), "lo": 5, "hi": 5, "seed": 0}),
        Step("index_select", (0, 1), {"dim": 0})]),
    # csrc/aten/index_ops.cpp, advanced()
    ("advanced_index_zero_size_dim", inputs(((0, 0, 1, 5), F)) + [
        Step("index_input", (), {"shape": (2,), "lo": 0, "hi": 1, "seed": 0}),
        Step("advanced_index", (0, 1), {"dim": -3})]),
    # csrc/aten/minimal_ops.cpp, copy_from
    ("copy_into_smaller_empty", inputs(((1, 0), L), ((1, 5, 0), F)) + [Step("copy_", (0, 1))]),
    ("copy_not_broadcastable_empty", inputs(((0, 3), F), ((0, 4), F)) + [Step("copy_", (0, 1))]),
]

# Writes that overlap themselves or their source (csrc/aten/minimal_ops.cpp, copy_from).
OVERLAP = [
    ("copy_into_expanded", inputs(((1, 2), F), ((2, 2), F)) + [
        Step("expand", (0,), {"shape": (2, 2)}), Step("copy_", (2, 1))]),
    ("copy_from_overlapping_view", inputs(((), H)) + [
        Step("reshape", (0,), {"shape": (1,)}), Step("copy_", (1, 0))]),
]

# Integer powers: a tensor exponent never raises (kernels/eltwise/binary.cpp).
POW = [
    ("pow_long_negative_tensor_exponent", [
        Step("input", (), {"shape": (6,), "dtype": L, "seed": 1}),
        Step("index_input", (), {"shape": (), "lo": -3, "hi": -1, "seed": 2}),
        Step("pow", (0, 1))]),
    ("pow_long_negative_with_zero_base", [
        Step("literal", (), {"values": [0, 1, -1, 2, -3], "dtype": L}),
        Step("literal", (), {"values": [-1, -2, -3, -1, -2], "dtype": L}),
        Step("pow", (0, 1))]),
]

# Rounding: float32 operands of a bfloat16 op are rounded to bfloat16 first, as
# TensorIterator casts them (csrc/engine/eltwise.cpp); log_softmax subtracts
# the max before log(sum), so outputs near 0 keep their digits next to large
# inputs (csrc/engine/norm_softmax.cpp).
ROUNDING = [
    ("bf16_plus_float32_0dim", [
        Step("literal", (), {"values": [0.83984375, 0.5, -0.953125], "dtype": H}),
        Step("literal", (), {"values": 0.95257413, "dtype": F}),
        Step("add", (0, 1)), Step("add", (1, 0)), Step("mul", (0, 1))]),
    ("log_softmax_of_large_values", inputs(((31,), L)) + [Step("exp", (0,)), Step("log_softmax", (1,), {"dim": 0})]),
    ("log_softmax_of_large_columns", [
        Step("literal", (), {"values": [[2980.5, 1.0], [2979.0, -3.0], [2975.25, 2.0]], "dtype": F}),
        Step("log_softmax", (0,), {"dim": 0})]),
]

CASES = REFUSED_DTYPES + CLAMP + EMPTY + OVERLAP + POW + ROUNDING


@pytest.mark.parametrize("program", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_regression(program):
    check(program)


def test_pow_long_by_negative_scalar_raises_like_cpu():
    x = torch.tensor([0, 1, 2])
    with pytest.raises(RuntimeError, match="negative integer powers"):
        x.pow(-1)
    with pytest.raises(RuntimeError, match="negative integer powers"):
        x.to("accel").pow(-1)


def test_bf16_op_rounds_a_python_scalar_first_like_cpu():
    x = torch.tensor([0.83984375, -0.953125], dtype=torch.bfloat16)
    torch.testing.assert_close((x.to("accel") + 0.95257413).cpu(), x + 0.95257413, rtol=0, atol=0)


def test_empty_matmul_of_mixed_dtypes_raises_as_cpu_mm_does():
    """CPU's bmm returns an empty result for mixed dtypes (its check is in the
    kernel, which has nothing to do); accel raises as CPU's mm does (fuzz seed
    63233). The fuzzer accepts this one difference (programs.py)."""
    a, b = torch.zeros(0, 3, dtype=torch.bfloat16), torch.zeros(1, 3, 5)
    assert torch.matmul(a, b).shape == (1, 0, 5)
    with pytest.raises(RuntimeError, match="same dtype"):
        torch.mm(a, b[0])
    with pytest.raises(RuntimeError, match="same dtype"):
        torch.matmul(a.to("accel"), b.to("accel"))
