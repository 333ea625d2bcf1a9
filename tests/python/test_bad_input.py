"""Bad input raises the Python exception CPU (or, for what only a device can get
wrong, CUDA) raises, with a message naming the problem; never an abort or a
hang; and the device keeps working afterwards.

Each case is a function of the device. Where the CPU has the same error, the
test runs the case on the CPU first and expects the type it raised; otherwise
the case names the type CUDA raises. `match` is a regex the accel message must
contain: the thing that is wrong.
"""
import math
import os

import pytest
import torch
import torch.nn.functional as F

import torch_accel

MiB = 1 << 20
FROM_CPU = None  # the expected exception type is what the CPU raises


def t(device, *shape, dtype=torch.float32):
    return torch.arange(math.prod(shape), dtype=torch.float32).reshape(shape).to(dtype).to(device)


def idx(device, *values):
    return torch.tensor(values, device=device)


# (id, case(device), expected type or FROM_CPU, message regex)
SHAPE_CASES = [
    ("assert_async_zero", lambda d: torch._assert_async(torch.tensor(0, device=d)), FROM_CPU, r"nonzero value, but got zero"),
    ("assert_async_msg", lambda d: torch._assert_async(torch.tensor(False, device=d), "tokens lost"), FROM_CPU, r"tokens lost"),
    ("add_shapes_do_not_broadcast", lambda d: t(d, 3) + t(d, 4), FROM_CPU, r"size of tensor a \(3\) must match"),
    ("matmul_inner_dims", lambda d: t(d, 2, 3) @ t(d, 4, 5), FROM_CPU, r"cannot be multiplied"),
    ("mm_of_3d", lambda d: torch.mm(t(d, 2, 2, 2), t(d, 2, 2)), FROM_CPU, r"must be a matrix"),
    ("bmm_batch_mismatch", lambda d: torch.bmm(t(d, 2, 2, 3), t(d, 3, 3, 2)), FROM_CPU, r"batch"),
    ("view_wrong_numel", lambda d: t(d, 2, 3).view(7), FROM_CPU, r"shape '\[7\]' is invalid"),
    ("view_needs_copy", lambda d: t(d, 2, 3).t().view(6), FROM_CPU, r"view size is not compatible"),
    ("reshape_two_minus_ones", lambda d: t(d, 2, 3).reshape(-1, -1), FROM_CPU, r"only one dimension can be inferred"),
    ("cat_mismatched", lambda d: torch.cat([t(d, 2, 3), t(d, 2, 4)]), FROM_CPU, r"Sizes of tensors must match"),
    ("stack_mismatched", lambda d: torch.stack([t(d, 2), t(d, 3)]), FROM_CPU, r"stack expects each tensor to be equal size"),
    ("expand_non_singleton", lambda d: t(d, 2, 3).expand(4, 3), FROM_CPU, r"expanded size"),
    ("transpose_dim_out_of_range", lambda d: t(d, 2, 3).transpose(0, 5), FROM_CPU, r"Dimension out of range"),
    ("sum_dim_out_of_range", lambda d: t(d, 2, 3).sum(3), FROM_CPU, r"Dimension out of range"),
    ("softmax_dim_out_of_range", lambda d: t(d, 2, 3).softmax(-3), FROM_CPU, r"Dimension out of range"),
    ("permute_wrong_length", lambda d: t(d, 2, 3).permute(0, 1, 2), FROM_CPU, r"does not match the length"),
    ("linear_in_features", lambda d: F.linear(t(d, 2, 3), t(d, 4, 5)), FROM_CPU, r"cannot be multiplied"),
    ("layer_norm_shape", lambda d: F.layer_norm(t(d, 2, 3), (4,)), FROM_CPU, r"normalized_shape"),
    ("inplace_broadcast_grows_self", lambda d: t(d, 3).add_(t(d, 2, 3)), FROM_CPU, r"doesn't match the broadcast shape"),
    ("write_into_expanded", lambda d: t(d, 1, 3).expand(3, 3).add_(1), FROM_CPU, r"more than one element of the written-to tensor"),
    ("amax_of_empty", lambda d: t(d, 0, 3).amax(0), FROM_CPU, r"zero|non-zero size|empty"),
    ("max_of_empty", lambda d: t(d, 0).max(), FROM_CPU, r"numel\(\) == 0|empty|non-empty"),
    ("item_of_many", lambda d: t(d, 3).item(), FROM_CPU, r"3 elements cannot be converted to Scalar"),
    ("conv2d_channels", lambda d: F.conv2d(t(d, 1, 3, 5, 5), t(d, 2, 4, 3, 3)), FROM_CPU, r"channels"),
]

DTYPE_CASES = [
    ("matmul_float_by_long", lambda d: t(d, 2, 3) @ t(d, 3, 2, dtype=torch.long), FROM_CPU, r"dtype|Long|Float"),
    ("add_float_into_long", lambda d: t(d, 3, dtype=torch.long).add_(t(d, 3)), FROM_CPU, r"can't be cast"),
    ("index_select_float_index", lambda d: t(d, 4).index_select(0, t(d, 2)), FROM_CPU, r"Long|Int|index"),
    ("gather_float_index", lambda d: t(d, 4).gather(0, t(d, 2)), FROM_CPU, r"int64|Long"),
    ("embedding_float_indices", lambda d: F.embedding(t(d, 2), t(d, 4, 3)), FROM_CPU, r"Long|Int|indices"),
    ("softmax_of_long", lambda d: t(d, 3, dtype=torch.long).softmax(0), FROM_CPU, r"Long"),
    ("bitwise_and_of_float", lambda d: t(d, 3) & t(d, 3), FROM_CPU, r"bitwise_and.*Float"),
    ("abs_of_bool", lambda d: t(d, 3, dtype=torch.bool).abs(), FROM_CPU, r"abs.*Bool"),
    ("gelu_of_long", lambda d: F.gelu(t(d, 3, dtype=torch.long)), FROM_CPU, r"Long"),
    ("neg_of_bool", lambda d: -t(d, 3, dtype=torch.bool), FROM_CPU, r"bool"),
    ("sub_of_bool", lambda d: t(d, 3, dtype=torch.bool) - t(d, 3), FROM_CPU, r"bool"),
    ("where_long_condition", lambda d: torch.where(t(d, 3, dtype=torch.long), t(d, 3), t(d, 3)), FROM_CPU, r"condition"),
    ("masked_fill_float_mask", lambda d: t(d, 3).masked_fill(t(d, 3), 1.0), FROM_CPU, r"mask"),
    ("clamp_in_place_promotes", lambda d: t(d, 3, dtype=torch.long).clamp_(0.5, 1.5), FROM_CPU, r"can't be cast"),
    ("amax_of_complex", lambda d: t(d, 3, dtype=torch.complex64).amax(), FROM_CPU, r"ComplexFloat|complex"),
    ("add_float8_e4m3fn", lambda d: t(d, 2, dtype=torch.float8_e4m3fn) + 1, FROM_CPU, r"Float8_e4m3fn"),
    ("max_of_complex", lambda d: t(d, 3, dtype=torch.complex64).max(), FROM_CPU, r"ComplexFloat"),
    ("relu_of_complex", lambda d: t(d, 3, dtype=torch.complex64).relu(), FROM_CPU, r"complex"),
    ("requires_grad_on_long", lambda d: t(d, 3, dtype=torch.long).requires_grad_(), FROM_CPU, r"floating point"),
]

INDEX_CASES = [
    ("index_select_out_of_range", lambda d: t(d, 4).index_select(0, idx(d, 0, 4)), FROM_CPU, r"out of range"),
    ("index_select_negative", lambda d: t(d, 4).index_select(0, idx(d, -5)), FROM_CPU, r"out of range"),
    ("gather_out_of_range", lambda d: t(d, 2, 3).gather(1, idx(d, [0, 3], [1, 1])), FROM_CPU, r"out of bounds"),
    ("embedding_out_of_range", lambda d: F.embedding(idx(d, 0, 5), t(d, 4, 3)), FROM_CPU, r"out of range"),
    ("integer_index_out_of_range", lambda d: t(d, 4)[10], FROM_CPU, r"out of bounds|out of range"),
    ("negative_index_out_of_range", lambda d: t(d, 4)[-5], FROM_CPU, r"out of bounds|out of range"),
    ("advanced_index_out_of_range", lambda d: t(d, 4)[idx(d, 1, 7)], FROM_CPU, r"out of bounds|out of range"),
    ("index_put_out_of_range", lambda d: t(d, 4).index_put_((idx(d, 9),), t(d, 1)), FROM_CPU, r"out of bounds|out of range"),
    ("scatter_out_of_range", lambda d: t(d, 4).scatter_(0, idx(d, 6), t(d, 1)), FROM_CPU, r"out of bounds"),
    ("select_out_of_range", lambda d: t(d, 2, 3).select(1, 3), FROM_CPU, r"out of range"),
    ("narrow_out_of_range", lambda d: t(d, 4).narrow(0, 2, 5), FROM_CPU, r"exceeds dimension size"),
    ("bool_mask_wrong_shape", lambda d: t(d, 4)[t(d, 3, dtype=torch.bool)], FROM_CPU, r"shape of the mask"),
    ("nll_loss_target_out_of_range", lambda d: F.nll_loss(t(d, 2, 3), idx(d, 0, 3)), FROM_CPU, r"out of bounds"),
    ("cross_entropy_target_shape", lambda d: F.cross_entropy(t(d, 2, 3), idx(d, 0, 1, 2)), FROM_CPU, r"batch_size|size"),
]

# Device-specific errors: the expected type is CUDA's for the same mistake.
DEVICE_CASES = [
    ("accel_plus_cpu", lambda d: t("accel", 3) + t("cpu", 3), RuntimeError, r"same device"),
    ("matmul_accel_cpu", lambda d: t("accel", 2, 2) @ t("cpu", 2, 2), RuntimeError, r"same device"),
    ("matmul_cpu_accel", lambda d: t("cpu", 2, 2) @ t("accel", 2, 2), RuntimeError, r"same device"),
    ("bmm_accel_cpu", lambda d: torch.bmm(t("accel", 1, 2, 2), t("cpu", 1, 2, 2)), RuntimeError, r"same device"),
    ("index_select_cpu_index", lambda d: t("accel", 4).index_select(0, idx("cpu", 1)), RuntimeError, r"same device"),
    ("gather_cpu_index", lambda d: t("accel", 4).gather(0, idx("cpu", 1)), RuntimeError, r"same device"),
    ("layer_norm_cpu_weight", lambda d: F.layer_norm(t("accel", 2, 3), (3,), t("cpu", 3)), RuntimeError, r"same device"),
    ("cross_entropy_cpu_target", lambda d: F.cross_entropy(t("accel", 2, 3), idx("cpu", 0, 1)), RuntimeError, r"same device"),
    ("accel0_plus_accel1", lambda d: t("accel:0", 3) + t("accel:1", 3), RuntimeError, r"same device"),
    ("matmul_accel0_accel1", lambda d: t("accel:0", 2, 2) @ t("accel:1", 2, 2), RuntimeError, r"same device"),
    ("bmm_accel0_accel1", lambda d: torch.bmm(t("accel:0", 1, 2, 2), t("accel:1", 1, 2, 2)), RuntimeError,
     r"same device"),
    ("linear_weight_on_accel1", lambda d: F.linear(t("accel:0", 2, 3), t("accel:1", 4, 3)), RuntimeError,
     r"same device"),
    ("index_select_index_on_accel1", lambda d: t("accel:0", 4).index_select(0, idx("accel:1", 1)), RuntimeError,
     r"same device"),
    ("cpu_linear_accel_input", lambda d: torch.nn.Linear(3, 2)(t("accel", 2, 3)), RuntimeError, r"device"),
    ("no_such_device", lambda d: torch.ones(2, device="accel:7"), RuntimeError, r"accel:7|device"),
    ("set_device_out_of_range", lambda d: torch.accel.set_device(9), RuntimeError, r"9|device"),
    ("numpy_of_accel", lambda d: t("accel", 3).numpy(), TypeError, r"accel"),
    ("negative_size", lambda d: torch.empty(-1, device="accel"), RuntimeError, r"negative dimension -1"),
    ("negative_size_2d", lambda d: torch.zeros(2, -3, device="accel"), RuntimeError, r"non-negative|negative dimension"),
    ("beyond_dram", lambda d: torch.empty(128 * MiB, dtype=torch.uint8, device="accel"),
     torch.OutOfMemoryError, r"out of memory"),
    ("huge_size", lambda d: torch.empty(1 << 45, dtype=torch.uint8, device="accel"),
     torch.OutOfMemoryError, r"out of memory"),
    ("resize_beyond_dram", lambda d: t("accel", 2).resize_(64 * MiB), torch.OutOfMemoryError, r"out of memory"),
    ("quantized", lambda d: torch.quantize_per_tensor(t("accel", 2), 0.1, 0, torch.qint8), TypeError, r"quantized"),
    ("quantized_to_accel", lambda d: torch.quantize_per_tensor(t("cpu", 2), 0.1, 0, torch.qint8).to("accel"),
     TypeError, r"quantized"),
]


def _configure(arch):
    return lambda d: torch_accel.configure(arch=arch)


CONFIG_CASES = [
    ("unknown_preset", _configure("no_such_chip"), ValueError, r"no_such_chip"),
    ("missing_arch_file", _configure("/nonexistent/chip.yaml"), ValueError, r"/nonexistent/chip.yaml"),
    ("missing_arch_json", _configure("/nonexistent/chip.json"), ValueError, r"/nonexistent/chip.json"),
    ("bad_num_devices", lambda d: torch_accel.configure(num_devices=0), ValueError, r"num_devices"),
    ("bad_fallback_policy", lambda d: torch_accel.set_fallback_policy("sometimes"), ValueError, r"sometimes"),
]

CASES = SHAPE_CASES + DTYPE_CASES + INDEX_CASES + DEVICE_CASES + CONFIG_CASES
CPU_COMPARED = {c[0] for c in SHAPE_CASES + DTYPE_CASES + INDEX_CASES}


def _expect_device_still_works():
    x = torch.arange(6.0, device="accel").reshape(2, 3)
    assert (x @ x.t()).cpu().tolist() == [[5.0, 14.0], [14.0, 50.0]]
    assert torch.accel.memory_allocated() >= 0


@pytest.mark.allows_fallback
@pytest.mark.parametrize("name,case,expected,match", CASES, ids=[c[0] for c in CASES])
def test_bad_input_raises_like_cpu(name, case, expected, match):
    if name in CPU_COMPARED:
        with pytest.raises(Exception) as on_cpu:
            case("cpu")
        expected = on_cpu.type
    with pytest.raises(Exception) as on_accel:
        case("accel")
    assert on_accel.type is expected, f"accel raised {on_accel.type.__name__}: {on_accel.value}"
    assert on_accel.match(match)
    _expect_device_still_works()


def test_malformed_yaml_arch_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("base: tiny\ngrid_rows: [2, 3\n")
    with pytest.raises(ValueError, match=r"broken.yaml.*malformed YAML"):
        torch_accel.configure(arch=str(path))
    _expect_device_still_works()


def test_yaml_arch_file_with_unknown_field(tmp_path):
    path = tmp_path / "odd.yaml"
    path.write_text("base: tiny\ngrid_rowz: 2\n")
    with pytest.raises(ValueError, match=r"grid_rowz"):
        torch_accel.configure(arch=os.fspath(path))
    _expect_device_still_works()


def test_complex64_runs_through_the_cpu_fallback():
    """complex64 is no bad input on accel: it has no tile format, so its ops run
    on the CPU through the counted fallback, and give the CPU's results."""
    x = torch.tensor([1 + 2j, -3j], dtype=torch.complex64)
    got = x.to("accel") * (2 - 1j)
    assert got.device.type == "accel"
    torch.testing.assert_close(got.cpu(), x * (2 - 1j))
    chosen = torch.where(torch.tensor([True, False], device="accel"), x.to("accel"), got)
    torch.testing.assert_close(chosen.cpu(), torch.where(torch.tensor([True, False]), x, x * (2 - 1j)))
    _expect_device_still_works()


def test_out_of_memory_leaves_memory_stats_consistent():
    before = torch.accel.memory_allocated()
    with pytest.raises(torch.OutOfMemoryError):
        torch.empty(128 * MiB, dtype=torch.uint8, device="accel")
    assert torch.accel.memory_allocated() == before
    _expect_device_still_works()
