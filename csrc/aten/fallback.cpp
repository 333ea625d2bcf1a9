// Every op without an accel kernel runs on the CPU through ATen's boxed
// fallback, counted per op and governed by TORCH_ACCEL_FALLBACK.
#include <ATen/native/CPUFallback.h>
#include <torch/library.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "aten/fallback.h"

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

void accel_fallback(const c10::OperatorHandle& op, torch::jit::Stack* stack) {
  const std::string name = op_name(op);
  bool warn = false;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    const FallbackPolicy policy = current_policy_locked();
    TORCH_CHECK_NOT_IMPLEMENTED(policy != FallbackPolicy::Error, "the operator '", name,
                                "' has no accel kernel, and TORCH_ACCEL_FALLBACK=error forbids "
                                "running it on the CPU");
    ++g_counts[name];
    warn = policy == FallbackPolicy::Warn && g_warned.insert(name).second;
  }
  if (warn)
    TORCH_WARN("torch_accel: the operator '", name,
               "' has no accel kernel; it runs on the CPU (inputs copied out and results back). "
               "torch_accel.fallback_stats() counts these; TORCH_ACCEL_FALLBACK=silent|error "
               "changes this policy.");
  at::native::cpu_fallback(op, stack);
}

}  // namespace

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

void fallback_boxed(const char* name, const char* overload, torch::jit::Stack& stack) {
  accel_fallback(c10::Dispatcher::singleton().findSchemaOrThrow(name, overload), &stack);
}

TORCH_LIBRARY_IMPL(_, PrivateUse1, m) {
  m.fallback(torch::CppFunction::makeFromBoxedFunction<&accel_fallback>());
}

}  // namespace accel::aten
