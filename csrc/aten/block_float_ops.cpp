// accel::pack_block_float / unpack_block_float / linear_block_float: the
// chip's block-float formats (engine/block_float.h) on CPU and accel tensors,
// and a matmul whose weight stays in device DRAM as block-float tiles.
// torch_accel/formats.py is the Python face; docs/NUMERICS.md the rules.
#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <array>
#include <vector>

#include "aten/conv_launch.h"
#include "aten/matmul_launch.h"
#include "engine/block_float.h"

namespace accel::aten {
namespace {

using kernels::BlockFloatFormat;

BlockFloatFormat format_of(std::string_view name) {
  const auto fmt = kernels::block_float_format(name);
  TORCH_CHECK_VALUE(fmt.has_value(), "block float: unknown format '", name,
                    "'; expected one of 'bfp8_b', 'bfp4_b', 'bfp2_b'");
  return *fmt;
}

void check_float(at::ScalarType t, const char* what) {
  TORCH_CHECK_TYPE(t == at::kFloat || t == at::kBFloat16 || t == at::kHalf || t == at::kDouble,
                   "block float: ", what, " must be a floating dtype (float32, bfloat16, float16 or "
                   "float64), got ", t);
}

// A tensor seen as [batch, rows, cols]: the last two dims tile; a vector is one row.
struct Tiled {
  std::vector<int64_t> lead;
  int64_t batch = 1, rows = 1, cols = 1;
};

Tiled tiled(c10::IntArrayRef shape) {
  Tiled t;
  const int64_t nd = static_cast<int64_t>(shape.size());
  if (nd >= 1) t.cols = shape[nd - 1];
  if (nd >= 2) t.rows = shape[nd - 2];
  for (int64_t d = 0; d + 2 < nd; ++d) {
    t.lead.push_back(shape[d]);
    t.batch *= shape[d];
  }
  return t;
}

engine::BlockFloatTiling tiling_of(const Tiled& t) { return {t.batch, t.rows, t.cols}; }

std::vector<int64_t> packed_shape(const Tiled& t, BlockFloatFormat fmt) {
  const engine::BlockFloatTiling tiling = tiling_of(t);
  std::vector<int64_t> shape = t.lead;
  shape.insert(shape.end(), {tiling.row_tiles(), tiling.col_tiles(), kernels::block_float_tile_bytes(fmt)});
  return shape;
}

// x's elements as the engine's [batch, rows, cols] operand.
engine::TensorRef operand3d(const at::Tensor& x, const Tiled& t) {
  const at::Tensor v = x.reshape({t.batch, t.rows, t.cols});
  return {v.data_ptr(), engine_dtype(v.scalar_type()), v.sizes().vec(), v.strides().vec()};
}

bool on_accel(const at::Tensor& t) { return t.device().type() == c10::DeviceType::PrivateUse1; }

at::Tensor pack_block_float(const at::Tensor& x, std::string_view format) {
  const BlockFloatFormat fmt = format_of(format);
  check_float(x.scalar_type(), "the input");
  const Tiled t = tiled(x.sizes());
  at::Tensor packed = at::empty(packed_shape(t, fmt), x.options().dtype(at::kByte));
  if (packed.numel() == 0) return packed;
  // The engine reads float32/bfloat16/float16; a float64 input is rounded to float32 first.
  const at::Tensor src = x.scalar_type() == at::kDouble ? x.to(at::kFloat) : x;
  const engine::TensorRef ref = operand3d(src, t);
  auto* out = static_cast<uint8_t*>(packed.data_ptr());
  if (on_accel(x)) {
    launch_program(packed, [&](const chip::Arch& arch) {
      return engine::run_pack_block_float(arch, ref, fmt, out);
    });
  } else {
    at::parallel_for(0, tiling_of(t).tiles(), 1, [&](int64_t begin, int64_t end) {
      engine::pack_block_float_tiles(ref, fmt, out, begin, end);
    });
  }
  return packed;
}

void check_packed(const at::Tensor& packed, const Tiled& t, BlockFloatFormat fmt, const char* op) {
  TORCH_CHECK_TYPE(packed.scalar_type() == at::kByte, op, ": packed tiles must be uint8, got ",
                   packed.scalar_type());
  const auto expected = packed_shape(t, fmt);
  int64_t numel = 1;
  for (int64_t s : expected) numel *= s;
  TORCH_CHECK_VALUE(packed.numel() == numel, op, ": ", packed.numel(), " packed bytes do not hold ",
                    kernels::block_float_format_name(fmt), " tiles of the shape, which need ", numel,
                    " (", c10::IntArrayRef(expected), ")");
}

at::Tensor unpack_block_float(const at::Tensor& packed, std::string_view format, c10::IntArrayRef shape,
                              at::ScalarType dtype) {
  const BlockFloatFormat fmt = format_of(format);
  check_float(dtype, "the output dtype");
  const Tiled t = tiled(shape);
  check_packed(packed, t, fmt, "unpack_block_float");
  const bool f64 = dtype == at::kDouble;
  at::Tensor out = at::empty(shape, packed.options().dtype(f64 ? at::kFloat : dtype));
  if (out.numel() == 0) return f64 ? out.to(at::kDouble) : out;
  const at::Tensor bytes = packed.contiguous();
  const auto* in = static_cast<const uint8_t*>(bytes.data_ptr());
  const engine::TensorRef ref = operand3d(out, t);
  if (on_accel(packed)) {
    launch_program(out, [&](const chip::Arch& arch) {
      return engine::run_unpack_block_float(arch, in, fmt, ref);
    });
  } else {
    at::parallel_for(0, tiling_of(t).tiles(), 1, [&](int64_t begin, int64_t end) {
      engine::unpack_block_float_tiles(in, fmt, ref, begin, end);
    });
  }
  return f64 ? out.to(at::kDouble) : out;
}

// A block-float operand of the matmul program: its tiles stay in device
// DRAM; each core's unpacker expands the tiles of the blocks it reads
// (engine/block_float.h), into float32, or bfloat16 beside a bfloat16
// activation (exact: Bfp8_b values have 7 significant bits).
engine::BlockFloatOperand tiles_of(const at::Tensor& packed, BlockFloatFormat fmt, c10::IntArrayRef stored,
                                   bool transposed) {
  TORCH_CHECK(packed.is_contiguous(), "linear_block_float: packed tiles must be contiguous");
  return {static_cast<const uint8_t*>(packed.data_ptr()), fmt, stored[0], stored[1], transposed};
}

// The logical [rows, cols] of a 2-D operand stored as `stored`, transposed or not.
std::array<int64_t, 2> logical(c10::IntArrayRef stored, bool transposed, const char* what) {
  TORCH_CHECK_VALUE(stored.size() == 2, "linear_block_float: ", what, " must be 2-D, got ", stored);
  if (transposed) return {stored[1], stored[0]};
  return {stored[0], stored[1]};
}

// x [..., K] @ W + bias, W the logical [K, N] weight whose tiles `packed`
// holds as stored: [K, N], or [N, K] (an nn.Linear weight) when
// weight_transposed. With x_format, x is block-float too: its packed tiles
// of stored shape x_shape ([M, K], or [K, M] when x_transposed) and logical
// dtype x_dtype. One matmul program at the current fidelity and accumulation.
at::Tensor linear_block_float(const at::Tensor& x, const at::Tensor& packed, std::string_view format,
                              c10::IntArrayRef weight_shape, bool weight_transposed,
                              const std::optional<at::Tensor>& bias,
                              std::optional<std::string_view> x_format, at::OptionalIntArrayRef x_shape,
                              bool x_transposed, std::optional<at::ScalarType> x_dtype) {
  const BlockFloatFormat fmt = format_of(format);
  TORCH_CHECK(on_accel(packed), "linear_block_float: the weight must be on the accel device, got ",
              packed.device());
  check_same_device(x, packed);
  const auto [K, N] = logical(weight_shape, weight_transposed, "the weight");
  check_packed(packed, tiled(weight_shape), fmt, "linear_block_float");
  const at::ScalarType dtype = x_format ? x_dtype.value_or(at::kFloat) : x.scalar_type();
  TORCH_CHECK_TYPE(matmul_dtype(dtype), "linear_block_float: x must be float32, bfloat16 or float16, got ",
                   dtype);
  const engine::DType operand_dtype = dtype == at::kBFloat16 ? engine::DType::BF16 : engine::DType::F32;

  engine::MatmulArgs args;
  std::vector<int64_t> shape;
  std::optional<engine::BlockFloatOperand> x_tiles;
  at::Tensor rows;
  int64_t M;
  if (x_format) {
    const BlockFloatFormat xfmt = format_of(*x_format);
    TORCH_CHECK_VALUE(x_shape.has_value(), "linear_block_float: x_shape is needed with x_format");
    const auto [xm, xk] = logical(*x_shape, x_transposed, "x");
    TORCH_CHECK_VALUE(xk == K, "linear_block_float: x's K = ", xk, " does not match the weight's K = ", K);
    check_packed(x, tiled(*x_shape), xfmt, "linear_block_float");
    M = xm;
    shape = {M, N};
    x_tiles = tiles_of(x, xfmt, *x_shape, x_transposed);
    args.a = {nullptr, operand_dtype, {1, M, K}, {0, 0, 0}};
    args.a_tiles = &*x_tiles;
  } else {
    TORCH_CHECK_VALUE(x.dim() >= 1 && x.size(-1) == K, "linear_block_float: x's last dim (",
                      x.dim() ? x.size(-1) : 0, ") does not match the weight's K = ", K);
    shape.assign(x.sizes().begin(), x.sizes().end() - 1);
    shape.push_back(N);
    rows = x.reshape({-1, K});
    M = rows.size(0);
    args.a = matmul_operand(rows, {1, M, K}, {0, rows.stride(0), rows.stride(1)});
  }
  at::Tensor out = at::empty({M, N}, packed.options().dtype(dtype));
  if (out.numel() == 0) return out.view(shape);
  if (K == 0) {  // an empty sum: the bias alone
    out.zero_();
    if (bias && bias->defined()) out.add_(*bias);
    return out.view(shape);
  }
  const engine::BlockFloatOperand w = tiles_of(packed, fmt, weight_shape, weight_transposed);
  args.b = {nullptr, operand_dtype, {1, K, N}, {0, 0, 0}};
  args.b_tiles = &w;
  args.out = matmul_operand(out, {1, M, N}, {0, N, 1});
  if (bias && bias->defined()) {
    TORCH_CHECK_VALUE(bias->dim() == 1 && bias->size(0) == N, "linear_block_float: bias must have shape [",
                      N, "], got ", bias->sizes());
    check_same_device(out, *bias);
    TORCH_CHECK_TYPE(bias->scalar_type() == dtype, "linear_block_float: bias dtype ", bias->scalar_type(),
                     " differs from x's ", dtype);
    args.bias = matmul_operand(*bias, {1, M, N}, {0, 0, bias->stride(0)});
    args.beta = 1;
  }
  launch_matmul("accel::linear_block_float", args, out);
  return out.view(shape);
}

at::Tensor pack_block_float_meta(const at::Tensor& x, std::string_view format) {
  const BlockFloatFormat fmt = format_of(format);
  check_float(x.scalar_type(), "the input");
  return at::empty(packed_shape(tiled(x.sizes()), fmt), x.options().dtype(at::kByte));
}

at::Tensor unpack_block_float_meta(const at::Tensor& packed, std::string_view format,
                                   c10::IntArrayRef shape, at::ScalarType dtype) {
  const BlockFloatFormat fmt = format_of(format);
  check_float(dtype, "the output dtype");
  check_packed(packed, tiled(shape), fmt, "unpack_block_float");
  return at::empty(shape, packed.options().dtype(dtype));
}

at::Tensor linear_block_float_meta(const at::Tensor& x, const at::Tensor& packed, std::string_view format,
                                   c10::IntArrayRef weight_shape, bool weight_transposed,
                                   const std::optional<at::Tensor>& bias,
                                   std::optional<std::string_view> x_format, at::OptionalIntArrayRef x_shape,
                                   bool x_transposed, std::optional<at::ScalarType> x_dtype) {
  format_of(format);
  const int64_t N = logical(weight_shape, weight_transposed, "the weight")[1];
  if (x_format) {
    TORCH_CHECK_VALUE(x_shape.has_value(), "linear_block_float: x_shape is needed with x_format");
    return at::empty({logical(*x_shape, x_transposed, "x")[0], N},
                     packed.options().dtype(x_dtype.value_or(at::kFloat)));
  }
  TORCH_CHECK_VALUE(x.dim() >= 1, "linear_block_float: x must have at least one dim");
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end() - 1);
  shape.push_back(N);
  return at::empty(shape, x.options());
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(accel, m) {
  m.def("pack_block_float(Tensor x, str fmt) -> Tensor");
  m.def("unpack_block_float(Tensor packed, str fmt, int[] shape, ScalarType dtype) -> Tensor");
  m.def("linear_block_float(Tensor x, Tensor packed, str fmt, int[] weight_shape, bool weight_transposed, "
        "Tensor? bias, str? x_fmt=None, int[]? x_shape=None, bool x_transposed=False, "
        "ScalarType? x_dtype=None) -> Tensor");
}

TORCH_LIBRARY_IMPL(accel, PrivateUse1, m) {
  m.impl("pack_block_float", pack_block_float);
  m.impl("unpack_block_float", unpack_block_float);
  m.impl("linear_block_float", linear_block_float);
}
TORCH_LIBRARY_IMPL(accel, CPU, m) {
  m.impl("pack_block_float", pack_block_float);
  m.impl("unpack_block_float", unpack_block_float);
}
TORCH_LIBRARY_IMPL(accel, Meta, m) {
  m.impl("pack_block_float", pack_block_float_meta);
  m.impl("unpack_block_float", unpack_block_float_meta);
  m.impl("linear_block_float", linear_block_float_meta);
}

}  // namespace accel::aten
