// The c10/ATen-facing pieces of the accel device, shared by the op
// registrations and the Python bindings.
#pragma once

#include <ATen/core/Generator.h>
#include <c10/core/Allocator.h>
#include <c10/core/CachingDeviceAllocator.h>
#include <c10/core/Device.h>
#include <c10/core/GeneratorImpl.h>

#include "chip/runtime.h"

namespace accel::glue {

constexpr c10::DeviceType kAccel = c10::DeviceType::PrivateUse1;

// The registered allocator, used for every accel storage.
c10::DeviceAllocator* allocator();

// Runs f, turning chip exceptions into the c10 errors Python maps to
// ValueError, IndexError, RuntimeError and torch.OutOfMemoryError.
template <class F>
decltype(auto) chip_call(F&& f);

[[noreturn]] void rethrow_chip_error();

// Resolves an index of -1 to the current device and validates it.
c10::DeviceIndex resolve_device(c10::DeviceIndex index);

// The accel generator wraps a CPU Philox/MT generator: a seed gives the same
// stream on accel as on CPU, so models initialised either way agree.
struct AccelGeneratorImpl : c10::GeneratorImpl {
  explicit AccelGeneratorImpl(c10::DeviceIndex index, uint64_t seed = c10::default_rng_seed_val);
  static c10::DeviceType device_type() { return kAccel; }

  void set_current_seed(uint64_t seed) override;
  uint64_t current_seed() const override;
  uint64_t seed() override;
  void set_offset(uint64_t offset) override;
  uint64_t get_offset() const override;
  void set_state(const c10::TensorImpl& new_state) override;
  c10::intrusive_ptr<c10::TensorImpl> get_state() const override;
  at::Generator& host() { return host_; }

 private:
  AccelGeneratorImpl* clone_impl() const override;
  at::Generator host_;
};

const at::Generator& default_generator(c10::DeviceIndex index);

template <class F>
decltype(auto) chip_call(F&& f) {
  try {
    return f();
  } catch (...) {
    rethrow_chip_error();
  }
}

}  // namespace accel::glue
