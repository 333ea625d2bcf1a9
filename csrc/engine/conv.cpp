#include "engine/conv.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "engine/compute_config.h"
#include "engine/matmul.h"
#include "engine/plan_mode.h"
#include "engine/matrix_engine.h"
#include "kernels/conv/channel_sum.h"
#include "kernels/conv/im2col.h"
#include "kernels/conv/store.h"

namespace accel::engine {
namespace {

using kernels::FeatureOut;
using kernels::Im2col;
using kernels::Window;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Block sizes of one GEMM program, in elements (whole tiles but the last).
struct Blocks {
  int64_t m, n, k;
  int64_t l1;
};

std::vector<CircularBuffer> gemm_buffers(const chip::Arch& arch, int64_t mt, int64_t nt, int64_t kt,
                                         int64_t in_bytes, int64_t out_bytes) {
  const int64_t area = arch.tile_rows * arch.tile_cols;
  return {{"in0_im2col", 2 * mt * kt, area * in_bytes},
          {"in1_filter", 2 * kt * nt, area * in_bytes},
          {"acc_fp32", mt * nt, area * 4},
          {"out", mt * nt, area * out_bytes}};
}

// Starts from the preferred block (in tiles) and halves K, then the larger of
// M and N, until the double-buffered operands fit the core's L1.
Blocks plan_blocks(const chip::Arch& arch, const std::string& op, int64_t M, int64_t N, int64_t K,
                   int64_t in_bytes, int64_t out_bytes, int64_t pm, int64_t pn, int64_t pk) {
  const int64_t tr = arch.tile_rows, tc = arch.tile_cols;
  int64_t mt = std::max<int64_t>(1, std::min(pm, ceil_div(M, tr)));
  int64_t nt = std::max<int64_t>(1, std::min(pn, ceil_div(N, tc)));
  int64_t kt = std::max<int64_t>(1, std::min(pk, ceil_div(K, tc)));
  auto bytes = [&] {
    int64_t total = 0;
    for (const auto& cb : gemm_buffers(arch, mt, nt, kt, in_bytes, out_bytes)) total += cb.bytes();
    return total;
  };
  while (bytes() > arch.l1_bytes_per_core && (kt > 1 || mt > 1 || nt > 1)) {
    if (kt > 1) kt = (kt + 1) / 2;
    else if (mt >= nt) mt = (mt + 1) / 2;
    else nt = (nt + 1) / 2;
  }
  const int64_t l1 = check_l1(arch, op, gemm_buffers(arch, mt, nt, kt, in_bytes, out_bytes));
  return {mt * tr, nt * tc, kt * tc, l1};
}

// A rows x cols operand; a unit dimension's stride is free, so it is set to
// what BLAS expects of a dense matrix.
MatrixView mat(const float* d, int64_t rows, int64_t cols, int64_t rs, int64_t cs) {
  if (rows == 1 && cs == 1) rs = std::max<int64_t>(cols, 1);
  if (cols == 1 && rs == 1) cs = std::max<int64_t>(rows, 1);
  return {d, rs, cs};
}

Im2col map_of(const TensorRef& t, int64_t OH, int64_t OW, int64_t R, int64_t S, int64_t C,
              Window wh, Window ww) {
  Im2col g;
  g.data = t.data;
  g.dtype = t.dtype;
  g.sn = t.strides[0];
  g.sc = t.strides[1];
  g.sh = t.strides[2];
  g.sw = t.strides[3];
  g.H = t.sizes[2];
  g.W = t.sizes[3];
  g.OH = OH;
  g.OW = OW;
  g.R = R;
  g.S = S;
  g.C = C;
  g.wh = wh;
  g.ww = ww;
  // Channels-last maps gather channel runs; the others gather pixel runs.
  g.channels_inner = t.strides[1] == 1 && t.sizes[1] > 1;
  return g;
}

FeatureOut out_of(const TensorRef& t, const float* bias) {
  FeatureOut o;
  o.data = t.data;
  o.dtype = t.dtype;
  o.sn = t.strides[0];
  o.sc = t.strides[1];
  o.sh = t.strides[2];
  o.sw = t.strides[3];
  o.OH = t.sizes[2];
  o.OW = t.sizes[3];
  o.bias = bias;
  return o;
}

std::vector<float> bias_floats(const TensorRef* bias) {
  std::vector<float> b;
  if (!bias) return b;
  const TensorRef as_map{bias->data, bias->dtype, {1, 1, 1, bias->sizes[0]}, {0, 0, 0, bias->strides[0]}};
  Im2col row = map_of(as_map, 1, bias->sizes[0], 1, 1, 1, {}, {});
  b.resize(bias->sizes[0]);
  kernels::gather_im2col(row, 0, bias->sizes[0], 0, 1, b.data());
  return b;
}

// Output pixels x output channels, K streamed: the forward convolution and
// (with a strided-up window) its input gradient.
struct ImplicitGemm {
  const char* op;
  Im2col src;
  int64_t src_group_channels;
  const float* filter;  // [G][N][K]
  FeatureOut out;
  int64_t G, M, N, K;
};

ProgramRecord run_implicit_gemm(const chip::Arch& arch, const ImplicitGemm& p, DType out_dtype,
                                const char* reader) {
  const int64_t in_bytes = dtype_bytes(p.src.dtype), out_bytes = dtype_bytes(out_dtype);
  const Blocks b = plan_blocks(arch, p.op, p.M, p.N, p.K, in_bytes, out_bytes, 8, 8, 16);
  const int64_t m_blocks = ceil_div(p.M, b.m), n_blocks = ceil_div(p.N, b.n);
  const int64_t units = p.M * p.N == 0 ? 0 : p.G * m_blocks * n_blocks;
  const CoreSplit split = split_tiles(units, arch.num_cores());
  // Channel-major accumulators let NCHW outputs be written in pixel runs.
  const bool channel_major = !(p.out.sc == 1 && p.G * p.N > 1);
  const ComputeConfig cfg = current_compute_config();

  run_on_cores(split, [&](int64_t, int64_t begin, int64_t end) {
    thread_local std::vector<float> a, acc;
    a.resize(b.m * b.k);
    acc.resize(b.m * b.n);
    for (int64_t u = begin; u < end; ++u) {
      const int64_t g = u / (m_blocks * n_blocks);
      const int64_t m0 = (u / n_blocks) % m_blocks * b.m, n0 = u % n_blocks * b.n;
      const int64_t mv = std::min(b.m, p.M - m0), nv = std::min(b.n, p.N - n0);
      Im2col src = p.src;
      src.c0 = g * p.src_group_channels;
      if (p.K == 0) std::fill(acc.begin(), acc.end(), 0.f);
      for (int64_t k0 = 0; k0 < p.K; k0 += b.k) {
        const int64_t kv = std::min(b.k, p.K - k0);
        kernels::gather_im2col(src, m0, mv, k0, kv, a.data());
        const int64_t ars = src.channels_inner ? kv : 1, acs = src.channels_inner ? 1 : mv;
        const float* w = p.filter + (g * p.N + n0) * p.K + k0;
        const float beta = k0 == 0 ? 0.f : 1.f;
        if (channel_major)
          matrix_engine_gemm(nv, mv, kv, mat(w, nv, kv, p.K, 1), mat(a.data(), kv, mv, acs, ars),
                             acc.data(), mv, beta, cfg);
        else
          matrix_engine_gemm(mv, nv, kv, mat(a.data(), mv, kv, ars, acs), mat(w, kv, nv, 1, p.K),
                             acc.data(), nv, beta, cfg);
      }
      FeatureOut o = p.out;
      o.c0 = g * p.N;
      kernels::store_block(o, acc.data(), channel_major, m0, mv, n0, nv);
    }
  });

  const auto tiles = [&](int64_t n) { return ceil_div(n, arch.tile_rows); };
  ProgramRecord rec = matmul_program_record(
      arch, p.op, {p.G, tiles(p.M), tiles(p.N), tiles(p.K), p.G > 1}, p.src.dtype, p.src.dtype,
      out_dtype, cfg);
  rec.reader = reader;
  rec.compute = "conv_implicit_gemm_fp32acc";
  rec.writer = "writer_conv_bias";
  rec.flops = 2 * p.G * p.M * p.N * p.K;
  return rec;
}

}  // namespace

ProgramRecord conv2d_forward(const chip::Arch& arch, const TensorRef& x, const TensorRef& w,
                             const TensorRef* bias, const TensorRef& out, const Conv2dArgs& args) {
  const int64_t G = args.groups, R = w.sizes[2], S = w.sizes[3];
  const Window wh{args.stride[0], -args.padding[0], args.dilation[0], 1};
  const Window ww{args.stride[1], -args.padding[1], args.dilation[1], 1};
  const Im2col src = map_of(x, out.sizes[2], out.sizes[3], R, S, w.sizes[1], wh, ww);
  const int64_t N = w.sizes[0] / G, K = src.cols();
  // The filter and bias are packed for the host's cores only; a plan reads no data.
  std::vector<float> filter(executing() ? G * N * K : 0);
  if (executing()) kernels::pack_filter(w, G, true, src, filter.data());
  const std::vector<float> b = executing() ? bias_floats(bias) : std::vector<float>{};
  const ImplicitGemm p{"aten::convolution", src, w.sizes[1], filter.data(),
                       out_of(out, bias ? b.data() : nullptr), G, x.sizes[0] * out.sizes[2] * out.sizes[3], N, K};
  return run_implicit_gemm(arch, p, out.dtype, "reader_im2col_gather");
}

ProgramRecord conv2d_input_grad(const chip::Arch& arch, const TensorRef& grad_out,
                                const TensorRef& w, const TensorRef* bias,
                                const TensorRef& grad_in, const Conv2dArgs& args) {
  const int64_t G = args.groups, R = w.sizes[2], S = w.sizes[3];
  // Input pixel h takes grad_out at (h + pad - r*dilation) / stride when exact.
  const Window wh{1, args.padding[0], -args.dilation[0], args.stride[0]};
  const Window ww{1, args.padding[1], -args.dilation[1], args.stride[1]};
  const Im2col src = map_of(grad_out, grad_in.sizes[2], grad_in.sizes[3], R, S, w.sizes[0] / G, wh, ww);
  const int64_t N = w.sizes[1], K = src.cols();
  // The filter and bias are packed for the host's cores only; a plan reads no data.
  std::vector<float> filter(executing() ? G * N * K : 0);
  if (executing()) kernels::pack_filter(w, G, false, src, filter.data());
  const std::vector<float> b = executing() ? bias_floats(bias) : std::vector<float>{};
  const ImplicitGemm p{bias ? "aten::conv_transpose2d" : "aten::convolution_backward.input",
                       src, w.sizes[0] / G, filter.data(), out_of(grad_in, bias ? b.data() : nullptr), G,
                       grad_in.sizes[0] * grad_in.sizes[2] * grad_in.sizes[3], N, K};
  return run_implicit_gemm(arch, p, grad_in.dtype, "reader_im2col_strided_up");
}

ProgramRecord conv2d_weight_grad(const chip::Arch& arch, const TensorRef& small,
                                 const TensorRef& big, const TensorRef& grad_w,
                                 const Conv2dArgs& args) {
  const int64_t G = args.groups, R = grad_w.sizes[2], S = grad_w.sizes[3];
  const int64_t A = grad_w.sizes[0] / G;
  const int64_t OH = small.sizes[2], OW = small.sizes[3];
  Im2col xs = map_of(small, OH, OW, 1, 1, A, {}, {});
  const Window wh{args.stride[0], -args.padding[0], args.dilation[0], 1};
  const Window ww{args.stride[1], -args.padding[1], args.dilation[1], 1};
  Im2col ys = map_of(big, OH, OW, R, S, grad_w.sizes[1], wh, ww);
  const int64_t N = ys.cols(), P = small.sizes[0] * OH * OW;
  const int64_t in_bytes = dtype_bytes(big.dtype), out_bytes = dtype_bytes(grad_w.dtype);
  const char* op = "aten::convolution_backward.weight";
  // The output is small and K (pixels) long: narrower column blocks keep the cores busy.
  int64_t pn = 8;
  const int64_t mt = ceil_div(A, arch.tile_rows);
  while (pn > 1 && G * ceil_div(mt, 8) * ceil_div(ceil_div(N, arch.tile_cols), pn) < arch.num_cores()) pn /= 2;
  const Blocks b = plan_blocks(arch, op, A, N, P, in_bytes, out_bytes, 8, pn, 16);
  const int64_t a_blocks = ceil_div(A, b.m), n_blocks = ceil_div(N, b.n);
  const int64_t units = A * N == 0 ? 0 : G * a_blocks * n_blocks;
  const CoreSplit split = split_tiles(units, arch.num_cores());
  const ComputeConfig cfg = current_compute_config();

  run_on_cores(split, [&](int64_t, int64_t begin, int64_t end) {
    thread_local std::vector<float> xa, yb, acc;
    xa.resize(b.m * b.k);
    yb.resize(b.k * b.n);
    acc.resize(b.m * b.n);
    for (int64_t u = begin; u < end; ++u) {
      const int64_t g = u / (a_blocks * n_blocks);
      const int64_t a0 = (u / n_blocks) % a_blocks * b.m, n0 = u % n_blocks * b.n;
      const int64_t av = std::min(b.m, A - a0), nv = std::min(b.n, N - n0);
      Im2col x = xs, y = ys;
      x.c0 = g * A;
      y.c0 = g * grad_w.sizes[1];
      if (P == 0) std::fill(acc.begin(), acc.end(), 0.f);
      for (int64_t p0 = 0; p0 < P; p0 += b.k) {
        const int64_t pv = std::min(b.k, P - p0);
        kernels::gather_im2col(x, p0, pv, a0, av, xa.data());
        kernels::gather_im2col(y, p0, pv, n0, nv, yb.data());
        const MatrixView Am = x.channels_inner ? mat(xa.data(), av, pv, 1, av) : mat(xa.data(), av, pv, pv, 1);
        const MatrixView Bm = y.channels_inner ? mat(yb.data(), pv, nv, nv, 1) : mat(yb.data(), pv, nv, 1, pv);
        matrix_engine_gemm(av, nv, pv, Am, Bm, acc.data(), nv, p0 == 0 ? 0.f : 1.f, cfg);
      }
      kernels::store_filter_block(grad_w, g * A, ys, acc.data(), a0, av, n0, nv);
    }
  });

  const auto tiles = [&](int64_t n) { return ceil_div(n, arch.tile_rows); };
  ProgramRecord rec = matmul_program_record(arch, op, {G, tiles(A), tiles(N), tiles(P), G > 1},
                                            big.dtype, big.dtype, grad_w.dtype, cfg);
  rec.reader = "reader_im2col_gather_pair";
  rec.compute = "conv_wgrad_gemm_fp32acc";
  rec.writer = "writer_filter";
  rec.flops = 2 * G * A * N * P;
  return rec;
}

ProgramRecord conv_bias_grad(const chip::Arch& arch, const TensorRef& grad_out,
                             const TensorRef& grad_bias) {
  const int64_t C = grad_out.sizes[1];
  const int64_t area = arch.tile_rows * arch.tile_cols;
  const int64_t l1 = check_l1(arch, "aten::convolution_backward.bias",
                              {{"in0", 2, area * dtype_bytes(grad_out.dtype)}, {"acc", 1, area * 4}});
  const CoreSplit split = split_tiles(C, arch.num_cores());
  const std::vector<int64_t> sizes{1, 1, 1, C}, strides{0, 0, 0, grad_bias.strides[0]};
  run_on_cores(split, [&](int64_t, int64_t begin, int64_t end) {
    std::vector<float> sums(end - begin);
    for (int64_t c = begin; c < end; ++c) sums[c - begin] = kernels::channel_sum(grad_out, c);
    FeatureOut o = out_of({grad_bias.data, grad_bias.dtype, sizes, strides}, nullptr);
    kernels::store_block(o, sums.data(), false, begin, end - begin, 0, 1);
  });
  ProgramRecord rec;
  rec.op = "aten::convolution_backward.bias";
  rec.reader = "reader_channel_plane";
  rec.compute = "reduce_sum_fp32acc";
  rec.writer = "writer_interleaved";
  rec.input_format = dtype_name(grad_out.dtype);
  rec.output_format = dtype_name(grad_bias.dtype);
  rec.flops = grad_out.numel();
  rec.dram_read_bytes = grad_out.nbytes();
  rec.dram_write_bytes = grad_bias.nbytes();
  rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes;
  const int64_t per_channel = ceil_div(grad_out.numel() / std::max<int64_t>(C, 1), area);
  rec.tiles = C * per_channel;
  rec.cores_used = split.cores_used;
  rec.max_tiles_per_core = split.max_tiles() * per_channel;
  rec.l1_bytes_per_core = l1;
  return rec;
}

}  // namespace accel::engine
