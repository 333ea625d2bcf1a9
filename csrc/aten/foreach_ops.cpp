// The _foreach_* ops (optimizer steps, gradient clipping and scaling) as
// multi-tensor programs: each tensor's element-wise job follows the single-
// tensor op's own promotion rules, and all jobs share one launch on the cores.
#include <ATen/MemoryOverlap.h>
#include <ATen/ScalarOps.h>
#include <ATen/TensorIterator.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/native/TypeProperties.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/result_type.h>
#include <torch/library.h>

#include <string>

#include "aten/engine_bridge.h"
#include "aten/fallback.h"
#include "kernels/eltwise/binary.h"
#include "kernels/eltwise/unary.h"

namespace accel::aten {
namespace {

using kernels::Binary;
using kernels::Ternary;
using kernels::Unary;

enum class Shape { Unary, Binary, Ternary };

struct ForeachOp {
  Shape shape;
  int kernel;       // Unary, Binary or Ternary value
  bool float_op;    // integer inputs give floating results (div, sqrt, ...)
  const char* param_name;  // the Scalar argument that becomes params.alpha
};

const ForeachOp* lookup(const std::string& base) {
  static const std::map<std::string, ForeachOp> table = {
      {"add", {Shape::Binary, int(Binary::Add), false, "alpha"}},
      {"sub", {Shape::Binary, int(Binary::Sub), false, "alpha"}},
      {"mul", {Shape::Binary, int(Binary::Mul), false, nullptr}},
      {"div", {Shape::Binary, int(Binary::Div), true, nullptr}},
      {"maximum", {Shape::Binary, int(Binary::Maximum), false, nullptr}},
      {"minimum", {Shape::Binary, int(Binary::Minimum), false, nullptr}},
      {"clamp_min", {Shape::Binary, int(Binary::Maximum), false, nullptr}},
      {"clamp_max", {Shape::Binary, int(Binary::Minimum), false, nullptr}},
      {"pow", {Shape::Binary, int(Binary::Pow), false, nullptr}},
      {"sqrt", {Shape::Unary, int(Unary::Sqrt), true, nullptr}},
      {"exp", {Shape::Unary, int(Unary::Exp), true, nullptr}},
      {"log", {Shape::Unary, int(Unary::Log), true, nullptr}},
      {"reciprocal", {Shape::Unary, int(Unary::Reciprocal), true, nullptr}},
      {"neg", {Shape::Unary, int(Unary::Neg), false, nullptr}},
      {"abs", {Shape::Unary, int(Unary::Abs), false, nullptr}},
      {"sign", {Shape::Unary, int(Unary::Sign), false, nullptr}},
      {"addcmul", {Shape::Ternary, int(Ternary::Addcmul), false, "value"}},
      {"addcdiv", {Shape::Ternary, int(Ternary::Addcdiv), false, "value"}},
      {"lerp", {Shape::Ternary, int(Ternary::Lerp), false, nullptr}},
  };
  auto it = table.find(base);
  return it == table.end() ? nullptr : &it->second;
}

const engine::TileKernel& kernel_of(const ForeachOp& op) {
  switch (op.shape) {
    case Shape::Unary: return kernels::unary_kernel(static_cast<Unary>(op.kernel));
    case Shape::Binary: return kernels::binary_kernel(static_cast<Binary>(op.kernel));
    case Shape::Ternary: return kernels::ternary_kernel(static_cast<Ternary>(op.kernel));
  }
  TORCH_INTERNAL_ASSERT(false);
}

// The i-th element-wise operand an argument contributes. A lone tensor is a
// 0-dim scalar for every job, except addcmul/addcdiv's `Tensor scalars`,
// which holds one value per job.
at::Tensor operand_at(const c10::IValue& arg, size_t i, bool per_job_values) {
  if (arg.isTensorList()) return arg.toTensorList().get(i);
  if (arg.isTensor()) {
    const at::Tensor t = arg.toTensor();
    if (per_job_values) return at::native::wrapped_scalar_tensor(t[i].item());
    TORCH_CHECK(t.dim() == 0, "scalar tensor expected to be 0 dim but it has ", t.dim(),
                " dimensions and ", t.numel(), " elements.");
    return t;
  }
  if (arg.isScalar()) return at::native::wrapped_scalar_tensor(arg.toScalar());
  if (arg.isList()) return at::native::wrapped_scalar_tensor(arg.toListRef()[i].toScalar());
  TORCH_INTERNAL_ASSERT(false, "unexpected _foreach argument ", arg.tagKind());
}

size_t list_length(const c10::IValue& arg, bool per_job_values) {
  if (arg.isTensorList()) return arg.toTensorList().size();
  if (arg.isList()) return arg.toListRef().size();
  if (arg.isTensor() && per_job_values) return arg.toTensor().numel();
  return SIZE_MAX;  // one value for every job
}

at::TensorIterator build(const ForeachOp& op, at::Tensor out, const std::vector<at::Tensor>& in) {
  if (op.shape == Shape::Unary)
    return op.float_op ? at::TensorIterator::unary_float_op(out, in[0])
                       : at::TensorIterator::unary_op(out, in[0]);
  if (op.shape == Shape::Binary)
    return op.float_op ? at::TensorIterator::binary_float_op(out, in[0], in[1])
                       : at::TensorIterator::binary_op(out, in[0], in[1]);
  // Ternary: the result takes the promoted type of all three, as addcmul does.
  if (!out.defined()) {
    at::native::ResultTypeState state{};
    for (const auto& t : in) state = at::native::update_result_type_state(t, state);
    out = at::empty(in[0].sizes(), in[0].options().dtype(at::native::result_type(state)));
  }
  // Owned operands: the iterator outlives this job's local tensors.
  return at::TensorIteratorConfig()
      .check_all_same_dtype(false)
      .allow_cpu_scalars(true)
      .promote_inputs_to_common_dtype(false)
      .add_owned_output(out)
      .add_owned_const_input(in[0])
      .add_owned_const_input(in[1])
      .add_owned_const_input(in[2])
      .build();
}

bool tile_dtypes(const std::vector<at::Tensor>& ts) {
  for (const auto& t : ts)
    if (!tile_dtype_of(t.scalar_type())) return false;
  return true;
}

// A job TensorIterator would flatten to one dim without changing a dtype: a
// contiguous floating self, tensor operands of its dtype, sizes and device,
// contiguous, and wrapped (CPU) real numbers, which stay as they are.
bool simple(const std::vector<at::Tensor>& in) {
  const at::Tensor& self = in[0];
  if (!at::isFloatingType(self.scalar_type()) || self.dim() == 0 || self.numel() == 0 ||
      !self.is_contiguous())
    return false;
  for (size_t k = 1; k < in.size(); ++k) {
    const at::Tensor& t = in[k];
    if (t.unsafeGetTensorImpl()->is_wrapped_number()) {
      if (at::isComplexType(t.scalar_type())) return false;
      continue;
    }
    if (t.scalar_type() != self.scalar_type() || t.device() != self.device() ||
        !t.sizes().equals(self.sizes()) || !t.is_contiguous())
      return false;
  }
  return true;
}

// The job of a simple() operand list (self the first input, as in the
// iterator): every operand a run of numel elements, a wrapped number repeated
// (stride 0).
engine::EltwiseJob flat_job(const at::Tensor& out, const std::vector<at::Tensor>& in,
                            const engine::KernelParams& params) {
  const int64_t n = out.numel();
  const auto ref = [n](const at::Tensor& t) {
    const bool repeated = t.unsafeGetTensorImpl()->is_wrapped_number();
    return engine::TensorRef{t.data_ptr(), engine_dtype(t.scalar_type()), {n}, {repeated ? 0 : 1}};
  };
  engine::EltwiseJob job{ref(out), {}, params};
  for (const at::Tensor& t : in) job.inputs.push_back(ref(t));
  return job;
}

void foreach_kernel(const c10::OperatorHandle& handle, torch::jit::Stack* stack) {
  const auto& schema = handle.schema();
  std::string base = schema.name().substr(std::string("aten::_foreach_").size());
  const bool in_place = base.back() == '_';
  if (in_place) base.pop_back();
  const ForeachOp* op = lookup(base);
  TORCH_INTERNAL_ASSERT(op, "no accel multi-tensor program for ", schema.name());

  const size_t n_args = schema.arguments().size();
  auto args = torch::jit::last(*stack, n_args);
  const auto self = args[0].toTensorList();
  // addcmul/addcdiv's last argument scales the product: a parameter, not an operand.
  const bool scaled_product = op->shape == Shape::Ternary && base != "lerp";
  engine::KernelParams scalar_params;
  std::vector<size_t> operand_args;
  for (size_t a = 1; a < n_args; ++a) {
    if (op->param_name && schema.arguments()[a].name() == op->param_name && args[a].isScalar() &&
        op->shape == Shape::Binary) {
      scalar_params.alpha = args[a].toScalar().toDouble();
      continue;
    }
    const size_t len = list_length(args[a], scaled_product && a == n_args - 1);
    TORCH_CHECK(len == SIZE_MAX || len == self.size(),
                "Tensor lists must have the same number of tensors, got ", self.size(), " and ", len);
    operand_args.push_back(a);
  }

  // Per tensor: its operands and job. A Scalar argument is one wrapped number
  // shared by every job.
  std::vector<c10::optional<at::Tensor>> shared(n_args);
  for (size_t a : operand_args)
    if (args[a].isScalar()) shared[a] = at::native::wrapped_scalar_tensor(args[a].toScalar());
  std::vector<at::TensorIterator> iters;   // the jobs built by TensorIterator
  std::vector<std::vector<at::Tensor>> simple_operands;  // held for the launch
  std::vector<engine::EltwiseJob> jobs;
  std::vector<at::ScalarType> job_dtype;
  std::vector<at::Tensor> outs;
  for (size_t i = 0; i < self.size(); ++i) {
    std::vector<at::Tensor> in{self.get(i)};
    engine::KernelParams p = scalar_params;
    for (size_t a : operand_args) {
      const bool value_arg = scaled_product && a == n_args - 1;
      at::Tensor t = shared[a] ? *shared[a] : operand_at(args[a], i, value_arg);
      if (value_arg) p.alpha = t.item().toDouble();
      else in.push_back(std::move(t));
    }
    if (!tile_dtypes(in)) return boxed_fallback(handle, stack);
    if (simple(in)) {
      // What TensorIterator would build, without building it.
      at::Tensor out = in_place ? in[0] : at::empty(in[0].sizes(), in[0].options());
      if (in_place)
        for (size_t k = 1; k < in.size(); ++k) at::assert_no_partial_overlap(out, in[k]);
      jobs.push_back(flat_job(out, in, p));
      job_dtype.push_back(in[0].scalar_type());
      outs.push_back(std::move(out));
      simple_operands.push_back(std::move(in));
      continue;
    }
    iters.push_back(build(*op, in_place ? in[0] : at::Tensor(), in));
    jobs.push_back(eltwise_job(iters.back(), p));
    job_dtype.push_back(op->shape == Shape::Ternary ? iters.back().dtype(0) : iters.back().common_dtype());
    outs.push_back(iters.back().output());
  }

  torch::jit::drop(*stack, n_args);
  if (!jobs.empty()) {
    // A list of mixed dtypes runs one program per compute dtype.
    std::map<at::ScalarType, std::vector<engine::EltwiseJob>> by_dtype;
    for (size_t i = 0; i < jobs.size(); ++i) by_dtype[job_dtype[i]].push_back(std::move(jobs[i]));
    const std::string name = schema.name() + (schema.overload_name().empty() ? "" : "." + schema.overload_name());
    for (auto& [dt, group] : by_dtype)
      launch_eltwise_multi(name.c_str(), kernel_of(*op), group, engine_dtype(dt),
                           self.get(0).device().index());
  }
  if (!in_place) {
    c10::List<at::Tensor> list;
    for (auto& t : outs) list.push_back(std::move(t));
    stack->emplace_back(std::move(list));
  }
}

}  // namespace

TORCH_LIBRARY_IMPL(aten, PrivateUse1, m) {
  const auto reg = [&m](const std::string& name) {
    m.impl(name.c_str(), torch::CppFunction::makeFromBoxedFunction<&foreach_kernel>());
  };
  for (const char* op : {"add", "sub"})
    for (const char* ov : {"List", "Scalar", "ScalarList"})
      for (const char* suffix : {"", "_"})
        reg(std::string("_foreach_") + op + suffix + "." + ov);
  for (const char* op : {"add", "mul", "div"})
    for (const char* suffix : {"", "_"})
      reg(std::string("_foreach_") + op + suffix + ".Tensor");
  for (const char* op : {"mul", "div", "maximum", "minimum", "clamp_min", "clamp_max", "pow"})
    for (const char* ov : {"List", "Scalar", "ScalarList"})
      for (const char* suffix : {"", "_"})
        reg(std::string("_foreach_") + op + suffix + "." + ov);
  for (const char* op : {"sqrt", "exp", "log", "reciprocal", "neg", "abs", "sign"})
    for (const char* suffix : {"", "_"})
      reg(std::string("_foreach_") + op + suffix);
  for (const char* op : {"addcmul", "addcdiv"})
    for (const char* ov : {"Scalar", "ScalarList", "Tensor"})
      for (const char* suffix : {"", "_"})
        reg(std::string("_foreach_") + op + suffix + "." + ov);
  for (const char* ov : {"List", "Scalar", "ScalarList"})
    for (const char* suffix : {"", "_"})
      reg(std::string("_foreach_lerp") + suffix + "." + ov);
}

}  // namespace accel::aten
