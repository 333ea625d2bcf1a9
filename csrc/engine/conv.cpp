#include "engine/conv.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include <ATen/Parallel.h>

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

// 2-D maps and filters as 3-D ones with a unit depth.
TensorRef volumetric(const TensorRef& t) {
  if (t.sizes.size() == 5) return t;
  const auto &z = t.sizes, &st = t.strides;
  return {t.data, t.dtype, {z[0], z[1], 1, z[2], z[3]}, {st[0], st[1], 0, st[2], st[3]}};
}

// An [n, c, d, h, w] map walked by an OD x OH x OW grid with T x R x S taps.
Im2col map_of(const TensorRef& t, const int64_t (&grid)[3], const int64_t (&taps)[3], int64_t C,
              const Window (&windows)[3]) {
  Im2col g;
  g.data = t.data;
  g.dtype = t.dtype;
  g.sn = t.strides[0];
  g.sc = t.strides[1];
  g.sd = t.strides[2];
  g.sh = t.strides[3];
  g.sw = t.strides[4];
  g.D = t.sizes[2];
  g.H = t.sizes[3];
  g.W = t.sizes[4];
  g.OD = grid[0];
  g.OH = grid[1];
  g.OW = grid[2];
  g.T = taps[0];
  g.R = taps[1];
  g.S = taps[2];
  g.C = C;
  g.wd = windows[0];
  g.wh = windows[1];
  g.ww = windows[2];
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
  o.sd = t.strides[2];
  o.sh = t.strides[3];
  o.sw = t.strides[4];
  o.OD = t.sizes[2];
  o.OH = t.sizes[3];
  o.OW = t.sizes[4];
  o.bias = bias;
  return o;
}

// The grid of a map's pixels and the taps of a filter, (d, h, w) each.
void spatial(const TensorRef& t, int64_t (&out)[3]) {
  for (int d = 0; d < 3; ++d) out[d] = t.sizes[2 + d];
}

// A vector as the pixels of a one-channel 1 x 1 x 1 x 1 x C map.
TensorRef pixel_row(const TensorRef& v) {
  return {v.data, v.dtype, {1, 1, 1, 1, v.sizes[0]}, {0, 0, 0, 0, v.strides[0]}};
}

std::vector<float> bias_floats(const TensorRef* bias) {
  std::vector<float> b;
  if (!bias) return b;
  Im2col row = map_of(pixel_row(*bias), {1, 1, bias->sizes[0]}, {1, 1, 1}, 1, {{}, {}, {}});
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
                                const char* reader, const ConvEpilogue& ep = {}) {
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
  static const perf::KernelRef computes[] = {"conv_implicit_gemm_fp32acc", "conv_implicit_gemm_relu",
                                             "conv_implicit_gemm_gelu", "conv_implicit_gemm_gelu_tanh",
                                             "conv_implicit_gemm_silu"};
  rec.compute = computes[static_cast<int>(ep.act)];
  rec.writer = ep.scale || ep.shift || ep.residual ? "writer_conv_epilogue" : "writer_conv_bias";
  rec.flops = 2 * p.G * p.M * p.N * p.K;
  // The writer reads the residual's tiles once and each per-channel vector
  // once per output tile column.
  const int64_t area = arch.tile_rows * arch.tile_cols;
  if (ep.residual)
    rec.dram_read_bytes += p.G * tiles(p.M) * tiles(p.N) * area * dtype_bytes(ep.residual->dtype);
  for (const TensorRef* v : {ep.scale, ep.shift})
    if (v) rec.dram_read_bytes += p.G * tiles(p.N) * area * dtype_bytes(v->dtype);
  rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes;
  return rec;
}

// The writer's epilogue operands; `floats` keeps the per-channel vectors.
FeatureOut with_epilogue(FeatureOut o, const ConvEpilogue& ep, std::vector<float> (&floats)[2]) {
  o.act = ep.act;
  if (ep.scale) o.scale = (floats[0] = bias_floats(ep.scale)).data();
  if (ep.shift) o.shift = (floats[1] = bias_floats(ep.shift)).data();
  if (ep.residual) {
    const TensorRef r = volumetric(*ep.residual);
    o.residual = r.data;
    o.residual_dtype = r.dtype;
    o.rn = r.strides[0];
    o.rc = r.strides[1];
    o.rd = r.strides[2];
    o.rh = r.strides[3];
    o.rw = r.strides[4];
  }
  return o;
}

}  // namespace

ProgramRecord conv2d_forward(const chip::Arch& arch, const TensorRef& x_, const TensorRef& w_,
                             const TensorRef* bias, const TensorRef& out_, const Conv2dArgs& args,
                             const ConvEpilogue& epilogue) {
  const TensorRef x = volumetric(x_), w = volumetric(w_), out = volumetric(out_);
  const int64_t G = args.groups;
  const Window windows[3] = {{args.depth.stride, -args.depth.padding, args.depth.dilation, 1},
                             {args.stride[0], -args.padding[0], args.dilation[0], 1},
                             {args.stride[1], -args.padding[1], args.dilation[1], 1}};
  int64_t grid[3], taps[3];
  spatial(out, grid);
  spatial(w, taps);
  const Im2col src = map_of(x, grid, taps, w.sizes[1], windows);
  const int64_t N = w.sizes[0] / G, K = src.cols();
  // The filter and bias are packed for the host's cores only; a plan reads no data.
  std::vector<float> filter(executing() ? G * N * K : 0);
  if (executing()) kernels::pack_filter(w, G, true, src, filter.data());
  const std::vector<float> b = executing() ? bias_floats(bias) : std::vector<float>{};
  std::vector<float> per_channel[2];
  FeatureOut o = out_of(out, bias ? b.data() : nullptr);
  if (executing()) o = with_epilogue(o, epilogue, per_channel);
  const ImplicitGemm p{epilogue.any() ? "accel::conv_act" : "aten::convolution", src, w.sizes[1],
                       filter.data(), o, G, x.sizes[0] * grid[0] * grid[1] * grid[2], N, K};
  return run_implicit_gemm(arch, p, out.dtype, "reader_im2col_gather", epilogue);
}

void conv_epilogue_write(const TensorRef& out_, const float* result, bool pixel_major,
                         const ConvEpilogue& epilogue) {
  const TensorRef out = volumetric(out_);
  std::vector<float> per_channel[2];
  const FeatureOut o = with_epilogue(out_of(out, nullptr), epilogue, per_channel);
  const int64_t n = out.sizes[0], C = out.sizes[1];
  const int64_t pixels = out.sizes[2] * out.sizes[3] * out.sizes[4];
  // One image's channels (or pixels) per task, as the program's blocks are written.
  at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float* block = result + i * C * pixels;
      if (pixel_major) kernels::store_block(o, block, false, i * pixels, pixels, 0, C);
      else kernels::store_block(o, block, true, i * pixels, pixels, 0, C);
    }
  });
}

ProgramRecord conv2d_input_grad(const chip::Arch& arch, const TensorRef& grad_out_,
                                const TensorRef& w_, const TensorRef* bias,
                                const TensorRef& grad_in_, const Conv2dArgs& args) {
  const TensorRef grad_out = volumetric(grad_out_), w = volumetric(w_), grad_in = volumetric(grad_in_);
  const int64_t G = args.groups;
  // Input pixel h takes grad_out at (h + pad - r*dilation) / stride when exact.
  const Window windows[3] = {{1, args.depth.padding, -args.depth.dilation, args.depth.stride},
                             {1, args.padding[0], -args.dilation[0], args.stride[0]},
                             {1, args.padding[1], -args.dilation[1], args.stride[1]}};
  int64_t grid[3], taps[3];
  spatial(grad_in, grid);
  spatial(w, taps);
  const Im2col src = map_of(grad_out, grid, taps, w.sizes[0] / G, windows);
  const int64_t N = w.sizes[1], K = src.cols();
  // The filter and bias are packed for the host's cores only; a plan reads no data.
  std::vector<float> filter(executing() ? G * N * K : 0);
  if (executing()) kernels::pack_filter(w, G, false, src, filter.data());
  const std::vector<float> b = executing() ? bias_floats(bias) : std::vector<float>{};
  const ImplicitGemm p{bias ? "aten::conv_transpose2d" : "aten::convolution_backward.input",
                       src, w.sizes[0] / G, filter.data(), out_of(grad_in, bias ? b.data() : nullptr), G,
                       grad_in.sizes[0] * grid[0] * grid[1] * grid[2], N, K};
  return run_implicit_gemm(arch, p, grad_in.dtype, "reader_im2col_strided_up");
}

ProgramRecord conv2d_weight_grad(const chip::Arch& arch, const TensorRef& small_,
                                 const TensorRef& big_, const TensorRef& grad_w_,
                                 const Conv2dArgs& args) {
  const TensorRef small = volumetric(small_), big = volumetric(big_), grad_w = volumetric(grad_w_);
  const int64_t G = args.groups;
  const int64_t A = grad_w.sizes[0] / G;
  int64_t grid[3], taps[3];
  spatial(small, grid);
  spatial(grad_w, taps);
  Im2col xs = map_of(small, grid, {1, 1, 1}, A, {{}, {}, {}});
  const Window windows[3] = {{args.depth.stride, -args.depth.padding, args.depth.dilation, 1},
                             {args.stride[0], -args.padding[0], args.dilation[0], 1},
                             {args.stride[1], -args.padding[1], args.dilation[1], 1}};
  Im2col ys = map_of(big, grid, taps, grad_w.sizes[1], windows);
  const int64_t N = ys.cols(), P = small.sizes[0] * grid[0] * grid[1] * grid[2];
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

ProgramRecord conv_bias_grad(const chip::Arch& arch, const TensorRef& grad_out_,
                             const TensorRef& grad_bias) {
  const TensorRef grad_out = volumetric(grad_out_);
  const int64_t C = grad_out.sizes[1];
  const int64_t area = arch.tile_rows * arch.tile_cols;
  const int64_t l1 = check_l1(arch, "aten::convolution_backward.bias",
                              {{"in0", 2, area * dtype_bytes(grad_out.dtype)}, {"acc", 1, area * 4}});
  const CoreSplit split = split_tiles(C, arch.num_cores());
  run_on_cores(split, [&](int64_t, int64_t begin, int64_t end) {
    std::vector<float> sums(end - begin);
    for (int64_t c = begin; c < end; ++c) sums[c - begin] = kernels::channel_sum(grad_out, c);
    FeatureOut o = out_of(pixel_row(grad_bias), nullptr);
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
