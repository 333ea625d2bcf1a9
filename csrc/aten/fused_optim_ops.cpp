// Adam(fused=True) and AdamW(fused=True): the whole step of a parameter list
// as one multi-tensor program (kernels/optim/adam.cpp).
#include <ATen/ATen.h>
#include <torch/library.h>

#include "aten/engine_bridge.h"
#include "glue/glue.h"
#include "kernels/optim/adam.h"

namespace accel::aten {
namespace {

const chip::Arch& arch() {
  auto& runtime = chip::Runtime::get();
  return glue::chip_call([&]() -> const chip::Arch& { return runtime.arch(); });
}

// A contiguous operand; a strided one is worked on a copy written back after.
struct Operand {
  at::Tensor orig, work;
  explicit Operand(const at::Tensor& t) : orig(t), work(t.is_contiguous() ? t : t.contiguous()) {}
  engine::TensorRef ref() const {
    engine::TensorRef r;
    r.data = work.data_ptr();
    r.dtype = engine_dtype(work.scalar_type());
    r.sizes = {work.numel()};
    r.strides = {1};
    return r;
  }
  void write_back() { if (!work.is_same(orig)) orig.copy_(work); }
};

void check_list(at::TensorList l, at::TensorList params, const char* name) {
  TORCH_CHECK(l.size() == params.size(), "Tensor lists must have the same number of tensors, got ",
              params.size(), " and ", l.size(), " (", name, ")");
  for (size_t i = 0; i < l.size(); ++i) {
    TORCH_CHECK(l[i].device() == params[i].device(), name, " must be on the parameters' device");
    TORCH_CHECK(l[i].numel() == params[i].numel(), name, " must match the parameters' sizes");
  }
}

void fused_adam(const char* op, bool decoupled, at::TensorList params, at::TensorList grads,
                at::TensorList exp_avgs, at::TensorList exp_avg_sqs, at::TensorList max_exp_avg_sqs,
                at::TensorList state_steps, double lr, double beta1, double beta2,
                double weight_decay, double eps, bool amsgrad, bool maximize,
                const std::optional<at::Tensor>& grad_scale, const std::optional<at::Tensor>& found_inf) {
  if (params.empty()) return;
  check_list(grads, params, "grads");
  check_list(exp_avgs, params, "exp_avgs");
  check_list(exp_avg_sqs, params, "exp_avg_sqs");
  if (amsgrad) check_list(max_exp_avg_sqs, params, "max_exp_avg_sqs");
  TORCH_CHECK(state_steps.size() == params.size(), "state_steps must have one step per parameter");
  // GradScaler found an inf: the step is skipped, as on CPU and CUDA.
  if (found_inf.has_value() && found_inf->defined() && found_inf->item<double>() == 1.0) return;

  kernels::AdamParams p{lr, beta1, beta2, weight_decay, eps, amsgrad, maximize, decoupled};
  if (grad_scale.has_value() && grad_scale->defined()) {
    p.has_grad_scale = true;
    p.grad_scale = grad_scale->item<float>();
  }
  std::map<at::ScalarType, std::vector<size_t>> by_dtype;
  for (size_t i = 0; i < params.size(); ++i) {
    const auto dt = params[i].scalar_type();
    TORCH_CHECK(at::isFloatingType(dt), "fused Adam takes floating parameters, got ", dt);
    for (at::TensorList l : {grads, exp_avgs, exp_avg_sqs})
      TORCH_CHECK(l[i].scalar_type() == dt, "fused Adam expects the gradient and state of a "
                  "parameter in its dtype ", dt, ", got ", l[i].scalar_type());
    by_dtype[dt].push_back(i);
  }
  for (auto& [dt, idx] : by_dtype) {
    std::vector<Operand> held;
    held.reserve(idx.size() * 5);
    std::vector<kernels::AdamJob> jobs;
    for (size_t i : idx) {
      kernels::AdamJob job;
      held.emplace_back(params[i]);
      job.param = held.back().ref();
      held.emplace_back(grads[i]);
      job.grad = held.back().ref();
      held.emplace_back(exp_avgs[i]);
      job.exp_avg = held.back().ref();
      held.emplace_back(exp_avg_sqs[i]);
      job.exp_avg_sq = held.back().ref();
      if (amsgrad) {
        held.emplace_back(max_exp_avg_sqs[i]);
        job.max_exp_avg_sq = held.back().ref();
      }
      job.step = state_steps[i].item<double>();
      jobs.push_back(std::move(job));
    }
    auto rec = kernels::run_fused_adam(arch(), op, jobs, engine_dtype(dt), p);
    rec.device = params[0].device().index();
    engine::record(std::move(rec));
    for (auto& o : held) o.write_back();
  }
}

#define ACCEL_FUSED_ADAM(fn, op, decoupled)                                                        \
  void fn(at::TensorList self, at::TensorList grads, at::TensorList exp_avgs,                      \
          at::TensorList exp_avg_sqs, at::TensorList max_exp_avg_sqs, at::TensorList state_steps,  \
          double lr, double beta1, double beta2, double weight_decay, double eps, bool amsgrad,     \
          bool maximize, const std::optional<at::Tensor>& grad_scale,                              \
          const std::optional<at::Tensor>& found_inf) {                                            \
    fused_adam(op, decoupled, self, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps,    \
               lr, beta1, beta2, weight_decay, eps, amsgrad, maximize, grad_scale, found_inf);     \
  }                                                                                                \
  void fn##_tensor_lr(at::TensorList self, at::TensorList grads, at::TensorList exp_avgs,          \
                      at::TensorList exp_avg_sqs, at::TensorList max_exp_avg_sqs,                  \
                      at::TensorList state_steps, const at::Tensor& lr, double beta1,              \
                      double beta2, double weight_decay, double eps, bool amsgrad, bool maximize,  \
                      const std::optional<at::Tensor>& grad_scale,                                 \
                      const std::optional<at::Tensor>& found_inf) {                                \
    fused_adam(op ".tensor_lr", decoupled, self, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs,    \
               state_steps, lr.item<double>(), beta1, beta2, weight_decay, eps, amsgrad, maximize, \
               grad_scale, found_inf);                                                             \
  }
ACCEL_FUSED_ADAM(fused_adam_, "aten::_fused_adam_", false)
ACCEL_FUSED_ADAM(fused_adamw_, "aten::_fused_adamw_", true)
#undef ACCEL_FUSED_ADAM

}  // namespace

TORCH_LIBRARY_IMPL(aten, PrivateUse1, m) {
  m.impl("_fused_adam_", fused_adam_);
  m.impl("_fused_adam_.tensor_lr", fused_adam__tensor_lr);
  m.impl("_fused_adamw_", fused_adamw_);
  m.impl("_fused_adamw_.tensor_lr", fused_adamw__tensor_lr);
}

}  // namespace accel::aten
