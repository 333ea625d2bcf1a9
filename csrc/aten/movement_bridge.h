// From at::Tensor to the data-movement programs: operand views that move
// bytes by element size, and the device copy that _copy_from uses.
#pragma once

#include <ATen/core/Tensor.h>

#include "engine/movement.h"

namespace accel::aten {

// The tensor as the engine sees it, in its own dtype (TypeError if none).
engine::TensorRef typed_ref(const at::Tensor& t);
// The tensor as same-width integers, for any dtype whose elements move as
// bytes (16-byte elements become pairs of int64).
engine::TensorRef byte_ref(const at::Tensor& t);
// Whether byte_ref can describe t's elements.
bool movable_as_bytes(const at::Tensor& t);
// `t`'s sizes over another tensor's bytes: base_ref with strides `strides`.
engine::TensorRef restrided(engine::TensorRef base, c10::IntArrayRef sizes,
                            std::vector<int64_t> strides);

const chip::Arch& current_arch();
// Sends the record to the profiler, tagged with t's device.
void record_for(const at::Tensor& t, engine::ProgramRecord rec);
// Runs a program, turning engine errors into the c10 errors Python expects.
template <class F>
engine::ProgramRecord run_program(F&& f);

// dst.copy_(src) between accel tensors as a copy program. Returns false for
// what the engine does not take (conjugate/negative views, complex casts).
bool device_copy(const at::Tensor& dst, const at::Tensor& src);

[[noreturn]] void rethrow_engine_error();

template <class F>
engine::ProgramRecord run_program(F&& f) {
  try {
    return f();
  } catch (const engine::IndexOutOfRange&) {
    throw;
  } catch (...) {
    rethrow_engine_error();
  }
}

}  // namespace accel::aten
