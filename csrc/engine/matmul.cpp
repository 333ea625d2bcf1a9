#include "engine/matmul.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <c10/util/SmallVector.h>

#include "engine/block_float.h"
#include "engine/executor.h"
#include "engine/matrix_engine.h"
#include "engine/plan_mode.h"
#include "engine/reduce.h"
#include "kernels/matmul/epilogue.h"
#include "perf/cost.h"

namespace accel::engine {
namespace {

constexpr int64_t kTile = 32;
constexpr int64_t kMaxBlockTiles = 8;  // an output block edge, in tiles

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

struct Shape {
  int64_t batch, M, N, K, Mt, Nt, Kt, out_batches;
};

struct Blocking {
  int64_t bm, bn, bk;
  int64_t m_blocks(const Shape& s) const { return ceil_div(s.Mt, bm); }
  int64_t n_blocks(const Shape& s) const { return ceil_div(s.Nt, bn); }
  int64_t blocks(const Shape& s) const { return s.out_batches * m_blocks(s) * n_blocks(s); }
};

bool bias_is_row(const MatmulArgs& x) { return x.bias && x.bias->strides[1] == 0; }

// An operand's data format: its chip block-float format, or its dtype's.
std::string format_of(const TensorRef& t, const BlockFloatOperand* tiles) {
  return tiles ? kernels::block_float_format_name(tiles->fmt) : dtype_name(t.dtype);
}

int64_t operand_tile_bytes(const chip::Arch& arch, const TensorRef& t, const BlockFloatOperand* tiles) {
  return tiles ? perf::tile_bytes(format_of(t, tiles), arch)
               : arch.tile_rows * arch.tile_cols * dtype_bytes(t.dtype);
}

std::vector<CircularBuffer> buffers(const chip::Arch& arch, const MatmulArgs& x, const Shape& s,
                                    const Blocking& b) {
  const int64_t area = arch.tile_rows * arch.tile_cols;
  std::vector<CircularBuffer> cbs{
      {"in0", 2 * b.bm * b.bk, operand_tile_bytes(arch, x.a, x.a_tiles)},
      {"in1", 2 * b.bk * b.bn, operand_tile_bytes(arch, x.b, x.b_tiles)},
      {"out", b.bm * b.bn, area * dtype_bytes(x.out.dtype)}};
  // Partial sums leave Dst between K blocks.
  if (s.Kt > b.bk || x.reduce_batch) cbs.push_back({"interm", b.bm * b.bn, area * 4});
  if (x.bias && x.beta != 0)
    cbs.push_back({"bias", bias_is_row(x) ? b.bn : b.bm * b.bn, area * dtype_bytes(x.bias->dtype)});
  return cbs;
}

int64_t total_bytes(const std::vector<CircularBuffer>& cbs) {
  int64_t t = 0;
  for (const auto& cb : cbs) t += cb.bytes();
  return t;
}

// Output blocks small enough to give every core work, then the deepest K
// block that fits L1; the output block shrinks only when even bk = 1 does not.
Blocking plan(const chip::Arch& arch, const MatmulArgs& x, const Shape& s) {
  Blocking b{std::clamp<int64_t>(s.Mt, 1, kMaxBlockTiles), std::clamp<int64_t>(s.Nt, 1, kMaxBlockTiles),
             std::max<int64_t>(s.Kt, 1)};
  auto halve_larger = [&b] {
    if (b.bm >= b.bn) b.bm = ceil_div(b.bm, 2);
    else b.bn = ceil_div(b.bn, 2);
  };
  while (b.blocks(s) < arch.num_cores() && (b.bm > 1 || b.bn > 1)) halve_larger();
  for (;;) {
    for (b.bk = std::max<int64_t>(s.Kt, 1);; b.bk = (b.bk + 1) / 2) {
      if (total_bytes(buffers(arch, x, s, b)) <= arch.l1_bytes_per_core) return b;
      if (b.bk == 1) break;
    }
    if (b.bm == 1 && b.bn == 1) return b;  // check_l1 reports the overflow
    halve_larger();
  }
}

const char* elem(const TensorRef& t, int64_t i, int64_t r, int64_t c) {
  return static_cast<const char*>(t.data) +
         (i * t.strides[0] + r * t.strides[1] + c * t.strides[2]) * dtype_bytes(t.dtype);
}

// An operand block as the matrix engine reads it: its first element and strides.
struct BlockView {
  const char* data;
  int64_t row_stride, col_stride;
};

// Block [r0, r0 + rows) x [c0, c0 + cols) of operand t in batch i. A
// block-float operand's tiles are expanded by the core's unpacker into
// `scratch` on the way to the source registers.
BlockView block_view(const TensorRef& t, const BlockFloatOperand* tiles, int64_t i, int64_t r0,
                     int64_t rows, int64_t c0, int64_t cols, std::vector<char>& scratch) {
  if (!tiles) return {elem(t, i, r0, c0), t.strides[1], t.strides[2]};
  const auto strides = tiles->expand(r0, rows, c0, cols, t.dtype, scratch);
  return {scratch.data(), strides[0], strides[1]};
}

// Reader + compute for one K block: the operands go to the matrix engine in
// their DRAM format. fp32 and bf16 tiles need no conversion on the host, so
// the reader's copy into L1 is elided and the engine reads them in place;
// fp16 is unpacked to fp32 in the core's buffers, block-float tiles to the
// float32 or bfloat16 their dtype names.
void multiply_block(const MatmulArgs& x, int64_t i, int64_t r0, int64_t mr, int64_t c0,
                    int64_t nc, int64_t k0, int64_t kc, float* acc, int64_t ldc, float beta) {
  const TensorRef &a = x.a, &b = x.b;
  thread_local std::vector<char> a_tiles, b_tiles;
  const BlockView va = block_view(a, x.a_tiles, i, r0, mr, k0, kc, a_tiles);
  const BlockView vb = block_view(b, x.b_tiles, i, k0, kc, c0, nc, b_tiles);
  if (a.dtype == DType::F32) {
    auto view = [](const BlockView& v) {
      return MatrixView{reinterpret_cast<const float*>(v.data), v.row_stride, v.col_stride};
    };
    return matrix_engine_gemm(mr, nc, kc, view(va), view(vb), acc, ldc, beta, x.cfg);
  }
  if (a.dtype == DType::BF16) {
    auto view = [](const BlockView& v) {
      return MatrixViewBF16{reinterpret_cast<const c10::BFloat16*>(v.data), v.row_stride, v.col_stride};
    };
    return matrix_engine_gemm(mr, nc, kc, view(va), view(vb), acc, ldc, beta, x.cfg);
  }
  thread_local std::vector<float> in0, in1;
  in0.resize(mr * kc);
  in1.resize(kc * nc);
  const int64_t a_bytes = dtype_bytes(a.dtype), b_bytes = dtype_bytes(b.dtype);
  for (int64_t r = 0; r < mr; ++r)
    kernels::load_float_row(in0.data() + r * kc, va.data + r * va.row_stride * a_bytes, a.dtype,
                            va.col_stride, kc);
  for (int64_t k = 0; k < kc; ++k)
    kernels::load_float_row(in1.data() + k * nc, vb.data + k * vb.row_stride * b_bytes, b.dtype,
                            vb.col_stride, nc);
  matrix_engine_gemm(mr, nc, kc, {in0.data(), kc, 1}, {in1.data(), nc, 1}, acc, ldc, beta, x.cfg);
}

// The bytes [first, last) a tensor's elements lie in (strides are never negative).
std::pair<const char*, const char*> byte_span(const TensorRef& t) {
  int64_t last = 0;
  for (int64_t d = 0; d < t.dim(); ++d) {
    if (t.sizes[d] == 0) return {nullptr, nullptr};
    last += (t.sizes[d] - 1) * t.strides[d];
  }
  const char* first = static_cast<const char*>(t.data);
  return {first, first + (last + 1) * dtype_bytes(t.dtype)};
}

bool overlap(const TensorRef& a, const TensorRef& b) {
  const auto [a0, a1] = byte_span(a);
  const auto [b0, b1] = byte_span(b);
  return a0 < b1 && b0 < a1;
}

bool fp32_rows(const TensorRef& t) {
  return t.dtype == DType::F32 && t.strides[2] == 1 && (t.sizes[1] <= 1 || t.strides[1] >= t.sizes[2]);
}

// Host shortcut, same sums and record: the matrix engine writes its block
// straight into an fp32 result that shares no memory with an operand (the
// pre-activation sums when they are kept, else the output), and the epilogue
// runs there, without a scratch block to fill and copy out (which cost a
// tenth of a 1024x128x512 product). Null when neither qualifies.
const TensorRef* accumulator(const MatmulArgs& x) {
  c10::SmallVector<const TensorRef*, 6> operands{&x.a, &x.b, &x.out};
  for (const auto* t : {&x.bias, &x.pre, &x.act_saved})
    if (t->has_value()) operands.push_back(&**t);
  auto qualifies = [&](const TensorRef& t) {
    return fp32_rows(t) && std::none_of(operands.begin(), operands.end(),
                                        [&](const TensorRef* o) { return o != &t && overlap(t, *o); });
  };
  if (x.pre && qualifies(*x.pre)) return &*x.pre;
  return qualifies(x.out) ? &x.out : nullptr;
}

// A rectangle of output elements in one batch: one or more adjacent blocks.
struct Rect {
  int64_t i, r0, mr, c0, nc;
};

// Epilogue and writer for rows [r0, r0 + mr) x [c0, c0 + nc) of output batch
// oi, from their matrix-engine sums (row-major, ldc apart; in the output
// itself when it is the accumulator).
void write_rows(const MatmulArgs& x, int64_t oi, int64_t r0, int64_t mr, int64_t c0, int64_t nc,
                float* acc, int64_t ldc) {
  // staged: a row in fp32 on its way to or from another format.
  thread_local std::vector<float> bias_row, staged;
  const bool with_bias = x.bias && x.beta != 0;
  bias_row.resize(nc);
  staged.resize(nc);
  // A bias shared by every row (a linear's) is read once, in place when it is fp32.
  const bool shared_bias = with_bias && x.bias->strides[1] == 0;
  const float* bias = nullptr;
  if (shared_bias && x.bias->dtype == DType::F32 && x.bias->strides[2] == 1) {
    bias = reinterpret_cast<const float*>(elem(*x.bias, oi, 0, c0));
  } else if (shared_bias) {
    kernels::load_float_row(bias_row.data(), elem(*x.bias, oi, 0, c0), x.bias->dtype, x.bias->strides[2], nc);
    bias = bias_row.data();
  }
  for (int64_t r = 0; r < mr; ++r) {
    float* row = acc + r * ldc;
    char* out = const_cast<char*>(elem(x.out, oi, r0 + r, c0));
    if (with_bias && !shared_bias) {
      kernels::load_float_row(bias_row.data(), elem(*x.bias, oi, r0 + r, c0), x.bias->dtype,
                              x.bias->strides[2], nc);
      bias = bias_row.data();
    }
    if (x.pre) {
      kernels::matmul_epilogue_row(row, bias, nc, x.alpha, x.beta, Activation::None);
      char* pre = const_cast<char*>(elem(*x.pre, oi, r0 + r, c0));
      if (reinterpret_cast<char*>(row) == pre) {  // the sums are pre: the activation reads them there
        float* act_out = fp32_rows(x.out) ? reinterpret_cast<float*>(out) : staged.data();
        kernels::matmul_activation_row(row, act_out, nc, x.act);
        if (act_out == staged.data()) kernels::store_float_row(out, x.out.dtype, x.out.strides[2], act_out, nc);
        continue;
      }
      kernels::store_float_row(pre, x.pre->dtype, x.pre->strides[2], row, nc);
      if (x.pre->dtype != DType::F32)
        kernels::load_float_row(row, pre, x.pre->dtype, x.pre->strides[2], nc);
      kernels::matmul_activation_row(row, nc, x.act);
    } else if (x.act_saved) {
      kernels::matmul_epilogue_row(row, bias, nc, x.alpha, x.beta, Activation::None);
      if (x.out.dtype != DType::F32) {  // the gradient reads the product as stored
        kernels::store_float_row(out, x.out.dtype, x.out.strides[2], row, nc);
        kernels::load_float_row(row, out, x.out.dtype, x.out.strides[2], nc);
      }
      const char* saved = elem(*x.act_saved, oi, r0 + r, c0);
      const float* saved_values = reinterpret_cast<const float*>(saved);
      if (!fp32_rows(*x.act_saved)) {
        kernels::load_float_row(staged.data(), saved, x.act_saved->dtype, x.act_saved->strides[2], nc);
        saved_values = staged.data();
      }
      kernels::matmul_activation_backward_row(row, saved_values, nc, x.act);
    } else {
      kernels::matmul_epilogue_row(row, bias, nc, x.alpha, x.beta, x.act);
    }
    if (reinterpret_cast<char*>(row) != out) kernels::store_float_row(out, x.out.dtype, x.out.strides[2], row, nc);
  }
}

// `target`: accumulator(x), decided once per program.
void run_rect(const MatmulArgs& x, const Shape& s, const Blocking& bl, const Rect& rect, const TensorRef* target) {
  const int64_t i = rect.i, r0 = rect.r0, c0 = rect.c0, mr = rect.mr, nc = rect.nc;
  const int64_t oi = x.reduce_batch ? 0 : i;
  thread_local std::vector<float> scratch;
  float* acc;
  int64_t ldc;
  if (target) {
    acc = reinterpret_cast<float*>(const_cast<char*>(elem(*target, oi, r0, c0)));
    ldc = std::max(target->strides[1], nc);
  } else {
    scratch.resize(mr * nc);
    acc = scratch.data();
    ldc = nc;
  }
  // The first product overwrites the sums (beta 0); only an empty K leaves them to set.
  if (s.K == 0 || s.batch == 0)
    for (int64_t r = 0; r < mr; ++r) std::fill_n(acc + r * ldc, nc, 0.f);
  const int64_t k_step = bl.bk * kTile;
  bool first = true;
  const int64_t i_begin = x.reduce_batch ? 0 : i, i_end = x.reduce_batch ? s.batch : i + 1;
  for (int64_t ii = i_begin; ii < i_end; ++ii) {
    for (int64_t k0 = 0; k0 < s.K; k0 += k_step) {
      multiply_block(x, ii, r0, mr, c0, nc, k0, std::min(k_step, s.K - k0), acc, ldc, first ? 0.f : 1.f);
      first = false;
    }
  }
  write_rows(x, oi, r0, mr, c0, nc, acc, ldc);
}

// The blocks [begin, end) that one host thread emulates, merged into at most
// three rectangles per batch (a partial first block row, the full rows, a
// partial last row): the cores' block products become a few large GEMM calls
// with the same sums, instead of one small call per block.
std::vector<Rect> rects_of(const Shape& s, const Blocking& bl, int64_t begin, int64_t end) {
  std::vector<Rect> rects;
  const int64_t nb = bl.n_blocks(s), per_batch = bl.m_blocks(s) * nb;
  const int64_t row_h = bl.bm * kTile, col_w = bl.bn * kTile;
  auto add = [&](int64_t i, int64_t row_a, int64_t row_b, int64_t col_a, int64_t col_b) {
    if (row_a >= row_b || col_a >= col_b) return;
    const int64_t r0 = row_a * row_h, c0 = col_a * col_w;
    rects.push_back({i, r0, std::min(row_b * row_h, s.M) - r0, c0, std::min(col_b * col_w, s.N) - c0});
  };
  for (int64_t b = begin; b < end;) {
    const int64_t i = b / per_batch, first = b % per_batch;
    const int64_t last = std::min(end - i * per_batch, per_batch);  // exclusive, within batch i
    const int64_t row_a = first / nb, col_a = first % nb;
    const int64_t row_b = last / nb, col_b = last % nb;
    if (row_a == row_b) {
      add(i, row_a, row_a + 1, col_a, col_b);
    } else {
      int64_t full_a = row_a;
      if (col_a != 0) {
        add(i, row_a, row_a + 1, col_a, nb);
        full_a = row_a + 1;
      }
      add(i, full_a, row_b, 0, nb);
      add(i, row_b, row_b + 1, 0, col_b);
    }
    b = i * per_batch + last;
  }
  return rects;
}

// The GPU executor (engine/executor.h) computes the whole product in one go;
// the epilogue and writer stay on the host. False when it does not run.
bool run_on_gpu(const char* op, const MatmulArgs& x, const Shape& s) {
  if (!cuda_executor_on() || !executing() || x.a_tiles || x.b_tiles) return false;
  auto operand = [](const TensorRef& t) {
    return HostOperand{t.data, t.dtype, t.strides[0], t.strides[1], t.strides[2]};
  };
  std::vector<float> acc(s.out_batches * s.M * s.N);
  if (!cuda_matrix_engine(op, s.batch, s.M, s.N, s.K, operand(x.a), operand(x.b), acc.data(),
                          s.M * s.N, s.N, 0.f, x.reduce_batch, x.cfg))
    return false;
  at::parallel_for(0, s.out_batches * s.M, 64, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row)
      write_rows(x, row / s.M, row % s.M, 1, 0, s.N, acc.data() + row * s.N, s.N);
  });
  return true;
}

// The host's sums of a's rows over K, by the sum program's own kernel over
// the tensor a transposes (a linear's output gradient, [K, M]), so they equal
// that gradient's eager sum over dim 0 bit for bit. Its record is not kept:
// the sums are this program's ones column.
void store_row_sums(const chip::Arch& arch, const TensorRef& a, const TensorRef& sums) {
  const int64_t M = a.sizes[1], K = a.sizes[2];
  const TensorRef gradient{a.data, a.dtype, {K, M}, {a.strides[2], a.strides[1]}};
  ReduceOutputs out;
  out.value = TensorRef{sums.data, sums.dtype, {1, M}, {0, sums.strides[2]}};
  run_reduce(arch, "aten::sum", ReduceKind::Sum, gradient, {0}, out, DType::F32);
}

}  // namespace

ProgramRecord run_matmul(const chip::Arch& arch, const char* op, const MatmulArgs& x) {
  if (x.a_row_sums && (x.a.sizes[0] != 1 || x.reduce_batch || x.a_tiles))
    throw std::invalid_argument(std::string(op) + ": row sums need one batch of an IEEE-format a");
  Shape s{};
  s.batch = x.a.sizes[0];
  s.M = x.a.sizes[1];
  s.K = x.a.sizes[2];
  s.N = x.b.sizes[2];
  s.Mt = ceil_div(s.M, kTile);
  s.Nt = ceil_div(s.N, kTile);
  s.Kt = ceil_div(s.K, kTile);
  s.out_batches = x.reduce_batch ? 1 : s.batch;
  const Blocking bl = plan(arch, x, s);
  check_l1(arch, op, buffers(arch, x, s, bl));

  const CoreSplit split = split_tiles(bl.blocks(s), arch.num_cores());
  if (s.M > 0 && s.N > 0 && !run_on_gpu(op, x, s)) {
    const TensorRef* target = accumulator(x);
    run_on_host_threads(split, [&](int64_t begin, int64_t end) {
      for (const Rect& r : rects_of(s, bl, begin, end)) run_rect(x, s, bl, r, target);
    });
  }
  if (x.a_row_sums) store_row_sums(arch, x.a, *x.a_row_sums);

  const int64_t ones_column = x.a_row_sums ? 1 : 0;  // the tile column of ones the row sums come from
  const perf::MatmulShape shape{x.reduce_batch ? 1 : s.batch, s.Mt, s.Nt + ones_column,
                                 x.reduce_batch ? s.batch * s.Kt : s.Kt,
                                 x.b.strides[0] != 0 && s.batch > 1};
  ProgramRecord rec = matmul_program_record(arch, op, shape, format_of(x.a, x.a_tiles),
                                            format_of(x.b, x.b_tiles), dtype_name(x.out.dtype), x.cfg);
  static const perf::KernelRef kernels[] = {"matmul_block", "matmul_block_relu",
                                             "matmul_block_gelu", "matmul_block_gelu_tanh",
                                             "matmul_block_silu"};
  static const perf::KernelRef kernels_saved[] = {
      "matmul_block", "matmul_block_relu_saved", "matmul_block_gelu_saved",
      "matmul_block_gelu_tanh_saved", "matmul_block_silu_saved"};
  static const perf::KernelRef kernels_backward[] = {
      "matmul_block", "matmul_block_relu_backward", "matmul_block_gelu_backward",
      "matmul_block_gelu_tanh_backward", "matmul_block_silu_backward"};
  rec.compute = (x.pre ? kernels_saved : x.act_saved ? kernels_backward : kernels)[static_cast<int>(x.act)];
  if (x.a_row_sums) rec.compute = "matmul_block_bias_grad";
  if (x.act_saved) {
    // The epilogue reads the saved activation input's tiles of the output.
    rec.dram_read_bytes += s.out_batches * s.Mt * s.Nt * arch.tile_rows * arch.tile_cols *
                           dtype_bytes(x.act_saved->dtype);
    rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes;
  }
  if (x.pre) {
    // The writer stores the pre-activation tiles as well as the output's.
    rec.dram_write_bytes += s.out_batches * s.Mt * s.Nt * arch.tile_rows * arch.tile_cols *
                            dtype_bytes(x.pre->dtype);
    rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes;
  }
  rec.flops = 2 * s.batch * s.M * (s.N + ones_column) * s.K;
  if (x.bias && x.beta != 0) {
    // The epilogue reads the bias once per output tile row it covers.
    const int64_t area = arch.tile_rows * arch.tile_cols;
    rec.dram_read_bytes += s.out_batches * (bias_is_row(x) ? 1 : s.Mt) * s.Nt * area *
                           dtype_bytes(x.bias->dtype);
    rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes;
  }
  return rec;
}

ProgramRecord matmul_program_record(const chip::Arch& arch, const char* op,
                                    const perf::MatmulShape& shape, DType in0, DType in1,
                                    DType out, const ComputeConfig& cfg) {
  return matmul_program_record(arch, op, shape, dtype_name(in0), dtype_name(in1), dtype_name(out), cfg);
}

ProgramRecord matmul_program_record(const chip::Arch& arch, const char* op,
                                    const perf::MatmulShape& shape, const std::string& in0,
                                    const std::string& in1, const std::string& out,
                                    const ComputeConfig& cfg) {
  const perf::MatmulPlan plan = perf::plan_matmul(shape, in0, in1, out, cfg.fp32_dest_acc, arch);
  ProgramRecord rec;
  rec.op = op;
  rec.reader = perf::matmul_reader_name(plan.program);
  rec.compute = "matmul_block";
  rec.writer = "writer_untilize_interleaved";
  rec.input_format = in0;
  if (in1 != in0) rec.in1_format = in1;
  rec.output_format = out;
  rec.math_fidelity = static_cast<int>(cfg.fidelity);
  rec.fp32_dest_acc = cfg.fp32_dest_acc;
  rec.batch = shape.batch;
  rec.m_tiles = shape.m_tiles;
  rec.n_tiles = shape.n_tiles;
  rec.k_tiles = shape.k_tiles;
  rec.in1_batched = shape.in1_batched;
  const int64_t area = arch.tile_rows * arch.tile_cols;
  rec.flops = 2 * shape.batch * shape.m_tiles * shape.n_tiles * shape.k_tiles * area * arch.tile_cols;
  rec.dram_read_bytes = plan.dram_read_bytes;
  rec.dram_write_bytes = plan.dram_write_bytes;
  rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes;
  rec.multicast_bytes = plan.multicast_bytes;
  rec.tiles = shape.batch * shape.m_tiles * shape.n_tiles;
  rec.cores_used = plan.cores_used;
  rec.max_tiles_per_core = plan.core_m * plan.core_n;
  rec.l1_bytes_per_core = plan.l1_bytes;
  return rec;
}

}  // namespace accel::engine
