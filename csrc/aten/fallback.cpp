// Every op without an accel kernel runs on the CPU through ATen's boxed
// fallback, counted per op and governed by TORCH_ACCEL_FALLBACK. In estimate
// mode it runs nowhere: the op's meta kernel gives the outputs' shapes and
// the estimate counts a host fallback.
#include <ATen/native/CPUFallback.h>
#include <ATen/ops/empty_strided.h>
#include <torch/library.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "aten/fallback.h"
#include "engine/plan_mode.h"
#include "glue/estimate.h"
#include "glue/glue.h"

namespace accel::aten {
namespace {

std::mutex g_mutex;
std::map<std::string, int64_t> g_counts;
std::set<std::string> g_warned;
std::optional<FallbackPolicy> g_policy;

FallbackPolicy parse_policy(const std::string& text, const char* origin) {
  if (text == "warn") return FallbackPolicy::Warn;
  if (text == "silent") return FallbackPolicy::Silent;
  if (text == "error") return FallbackPolicy::Error;
  TORCH_CHECK_VALUE(false, origin, " must be one of warn, silent or error, got '", text, "'");
}

FallbackPolicy current_policy_locked() {
  if (!g_policy) {
    const char* env = std::getenv("TORCH_ACCEL_FALLBACK");
    g_policy = env && *env ? parse_policy(env, "TORCH_ACCEL_FALLBACK") : FallbackPolicy::Warn;
  }
  return *g_policy;
}

std::string op_name(const c10::OperatorHandle& op) {
  const auto& name = op.operator_name();
  return name.overload_name.empty() ? name.name : name.name + "." + name.overload_name;
}

// ---- estimate mode: outputs from the meta kernel, nothing runs ----

// An accel tensor's sizes, strides and dtype on the meta device; `device`
// becomes the first accel device seen.
at::Tensor meta_of(const at::Tensor& t, std::optional<c10::Device>& device) {
  if (!t.defined() || t.device().type() != glue::kAccel) return t;
  if (!device) device = t.device();
  return at::empty_strided(t.sizes(), t.strides(), t.options().device(at::kMeta));
}

c10::IValue meta_value(const c10::IValue& v, std::optional<c10::Device>& device) {
  if (v.isTensor()) return meta_of(v.toTensor(), device);
  if (v.isTensorList()) {
    c10::List<at::Tensor> out;
    for (const at::Tensor& t : v.toTensorList()) out.push_back(meta_of(t, device));
    return out;
  }
  if (v.isOptionalTensorList()) {
    c10::List<std::optional<at::Tensor>> out;
    for (const std::optional<at::Tensor>& t : v.toOptionalTensorList())
      out.push_back(t ? std::optional<at::Tensor>(meta_of(*t, device)) : std::nullopt);
    return out;
  }
  return v;
}

// A new (estimate) accel tensor of a meta result's metadata.
c10::IValue accel_value(const c10::IValue& v, c10::Device device) {
  auto make = [&](const at::Tensor& m) {
    if (!m.defined() || !m.is_meta()) return m;
    return at::empty_strided(m.sizes(), m.strides(), m.options().device(device));
  };
  if (v.isTensor()) return make(v.toTensor());
  if (v.isTensorList()) {
    c10::List<at::Tensor> out;
    for (const at::Tensor& t : v.toTensorList()) out.push_back(make(t));
    return out;
  }
  return v;
}

// The argument a return aliases per the schema (`Tensor(a!) self`), or -1.
int aliased_argument(const c10::FunctionSchema& schema, const c10::AliasInfo& ret) {
  const auto& args = schema.arguments();
  for (size_t i = 0; i < args.size(); ++i) {
    const c10::AliasInfo* a = args[i].alias_info();
    if (!a) continue;
    for (const auto& set : ret.beforeSets())
      if (a->beforeSets().count(set)) return static_cast<int>(i);
  }
  return -1;
}

// Replaces the op's arguments on the stack with its outputs, computed on meta
// tensors; false (stack untouched) when the op has no working meta kernel.
bool estimate_outputs(const c10::OperatorHandle& op, torch::jit::Stack* stack) {
  const c10::FunctionSchema& schema = op.schema();
  const size_t num_args = schema.arguments().size();
  const std::vector<c10::IValue> args(stack->end() - num_args, stack->end());
  std::optional<c10::Device> device;
  torch::jit::Stack meta;
  for (const auto& a : args) meta.push_back(meta_value(a, device));
  try {
    op.callBoxed(meta);
  } catch (const std::exception&) {
    return false;  // no meta kernel, or one that needs the data
  }
  const c10::Device out_device = device.value_or(c10::Device(glue::kAccel, glue::resolve_device(-1)));
  const auto& rets = schema.returns();
  std::vector<c10::IValue> outs;
  for (size_t i = 0; i < rets.size(); ++i) {
    const c10::AliasInfo* alias = rets[i].alias_info();
    if (!alias) {
      outs.push_back(accel_value(meta[i], out_device));
      continue;
    }
    const int arg = aliased_argument(schema, *alias);
    if (arg < 0 || !meta[i].isTensor() || !args[arg].isTensor()) return false;
    at::Tensor orig = args[arg].toTensor();
    const at::Tensor m = meta[i].toTensor();
    if (alias->isWrite()) {  // in place or out=: the argument, resized as the meta kernel did
      if (orig.sizes() != m.sizes()) orig.resize_(m.sizes());
      if (orig.strides() != m.strides()) orig.as_strided_(m.sizes(), m.strides());
      outs.push_back(orig);
    } else {  // a view of the argument
      outs.push_back(orig.as_strided(m.sizes(), m.strides(), orig.storage_offset() + m.storage_offset()));
    }
  }
  torch::jit::drop(*stack, num_args);
  for (auto& o : outs) stack->push_back(std::move(o));
  return true;
}

std::optional<c10::Device> first_accel_device(const c10::OperatorHandle& op,
                                              const torch::jit::Stack& stack) {
  const size_t num_args = op.schema().arguments().size();
  for (size_t i = stack.size() - num_args; i < stack.size(); ++i) {
    const c10::IValue& v = stack[i];
    if (v.isTensor() && v.toTensor().defined() && v.toTensor().device().type() == glue::kAccel)
      return v.toTensor().device();
    if (v.isTensorList())
      for (const at::Tensor& t : v.toTensorList())
        if (t.defined() && t.device().type() == glue::kAccel) return t.device();
  }
  return std::nullopt;
}

// PyTorch's cpu_fallback returns new tensors on the device of the first tensor
// argument, which is the CPU for floor_divide(2.0, x): results belong on accel
// whenever an accel tensor went in, as they would with a native kernel.
void move_new_outputs(const c10::OperatorHandle& op, torch::jit::Stack* stack, c10::Device device) {
  const auto& returns = op.schema().returns();
  const size_t first = stack->size() - returns.size();
  for (size_t i = 0; i < returns.size(); ++i) {
    if (returns[i].alias_info() != nullptr) continue;  // in place, out= or a view
    c10::IValue& v = (*stack)[first + i];
    if (v.isTensor() && v.toTensor().defined() && v.toTensor().device().is_cpu())
      v = v.toTensor().to(device);
  }
}

void accel_fallback(const c10::OperatorHandle& op, torch::jit::Stack* stack) {
  const std::string name = op_name(op);
  bool warn = false;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    const FallbackPolicy policy = current_policy_locked();
    TORCH_CHECK_NOT_IMPLEMENTED(policy != FallbackPolicy::Error, "the operator '", name,
                                "' has no accel kernel, and TORCH_ACCEL_FALLBACK=error forbids "
                                "running it on the CPU");
  }
  // An estimate counts the fallback as its own, not in fallback_stats().
  if (glue::EstimateScope* estimate = glue::active_estimate()) {
    estimate->note_host_fallback(name);
    if (estimate_outputs(op, stack)) return;
    // No meta kernel: the CPU runs it on the (zero) estimate memory.
    const engine::ExecuteScope execute;
    at::native::cpu_fallback(op, stack);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    const FallbackPolicy policy = current_policy_locked();
    ++g_counts[name];
    warn = policy == FallbackPolicy::Warn && g_warned.insert(name).second;
  }
  if (warn)
    TORCH_WARN("torch_accel: the operator '", name,
               "' has no accel kernel; it runs on the CPU (inputs copied out and results back). "
               "torch_accel.fallback_stats() counts these; TORCH_ACCEL_FALLBACK=silent|error "
               "changes this policy.");
  const std::optional<c10::Device> device = first_accel_device(op, *stack);
  at::native::cpu_fallback(op, stack);
  if (device) move_new_outputs(op, stack, *device);
}

}  // namespace

void boxed_fallback(const c10::OperatorHandle& op, torch::jit::Stack* stack) {
  accel_fallback(op, stack);
}

std::map<std::string, int64_t> fallback_stats() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_counts;
}

void reset_fallback_stats() {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_counts.clear();
  g_warned.clear();
}

void set_fallback_policy(const std::string& policy) {
  const FallbackPolicy parsed = parse_policy(policy, "the fallback policy");
  std::lock_guard<std::mutex> lock(g_mutex);
  g_policy = parsed;
}

std::string fallback_policy() {
  std::lock_guard<std::mutex> lock(g_mutex);
  switch (current_policy_locked()) {
    case FallbackPolicy::Warn: return "warn";
    case FallbackPolicy::Silent: return "silent";
    case FallbackPolicy::Error: return "error";
  }
  return "warn";
}

at::Tensor fallback_call(const char* name, const char* overload, torch::jit::Stack stack) {
  const auto op = c10::Dispatcher::singleton().findSchemaOrThrow(name, overload);
  accel_fallback(op, &stack);
  return stack.at(0).toTensor();
}

torch::jit::Stack fallback_call_stack(const char* name, const char* overload, torch::jit::Stack stack) {
  const auto op = c10::Dispatcher::singleton().findSchemaOrThrow(name, overload);
  accel_fallback(op, &stack);
  return stack;
}

TORCH_LIBRARY_IMPL(_, PrivateUse1, m) {
  m.fallback(torch::CppFunction::makeFromBoxedFunction<&accel_fallback>());
}

}  // namespace accel::aten
