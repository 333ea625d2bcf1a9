#include <ATen/detail/PrivateUse1HooksInterface.h>
#include <c10/core/CPUAllocator.h>
#include <c10/core/DeviceGuard.h>
#include <c10/core/DeviceType.h>
#include <c10/core/StorageImpl.h>

#include <cstring>

#include "glue/glue.h"

namespace accel::glue {
namespace {

using chip::Runtime;

struct AccelHooks final : at::PrivateUse1HooksInterface {
  bool isBuilt() const override { return true; }
  bool isAvailable() const override { return Runtime::get().device_count_noexcept() > 0; }
  bool hasPrimaryContext(c10::DeviceIndex) const override { return Runtime::get().initialized(); }
  c10::DeviceIndex deviceCount() const override {
    return static_cast<c10::DeviceIndex>(Runtime::get().device_count_noexcept());
  }
  void setCurrentDevice(c10::DeviceIndex device) const override {
    chip_call([&] { Runtime::get().set_current_device(device); });
  }
  c10::DeviceIndex getCurrentDevice() const override {
    return static_cast<c10::DeviceIndex>(Runtime::get().current_device());
  }
  c10::DeviceIndex exchangeDevice(c10::DeviceIndex device) const override {
    const auto old = getCurrentDevice();
    setCurrentDevice(device);
    return old;
  }
  c10::DeviceIndex maybeExchangeDevice(c10::DeviceIndex device) const override {
    return exchangeDevice(device);
  }
  const at::Generator& getDefaultGenerator(c10::DeviceIndex index) const override {
    return default_generator(index);
  }
  at::Generator getNewGenerator(c10::DeviceIndex index) const override {
    return at::make_generator<AccelGeneratorImpl>(resolve_device(index));
  }
  at::Device getDeviceFromPtr(void* data) const override {
    const int index = Runtime::get().device_of(data);
    TORCH_CHECK(index >= 0, "pointer ", data, " is not in any accel device's memory");
    return {kAccel, static_cast<c10::DeviceIndex>(index)};
  }
  bool isPinnedPtr(const void*) const override { return false; }
  // Device memory is host memory, so ordinary pageable memory is as good as pinned.
  c10::Allocator* getPinnedMemoryAllocator() const override { return c10::GetCPUAllocator(); }
  void resizePrivateUse1Bytes(const c10::Storage& storage, size_t new_bytes) const override {
    c10::StorageImpl* impl = storage.unsafeGetStorageImpl();
    TORCH_CHECK(impl->resizable(), "trying to resize an accel storage that is not resizable");
    const c10::DeviceGuard guard(impl->device());
    c10::DataPtr fresh = impl->allocator()->allocate(new_bytes);
    const size_t keep = std::min(new_bytes, impl->nbytes());
    if (keep > 0) std::memcpy(fresh.get(), impl->data(), keep);
    impl->set_data_ptr_noswap(std::move(fresh));
    impl->set_nbytes(new_bytes);
  }
};

const bool g_registered = [] {
  // Named here, not only from Python, so LibTorch programs can say torch::Device("accel").
  // Never throws during loading: if another backend holds the name, import
  // torch_accel reports it (torch_accel/__init__.py).
  if (!c10::is_privateuse1_backend_registered()) c10::register_privateuse1_backend("accel");
  static AccelHooks hooks;
  at::RegisterPrivateUse1HooksInterface(&hooks);
  return true;
}();

}  // namespace
}  // namespace accel::glue
