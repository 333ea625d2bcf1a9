// Kernels registered with m.impl get no device check from the dispatcher (CUDA's
// generated wrappers check that all tensor arguments share a device). Whatever
// hands a tensor's memory to an engine program checks it here, so that mixing
// a CPU tensor into an accel op raises as it does on CUDA instead of reading
// host memory as if it were the device's.
#pragma once

#include <ATen/core/TensorBase.h>
#include <c10/util/Exception.h>

namespace accel::aten {

// A 0-dim CPU tensor passes, as a CPU scalar does on CUDA (kernels also wrap
// scalar arguments that way).
inline void check_accel_operand(const at::TensorBase& t) {
  TORCH_CHECK(!t.defined() || t.device().type() == c10::DeviceType::PrivateUse1 ||
                  (t.device().is_cpu() && t.dim() == 0),
              "Expected all tensors to be on the same device, but found at least two devices, "
              "accel and ", t.device(), "! (an operand of an accel kernel is on ", t.device(), ")");
}

// Two operands of one op on different accel devices (or one on the CPU): each
// device reads only its own DRAM, as on CUDA.
inline void check_same_device(const at::TensorBase& a, const at::TensorBase& b) {
  check_accel_operand(a);
  check_accel_operand(b);
  TORCH_CHECK(!a.defined() || !b.defined() || a.device() == b.device() || a.device().is_cpu() ||
                  b.device().is_cpu(),
              "Expected all tensors to be on the same device, but found at least two devices, ",
              a.device(), " and ", b.device(), "!");
}

}  // namespace accel::aten
