// The fused Adam/AdamW step (torch.optim.Adam(fused=True)): one multi-tensor
// program reads param, grad and both moments once and writes them back.
#pragma once

#include <vector>

#include "engine/program.h"
#include "engine/tensor_ref.h"

namespace accel::kernels {

struct AdamParams {
  double lr, beta1, beta2, weight_decay, eps;
  bool amsgrad, maximize, decoupled;  // decoupled: AdamW's weight decay
  bool has_grad_scale = false;
  float grad_scale = 1;  // grads are divided by it (and stored unscaled)
};

struct AdamJob {
  engine::TensorRef param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq;  // last: amsgrad only
  double step;
};

engine::ProgramRecord run_fused_adam(const chip::Arch& arch, const char* op,
                                     const std::vector<AdamJob>& jobs, engine::DType format,
                                     const AdamParams& p);

}  // namespace accel::kernels
