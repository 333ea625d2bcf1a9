// Losses and their gradients. Element-wise losses are one element-wise
// program (then a reduce program for mean/sum, as ATen itself composes them);
// nll_loss/nll_loss2d, and so cross_entropy, run the engine's NLL programs.
#include <ATen/TensorIterator.h>
#include <ATen/core/Reduction.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/mean.h>
#include <ATen/ops/sum.h>
#include <ATen/ScalarOps.h>
#include <torch/library.h>

#include "aten/device_check.h"
#include "aten/engine_bridge.h"
#include "aten/fallback.h"
#include "engine/loss.h"
#include "glue/glue.h"
#include "kernels/eltwise/unary.h"
#include "kernels/loss/pointwise.h"

namespace accel::aten {
namespace {

using kernels::Loss;

bool floating(const at::Tensor& t) {
  return t.scalar_type() == at::kFloat || t.scalar_type() == at::kBFloat16 ||
         t.scalar_type() == at::kHalf || t.scalar_type() == at::kDouble;
}

const chip::Arch& arch() {
  auto& runtime = chip::Runtime::get();
  return glue::chip_call([&]() -> const chip::Arch& { return runtime.arch(); });
}

// The element-wise operands broadcast and promoted as a binary op's would.
at::TensorIterator loss_iter(const at::Tensor& out, std::initializer_list<at::Tensor> inputs) {
  at::TensorIteratorConfig cfg;
  cfg.set_check_mem_overlap(true)
      .allow_cpu_scalars(true)
      .promote_inputs_to_common_dtype(true)
      .cast_common_dtype_to_outputs(true)
      .enforce_safe_casting_to_output(true)
      .add_owned_output(out);
  for (const auto& t : inputs) cfg.add_owned_const_input(t);
  return cfg.build();
}

at::Tensor run(const char* name, Loss k, const at::Tensor& out, std::initializer_list<at::Tensor> in,
               engine::KernelParams p = {}) {
  auto iter = loss_iter(out, in);
  launch_eltwise(name, kernels::loss_kernel(k), iter, p);
  return iter.output();
}

// The per-element losses, reduced as asked. `out` may be undefined.
at::Tensor reduce_into(const at::Tensor& elem, int64_t reduction, at::Tensor out) {
  if (reduction == at::Reduction::None) {
    if (!out.defined()) return elem;
    out.resize_(elem.sizes());
    return out.copy_(elem);
  }
  if (!out.defined()) return reduction == at::Reduction::Mean ? elem.mean() : elem.sum();
  return reduction == at::Reduction::Mean ? at::mean_out(out, elem, at::IntArrayRef{})
                                          : at::sum_out(out, elem, at::IntArrayRef{});
}

at::Tensor pointwise_loss(const char* name, Loss k, const at::Tensor& x, const at::Tensor& y,
                          int64_t reduction, double param, at::Tensor out = {}) {
  // Per-element losses land in out directly when nothing is reduced.
  const bool direct = reduction == at::Reduction::None && out.defined();
  at::Tensor elem = run(name, k, direct ? out : at::Tensor(), {x, y}, {param});
  return direct ? out : reduce_into(elem, reduction, out);
}

double norm_of(const at::Tensor& x, int64_t reduction) {
  return reduction == at::Reduction::Mean ? 1.0 / static_cast<double>(x.numel()) : 1.0;
}

at::Tensor pointwise_grad(const char* name, Loss k, const at::Tensor& g, const at::Tensor& x,
                          const at::Tensor& y, int64_t reduction, double param,
                          const at::Tensor& out = {}) {
  return run(name, k, out, {g, x, y}, {norm_of(x, reduction), param});
}

at::Tensor weight_or_one(const std::optional<at::Tensor>& w) {
  return w.has_value() && w->defined() ? *w : at::native::wrapped_scalar_tensor(1.0);
}

at::Tensor bce(const at::Tensor& x, const at::Tensor& y, const std::optional<at::Tensor>& w,
               int64_t reduction, at::Tensor out = {}) {
  const bool direct = reduction == at::Reduction::None && out.defined();
  at::Tensor elem = run("aten::binary_cross_entropy", Loss::Bce, direct ? out : at::Tensor(),
                        {x, y, weight_or_one(w)});
  return direct ? out : reduce_into(elem, reduction, out);
}

at::Tensor bce_grad(const at::Tensor& g, const at::Tensor& x, const at::Tensor& y,
                    const std::optional<at::Tensor>& w, int64_t reduction, const at::Tensor& out = {}) {
  return run("aten::binary_cross_entropy_backward", Loss::BceBackward, out,
             {g, x, y, weight_or_one(w)}, {norm_of(x, reduction)});
}

// --- negative log-likelihood ---

engine::TensorRef ref_of(const at::Tensor& t) {
  if (!t.defined()) return {};
  check_accel_operand(t);
  engine::TensorRef r;
  r.data = const_cast<void*>(t.const_data_ptr());
  r.dtype = engine_dtype(t.scalar_type());
  r.sizes = t.sizes().vec();
  r.strides = t.strides().vec();
  return r;
}

struct NllArgs {
  engine::NllShape shape;
  at::Tensor input, target, weight;  // contiguous
};

// ATen's shape checks, with its messages and exception types.
NllArgs nll_args(const at::Tensor& self, const at::Tensor& target,
                 const std::optional<at::Tensor>& weight_opt, int64_t reduction,
                 int64_t ignore_index, bool two_d) {
  TORCH_CHECK(target.scalar_type() == at::kLong || target.scalar_type() == at::kByte,
              "expected scalar type Long but found ", target.scalar_type());
  NllArgs a;
  if (two_d) {
    TORCH_CHECK(target.dim() == 3, "only batches of spatial targets supported (3D tensors) but got "
                "targets of dimension: ", target.dim());
    TORCH_CHECK(self.dim() == 4, "only batches of spatial inputs supported (4D tensors), but got "
                "input of dimension: ", self.dim());
    TORCH_CHECK(self.size(0) == target.size(0) && self.size(2) == target.size(1) &&
                    self.size(3) == target.size(2),
                "input and target batch or spatial sizes don't match: target ", target.sizes(),
                ", input ", self.sizes());
    a.shape = {self.size(0), self.size(1), self.size(2) * self.size(3), ignore_index,
               static_cast<engine::Reduction>(reduction)};
  } else {
    TORCH_CHECK(self.dim() > 0 && self.dim() <= 2, "input tensor should be 1D or 2D");
    TORCH_CHECK(target.dim() <= 1, "0D or 1D target tensor expected, multi-target not supported");
    const bool no_batch = self.dim() == 1 && target.dim() == 0;
    TORCH_CHECK(no_batch || self.size(0) == target.size(0), "size mismatch (got input: ",
                self.sizes(), ", target: ", target.sizes(), ")");
    a.shape = {self.dim() == 1 ? 1 : self.size(0), self.size(-1), 1, ignore_index,
               static_cast<engine::Reduction>(reduction)};
  }
  TORCH_CHECK(reduction >= 0 && reduction <= 2, reduction, " is not a valid value for reduction");
  a.input = self.contiguous();
  a.target = target.to(at::kLong).contiguous();
  if (weight_opt.has_value() && weight_opt->defined()) {
    TORCH_CHECK(weight_opt->numel() == a.shape.c,
                "weight tensor should be defined either for all ", a.shape.c,
                " classes or no classes but got weight tensor of shape: ", weight_opt->sizes());
    a.weight = weight_opt->to(self.scalar_type()).contiguous();
  }
  return a;
}

std::vector<int64_t> none_sizes(const at::Tensor& self, bool two_d) {
  if (two_d) return {self.size(0), self.size(2), self.size(3)};
  if (self.dim() == 1) return {};
  return {self.size(0)};
}

void nll_forward_into(const at::Tensor& self, const at::Tensor& target,
                      const std::optional<at::Tensor>& weight, int64_t reduction,
                      int64_t ignore_index, bool two_d, at::Tensor& output,
                      at::Tensor& total_weight) {
  NllArgs a = nll_args(self, target, weight, reduction, ignore_index, two_d);
  const char* name = two_d ? "aten::nll_loss2d_forward" : "aten::nll_loss_forward";
  if (reduction == at::Reduction::None) output.resize_(none_sizes(self, two_d));
  else output.resize_({});
  total_weight.resize_({});
  at::Tensor out_c = output.is_contiguous() ? output : at::empty(output.sizes(), output.options());
  bool bad = false;
  int64_t bad_target = 0;
  engine::ProgramRecord rec;
  try {
    rec = engine::run_nll_forward(arch(), name, a.shape, ref_of(a.input), ref_of(a.target),
                                  ref_of(a.weight), ref_of(out_c), ref_of(total_weight), &bad,
                                  &bad_target);
  } catch (const engine::L1OverflowError& e) {
    TORCH_CHECK(false, e.what());
  }
  TORCH_CHECK_INDEX(!bad, "Target ", bad_target, " is out of bounds.");
  if (!out_c.is_same(output)) output.copy_(out_c);
  rec.device = self.device().index();
  engine::record(std::move(rec));
}

std::tuple<at::Tensor, at::Tensor> nll_forward(const at::Tensor& self, const at::Tensor& target,
                                               const std::optional<at::Tensor>& weight,
                                               int64_t reduction, int64_t ignore_index, bool two_d) {
  if (!floating(self)) {
    auto outs = fallback_call_stack(two_d ? "aten::nll_loss2d_forward" : "aten::nll_loss_forward",
                                    "", {self, target, weight, reduction, ignore_index});
    return {outs[0].toTensor(), outs[1].toTensor()};
  }
  at::Tensor output = at::empty({0}, self.options());
  at::Tensor total_weight = at::empty({}, self.options());
  nll_forward_into(self, target, weight, reduction, ignore_index, two_d, output, total_weight);
  return {output, total_weight};
}

void nll_backward_into(const at::Tensor& grad_output, const at::Tensor& self,
                       const at::Tensor& target, const std::optional<at::Tensor>& weight,
                       int64_t reduction, int64_t ignore_index, const at::Tensor& total_weight,
                       bool two_d, at::Tensor& grad_input) {
  NllArgs a = nll_args(self, target, weight, reduction, ignore_index, two_d);
  const char* name = two_d ? "aten::nll_loss2d_backward" : "aten::nll_loss_backward";
  if (reduction == at::Reduction::None) {
    TORCH_CHECK(grad_output.sizes() == at::IntArrayRef(none_sizes(self, two_d)),
                "Expected a tensor of size ", at::IntArrayRef(none_sizes(self, two_d)),
                " but got ", grad_output.sizes());
  } else {
    TORCH_CHECK(grad_output.numel() == 1, "Expected a single element grad_output tensor, but got: ",
                grad_output.sizes());
  }
  TORCH_CHECK(total_weight.numel() == 1, "expected total_weight to be a single element tensor, got: ",
              total_weight.sizes(), " (", total_weight.numel(), " elements)");
  grad_input.resize_(self.sizes());
  at::Tensor gi = grad_input.is_contiguous() ? grad_input : at::empty(self.sizes(), self.options());
  const at::Tensor g = grad_output.to(self.scalar_type()).contiguous();
  const at::Tensor tw = total_weight.to(self.scalar_type());
  bool bad = false;
  int64_t bad_target = 0;
  engine::ProgramRecord rec;
  try {
    rec = engine::run_nll_backward(arch(), name, a.shape, ref_of(g), ref_of(a.target),
                                   ref_of(a.weight), ref_of(tw), ref_of(gi), &bad, &bad_target);
  } catch (const engine::L1OverflowError& e) {
    TORCH_CHECK(false, e.what());
  }
  TORCH_CHECK_INDEX(!bad, "Target ", bad_target, " is out of bounds.");
  if (!gi.is_same(grad_input)) grad_input.copy_(gi);
  rec.device = self.device().index();
  engine::record(std::move(rec));
}

at::Tensor nll_backward(const at::Tensor& grad_output, const at::Tensor& self,
                        const at::Tensor& target, const std::optional<at::Tensor>& weight,
                        int64_t reduction, int64_t ignore_index, const at::Tensor& total_weight,
                        bool two_d) {
  if (!floating(self))
    return fallback_call(two_d ? "aten::nll_loss2d_backward" : "aten::nll_loss_backward", "",
                         {grad_output, self, target, weight, reduction, ignore_index, total_weight});
  at::Tensor grad_input = at::empty(self.sizes(), self.options());
  nll_backward_into(grad_output, self, target, weight, reduction, ignore_index, total_weight, two_d,
                    grad_input);
  return grad_input;
}

using OptT = const std::optional<at::Tensor>&;
using T = const at::Tensor&;

}  // namespace

TORCH_LIBRARY_IMPL(aten, PrivateUse1, m) {
  {
    {
      m.impl("nll_loss2d_forward", [](T s, T t, OptT w, int64_t r, int64_t ii) { return nll_forward(s, t, w, r, ii, true); });
      m.impl("nll_loss2d_forward.output", [](T s, T t, OptT w, int64_t r, int64_t ii, at::Tensor& o, at::Tensor& tw) {
        nll_forward_into(s, t, w, r, ii, true, o, tw);
        return std::tuple<at::Tensor&, at::Tensor&>(o, tw);
      });
      m.impl("nll_loss2d_backward", [](T g, T s, T t, OptT w, int64_t r, int64_t ii, T tw) { return nll_backward(g, s, t, w, r, ii, tw, true); });
      m.impl("nll_loss2d_backward.grad_input", [](T g, T s, T t, OptT w, int64_t r, int64_t ii, T tw, at::Tensor& gi) -> at::Tensor& {
        nll_backward_into(g, s, t, w, r, ii, tw, true, gi);
        return gi;
      });
    }
    {
      m.impl("nll_loss_forward", [](T s, T t, OptT w, int64_t r, int64_t ii) { return nll_forward(s, t, w, r, ii, false); });
      m.impl("nll_loss_forward.output", [](T s, T t, OptT w, int64_t r, int64_t ii, at::Tensor& o, at::Tensor& tw) {
        nll_forward_into(s, t, w, r, ii, false, o, tw);
        return std::tuple<at::Tensor&, at::Tensor&>(o, tw);
      });
      m.impl("nll_loss_backward", [](T g, T s, T t, OptT w, int64_t r, int64_t ii, T tw) { return nll_backward(g, s, t, w, r, ii, tw, false); });
      m.impl("nll_loss_backward.grad_input", [](T g, T s, T t, OptT w, int64_t r, int64_t ii, T tw, at::Tensor& gi) -> at::Tensor& {
        nll_backward_into(g, s, t, w, r, ii, tw, false, gi);
        return gi;
      });
    }
  }

  // Element-wise losses: functional and out= forms of each value and gradient.
#define ACCEL_POINTWISE_LOSS(op, K, KB, param_default, out_name, grad_out_name)                      \
  m.impl(#op, [](T x, T y, int64_t r, double p) {                                                    \
    if (!floating(x)) return fallback_call("aten::" #op, "", {x, y, r, p});                          \
    return pointwise_loss("aten::" #op, K, x, y, r, p);                                              \
  });                                                                                                \
  m.impl(#op "." out_name, [](T x, T y, int64_t r, double p, at::Tensor& out) -> at::Tensor& {       \
    pointwise_loss("aten::" #op, K, x, y, r, p, out);                                                \
    return out;                                                                                      \
  });                                                                                                \
  m.impl(#op "_backward", [](T g, T x, T y, int64_t r, double p) {                                   \
    return pointwise_grad("aten::" #op "_backward", KB, g, x, y, r, p);                              \
  });                                                                                                \
  m.impl(#op "_backward." grad_out_name, [](T g, T x, T y, int64_t r, double p, at::Tensor& gi) -> at::Tensor& { \
    pointwise_grad("aten::" #op "_backward", KB, g, x, y, r, p, gi);                                 \
    return gi;                                                                                       \
  });
  ACCEL_POINTWISE_LOSS(smooth_l1_loss, Loss::SmoothL1, Loss::SmoothL1Backward, 1.0, "out", "grad_input")
  ACCEL_POINTWISE_LOSS(huber_loss, Loss::Huber, Loss::HuberBackward, 1.0, "out", "out")
#undef ACCEL_POINTWISE_LOSS

  m.impl("mse_loss", [](T x, T y, int64_t r) {
    if (!floating(x)) return fallback_call("aten::mse_loss", "", {x, y, r});
    return pointwise_loss("aten::mse_loss", Loss::Mse, x, y, r, 0);
  });
  m.impl("mse_loss.out", [](T x, T y, int64_t r, at::Tensor& out) -> at::Tensor& {
    pointwise_loss("aten::mse_loss", Loss::Mse, x, y, r, 0, out);
    return out;
  });
  m.impl("mse_loss_backward", [](T g, T x, T y, int64_t r) {
    return pointwise_grad("aten::mse_loss_backward", Loss::MseBackward, g, x, y, r, 0);
  });
  m.impl("mse_loss_backward.grad_input", [](T g, T x, T y, int64_t r, at::Tensor& gi) -> at::Tensor& {
    pointwise_grad("aten::mse_loss_backward", Loss::MseBackward, g, x, y, r, 0, gi);
    return gi;
  });

  m.impl("binary_cross_entropy", [](T x, T y, OptT w, int64_t r) {
    if (!floating(x)) return fallback_call("aten::binary_cross_entropy", "", {x, y, w, r});
    return bce(x, y, w, r);
  });
  m.impl("binary_cross_entropy.out", [](T x, T y, OptT w, int64_t r, at::Tensor& out) -> at::Tensor& {
    bce(x, y, w, r, out);
    return out;
  });
  m.impl("binary_cross_entropy_backward", [](T g, T x, T y, OptT w, int64_t r) {
    return bce_grad(g, x, y, w, r);
  });
  m.impl("binary_cross_entropy_backward.grad_input", [](T g, T x, T y, OptT w, int64_t r, at::Tensor& gi) -> at::Tensor& {
    bce_grad(g, x, y, w, r, gi);
    return gi;
  });

  // l1_loss's gradient runs sgn; cross_entropy's label smoothing, bitwise_not
  // of its ignore mask.
  m.impl("sgn.out", [](T a, at::Tensor& out) -> at::Tensor& {
    if (!floating(a) && a.is_complex()) { fallback_call("aten::sgn", "out", {a, out}); return out; }
    auto iter = at::TensorIterator::unary_op(out, a);
    launch_eltwise("aten::sgn.out", kernels::unary_kernel(kernels::Unary::Sign), iter);
    return out;
  });
  m.impl("bitwise_not.out", [](T a, at::Tensor& out) -> at::Tensor& {
    TORCH_CHECK_NOT_IMPLEMENTED(!at::isFloatingType(a.scalar_type()) && !a.is_complex(),
                                "\"bitwise_not_cpu\" not implemented for '", a.scalar_type(), "'");
    auto iter = at::TensorIterator::unary_op(out, a);
    launch_eltwise("aten::bitwise_not.out", kernels::loss_kernel(Loss::BitwiseNot), iter,
                   {0, 0, 0, a.scalar_type() == at::kBool ? 1 : 0});
    return out;
  });

  // log_sigmoid's buffer is empty, as on CUDA: the gradient recomputes from the input.
  m.impl("log_sigmoid_forward", [](T x) {
    if (!floating(x)) {
      auto outs = fallback_call_stack("aten::log_sigmoid_forward", "", {x});
      return std::make_tuple(outs[0].toTensor(), outs[1].toTensor());
    }
    return std::make_tuple(run("aten::log_sigmoid_forward", Loss::LogSigmoid, {}, {x}),
                           at::empty({0}, x.options()));
  });
  m.impl("log_sigmoid_forward.output", [](T x, at::Tensor& out, at::Tensor& buffer) {
    run("aten::log_sigmoid_forward", Loss::LogSigmoid, out, {x});
    buffer.resize_({0});
    return std::tuple<at::Tensor&, at::Tensor&>(out, buffer);
  });
  m.impl("log_sigmoid_backward", [](T g, T x, T) {
    return run("aten::log_sigmoid_backward", Loss::LogSigmoidBackward, {}, {g, x});
  });
  m.impl("log_sigmoid_backward.grad_input", [](T g, T x, T, at::Tensor& gi) -> at::Tensor& {
    run("aten::log_sigmoid_backward", Loss::LogSigmoidBackward, gi, {g, x});
    return gi;
  });
}

}  // namespace accel::aten
