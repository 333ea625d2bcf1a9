#include "engine/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "engine/matrix_engine.h"
#include "kernels/eltwise/unary.h"
#include "kernels/matmul/epilogue.h"
#include "kernels/norm/row_math.h"

namespace accel::engine {
namespace {

constexpr int64_t kTile = 32;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

struct Dims {
  int64_t N, H, L, S, E, Ev;
};

Dims dims_of(const TensorRef& q, const TensorRef& v) {
  return {q.sizes[0], q.sizes[1], q.sizes[2], v.sizes[2], q.sizes[3], v.sizes[3]};
}

const char* at(const TensorRef& t, int64_t n, int64_t h, int64_t r, int64_t c) {
  return static_cast<const char*>(t.data) +
         (n * t.strides[0] + h * t.strides[1] + r * t.strides[2] + c * t.strides[3]) * dtype_bytes(t.dtype);
}

// Reader: rows [r0, r0 + rows) of head (n, h), unpacked to fp32.
void load_rows(std::vector<float>& dst, const TensorRef& t, int64_t n, int64_t h, int64_t r0,
               int64_t rows) {
  const int64_t cols = t.sizes[3];
  dst.resize(rows * cols);
  for (int64_t r = 0; r < rows; ++r)
    kernels::load_float_row(dst.data() + r * cols, at(t, n, h, r0 + r, 0), t.dtype, t.strides[3], cols);
}

// The same rows as the matrix engine reads them: fp32 rows in place (the
// reader's copy elided, as in the matmul), others unpacked into buf. Either
// way each row's elements are contiguous.
MatrixView head_rows(std::vector<float>& buf, const TensorRef& t, int64_t n, int64_t h, int64_t r0,
                     int64_t rows) {
  if (t.dtype == DType::F32 && t.strides[3] == 1)
    return {reinterpret_cast<const float*>(at(t, n, h, r0, 0)), t.strides[2], 1};
  load_rows(buf, t, n, h, r0, rows);
  return {buf.data(), t.sizes[3], 1};
}

MatrixView transposed(MatrixView v) { return {v.data, v.col_stride, v.row_stride}; }

void store_rows(const TensorRef& t, int64_t n, int64_t h, int64_t r0, int64_t rows, const float* src) {
  const int64_t cols = t.sizes[3];
  for (int64_t r = 0; r < rows; ++r)
    kernels::store_float_row(const_cast<char*>(at(t, n, h, r0 + r, 0)), t.dtype, t.strides[3],
                             src + r * cols, cols);
}

// Scores of a (rows x cols) tile at (i0, j0): scale, causal cut, then mask.
void finish_scores(float* s, int64_t rows, int64_t cols, int64_t i0, int64_t j0, int64_t n, int64_t h,
                   float scale, bool causal, const std::optional<TensorRef>& mask) {
  thread_local std::vector<float> mrow;
  mrow.resize(cols);
  for (int64_t i = 0; i < rows; ++i) {
    float* row = s + i * cols;
    for (int64_t j = 0; j < cols; ++j) row[j] *= scale;
    if (mask) {
      const TensorRef& m = *mask;
      if (m.dtype == DType::Bool) {
        const bool* keep = reinterpret_cast<const bool*>(at(m, n, h, i0 + i, j0));
        for (int64_t j = 0; j < cols; ++j)
          if (!keep[j * m.strides[3]]) row[j] = kNegInf;
      } else {
        kernels::load_float_row(mrow.data(), at(m, n, h, i0 + i, j0), m.dtype, m.strides[3], cols);
        for (int64_t j = 0; j < cols; ++j) row[j] += mrow[j];
      }
    }
    if (causal)
      for (int64_t j = std::max<int64_t>(0, i0 + i + 1 - j0); j < cols; ++j) row[j] = kNegInf;
  }
}

// e^x over a run of scores with the vector engine's exp: the host's SIMD form
// where it has one, as the element-wise exp kernel uses.
void exp_in_place(float* x, int64_t n) {
  static const auto exp_fn = kernels::unary_kernel(kernels::Unary::Exp).f32;
  const float* in[] = {x};
  exp_fn(in, x, n, KernelParams{});
}

// Softmax numerators of each score row against its own reference: row i
// becomes exp(row - ref[i]); a reference of -inf (every score masked, or an
// empty logsumexp) gives a row of zeros.
void exp_rows(float* s, int64_t rows, int64_t cols, const float* ref) {
  for (int64_t i = 0; i < rows; ++i) {
    float* row = s + i * cols;
    if (ref[i] == kNegInf) {
      std::fill_n(row, cols, kNegInf);
      continue;
    }
    const float r = ref[i];
    for (int64_t j = 0; j < cols; ++j) row[j] -= r;
  }
  exp_in_place(s, rows * cols);
}

struct Blocks {
  int64_t br, bc;  // rows of Q and of K/V per block
};

std::vector<CircularBuffer> buffers(const chip::Arch& arch, const TensorRef& q, const Dims& d,
                                    const Blocks& b, bool backward) {
  const int64_t area = arch.tile_rows * arch.tile_cols;
  const int64_t et = ceil_div(d.E, kTile), evt = ceil_div(d.Ev, kTile);
  const int64_t qt = b.br / kTile, kt = b.bc / kTile, in = area * dtype_bytes(q.dtype);
  std::vector<CircularBuffer> cbs{{"q", qt * et, in},
                                  {"k", 2 * kt * et, in},
                                  {"v", 2 * kt * evt, in},
                                  {"scores", qt * kt, area * 4},
                                  {"acc", qt * evt, area * 4},
                                  {"out", qt * evt, in}};
  if (backward) {
    cbs.push_back({"grad_out", qt * evt, in});
    cbs.push_back({"grad_kv", kt * (et + evt), area * 4});
  }
  return cbs;
}

// Query and key/value chunks of at most q_tiles and kv_tiles tiles, shrunk
// until the chunk's buffers fit L1.
Blocks plan(const chip::Arch& arch, const TensorRef& q, const Dims& d, bool backward,
            int64_t q_tiles = 4, int64_t kv_tiles = 8) {
  Blocks b{std::clamp<int64_t>(ceil_div(d.L, kTile), 1, q_tiles) * kTile,
           std::clamp<int64_t>(ceil_div(d.S, kTile), 1, kv_tiles) * kTile};
  auto fits = [&] {
    int64_t t = 0;
    for (const auto& cb : buffers(arch, q, d, b, backward)) t += cb.bytes();
    return t <= arch.l1_bytes_per_core;
  };
  while (!fits() && b.bc > kTile) b.bc -= kTile;
  while (!fits() && b.br > kTile) b.br -= kTile;
  return b;
}

// The chip's flash-attention program chunks queries and keys by 256 rows
// (ttnn's usual SDPA q/k chunk size); the host blocks for its caches instead.
constexpr int64_t kChipChunkTiles = 8;

ProgramRecord base_record(const chip::Arch& arch, const char* op, const TensorRef& q, const TensorRef& out,
                          const Dims& d, const ComputeConfig& cfg, bool causal, bool backward) {
  const Blocks b = plan(arch, q, d, backward, kChipChunkTiles, kChipChunkTiles);
  const CoreSplit split = split_tiles(d.N * d.H * ceil_div(d.L, b.br), arch.num_cores());
  ProgramRecord rec;
  rec.op = op;
  rec.reader = "reader_attention_blocked";
  rec.compute = backward ? "sdpa_flash_backward" : "sdpa_flash";
  rec.sfpu_function = backward ? "sdpa_softmax_backward" : "sdpa_softmax";
  rec.writer = "writer_untilize_interleaved";
  rec.input_format = dtype_name(q.dtype);
  rec.output_format = dtype_name(out.dtype);
  rec.math_fidelity = static_cast<int>(cfg.fidelity);
  rec.fp32_dest_acc = cfg.fp32_dest_acc;
  const int64_t heads = d.N * d.H;
  const int64_t area = arch.tile_rows * arch.tile_cols, bytes = dtype_bytes(q.dtype);
  const int64_t lt = ceil_div(d.L, kTile), st = ceil_div(d.S, kTile);
  const int64_t et = ceil_div(d.E, kTile), evt = ceil_div(d.Ev, kTile);
  // Each chunk of query rows streams the K/V chunks it needs: all of them, or
  // with a causal mask only those up to its last row (the rest are skipped).
  const int64_t q_blocks = ceil_div(d.L, b.br);
  int64_t kv_tiles = 0;
  for (int64_t i = 0; i < q_blocks; ++i) {
    const int64_t cols = causal ? std::min(d.S, (i + 1) * b.br) : d.S;
    kv_tiles += std::min(st, ceil_div(cols, b.bc) * (b.bc / kTile));
  }
  const double visited = lt > 0 && st > 0 ? double(kv_tiles) * (b.br / kTile) / (double(q_blocks) * (b.br / kTile) * st) : 0;
  // Q K^T and P V; the backward adds dV, dP, dQ, dK and recomputes Q K^T.
  rec.flops = static_cast<int64_t>(visited * heads * d.L * d.S *
                                   (backward ? 6 * d.E + 4 * d.Ev : 2 * d.E + 2 * d.Ev));
  // Per head, [L x visited S] scores against E and then V's Ev: as one
  // product whose K covers both (the backward's five products likewise), so
  // the matrix engine is charged the same tile products.
  rec.batch = heads;
  rec.in1_batched = true;  // every head has its own K and V
  rec.m_tiles = lt;
  rec.n_tiles = std::max<int64_t>(1, (kv_tiles + q_blocks - 1) / q_blocks);
  rec.k_tiles = backward ? 3 * et + 2 * evt : et + evt;
  rec.dram_read_bytes = heads * area * bytes * (lt * et + kv_tiles * (et + evt)) * (backward ? 2 : 1);
  rec.tiles = heads * lt * evt;
  rec.dram_write_bytes = heads * area * bytes * (backward ? lt * et + st * (et + evt) : lt * evt);
  rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes;
  rec.cores_used = split.cores_used;
  rec.max_tiles_per_core = split.max_tiles() * (b.br / kTile) * evt;
  int64_t l1 = check_l1(arch, op, buffers(arch, q, d, b, backward));
  rec.l1_bytes_per_core = l1;
  return rec;
}

// One block of query rows of one head, forward.
void forward_block(const AttentionArgs& x, const Dims& d, const Blocks& b, int64_t n, int64_t h, int64_t i0) {
  const int64_t rows = std::min(b.br, d.L - i0);
  thread_local std::vector<float> q, k, v, s, o, m, l;
  const MatrixView qv = head_rows(q, x.q, n, h, i0, rows);
  o.assign(rows * d.Ev, 0.f);
  m.assign(rows, kNegInf);
  l.assign(rows, 0.f);
  const int64_t s_end = x.causal ? std::min(d.S, i0 + rows) : d.S;
  for (int64_t j0 = 0; j0 < s_end; j0 += b.bc) {
    const int64_t cols = std::min(b.bc, s_end - j0);
    const MatrixView kv = head_rows(k, x.k, n, h, j0, cols), vv = head_rows(v, x.v, n, h, j0, cols);
    s.resize(rows * cols);
    matrix_engine_gemm(rows, cols, d.E, qv, transposed(kv), s.data(), cols, 0.f, x.cfg);
    finish_scores(s.data(), rows, cols, i0, j0, n, h, x.scale, x.causal, x.mask);
    // Online softmax, on the vector engine's row kernels: rescale what was
    // accumulated to the new row maximum.
    for (int64_t i = 0; i < rows; ++i) {
      float* row = s.data() + i * cols;
      const float mx = std::max(m[i], kernels::norm::row_max(row, cols));
      float sum = 0;
      if (mx == kNegInf) std::fill_n(row, cols, 0.f);  // every score masked so far
      else sum = kernels::norm::exp_shift_sum(row, row, cols, mx);
      const float corr = mx == kNegInf ? 1.f : std::exp(m[i] - mx);
      l[i] = l[i] * corr + sum;
      m[i] = mx;
      if (corr != 1.f)
        for (int64_t e = 0; e < d.Ev; ++e) o[i * d.Ev + e] *= corr;
    }
    matrix_engine_gemm(rows, d.Ev, cols, {s.data(), cols, 1}, vv, o.data(), d.Ev, 1.f, x.cfg);
  }
  // A row with every score masked attends to nothing: zeros, like ATen's safe softmax.
  for (int64_t i = 0; i < rows; ++i) {
    const float inv = l[i] > 0 ? 1.f / l[i] : 0.f;
    for (int64_t e = 0; e < d.Ev; ++e) o[i * d.Ev + e] *= inv;
    x.lse[(n * d.H + h) * d.L + i0 + i] = l[i] > 0 ? m[i] + std::log(l[i]) : kNegInf;
  }
  store_rows(x.out, n, h, i0, rows, o.data());
}

// All of one head, backward: dK and dV gather over every query block, so a
// head stays on one core.
void backward_head(const AttentionGradArgs& x, const Dims& d, const Blocks& b, int64_t n, int64_t h) {
  thread_local std::vector<float> q, k, v, o, go, p, dp, dq, dk, dv, delta;
  dk.assign(d.S * d.E, 0.f);
  dv.assign(d.S * d.Ev, 0.f);
  const float* lse = x.lse + (n * d.H + h) * d.L;
  for (int64_t i0 = 0; i0 < d.L; i0 += b.br) {
    const int64_t rows = std::min(b.br, d.L - i0);
    const MatrixView qv = head_rows(q, x.q, n, h, i0, rows);
    const MatrixView ov = head_rows(o, x.out, n, h, i0, rows);
    const MatrixView gov = head_rows(go, x.grad_out, n, h, i0, rows);
    delta.resize(rows);
    for (int64_t i = 0; i < rows; ++i)
      delta[i] = kernels::norm::row_dot(gov.data + i * gov.row_stride, ov.data + i * ov.row_stride, d.Ev);
    dq.assign(rows * d.E, 0.f);
    const int64_t s_end = x.causal ? std::min(d.S, i0 + rows) : d.S;
    for (int64_t j0 = 0; j0 < s_end; j0 += b.bc) {
      const int64_t cols = std::min(b.bc, s_end - j0);
      const MatrixView kv = head_rows(k, x.k, n, h, j0, cols), vv = head_rows(v, x.v, n, h, j0, cols);
      p.resize(rows * cols);
      dp.resize(rows * cols);
      matrix_engine_gemm(rows, cols, d.E, qv, transposed(kv), p.data(), cols, 0.f, x.cfg);
      finish_scores(p.data(), rows, cols, i0, j0, n, h, x.scale, x.causal, x.mask);
      exp_rows(p.data(), rows, cols, lse + i0);
      // dV += P^T dO;  dP = dO V^T;  dS = P (dP - delta)
      matrix_engine_gemm(cols, d.Ev, rows, {p.data(), 1, cols}, gov, dv.data() + j0 * d.Ev, d.Ev, 1.f, x.cfg);
      matrix_engine_gemm(rows, cols, d.Ev, gov, transposed(vv), dp.data(), cols, 0.f, x.cfg);
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) dp[i * cols + j] = p[i * cols + j] * (dp[i * cols + j] - delta[i]);
      if (x.grad_mask != nullptr) {
        float* g = x.grad_mask + ((n * d.H + h) * d.L + i0) * d.S + j0;
        for (int64_t i = 0; i < rows; ++i) std::copy_n(dp.data() + i * cols, cols, g + i * d.S);
      }
      for (auto& e : dp) e *= x.scale;
      // dQ += dS K;  dK += dS^T Q
      matrix_engine_gemm(rows, d.E, cols, {dp.data(), cols, 1}, kv, dq.data(), d.E, 1.f, x.cfg);
      matrix_engine_gemm(cols, d.E, rows, {dp.data(), 1, cols}, qv, dk.data() + j0 * d.E, d.E, 1.f, x.cfg);
    }
    store_rows(x.grad_q, n, h, i0, rows, dq.data());
  }
  store_rows(x.grad_k, n, h, 0, d.S, dk.data());
  store_rows(x.grad_v, n, h, 0, d.S, dv.data());
}

}  // namespace

ProgramRecord run_attention(const chip::Arch& arch, const char* op, const AttentionArgs& x) {
  const Dims d = dims_of(x.q, x.v);
  const Blocks b = plan(arch, x.q, d, false, x.causal ? 2 : 4);
  const int64_t q_blocks = ceil_div(d.L, b.br);
  const CoreSplit split = split_tiles(d.N * d.H * q_blocks, arch.num_cores());
  ProgramRecord rec = base_record(arch, op, x.q, x.out, d, x.cfg, x.causal, false);
  run_on_cores(split, [&](int64_t, int64_t begin, int64_t end) {
    for (int64_t u = begin; u < end; ++u) {
      const int64_t head = u / q_blocks;
      forward_block(x, d, b, head / d.H, head % d.H, u % q_blocks * b.br);
    }
  });
  return rec;
}

ProgramRecord run_attention_backward(const chip::Arch& arch, const char* op, const AttentionGradArgs& x) {
  const Dims d = dims_of(x.q, x.v);
  const Blocks b = plan(arch, x.q, d, true, x.causal ? 1 : 4);
  const CoreSplit split = split_tiles(d.N * d.H, arch.num_cores());
  ProgramRecord rec = base_record(arch, op, x.q, x.grad_q, d, x.cfg, x.causal, true);
  run_on_cores(split, [&](int64_t, int64_t begin, int64_t end) {
    for (int64_t u = begin; u < end; ++u) backward_head(x, d, b, u / d.H, u % d.H);
  });
  return rec;
}

}  // namespace accel::engine
