// out= variants that compute functionally and then fill the given tensor.
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/native/Resize.h>

namespace accel::aten {

// `out` takes the result's shape by ATen's resize_output rules (which warn
// about resizing a non-empty out), then its values.
inline at::Tensor& assign_out(at::Tensor& out, const at::Tensor& result) {
  at::native::resize_output(out, result.sizes());
  return out.copy_(result);
}

}  // namespace accel::aten
