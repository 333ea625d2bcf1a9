// Conv and pool programs against scalar references: odd shapes, strides,
// padding, dilation, groups, channels-last strides, bf16, and an L1 plan that
// must shrink its blocks on the tiny preset.
#include <gtest/gtest.h>

#include <c10/util/BFloat16.h>

#include <cmath>
#include <random>
#include <vector>

#include "chip/arch.h"
#include "engine/conv.h"
#include "engine/pool.h"

using namespace accel;
using engine::DType;
using engine::TensorRef;

namespace {

const chip::Arch& tiny() {
  static chip::Arch arch = chip::preset("tiny");
  return arch;
}

std::vector<float> random_floats(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist;
  std::vector<float> v(n);
  for (auto& x : v) x = dist(gen);
  return v;
}

// [n, c, h, w] sizes with NCHW or NHWC strides.
TensorRef map(void* data, DType dt, int64_t n, int64_t c, int64_t h, int64_t w, bool nhwc = false) {
  std::vector<int64_t> st = nhwc ? std::vector<int64_t>{h * w * c, 1, w * c, c}
                                 : std::vector<int64_t>{c * h * w, h * w, w, 1};
  return {data, dt, {n, c, h, w}, st};
}

struct Shape {
  int64_t N, C, H, W, K, R, S, G;
  engine::Conv2dArgs a;
  int64_t OH() const { return (H + 2 * a.padding[0] - a.dilation[0] * (R - 1) - 1) / a.stride[0] + 1; }
  int64_t OW() const { return (W + 2 * a.padding[1] - a.dilation[1] * (S - 1) - 1) / a.stride[1] + 1; }
};

// Calls f(n, k, oh, ow, c, r, s, ih, iw) for every tap that hits the input.
template <class F>
void for_taps(const Shape& s, F f) {
  const int64_t Cg = s.C / s.G, Kg = s.K / s.G;
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t k = 0; k < s.K; ++k)
      for (int64_t oh = 0; oh < s.OH(); ++oh)
        for (int64_t ow = 0; ow < s.OW(); ++ow)
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t r = 0; r < s.R; ++r)
              for (int64_t q = 0; q < s.S; ++q) {
                const int64_t ih = oh * s.a.stride[0] - s.a.padding[0] + r * s.a.dilation[0];
                const int64_t iw = ow * s.a.stride[1] - s.a.padding[1] + q * s.a.dilation[1];
                if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
                f(n, k, oh, ow, (k / Kg) * Cg + c, c, r, q, ih, iw);
              }
}

class ConvShapes : public ::testing::TestWithParam<std::tuple<Shape, bool>> {};

TEST_P(ConvShapes, ForwardAndGradientsMatchReference) {
  const auto [s, nhwc] = GetParam();
  const int64_t OH = s.OH(), OW = s.OW(), Cg = s.C / s.G;
  auto x = random_floats(s.N * s.C * s.H * s.W, 1), w = random_floats(s.K * Cg * s.R * s.S, 2);
  auto b = random_floats(s.K, 3), go = random_floats(s.N * s.K * OH * OW, 4);
  const TensorRef xr = map(x.data(), DType::F32, s.N, s.C, s.H, s.W, nhwc);
  const TensorRef wr = map(w.data(), DType::F32, s.K, Cg, s.R, s.S);
  const TensorRef br{b.data(), DType::F32, {s.K}, {1}};
  std::vector<float> y(s.N * s.K * OH * OW), gi(x.size()), gw(w.size()), gb(s.K);
  const TensorRef yr = map(y.data(), DType::F32, s.N, s.K, OH, OW, nhwc);
  const TensorRef gor = map(go.data(), DType::F32, s.N, s.K, OH, OW, nhwc);
  engine::conv2d_forward(tiny(), xr, wr, &br, yr, s.a);
  engine::conv2d_input_grad(tiny(), gor, wr, nullptr, map(gi.data(), DType::F32, s.N, s.C, s.H, s.W, nhwc), s.a);
  engine::conv2d_weight_grad(tiny(), gor, xr, map(gw.data(), DType::F32, s.K, Cg, s.R, s.S), s.a);
  engine::conv_bias_grad(tiny(), gor, {gb.data(), DType::F32, {s.K}, {1}});

  auto at = [](const TensorRef& t, int64_t n, int64_t c, int64_t h, int64_t w) {
    return n * t.strides[0] + c * t.strides[1] + h * t.strides[2] + w * t.strides[3];
  };
  std::vector<double> ry(y.size()), rgi(x.size(), 0), rgw(w.size(), 0), rgb(s.K, 0);
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t k = 0; k < s.K; ++k)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          ry[at(yr, n, k, oh, ow)] = b[k];
          rgb[k] += go[at(gor, n, k, oh, ow)];
        }
  for_taps(s, [&](int64_t n, int64_t k, int64_t oh, int64_t ow, int64_t ci, int64_t c, int64_t r,
                  int64_t q, int64_t ih, int64_t iw) {
    const int64_t wi = ((k * Cg + c) * s.R + r) * s.S + q;
    const double g = go[at(gor, n, k, oh, ow)];
    ry[at(yr, n, k, oh, ow)] += double(x[at(xr, n, ci, ih, iw)]) * w[wi];
    rgi[at(xr, n, ci, ih, iw)] += g * w[wi];
    rgw[wi] += g * x[at(xr, n, ci, ih, iw)];
  });
  for (size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], ry[i], 1e-3) << "y " << i;
  for (size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(gi[i], rgi[i], 1e-3) << "grad_in " << i;
  for (size_t i = 0; i < w.size(); ++i) ASSERT_NEAR(gw[i], rgw[i], 1e-3) << "grad_w " << i;
  for (int64_t i = 0; i < s.K; ++i) ASSERT_NEAR(gb[i], rgb[i], 1e-3) << "grad_b " << i;
}

engine::Conv2dArgs args(int64_t groups, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh = 1,
                        int64_t dw = 1) {
  engine::Conv2dArgs a;
  a.groups = groups;
  a.stride[0] = sh, a.stride[1] = sw, a.padding[0] = ph, a.padding[1] = pw;
  a.dilation[0] = dh, a.dilation[1] = dw;
  return a;
}

INSTANTIATE_TEST_SUITE_P(
    Conv, ConvShapes,
    ::testing::Combine(::testing::Values(Shape{2, 3, 9, 11, 5, 3, 3, 1, args(1, 1, 1, 1, 1)},
                                         Shape{1, 4, 10, 10, 6, 1, 1, 1, args(1, 1, 1, 0, 0)},
                                         Shape{2, 3, 15, 13, 4, 7, 7, 1, args(1, 2, 2, 3, 3)},
                                         Shape{2, 4, 9, 11, 6, 3, 2, 2, args(2, 2, 1, 1, 0, 2, 1)},
                                         Shape{1, 6, 8, 7, 6, 3, 3, 6, args(6, 1, 1, 1, 1)},
                                         Shape{1, 1, 1, 37, 3, 1, 5, 1, args(1, 1, 3, 0, 2)},
                                         Shape{1, 70, 6, 6, 40, 3, 3, 1, args(1, 1, 1, 1, 1)}),
                       ::testing::Bool()));

TEST(Conv, Bf16RoundsOnStore) {
  const Shape s{1, 8, 5, 5, 4, 3, 3, 1, args(1, 1, 1, 1, 1)};
  auto xf = random_floats(200, 5), wf = random_floats(4 * 8 * 9, 6);
  std::vector<c10::BFloat16> x(xf.begin(), xf.end()), w(wf.begin(), wf.end()), y(4 * 25);
  std::vector<float> yf(4 * 25);
  std::vector<float> xr(x.begin(), x.end()), wr(w.begin(), w.end());  // the bf16 values, widened
  engine::conv2d_forward(tiny(), map(x.data(), DType::BF16, 1, 8, 5, 5), map(w.data(), DType::BF16, 4, 8, 3, 3),
                         nullptr, map(y.data(), DType::BF16, 1, 4, 5, 5), s.a);
  engine::conv2d_forward(tiny(), map(xr.data(), DType::F32, 1, 8, 5, 5), map(wr.data(), DType::F32, 4, 8, 3, 3),
                         nullptr, map(yf.data(), DType::F32, 1, 4, 5, 5), s.a);
  for (size_t i = 0; i < y.size(); ++i) EXPECT_EQ(float(y[i]), float(c10::BFloat16(yf[i]))) << i;
}

TEST(Conv, L1PlanShrinksBlocksOnTiny) {
  // 512 input channels x 3x3: the preferred K block alone would overflow 256 KiB.
  const int64_t C = 512, K = 64;
  auto x = random_floats(C * 4 * 4, 7), w = random_floats(K * C * 9, 8);
  std::vector<float> y(K * 16);
  const auto rec = engine::conv2d_forward(tiny(), map(x.data(), DType::F32, 1, C, 4, 4),
                                          map(w.data(), DType::F32, K, C, 3, 3), nullptr,
                                          map(y.data(), DType::F32, 1, K, 4, 4), args(1, 1, 1, 1, 1));
  EXPECT_LE(rec.l1_bytes_per_core, tiny().l1_bytes_per_core);
  EXPECT_EQ(rec.flops, 2 * 16 * K * C * 9);
  EXPECT_STREQ(rec.compute_engine(), "matrix");
  double ref = 0;  // output (0, 0, 1, 1): every tap hits
  for (int64_t c = 0; c < C; ++c)
    for (int64_t r = 0; r < 3; ++r)
      for (int64_t q = 0; q < 3; ++q) ref += double(x[c * 16 + r * 4 + q]) * w[(c * 3 + r) * 3 + q];
  EXPECT_NEAR(y[5], ref, 1e-2);
}

// accel::conv_act's epilogue in the writer: (conv + bias) * scale + shift +
// residual, then relu, each step rounded to fp32 as the separate ops round.
class ConvEpilogueLayouts : public ::testing::TestWithParam<std::tuple<bool, bool>> {};

TEST_P(ConvEpilogueLayouts, StoreBlockAppliesItAsTheSeparateOps) {
  const auto [nhwc, residual_nhwc] = GetParam();
  const Shape s{2, 6, 7, 5, 10, 3, 3, 2, args(2, 1, 1, 1, 1)};  // 2 groups: channels from c0
  const int64_t OH = s.OH(), OW = s.OW(), Cg = s.C / s.G, out_n = s.N * s.K * OH * OW;
  auto x = random_floats(s.N * s.C * s.H * s.W, 11), w = random_floats(s.K * Cg * 9, 12);
  auto b = random_floats(s.K, 13), scale = random_floats(s.K, 14), shift = random_floats(s.K, 15);
  auto res = random_floats(out_n, 16);
  const TensorRef xr = map(x.data(), DType::F32, s.N, s.C, s.H, s.W, nhwc);
  const TensorRef wr = map(w.data(), DType::F32, s.K, Cg, 3, 3);
  const TensorRef br{b.data(), DType::F32, {s.K}, {1}};
  const TensorRef sr{scale.data(), DType::F32, {s.K}, {1}}, hr{shift.data(), DType::F32, {s.K}, {1}};
  const TensorRef rr = map(res.data(), DType::F32, s.N, s.K, OH, OW, residual_nhwc);
  std::vector<float> plain(out_n), fused(out_n), from_result(out_n);
  const TensorRef pr = map(plain.data(), DType::F32, s.N, s.K, OH, OW, nhwc);
  const auto plain_rec = engine::conv2d_forward(tiny(), xr, wr, &br, pr, s.a);
  engine::ConvEpilogue ep;
  ep.scale = &sr;
  ep.shift = &hr;
  ep.residual = &rr;
  ep.act = engine::Activation::Relu;
  const auto rec = engine::conv2d_forward(tiny(), xr, wr, &br, map(fused.data(), DType::F32, s.N, s.K, OH, OW, nhwc),
                                          s.a, ep);
  // The library path's writer on the plain result, laid out [n][c][pixels] or [n][pixels][c].
  engine::conv_epilogue_write(map(from_result.data(), DType::F32, s.N, s.K, OH, OW, nhwc), plain.data(), nhwc, ep);
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t k = 0; k < s.K; ++k)
      for (int64_t p = 0; p < OH * OW; ++p) {
        const int64_t at = nhwc ? (n * OH * OW + p) * s.K + k : (n * s.K + k) * OH * OW + p;
        const int64_t r_at = residual_nhwc ? (n * OH * OW + p) * s.K + k : (n * s.K + k) * OH * OW + p;
        float v = plain[at] * scale[k];
        v = v + shift[k];
        v = v + res[r_at];
        const float expected = v > 0 ? v : 0.f;
        ASSERT_EQ(fused[at], expected) << n << " " << k << " " << p;
        ASSERT_EQ(from_result[at], expected) << n << " " << k << " " << p;
      }
  EXPECT_EQ(rec.op, "accel::conv_act");
  EXPECT_EQ(rec.compute, "conv_implicit_gemm_relu");
  EXPECT_EQ(rec.writer, "writer_conv_epilogue");
  EXPECT_EQ(plain_rec.writer, "writer_conv_bias");
  // The residual's tiles and the two vectors are read; the writes are the same.
  EXPECT_GT(rec.dram_read_bytes, plain_rec.dram_read_bytes + out_n * 4);
  EXPECT_EQ(rec.dram_write_bytes, plain_rec.dram_write_bytes);
}

INSTANTIATE_TEST_SUITE_P(Layouts, ConvEpilogueLayouts, ::testing::Combine(::testing::Bool(), ::testing::Bool()));

TEST(ConvEpilogue, Bf16OutputRoundsOnceAfterTheEpilogue) {
  const Shape s{1, 8, 5, 5, 4, 3, 3, 1, args(1, 1, 1, 1, 1)};
  auto xf = random_floats(200, 17), wf = random_floats(4 * 8 * 9, 18), shift = random_floats(4, 19);
  std::vector<c10::BFloat16> x(xf.begin(), xf.end()), w(wf.begin(), wf.end()), y(4 * 25);
  std::vector<float> xr(x.begin(), x.end()), wr(w.begin(), w.end()), yf(4 * 25);
  const TensorRef hr{shift.data(), DType::F32, {4}, {1}};
  engine::ConvEpilogue ep;
  ep.shift = &hr;
  ep.act = engine::Activation::Silu;
  const auto rec = engine::conv2d_forward(tiny(), map(x.data(), DType::BF16, 1, 8, 5, 5),
                                          map(w.data(), DType::BF16, 4, 8, 3, 3), nullptr,
                                          map(y.data(), DType::BF16, 1, 4, 5, 5), s.a, ep);
  engine::conv2d_forward(tiny(), map(xr.data(), DType::F32, 1, 8, 5, 5), map(wr.data(), DType::F32, 4, 8, 3, 3),
                         nullptr, map(yf.data(), DType::F32, 1, 4, 5, 5), s.a, ep);
  for (size_t i = 0; i < y.size(); ++i) EXPECT_EQ(float(y[i]), float(c10::BFloat16(yf[i]))) << i;
  EXPECT_EQ(rec.compute, "conv_implicit_gemm_silu");
  EXPECT_EQ(rec.writer, "writer_conv_epilogue");
}

TEST(Pool, MaxAndAvgMatchReference) {
  const int64_t H = 7, W = 9;
  auto x = random_floats(2 * H * W, 9);
  kernels::PoolSpec mx;
  mx.kind = kernels::PoolKind::Max;
  mx.kernel[0] = mx.kernel[1] = 3;
  mx.stride[0] = mx.stride[1] = 2;
  mx.pad[0] = mx.pad[1] = 1;
  kernels::PoolSpec avg = mx;
  avg.kind = kernels::PoolKind::Avg;
  avg.count_include_pad = false;
  const int64_t OH = 4, OW = 5;
  std::vector<float> ym(2 * OH * OW), ya(2 * OH * OW);
  std::vector<int64_t> idx(2 * OH * OW);
  const TensorRef in = map(x.data(), DType::F32, 1, 2, H, W);
  const TensorRef ir = map(idx.data(), DType::I64, 1, 2, OH, OW);
  engine::pool2d_forward(tiny(), "max", mx, in, map(ym.data(), DType::F32, 1, 2, OH, OW), &ir);
  engine::pool2d_forward(tiny(), "avg", avg, in, map(ya.data(), DType::F32, 1, 2, OH, OW), nullptr);
  for (int64_t c = 0; c < 2; ++c)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        float best = -INFINITY, sum = 0;
        int64_t arg = -1, count = 0;
        for (int64_t ih = oh * 2 - 1; ih <= oh * 2 + 1; ++ih)
          for (int64_t iw = ow * 2 - 1; iw <= ow * 2 + 1; ++iw) {
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            const float v = x[c * H * W + ih * W + iw];
            if (v > best) best = v, arg = ih * W + iw;
            sum += v, ++count;
          }
        const int64_t o = c * OH * OW + oh * OW + ow;
        EXPECT_EQ(ym[o], best);
        EXPECT_EQ(idx[o], arg);
        EXPECT_NEAR(ya[o], sum / count, 1e-6);
      }
  // Backward routes each output gradient to its argmax.
  std::vector<float> go(ym.size(), 1.f), gi(x.size());
  engine::pool2d_backward(tiny(), "max_bwd", mx, map(go.data(), DType::F32, 1, 2, OH, OW), &ir,
                          map(gi.data(), DType::F32, 1, 2, H, W));
  std::vector<float> ref(x.size(), 0.f);
  for (int64_t c = 0; c < 2; ++c)
    for (int64_t o = 0; o < OH * OW; ++o) ref[c * H * W + idx[c * OH * OW + o]] += 1.f;
  EXPECT_EQ(gi, ref);
}

}  // namespace
