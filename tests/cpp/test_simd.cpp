// The SIMD float tile math of every capability the host runs, against the
// portable kernels computed in double: the vector forms must not drift, and
// the gradients must give special inputs (NaN, infinities) the scalar results.
#include <gtest/gtest.h>

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/eltwise/simd.h"

using namespace accel;
using kernels::Binary;
using kernels::SimdTileMath;
using kernels::Unary;

namespace {

// Each capability's table, so DEFAULT is checked even on an AVX-512 host.
std::vector<SimdTileMath> tables() {
  std::vector<SimdTileMath> out(1);
  kernels::DEFAULT::fill_simd_tile_math(out[0]);
  const std::string best = kernels::simd_tile_math().capability;
  if (best != "DEFAULT") out.push_back(kernels::simd_tile_math());
  return out;
}

// 1029 values: whole vectors plus a ragged tail, as in a partial tile.
std::vector<float> inputs(bool positive, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.f, 3.f);
  std::vector<float> v(1029);
  for (auto& x : v) x = positive ? std::abs(dist(gen)) + 1e-3f : dist(gen);
  return v;
}

bool positive_domain(Unary op) {
  return op == Unary::Log || op == Unary::Log1p || op == Unary::Log2 || op == Unary::Sqrt ||
         op == Unary::Rsqrt || op == Unary::Log10 || op == Unary::Lgamma || op == Unary::Digamma;
}

// Inputs inside the op's domain: NaN never compares near, and tan has poles.
std::vector<float> inputs_for(Unary op, unsigned seed) {
  std::vector<float> v = inputs(positive_domain(op), seed);
  if (op == Unary::Acos || op == Unary::Asin)
    for (auto& x : v) x = std::tanh(x);
  if (op == Unary::Tan)
    for (auto& x : v) x = 0.9f * std::atan(x);
  return v;
}

}  // namespace

TEST(SimdTileMath, UnaryMatchesDoubleReference) {
  for (const auto& t : tables()) {
    for (int i = 0; i < kernels::kUnaryCount; ++i) {
      if (!t.unary[i]) continue;
      const auto op = static_cast<Unary>(i);
      const auto& portable = kernels::unary_kernel(op);
      engine::KernelParams p{0.1, 0, 0, 0};
      std::vector<float> x = inputs_for(op, 100 + i), y(x.size());
      std::vector<double> xd(x.begin(), x.end()), yd(x.size());
      const float* in[] = {x.data()};
      const double* ind[] = {xd.data()};
      t.unary[i](in, y.data(), static_cast<int64_t>(x.size()), p);
      portable.f64(ind, yd.data(), static_cast<int64_t>(x.size()), p);
      for (size_t k = 0; k < x.size(); ++k)
        ASSERT_NEAR(y[k], yd[k], 4e-6 * std::max(1.0, std::abs(yd[k])))
            << portable.desc->name << " [" << t.capability << "] at x=" << x[k];
    }
  }
}

TEST(SimdTileMath, BinaryMatchesDoubleReference) {
  for (const auto& t : tables()) {
    for (int i = 0; i < kernels::kBinaryCount; ++i) {
      if (!t.binary[i]) continue;
      const auto op = static_cast<Binary>(i);
      const auto& portable = kernels::binary_kernel(op);
      engine::KernelParams p{0.5, 0, 0, 0};
      std::vector<float> a = inputs(false, 7 + i), b = inputs(false, 70 + i), y(a.size());
      b[3] = a[3];  // equality must be seen by the comparisons
      std::vector<double> ad(a.begin(), a.end()), bd(b.begin(), b.end()), yd(a.size());
      const float* in[] = {a.data(), b.data()};
      const double* ind[] = {ad.data(), bd.data()};
      t.binary[i](in, y.data(), static_cast<int64_t>(a.size()), p);
      portable.f64(ind, yd.data(), static_cast<int64_t>(a.size()), p);
      for (size_t k = 0; k < a.size(); ++k)
        ASSERT_NEAR(y[k], yd[k], 2e-6 * std::max(1.0, std::abs(yd[k])))
            << portable.desc->name << " [" << t.capability << "] at " << a[k] << ", " << b[k];
    }
  }
}

TEST(SimdTileMath, TernaryMatchesDoubleReference) {
  for (const auto& t : tables()) {
    int covered = 0;
    for (int i = 0; i < kernels::kTernaryCount; ++i) {
      if (!t.ternary[i]) continue;
      ++covered;
      const auto op = static_cast<kernels::Ternary>(i);
      const auto& portable = kernels::ternary_kernel(op);
      engine::KernelParams p{0.25, 0, 0, 0};
      std::vector<float> a = inputs(false, 17 + i), b = inputs(false, 71 + i), c = inputs(false, 130 + i);
      if (op == kernels::Ternary::Lerp)  // weights on both sides of 0.5, and the ends
        for (size_t k = 0; k < c.size(); ++k) c[k] = float(k % 11) / 10.f - 0.25f;
      std::vector<float> y(a.size());
      std::vector<double> ad(a.begin(), a.end()), bd(b.begin(), b.end()), cd(c.begin(), c.end()), yd(a.size());
      const float* in[] = {a.data(), b.data(), c.data()};
      const double* ind[] = {ad.data(), bd.data(), cd.data()};
      t.ternary[i](in, y.data(), static_cast<int64_t>(a.size()), p);
      portable.f64(ind, yd.data(), static_cast<int64_t>(a.size()), p);
      for (size_t k = 0; k < a.size(); ++k) {
        // addcdiv divides by values near zero: compare relative to the terms' size.
        const double scale = std::max({1.0, std::abs(yd[k]), std::abs(ad[k]), std::abs(bd[k] / cd[k])});
        ASSERT_NEAR(y[k], yd[k], 4e-6 * scale)
            << portable.desc->name << " [" << t.capability << "] at " << a[k] << ", " << b[k] << ", " << c[k];
      }
    }
    EXPECT_EQ(covered, 3) << t.capability;  // lerp, addcmul, addcdiv
  }
}

TEST(SimdTileMath, ConversionsRoundLikeC10) {
  for (const auto& t : tables()) {
    std::vector<float> x = inputs(false, 5);
    x[0] = std::nanf("");
    x[1] = 1e30f;
    std::vector<c10::BFloat16> b(x.size());
    std::vector<c10::Half> h(x.size());
    std::vector<float> back(x.size());
    t.float_to_bf16(x.data(), b.data(), static_cast<int64_t>(x.size()));
    t.float_to_half(x.data(), h.data(), static_cast<int64_t>(x.size()));
    for (size_t k = 0; k < x.size(); ++k) {
      if (std::isnan(x[k])) {
        EXPECT_TRUE(std::isnan(static_cast<float>(b[k])));
        continue;
      }
      EXPECT_EQ(b[k].x, c10::BFloat16(x[k]).x) << t.capability << " bf16 of " << x[k];
      EXPECT_EQ(h[k].x, c10::Half(x[k]).x) << t.capability << " half of " << x[k];
    }
    t.bf16_to_float(b.data(), back.data(), static_cast<int64_t>(x.size()));
    for (size_t k = 1; k < x.size(); ++k) EXPECT_EQ(back[k], static_cast<float>(b[k]));
    t.half_to_float(h.data(), back.data(), static_cast<int64_t>(x.size()));
    for (size_t k = 1; k < x.size(); ++k) EXPECT_EQ(back[k], static_cast<float>(h[k]));
  }
}

namespace {

// Special inputs the gradients must treat as the scalar forms do: NaN takes
// the same branch, infinities give the same infinities or NaN.
std::vector<float> special_inputs() {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> v = {std::nanf(""), inf, -inf, 0.f, -0.f, 3.f, -3.f, 0.5f, -0.5f,
                          20.f, -20.f, 100.f, -100.f, 1e-30f, -1e-30f};
  std::vector<float> x = inputs(false, 3);
  x.insert(x.begin() + 17, v.begin(), v.end());  // inside a whole vector
  x.insert(x.end(), v.begin(), v.end());         // in the ragged tail
  return x;
}

}  // namespace

TEST(SimdTileMath, BackwardMatchesDoubleReference) {
  for (const auto& t : tables()) {
    for (int i = 0; i < kernels::kBackwardCount; ++i) {
      if (!t.backward[i]) continue;
      const auto op = static_cast<kernels::Backward>(i);
      const auto& portable = kernels::backward_kernel(op);
      for (int64_t mode : {0, 1}) {  // elu's gradient from its input or its result
        // threshold, slope or lambda 0.5; elu alpha 0.5, scale 1.5; softplus beta 0.5, threshold 1.5
        engine::KernelParams p{0.5, 1.5, 1.0, mode};
        std::vector<float> x = special_inputs(), g = inputs(false, 40 + i), y(x.size());
        g.resize(x.size(), 0.75f);
        std::vector<double> xd(x.begin(), x.end()), gd(g.begin(), g.end()), yd(x.size());
        const float* in[] = {g.data(), x.data()};
        const double* ind[] = {gd.data(), xd.data()};
        t.backward[i](in, y.data(), static_cast<int64_t>(x.size()), p);
        portable.f64(ind, yd.data(), static_cast<int64_t>(x.size()), p);
        for (size_t k = 0; k < x.size(); ++k) {
          const std::string where = std::string(portable.desc->name) + " [" + t.capability +
                                    "] mode " + std::to_string(mode) + " at x=" + std::to_string(x[k]);
          ASSERT_EQ(std::isnan(y[k]), std::isnan(yd[k])) << where << ": " << y[k] << " vs " << yd[k];
          if (std::isnan(yd[k])) continue;
          if (std::isinf(yd[k])) {
            ASSERT_EQ(y[k], yd[k]) << where;
            continue;
          }
          ASSERT_NEAR(y[k], yd[k], 4e-6 * std::max(1.0, std::abs(yd[k]))) << where;
        }
      }
    }
  }
}

TEST(SimdTileMath, BackwardKernelsUseTheSimdForm) {
  // backward_kernel hands out the host's vector form for float, where it has one.
  const auto& best = kernels::simd_tile_math();
  for (int i = 0; i < kernels::kBackwardCount; ++i) {
    const auto& kernel = kernels::backward_kernel(static_cast<kernels::Backward>(i));
    if (best.backward[i]) EXPECT_EQ(kernel.f32, best.backward[i]) << kernel.desc->name;
  }
  EXPECT_TRUE(best.backward[static_cast<int>(kernels::Backward::Gelu)]);
}
