#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace accel::aten {

enum class FallbackPolicy { Warn, Silent, Error };

// Op name ("aten::add.Tensor") -> number of times it ran through the CPU fallback.
std::map<std::string, int64_t> fallback_stats();
void reset_fallback_stats();
// "warn", "silent" or "error"; anything else raises ValueError.
void set_fallback_policy(const std::string& policy);
std::string fallback_policy();

}  // namespace accel::aten

#include <ATen/core/dispatch/Dispatcher.h>

namespace accel::aten {

// Runs a natively registered op through the counted CPU fallback, for inputs
// its tile kernels do not take (complex dtypes, for one).
at::Tensor fallback_call(const char* name, const char* overload, torch::jit::Stack stack);
// As fallback_call, leaving every result on the stack (ops returning tuples).
void fallback_boxed(const char* name, const char* overload, torch::jit::Stack& stack);

}  // namespace accel::aten
