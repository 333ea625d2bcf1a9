// Loss and optimizer programs against scalar references: NLL forward and
// backward over [N, C, S] with partial row tiles, weights, ignore_index and
// bad targets; the element-wise loss kernels; the unscale/inf check and the
// fused Adam step over several tensors split across the cores.
#include <gtest/gtest.h>

#include <c10/util/BFloat16.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "chip/arch.h"
#include "engine/loss.h"
#include "kernels/loss/pointwise.h"
#include "kernels/optim/adam.h"
#include "kernels/optim/amp.h"

using namespace accel;
using engine::DType;
using engine::TensorRef;

namespace {

const chip::Arch& tiny() {
  static chip::Arch arch = chip::preset("tiny");
  return arch;
}

TensorRef flat(void* data, DType dt, int64_t n) { return {data, dt, {n}, {1}}; }

std::vector<float> random_floats(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist;
  std::vector<float> v(n);
  for (auto& x : v) x = dist(gen);
  return v;
}

struct NllCase {
  int64_t n, c, s;
  engine::Reduction reduction;
  bool weighted;
};

class NllTest : public ::testing::TestWithParam<NllCase> {};

TEST_P(NllTest, MatchesScalarReference) {
  const auto p = GetParam();
  const int64_t rows = p.n * p.s;
  auto x = random_floats(p.n * p.c * p.s, 1);
  auto w = random_floats(p.c, 2);
  for (auto& v : w) v = std::abs(v);
  std::vector<int64_t> t(rows);
  for (int64_t r = 0; r < rows; ++r) t[r] = r % 5 == 3 ? -100 : (r * 7) % p.c;
  const engine::NllShape sh{p.n, p.c, p.s, -100, p.reduction};
  const bool none = p.reduction == engine::Reduction::None;
  std::vector<float> out(none ? rows : 1), tw(1);
  TensorRef weight = p.weighted ? flat(w.data(), DType::F32, p.c) : TensorRef{};
  bool bad = true;
  int64_t bad_target = 0;
  auto rec = engine::run_nll_forward(tiny(), "nll", sh, flat(x.data(), DType::F32, x.size()),
                                     flat(t.data(), DType::I64, rows), weight,
                                     flat(out.data(), DType::F32, out.size()),
                                     flat(tw.data(), DType::F32, 1), &bad, &bad_target);
  EXPECT_FALSE(bad);
  double sum = 0, wsum = 0;
  std::vector<double> ref(rows, 0);
  for (int64_t r = 0; r < rows; ++r) {
    if (t[r] == -100) continue;
    const double wt = p.weighted ? w[t[r]] : 1.0;
    ref[r] = -wt * x[((r / p.s) * p.c + t[r]) * p.s + r % p.s];
    sum += ref[r];
    wsum += wt;
  }
  if (none) {
    for (int64_t r = 0; r < rows; ++r) EXPECT_NEAR(out[r], ref[r], 1e-5) << r;
  } else {
    EXPECT_NEAR(tw[0], wsum, 1e-4);
    EXPECT_NEAR(out[0], p.reduction == engine::Reduction::Mean ? sum / wsum : sum, 1e-4);
  }
  EXPECT_EQ(rec.tiles, (rows + 31) / 32);

  // Backward: zero everywhere but each row's target entry.
  std::vector<float> g = none ? random_floats(rows, 3) : std::vector<float>{1.5f};
  std::vector<float> gi(x.size(), 7.f);
  engine::run_nll_backward(tiny(), "nll_backward", sh, flat(g.data(), DType::F32, g.size()),
                           flat(t.data(), DType::I64, rows), weight, flat(tw.data(), DType::F32, 1),
                           flat(gi.data(), DType::F32, gi.size()), &bad, &bad_target);
  EXPECT_FALSE(bad);
  std::vector<double> gref(x.size(), 0);
  for (int64_t r = 0; r < rows; ++r) {
    if (t[r] == -100) continue;
    const double wt = p.weighted ? w[t[r]] : 1.0;
    const double norm = p.reduction == engine::Reduction::Mean ? 1.0 / tw[0] : 1.0;
    gref[((r / p.s) * p.c + t[r]) * p.s + r % p.s] = -wt * (none ? g[r] : g[0]) * norm;
  }
  for (size_t i = 0; i < gi.size(); ++i) EXPECT_NEAR(gi[i], gref[i], 1e-5) << i;
}

INSTANTIATE_TEST_SUITE_P(Shapes, NllTest,
                         ::testing::Values(NllCase{37, 5, 1, engine::Reduction::Mean, true},
                                           NllCase{70, 3, 1, engine::Reduction::None, false},
                                           NllCase{3, 4, 45, engine::Reduction::Sum, true},
                                           NllCase{2, 6, 33, engine::Reduction::None, true},
                                           NllCase{1, 1, 1, engine::Reduction::Mean, false}));

TEST(Nll, BadTargetStopsTheProgram) {
  std::vector<float> x(40, 0.f), out(1), tw(1);
  std::vector<int64_t> t(10, 1);
  t[6] = 4;
  bool bad = false;
  int64_t bad_target = 0;
  engine::run_nll_forward(tiny(), "nll", {10, 4, 1, -100, engine::Reduction::Mean},
                          flat(x.data(), DType::F32, 40), flat(t.data(), DType::I64, 10), {},
                          flat(out.data(), DType::F32, 1), flat(tw.data(), DType::F32, 1), &bad,
                          &bad_target);
  EXPECT_TRUE(bad);
  EXPECT_EQ(bad_target, 4);
}

TEST(LossKernels, PointwiseAgainstFormulas) {
  const float x[4] = {0.2f, -1.5f, 3.f, 0.f}, y[4] = {0.1f, 0.5f, -1.f, 2.f};
  const float* in[2] = {x, y};
  float out[4];
  engine::KernelParams p{1.0};
  kernels::loss_kernel(kernels::Loss::SmoothL1).f32(in, out, 4, p);
  EXPECT_NEAR(out[0], 0.5f * 0.01f, 1e-6);
  EXPECT_NEAR(out[1], 2.f - 0.5f, 1e-6);
  kernels::loss_kernel(kernels::Loss::Huber).f32(in, out, 4, {0.5});
  EXPECT_NEAR(out[2], 0.5f * (4.f - 0.25f), 1e-6);
  kernels::loss_kernel(kernels::Loss::Mse).f32(in, out, 4, {});
  EXPECT_NEAR(out[3], 4.f, 1e-6);
  const float* one[1] = {x};
  kernels::loss_kernel(kernels::Loss::LogSigmoid).f32(one, out, 4, {});
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(out[i], std::log(1.f / (1.f + std::exp(-x[i]))), 1e-6);
  const float bad[1] = {1.5f}, w[1] = {1.f};
  const float* bce_in[3] = {bad, y, w};
  EXPECT_THROW(kernels::loss_kernel(kernels::Loss::Bce).f32(bce_in, out, 1, {}), std::domain_error);
}

TEST(Amp, UnscaleFindsInfAcrossTensors) {
  auto a = random_floats(3000, 4), b = random_floats(5, 5);
  std::vector<c10::BFloat16> c(2100, c10::BFloat16(1.f));
  auto a0 = a;
  bool found = true;
  kernels::run_unscale(tiny(), {flat(a.data(), DType::F32, a.size()), flat(b.data(), DType::F32, 5)},
                       DType::F32, 0.5f, &found);
  EXPECT_FALSE(found);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], a0[i] * 0.5f);
  c[2099] = std::numeric_limits<float>::infinity();
  kernels::run_unscale(tiny(), {flat(c.data(), DType::BF16, c.size())}, DType::BF16, 1.f, &found);
  EXPECT_TRUE(found);
  auto s = kernels::update_scale({8.f, 1}, false, 2.0, 0.5, 2);
  EXPECT_EQ(s.scale, 16.f);
  EXPECT_EQ(s.growth_tracker, 0);
  s = kernels::update_scale(s, true, 2.0, 0.5, 2);
  EXPECT_EQ(s.scale, 8.f);
}

TEST(FusedAdam, MatchesScalarStep) {
  // Two tensors (3 + 3 tiles) split over the cores together.
  const int64_t n = 2500;
  auto p0 = random_floats(n, 6), grad = random_floats(n, 7);
  kernels::AdamParams p{0.01, 0.9, 0.999, 0.1, 1e-8, true, false, true};
  std::vector<std::vector<float>> param(2, p0), m(2, std::vector<float>(n, 0.1f)),
      v(2, std::vector<float>(n, 0.2f)), vmax(2, std::vector<float>(n, 0.3f)), g(2, grad);
  std::vector<kernels::AdamJob> jobs;
  for (int k = 0; k < 2; ++k)
    jobs.push_back({flat(param[k].data(), DType::F32, n), flat(g[k].data(), DType::F32, n),
                    flat(m[k].data(), DType::F32, n), flat(v[k].data(), DType::F32, n),
                    flat(vmax[k].data(), DType::F32, n), 3.0 + k});
  auto rec = kernels::run_fused_adam(tiny(), "adamw", jobs, DType::F32, p);
  EXPECT_EQ(rec.tiles, 6);
  EXPECT_EQ(rec.cores_used, tiny().num_cores());
  for (int k = 0; k < 2; ++k) {
    const double step = 3.0 + k;
    for (int64_t i : {int64_t(0), int64_t(1500), n - 1}) {
      const double gi = grad[i];
      double x = p0[i];
      x -= 0.01 * 0.1 * x;
      const double mm = 0.9 * 0.1 + 0.1 * gi, vv = 0.999 * 0.2 + 0.001 * gi * gi;
      const double vm = std::max(0.3, vv);
      x -= 0.01 / (1 - std::pow(0.9, step)) * mm /
           (std::sqrt(vm) / std::sqrt(1 - std::pow(0.999, step)) + 1e-8);
      EXPECT_NEAR(param[k][i], x, 1e-5) << k << " " << i;
      EXPECT_NEAR(m[k][i], mm, 1e-6);
      EXPECT_NEAR(vmax[k][i], vm, 1e-6);
    }
  }
}

}  // namespace
