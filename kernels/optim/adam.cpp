#include "kernels/optim/adam.h"

#include <algorithm>
#include <cmath>

#include "kernels/optim/multi_tensor.h"

namespace accel::kernels {
namespace {

// The element-wise update of one tile, in the order ATen's fused kernel uses.
void adam_tile(const AdamParams& p, double step, int64_t n, float* param, float* grad, float* m,
               float* v, float* vmax) {
  const double bc1 = 1 - std::pow(p.beta1, step);
  const double bc2_sqrt = std::sqrt(1 - std::pow(p.beta2, step));
  const float step_size = static_cast<float>(p.lr / bc1);
  const float b1 = static_cast<float>(p.beta1), b2 = static_cast<float>(p.beta2);
  const float lr = static_cast<float>(p.lr), wd = static_cast<float>(p.weight_decay);
  const float eps = static_cast<float>(p.eps), bc2s = static_cast<float>(bc2_sqrt);
  for (int64_t i = 0; i < n; ++i) {
    float g = grad[i];
    if (p.has_grad_scale) grad[i] = g = g / p.grad_scale;
    if (p.maximize) g = -g;
    float x = param[i];
    if (wd != 0) {
      if (p.decoupled) x -= lr * wd * x;
      else g += x * wd;
    }
    m[i] = b1 * m[i] + (1 - b1) * g;
    v[i] = b2 * v[i] + (1 - b2) * g * g;
    float second = v[i];
    if (p.amsgrad) second = vmax[i] = std::max(vmax[i], v[i]);
    const float denom = std::sqrt(second) / bc2s + eps;
    param[i] = x - step_size * m[i] / denom;
  }
}

}  // namespace

engine::ProgramRecord run_fused_adam(const chip::Arch& arch, const char* op,
                                     const std::vector<AdamJob>& jobs, engine::DType format,
                                     const AdamParams& p) {
  std::vector<int64_t> numels;
  for (const auto& j : jobs) numels.push_back(j.param.numel());
  const int64_t ops = p.amsgrad ? 5 : 4;
  const int64_t written = ops - 1 + (p.has_grad_scale ? 1 : 0);
  const FlatProgram prog{op, p.decoupled ? "sfpu_fused_adamw" : "sfpu_fused_adam", ops, ops, written};
  return run_flat_multi(arch, prog, numels, format, [&](int64_t, size_t j, int64_t first, int64_t n) {
    const AdamJob& job = jobs[j];
    float param[kFlatTile], grad[kFlatTile], m[kFlatTile], v[kFlatTile], vmax[kFlatTile];
    read_floats(job.param, first, n, param);
    read_floats(job.grad, first, n, grad);
    read_floats(job.exp_avg, first, n, m);
    read_floats(job.exp_avg_sq, first, n, v);
    if (p.amsgrad) read_floats(job.max_exp_avg_sq, first, n, vmax);
    adam_tile(p, job.step, n, param, grad, m, v, vmax);
    write_floats(job.param, first, n, param);
    if (p.has_grad_scale) write_floats(job.grad, first, n, grad);
    write_floats(job.exp_avg, first, n, m);
    write_floats(job.exp_avg_sq, first, n, v);
    if (p.amsgrad) write_floats(job.max_exp_avg_sq, first, n, vmax);
  });
}

}  // namespace accel::kernels
