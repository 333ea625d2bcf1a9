// accel::pack_block_float / unpack_block_float / linear_block_float: the
// chip's block-float formats (engine/block_float.h) on CPU and accel tensors,
// and a matmul whose weight stays in device DRAM as block-float tiles.
// torch_accel/formats.py is the Python face; docs/NUMERICS.md the rules.
#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <vector>

#include "aten/conv_launch.h"
#include "aten/matmul_launch.h"
#include "engine/block_float.h"
#include "engine/plan_mode.h"

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

// x [..., K] @ W + bias, W the logical [K, N] weight whose tiles `packed`
// holds: as stored [K, N], or as [N, K] (an nn.Linear weight) when
// weight_transposed. The matrix engine reads W's tiles as the chip's
// unpacker expands them (exact in x's float32/bfloat16 and in float32 for
// float16 inputs), at the current fidelity and accumulation; DRAM and L1 hold
// and move the block-float bytes.
at::Tensor linear_block_float(const at::Tensor& x, const at::Tensor& packed, std::string_view format,
                              c10::IntArrayRef weight_shape, bool weight_transposed,
                              const std::optional<at::Tensor>& bias) {
  const BlockFloatFormat fmt = format_of(format);
  TORCH_CHECK(on_accel(x), "linear_block_float: x must be on the accel device, got ", x.device());
  check_same_device(x, packed);
  TORCH_CHECK_TYPE(matmul_dtype(x.scalar_type()), "linear_block_float: x must be float32, bfloat16 or "
                   "float16, got ", x.scalar_type());
  TORCH_CHECK_VALUE(weight_shape.size() == 2, "linear_block_float: the weight must be 2-D, got ",
                    weight_shape);
  const int64_t K = weight_transposed ? weight_shape[1] : weight_shape[0];
  const int64_t N = weight_transposed ? weight_shape[0] : weight_shape[1];
  TORCH_CHECK_VALUE(x.dim() >= 1 && x.size(-1) == K, "linear_block_float: x's last dim (",
                    x.dim() ? x.size(-1) : 0, ") does not match the weight's K = ", K);
  const Tiled wt = tiled(weight_shape);
  check_packed(packed, wt, fmt, "linear_block_float");
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end() - 1);
  shape.push_back(N);
  const at::Tensor rows = x.reshape({-1, K});
  const int64_t M = rows.size(0);
  at::Tensor out = at::empty({M, N}, x.options());
  if (out.numel() == 0) return out.view(shape);
  if (K == 0) {  // an empty sum: the bias alone
    out.zero_();
    if (bias && bias->defined()) out.add_(*bias);
    return out.view(shape);
  }

  const at::Tensor bytes = packed.contiguous();
  // The weight's tiles as the unpacker delivers them, in the engine's operand dtype.
  const engine::DType unpacked_dtype = x.scalar_type() == at::kBFloat16 ? engine::DType::BF16
                                                                       : engine::DType::F32;
  std::vector<char> unpacked;
  engine::TensorRef w{nullptr, unpacked_dtype, {1, wt.rows, wt.cols}, {0, wt.cols, 1}};
  if (engine::executing()) {
    unpacked.resize(wt.rows * wt.cols * engine::dtype_bytes(unpacked_dtype));
    w.data = unpacked.data();
    const auto* in = static_cast<const uint8_t*>(bytes.data_ptr());
    at::parallel_for(0, tiling_of(wt).tiles(), 1, [&](int64_t begin, int64_t end) {
      engine::unpack_block_float_tiles(in, fmt, w, begin, end);
    });
  }
  engine::MatmulArgs args;
  args.a = matmul_operand(rows, {1, M, K}, {0, rows.stride(0), rows.stride(1)});
  args.b = w;
  args.b.sizes = {1, K, N};
  args.b.strides = weight_transposed ? engine::InlineDims{0, 1, K} : engine::InlineDims{0, N, 1};
  args.out = matmul_operand(out, {1, M, N}, {0, N, 1});
  args.in1_format = kernels::block_float_format_name(fmt);
  if (bias && bias->defined()) {
    TORCH_CHECK_VALUE(bias->dim() == 1 && bias->size(0) == N, "linear_block_float: bias must have shape [",
                      N, "], got ", bias->sizes());
    check_same_device(x, *bias);
    TORCH_CHECK_TYPE(bias->scalar_type() == x.scalar_type(), "linear_block_float: bias dtype ",
                     bias->scalar_type(), " differs from x's ", x.scalar_type());
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
                                   const std::optional<at::Tensor>& bias) {
  format_of(format);
  TORCH_CHECK_VALUE(weight_shape.size() == 2 && x.dim() >= 1, "linear_block_float: bad shapes");
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end() - 1);
  shape.push_back(weight_transposed ? weight_shape[0] : weight_shape[1]);
  return at::empty(shape, x.options());
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(accel, m) {
  m.def("pack_block_float(Tensor x, str fmt) -> Tensor");
  m.def("unpack_block_float(Tensor packed, str fmt, int[] shape, ScalarType dtype) -> Tensor");
  m.def("linear_block_float(Tensor x, Tensor packed, str fmt, int[] weight_shape, bool weight_transposed, "
        "Tensor? bias) -> Tensor");
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
