// What the convolution and pooling registrations share: the engine's view of
// a tensor and a program launch that records and maps engine errors.
#pragma once

#include <ATen/core/Tensor.h>

#include <stdexcept>

#include "aten/device_check.h"
#include "aten/engine_bridge.h"
#include "glue/glue.h"

namespace accel::aten {

inline engine::TensorRef ref_of(const at::Tensor& t) {
  check_accel_operand(t);
  return {t.data_ptr(), engine_dtype(t.scalar_type()), t.sizes().vec(), t.strides().vec()};
}

inline bool float_tile_dtype(const at::Tensor& t) {
  const auto s = t.scalar_type();
  return s == at::kFloat || s == at::kBFloat16 || s == at::kHalf;
}

// Runs program(arch) for the device of `on` and records its ProgramRecord.
template <class F>
void launch_program(const at::Tensor& on, F&& program) {
  const chip::Arch& arch =
      glue::chip_call([&]() -> const chip::Arch& { return chip::Runtime::get().arch(); });
  engine::ProgramRecord rec;
  try {
    rec = program(arch);
  } catch (const engine::L1OverflowError& e) {
    TORCH_CHECK(false, e.what());
  } catch (const std::domain_error& e) {
    TORCH_CHECK(false, e.what());
  }
  rec.device = on.device().index();
  engine::record(std::move(rec));
}

}  // namespace accel::aten
