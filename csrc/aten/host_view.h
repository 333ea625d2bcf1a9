// Device DRAM is host memory, so a host-side tensor can alias an accel
// tensor with no copy. Copies and the host-executed factory/RNG kernels use it.
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>

namespace accel::aten {

// A CPU tensor over the same bytes, sizes, strides and conj/neg bits.
// Valid only while `t` is alive. `as` reinterprets the elements (same size).
at::Tensor host_view(const at::Tensor& t, std::optional<at::ScalarType> as = std::nullopt);
// `t` itself when it is on the CPU, else host_view(t).
at::Tensor host_side(const at::Tensor& t, std::optional<at::ScalarType> as = std::nullopt);

// Raises TypeError for dtypes the accel device cannot hold.
void check_supported_dtype(at::ScalarType dtype);

}  // namespace accel::aten
