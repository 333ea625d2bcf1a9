// The op set every device needs: allocation, views, copies, scalars, fills.
#include <ATen/EmptyTensor.h>
#include <ATen/ExpandUtils.h>
#include <ATen/MemoryOverlap.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/_local_scalar_dense.h>
#include <ATen/ops/_reshape_alias_native.h>
#include <ATen/ops/as_strided_native.h>
#include <ATen/ops/copy.h>
#include <ATen/ops/fill.h>
#include <ATen/ops/is_nonzero.h>
#include <ATen/ops/resize_native.h>
#include <ATen/ops/set_native.h>
#include <ATen/ops/unfold_native.h>
#include <ATen/ops/view_as_complex_native.h>
#include <ATen/ops/view_as_real_native.h>
#include <ATen/ops/view_native.h>
#include <ATen/ops/zero.h>
#include <c10/core/DeviceGuard.h>
#include <torch/library.h>

#include <cstring>
#include <string_view>

#include "aten/fill_ops.h"
#include "aten/host_view.h"
#include "aten/movement_bridge.h"
#include "engine/plan_mode.h"
#include "glue/glue.h"

namespace accel::aten {
namespace {

constexpr int64_t kParallelCopyBytes = 1 << 20;

c10::DeviceGuard guard_for(std::optional<c10::Device> device) {
  const c10::Device d = device.value_or(c10::Device(glue::kAccel));
  return c10::DeviceGuard(c10::Device(glue::kAccel, glue::resolve_device(d.index())));
}

at::Tensor empty_memory_format(c10::IntArrayRef size, std::optional<at::ScalarType> dtype,
                               std::optional<at::Layout> layout, std::optional<at::Device> device,
                               std::optional<bool> pin_memory,
                               std::optional<at::MemoryFormat> memory_format) {
  const auto scalar_type = c10::dtype_or_default(dtype);
  check_supported_dtype(scalar_type);
  TORCH_CHECK(c10::layout_or_default(layout) == at::kStrided,
              "the accel device supports only strided tensors, got layout ", *layout);
  const auto guard = guard_for(device);
  return at::detail::empty_generic(size, glue::allocator(),
                                   c10::DispatchKeySet(c10::DispatchKey::PrivateUse1), scalar_type,
                                   memory_format);
}

at::Tensor empty_strided(c10::IntArrayRef size, c10::IntArrayRef stride,
                         std::optional<at::ScalarType> dtype, std::optional<at::Layout> layout,
                         std::optional<at::Device> device, std::optional<bool> pin_memory) {
  const auto scalar_type = c10::dtype_or_default(dtype);
  check_supported_dtype(scalar_type);
  const auto guard = guard_for(device);
  return at::detail::empty_strided_generic(size, stride, glue::allocator(),
                                           c10::DispatchKeySet(c10::DispatchKey::PrivateUse1),
                                           scalar_type);
}

// Same-dtype copies move elements as plain integers of the same width, which
// every dtype has, including the bits and float8 families.
std::optional<at::ScalarType> carrier_for(const at::Tensor& t) {
  switch (t.element_size()) {
    case 1: return at::kByte;
    case 2: return at::kShort;
    case 4: return at::kInt;
    case 8: return at::kLong;
    case 16: return at::kComplexDouble;
    default: return std::nullopt;
  }
}

bool same_dense_layout(const at::Tensor& a, const at::Tensor& b) {
  return a.sizes() == b.sizes() && a.strides() == b.strides() && a.is_non_overlapping_and_dense() &&
         b.is_non_overlapping_and_dense();
}

void parallel_memcpy(void* dst, const void* src, int64_t nbytes) {
  auto* d = static_cast<char*>(dst);
  const auto* s = static_cast<const char*>(src);
  at::parallel_for(0, nbytes, kParallelCopyBytes, [&](int64_t begin, int64_t end) {
    std::memcpy(d + begin, s + begin, end - begin);
  });
}

at::Tensor copy_from(const at::Tensor& self, const at::Tensor& dst, bool non_blocking) {
  TORCH_CHECK(self.defined() && dst.defined(), "copy between undefined tensors");
  TORCH_CHECK(self.device().is_cpu() || self.device().type() == glue::kAccel,
              "accel can copy only to and from the CPU and other accel devices, not ",
              self.device());
  TORCH_CHECK(dst.device().is_cpu() || dst.device().type() == glue::kAccel,
              "accel can copy only to and from the CPU and other accel devices, not ",
              dst.device());
  check_supported_dtype(dst.scalar_type());
  // ATen's copy_ hands PrivateUse1 copies here before its TensorIterator
  // would check overlap and shapes, so those checks are made here, in the
  // iterator's order (also when there is nothing to copy).
  at::assert_no_internal_overlap(dst);
  at::assert_no_partial_overlap(dst, self);
  const auto shape = at::infer_size_dimvector(dst.sizes(), self.sizes());
  TORCH_CHECK(c10::IntArrayRef(shape) == dst.sizes(), "output with shape ", dst.sizes(),
              " doesn't match the broadcast shape ", c10::IntArrayRef(shape));
  if (self.numel() == 0) return dst;
  // Device to device runs as a copy program on the cores.
  if (!self.device().is_cpu() && !dst.device().is_cpu() && device_copy(dst, self)) return dst;
  // Estimate mode: host transfers move no bytes; the host sees an estimate's zeros.
  if (!engine::executing()) {
    if (dst.device().is_cpu()) dst.zero_();
    return dst;
  }
  const bool plain = !self.is_conj() && !dst.is_conj() && !self.is_neg() && !dst.is_neg();
  if (plain && self.scalar_type() == dst.scalar_type()) {
    if (same_dense_layout(self, dst)) {
      parallel_memcpy(dst.data_ptr(), self.data_ptr(), self.numel() * self.element_size());
      return dst;
    }
    const auto carrier = carrier_for(self);
    host_side(dst, carrier).copy_(host_side(self, carrier));
    return dst;
  }
  host_side(dst).copy_(host_side(self));
  return dst;
}

at::Tensor copy_from_and_resize(const at::Tensor& self, const at::Tensor& dst) {
  dst.resize_(self.sizes());
  return copy_from(self, dst, false);
}

// Allocation follows the tensor's device, not the caller's current device.
const at::Tensor& resize(const at::Tensor& self, c10::IntArrayRef size,
                         std::optional<at::MemoryFormat> memory_format) {
  const c10::DeviceGuard guard(self.device());
  return at::native::resize_(self, size, memory_format);
}

at::Scalar local_scalar_dense(const at::Tensor& self) {
  return at::_local_scalar_dense(host_view(self));
}

// torch._assert_async (compiled graphs' runtime checks): CUDA checks on the
// device, later; the emulated device's memory is the host's, so the check is
// immediate. An estimate's tensors hold no data to check.
void assert_async(const at::Tensor& self, std::string_view message) {
  if (!engine::executing()) return;
  TORCH_CHECK(at::is_nonzero(host_view(self)), message);
}

at::Tensor& set_empty(at::Tensor& self) {
  const c10::DeviceGuard guard(self.device());
  c10::Storage storage(c10::Storage::use_byte_size_t(), 0, glue::allocator(), true);
  return self.set_(storage, 0, {0}, {});
}

at::Tensor& fill_scalar(at::Tensor& self, const at::Scalar& value) { return fill_native(self, value); }

at::Tensor& fill_tensor(at::Tensor& self, const at::Tensor& value) {
  TORCH_CHECK(value.dim() == 0, "fill_ only supports 0-dimension value tensor but got tensor with ",
              value.dim(), " dimensions.");
  return fill_scalar(self, value.item());
}

at::Tensor& zero(at::Tensor& self) { return fill_native(self, 0); }

// Module.to("accel") keeps each Parameter object, and so tied weights, only
// when the CPU and accel tensors may swap data in place (set_data), as CPU and
// CUDA tensors may; ATen's built-in answer knows no PrivateUse1.
bool has_compatible_shallow_copy_type(const at::Tensor& self, const at::Tensor& from) {
  const auto dense = [](const at::Tensor& t) {
    return t.layout() == at::kStrided && !t.is_quantized() &&
           (t.is_cpu() || t.device().type() == c10::DeviceType::PrivateUse1);
  };
  return dense(self) && dense(from);
}

}  // namespace

TORCH_LIBRARY_IMPL(aten, PrivateUse1, m) {
  m.impl("empty.memory_format", empty_memory_format);
  m.impl("empty_strided", empty_strided);
  m.impl("as_strided", at::native::as_strided_tensorimpl);
  m.impl("view", at::native::view);
  m.impl("_reshape_alias", at::native::_reshape_alias);
  m.impl("unfold", at::native::unfold);
  m.impl("view_as_real", at::native::view_as_real);
  m.impl("view_as_complex", at::native::view_as_complex);
  m.impl("resize_", resize);
  m.impl("_copy_from", copy_from);
  m.impl("_copy_from_and_resize", copy_from_and_resize);
  m.impl("_local_scalar_dense", local_scalar_dense);
  m.impl("_assert_async", [](const at::Tensor& self) {
    assert_async(self, "Expected Tensor with single nonzero value, but got zero");
  });
  m.impl("_assert_async.msg", [](const at::Tensor& self, c10::string_view message) {
    assert_async(self, message.empty() ? "Assertion is failed" : std::string_view(message));
  });
  m.impl("set_", set_empty);
  m.impl("set_.source_Storage", at::native::set_);
  m.impl("set_.source_Storage_storage_offset", at::native::set_storage_cpu_);
  m.impl("set_.source_Tensor", at::native::set_tensor_);
  m.impl("fill_.Scalar", fill_scalar);
  m.impl("fill_.Tensor", fill_tensor);
  m.impl("zero_", zero);
  m.impl("_has_compatible_shallow_copy_type", has_compatible_shallow_copy_type);
}

// Copies resolve conjugate and negative bits themselves (host_view keeps them),
// so those keys pass _copy_from straight through instead of materializing.
TORCH_LIBRARY_IMPL(aten, Conjugate, m) {
  m.impl("_copy_from", torch::CppFunction::makeFallthrough());
  m.impl("_copy_from_and_resize", torch::CppFunction::makeFallthrough());
}
TORCH_LIBRARY_IMPL(aten, Negative, m) {
  m.impl("_copy_from", torch::CppFunction::makeFallthrough());
  m.impl("_copy_from_and_resize", torch::CppFunction::makeFallthrough());
}

// Quantized tensors never reach accel memory: every op on them says why.
void reject_quantized(const c10::OperatorHandle& op, torch::jit::Stack*) {
  TORCH_CHECK_TYPE(false, "the accel device does not support quantized tensors (",
                   op.operator_name().name, "): quantized tensors stay on the CPU; use "
                   "dequantize() before moving a tensor to accel");
}
TORCH_LIBRARY_IMPL(_, QuantizedPrivateUse1, m) {
  m.fallback(torch::CppFunction::makeFromBoxedFunction<&reject_quantized>());
}

}  // namespace accel::aten
