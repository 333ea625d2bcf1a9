#include "aten/host_view.h"

#include <ATen/ops/empty_strided.h>
#include <ATen/ops/from_blob.h>
#include <c10/core/ScalarType.h>

namespace accel::aten {

at::Tensor host_view(const at::Tensor& t, std::optional<at::ScalarType> as) {
  const auto options = t.options().device(at::kCPU).dtype(as.value_or(t.scalar_type()));
  if (t.numel() == 0) return at::empty_strided(t.sizes(), t.strides(), options);
  at::Tensor view = at::from_blob(t.data_ptr(), t.sizes(), t.strides(), options);
  if (t.is_conj()) view._set_conj(true);
  if (t.is_neg()) view._set_neg(true);
  return view;
}

at::Tensor host_side(const at::Tensor& t, std::optional<at::ScalarType> as) {
  if (t.device().is_cpu()) return as && *as != t.scalar_type() ? host_view(t, as) : t;
  return host_view(t, as);
}

void check_supported_dtype(at::ScalarType dtype) {
  TORCH_CHECK_TYPE(!c10::isQIntType(dtype), "the accel device does not support quantized dtype ",
                   dtype, ": quantized tensors stay on the CPU; use torch_accel's block-float and "
                   "MX formats, or dequantize() before moving the tensor to accel");
}

}  // namespace accel::aten
