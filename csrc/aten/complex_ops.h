// complex64 multiply on the cores (complex_ops.cpp), for mul's registration.
#pragma once

#include <ATen/core/Tensor.h>

namespace accel::aten {

// Whether a * b (into out, when defined) is a complex64 product of complex64
// or float32 operands (or Python numbers), which complex_mul_into computes.
bool complex_mul_takes(const at::Tensor& a, const at::Tensor& b, const at::Tensor& out = {});
// out = a * b; an undefined out is allocated; out may be a or b.
at::Tensor& complex_mul_into(at::Tensor& out, const at::Tensor& a, const at::Tensor& b);

}  // namespace accel::aten
