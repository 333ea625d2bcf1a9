// The fill program as ATen sees it; fill_ and zero_ (minimal_ops.cpp) use it.
#pragma once

#include <ATen/core/Tensor.h>

namespace accel::aten {

// self[...] = value, converted as CPU ATen converts (overflow raises).
at::Tensor& fill_native(at::Tensor& self, const at::Scalar& value);

}  // namespace accel::aten
