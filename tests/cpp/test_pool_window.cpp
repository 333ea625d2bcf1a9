// The pool kernels' vector path (plan_window, plan_backward) against their
// scalar path, bit for bit, on random windows, layouts, dtypes and core
// splits, with NaN, infinities and ties in the data; max backward against a
// scatter in output order.
#include <gtest/gtest.h>

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/pool/window.h"

using namespace accel;
using engine::DType;
using kernels::PlaneBatch;
using kernels::PoolKind;
using kernels::PoolSpec;

namespace {

int64_t bytes_of(DType dt) { return dt == DType::F32 ? 4 : dt == DType::I64 ? 8 : 2; }

// A [N, C, H, W] tensor in its own buffer: NCHW, NHWC, or NCHW with gaps
// between elements and planes (a strided view).
struct Tensor {
  std::vector<char> bytes;
  PlaneBatch batch;
  Tensor(DType dt, int64_t N, int64_t C, int64_t H, int64_t W, int layout) {
    PlaneBatch& b = batch;
    b.dtype = dt, b.N = N, b.C = C, b.H = H, b.W = W;
    if (layout == 1) b.sc = 1, b.sw = C, b.sh = W * C, b.sn = H * W * C;
    else if (layout == 2) b.sw = 2, b.sh = 2 * W + 1, b.sc = H * b.sh + 3, b.sn = C * b.sc + 5;
    else b.sw = 1, b.sh = W, b.sc = H * W, b.sn = C * H * W;
    const int64_t extent = (N - 1) * b.sn + (C - 1) * b.sc + (H - 1) * b.sh + (W - 1) * b.sw + 1;
    bytes.assign(extent * bytes_of(dt), 0);
    b.data = bytes.data();
  }
  char* at(int64_t n, int64_t c, int64_t h, int64_t w) {
    return bytes.data() + (n * batch.sn + c * batch.sc + h * batch.sh + w * batch.sw) * bytes_of(batch.dtype);
  }
  void set(int64_t n, int64_t c, int64_t h, int64_t w, float v) {
    char* p = at(n, c, h, w);
    if (batch.dtype == DType::F32) std::memcpy(p, &v, 4);
    else if (batch.dtype == DType::BF16) *reinterpret_cast<c10::BFloat16*>(p) = c10::BFloat16(v);
    else *reinterpret_cast<c10::Half*>(p) = c10::Half(v);
  }
  // Element bits in NCHW order; NaNs as one pattern where `any_nan`.
  std::vector<int64_t> bits(bool any_nan) {
    std::vector<int64_t> out;
    const auto& b = batch;
    for (int64_t n = 0; n < b.N; ++n)
      for (int64_t c = 0; c < b.C; ++c)
        for (int64_t h = 0; h < b.H; ++h)
          for (int64_t w = 0; w < b.W; ++w) {
            int64_t v = 0;
            std::memcpy(&v, at(n, c, h, w), bytes_of(b.dtype));
            const bool nan = b.dtype == DType::F32 ? std::isnan(*reinterpret_cast<float*>(at(n, c, h, w)))
                             : b.dtype == DType::BF16 ? std::isnan(float(*reinterpret_cast<c10::BFloat16*>(at(n, c, h, w))))
                             : b.dtype == DType::F16 ? std::isnan(float(*reinterpret_cast<c10::Half*>(at(n, c, h, w))))
                                                      : false;
            out.push_back(any_nan && nan ? -1 : v);
          }
    return out;
  }
};

int64_t window_out(int64_t I, int64_t k, int64_t s, int64_t pad, int64_t dil, bool ceil_mode) {
  int64_t o = (I + 2 * pad - dil * (k - 1) - 1 + (ceil_mode ? s - 1 : 0)) / s + 1;
  if (ceil_mode && (o - 1) * s >= I + pad) --o;  // ATen: the last window starts inside
  return o;
}

struct Case {
  PoolSpec spec;
  DType dtype;
  int64_t N, C, H, W, OH, OW;
  int in_layout, out_layout;
  std::string describe() const {
    return "kind " + std::to_string(int(spec.kind)) + " dtype " + std::to_string(int(dtype)) + " " +
           std::to_string(N) + "x" + std::to_string(C) + "x" + std::to_string(H) + "x" + std::to_string(W) +
           " -> " + std::to_string(OH) + "x" + std::to_string(OW) + " k" + std::to_string(spec.kernel[0]) +
           "," + std::to_string(spec.kernel[1]) + " s" + std::to_string(spec.stride[0]) + "," +
           std::to_string(spec.stride[1]) + " p" + std::to_string(spec.pad[0]) + "," +
           std::to_string(spec.pad[1]) + " d" + std::to_string(spec.dil[0]) + "," + std::to_string(spec.dil[1]) +
           " layouts " + std::to_string(in_layout) + "," + std::to_string(out_layout);
  }
};

Case random_case(std::mt19937& gen) {
  auto pick = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(gen); };
  Case c;
  PoolSpec& s = c.spec;
  s.kind = std::vector<PoolKind>{PoolKind::Max, PoolKind::Avg, PoolKind::AdaptiveAvg, PoolKind::AdaptiveMax}[pick(0, 3)];
  c.dtype = std::vector<DType>{DType::F32, DType::F32, DType::BF16, DType::F16}[pick(0, 3)];
  // Small planes in numbers (the small CNN's 8x8 and 4x4) as well as larger ones.
  const int64_t size = pick(0, 5);  // 0-2: small, 3-4: medium, 5: large (banded clearing)
  c.N = size == 5 ? 1 : pick(1, 3), c.C = size < 3 ? pick(1, 40) : pick(1, 4);
  const int64_t lo = size < 3 ? 1 : size < 5 ? 8 : 64, hi = size < 3 ? 9 : size < 5 ? 40 : 90;
  c.H = pick(lo, hi), c.W = pick(lo, hi);
  c.in_layout = pick(0, 2), c.out_layout = pick(0, 2);
  if (s.kind == PoolKind::Max || s.kind == PoolKind::Avg) {
    int64_t o[2];
    for (int d = 0; d < 2; ++d) {
      const int64_t I = d == 0 ? c.H : c.W;
      s.kernel[d] = pick(1, std::min<int64_t>(4, I));
      s.stride[d] = pick(1, 3);
      s.pad[d] = pick(0, s.kernel[d] / 2);
      s.dil[d] = s.kind == PoolKind::Max && (s.kernel[d] - 1) * 2 + 1 <= I ? pick(1, 2) : 1;
      o[d] = window_out(I, s.kernel[d], s.stride[d], s.pad[d], s.dil[d], pick(0, 1));
    }
    c.OH = o[0], c.OW = o[1];
    s.count_include_pad = pick(0, 1);
    s.divisor = pick(0, 3) == 0 ? pick(1, 9) : 0;
  } else {
    c.OH = pick(1, c.H + 2), c.OW = pick(1, c.W + 2);
    for (int d = 0; d < 2; ++d) {
      const int64_t I = d == 0 ? c.H : c.W, O = d == 0 ? c.OH : c.OW;
      for (int64_t o = 0; o < O; ++o) {
        s.axis[d].lo.push_back(o * I / O);
        s.axis[d].hi.push_back(((o + 1) * I + O - 1) / O);
      }
    }
  }
  return c;
}

void fill(Tensor& t, std::mt19937& gen) {
  std::normal_distribution<float> normal;
  std::uniform_int_distribution<int> special(0, 39), small_int(-2, 2);
  const bool ties = std::uniform_int_distribution<int>(0, 2)(gen) == 0;
  const auto& b = t.batch;
  for (int64_t n = 0; n < b.N; ++n)
    for (int64_t c = 0; c < b.C; ++c)
      for (int64_t h = 0; h < b.H; ++h)
        for (int64_t w = 0; w < b.W; ++w) {
          const int r = special(gen);
          const float v = r == 0 ? NAN : r == 1 ? INFINITY : r == 2 ? -INFINITY : r == 3 ? -0.f
                          : ties ? float(small_int(gen)) : normal(gen);
          t.set(n, c, h, w, v);
        }
}

// Runs [0, total) as a few core ranges, split at random points.
template <class Run>
void split_run(int64_t total, std::mt19937& gen, Run run) {
  std::vector<int64_t> cuts{0, total};
  for (int i = 0; i < 3 && total > 1; ++i) cuts.push_back(std::uniform_int_distribution<int64_t>(1, total - 1)(gen));
  std::sort(cuts.begin(), cuts.end());
  for (size_t i = 0; i + 1 < cuts.size(); ++i) run(cuts[i], cuts[i + 1]);
}

bool is_max(PoolKind k) { return k == PoolKind::Max || k == PoolKind::AdaptiveMax; }

TEST(PoolWindow, VectorPathMatchesScalarBits) {
  std::mt19937 gen(1234);
  int vector_forward = 0, vector_backward = 0;
  for (int trial = 0; trial < 1500; ++trial) {
    const Case c = random_case(gen);
    if (c.OH < 1 || c.OW < 1) continue;
    SCOPED_TRACE(c.describe());
    Tensor in(c.dtype, c.N, c.C, c.H, c.W, c.in_layout);
    fill(in, gen);
    Tensor out_s(c.dtype, c.N, c.C, c.OH, c.OW, c.out_layout), out_v = out_s;
    out_v.batch.data = out_v.bytes.data();
    Tensor idx_s(DType::I64, c.N, c.C, c.OH, c.OW, c.out_layout), idx_v = idx_s;
    idx_v.batch.data = idx_v.bytes.data();
    const bool max = is_max(c.spec.kind);
    const int64_t total = c.N * c.C * c.OH * c.OW;
    kernels::pool_forward(c.spec, kernels::WindowPlan{}, in.batch, out_s.batch, max ? &idx_s.batch : nullptr, 0, total);
    const kernels::WindowPlan plan = kernels::plan_window(c.spec, in.batch, out_v.batch, max ? &idx_v.batch : nullptr);
    vector_forward += plan.vector;
    split_run(total, gen, [&](int64_t f0, int64_t f1) {
      kernels::pool_forward(c.spec, plan, in.batch, out_v.batch, max ? &idx_v.batch : nullptr, f0, f1);
    });
    // Sums of NaNs and infinities may carry either NaN's sign; maxima copy bits.
    ASSERT_EQ(out_v.bits(!max), out_s.bits(!max));
    if (max) {
      ASSERT_EQ(idx_v.bits(false), idx_s.bits(false));
      // Without indices (max_pool2d for inference): the same values.
      Tensor out_n = out_s;
      out_n.batch.data = out_n.bytes.data();
      std::fill(out_n.bytes.begin(), out_n.bytes.end(), 0);
      const kernels::WindowPlan bare = kernels::plan_window(c.spec, in.batch, out_n.batch, nullptr);
      split_run(total, gen, [&](int64_t f0, int64_t f1) {
        kernels::pool_forward(c.spec, bare, in.batch, out_n.batch, nullptr, f0, f1);
      });
      ASSERT_EQ(out_n.bits(false), out_s.bits(false));
    }

    // Backward from a random gradient.
    Tensor grad(c.dtype, c.N, c.C, c.OH, c.OW, c.out_layout);
    fill(grad, gen);
    Tensor gi_s(c.dtype, c.N, c.C, c.H, c.W, c.in_layout), gi_v = gi_s;
    gi_v.batch.data = gi_v.bytes.data();
    const int64_t planes = c.N * c.C;
    if (max) {
      kernels::pool_backward(c.spec, kernels::WindowPlan{}, grad.batch, &idx_s.batch, gi_v.batch, 0, planes);
      // The reference: each output's gradient added at its index, in output order.
      std::vector<float> acc(c.H * c.W);
      for (int64_t n = 0; n < c.N; ++n)
        for (int64_t ch = 0; ch < c.C; ++ch) {
          std::fill(acc.begin(), acc.end(), 0.f);
          for (int64_t oh = 0; oh < c.OH; ++oh)
            for (int64_t ow = 0; ow < c.OW; ++ow) {
              const int64_t i = *reinterpret_cast<int64_t*>(idx_s.at(n, ch, oh, ow));
              float g;
              if (c.dtype == DType::F32) std::memcpy(&g, grad.at(n, ch, oh, ow), 4);
              else if (c.dtype == DType::BF16) g = float(*reinterpret_cast<c10::BFloat16*>(grad.at(n, ch, oh, ow)));
              else g = float(*reinterpret_cast<c10::Half*>(grad.at(n, ch, oh, ow)));
              if (i >= 0) acc[i] += g;
            }
          for (int64_t e = 0; e < c.H * c.W; ++e) gi_s.set(n, ch, e / c.W, e % c.W, acc[e]);
        }
      ASSERT_EQ(gi_v.bits(true), gi_s.bits(true));
    } else {
      kernels::pool_backward(c.spec, kernels::WindowPlan{}, grad.batch, nullptr, gi_s.batch, 0, planes);
      const kernels::WindowPlan back = kernels::plan_backward(c.spec, grad.batch, gi_v.batch);
      vector_backward += back.vector;
      split_run(planes, gen, [&](int64_t p0, int64_t p1) {
        kernels::pool_backward(c.spec, back, grad.batch, nullptr, gi_v.batch, p0, p1);
      });
      ASSERT_EQ(gi_v.bits(true), gi_s.bits(true));
    }
  }
  // The cases above must have exercised the vector path, not only the scalar one.
  EXPECT_GT(vector_forward, 1000);
  EXPECT_GT(vector_backward, 400);
}

}  // namespace
