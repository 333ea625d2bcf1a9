#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/Tensor.h>

#include <array>
#include <mutex>

#include "glue/glue.h"

namespace accel::glue {

AccelGeneratorImpl::AccelGeneratorImpl(c10::DeviceIndex index, uint64_t seed)
    : c10::GeneratorImpl(c10::Device(kAccel, index), c10::DispatchKeySet(c10::DispatchKey::PrivateUse1)),
      host_(at::make_generator<at::CPUGeneratorImpl>(seed)) {}

void AccelGeneratorImpl::set_current_seed(uint64_t seed) { host_.set_current_seed(seed); }
uint64_t AccelGeneratorImpl::current_seed() const { return host_.current_seed(); }
uint64_t AccelGeneratorImpl::seed() { return host_.seed(); }
void AccelGeneratorImpl::set_offset(uint64_t offset) { host_.set_offset(offset); }
uint64_t AccelGeneratorImpl::get_offset() const { return host_.get_offset(); }
void AccelGeneratorImpl::set_state(const c10::TensorImpl& new_state) {
  host_.unsafeGetGeneratorImpl()->set_state(new_state);
}
c10::intrusive_ptr<c10::TensorImpl> AccelGeneratorImpl::get_state() const {
  return host_.unsafeGetGeneratorImpl()->get_state();
}
AccelGeneratorImpl* AccelGeneratorImpl::clone_impl() const {
  auto* copy = new AccelGeneratorImpl(device().index());
  copy->host_ = host_.clone();
  return copy;
}

const at::Generator& default_generator(c10::DeviceIndex index) {
  static std::array<at::Generator, chip::Runtime::kMaxDevices> generators;
  static std::array<std::once_flag, chip::Runtime::kMaxDevices> created;
  const c10::DeviceIndex device = resolve_device(index);
  std::call_once(created[device], [&] {
    generators[device] = at::make_generator<AccelGeneratorImpl>(device);
    generators[device].set_current_seed(c10::default_rng_seed_val);
  });
  return generators[device];
}

}  // namespace accel::glue
