// Current device and streams for c10. Every program runs to completion when
// launched, so events and streams are always complete.
#include <c10/core/impl/DeviceGuardImplInterface.h>

#include "glue/glue.h"

namespace accel::glue {
namespace {

using chip::Runtime;

struct AccelGuardImpl final : c10::impl::DeviceGuardImplInterface {
  c10::DeviceType type() const override { return kAccel; }

  c10::Device exchangeDevice(c10::Device device) const override {
    c10::Device old = getDevice();
    if (old.index() != device.index()) setDevice(device);
    return old;
  }
  c10::Device getDevice() const override {
    return {kAccel, static_cast<c10::DeviceIndex>(Runtime::get().current_device())};
  }
  void setDevice(c10::Device device) const override {
    TORCH_CHECK(device.type() == kAccel, "expected an accel device, got ", device);
    chip_call([&] { Runtime::get().set_current_device(device.index() < 0 ? 0 : device.index()); });
  }
  void uncheckedSetDevice(c10::Device device) const noexcept override {
    try {
      Runtime::get().set_current_device(device.index() < 0 ? 0 : device.index());
    } catch (...) {
    }
  }
  c10::Stream getStream(c10::Device device) const noexcept override {
    return c10::Stream(c10::Stream::DEFAULT, device);
  }
  c10::Stream getDefaultStream(c10::Device device) const override {
    return c10::Stream(c10::Stream::DEFAULT, device);
  }
  c10::Stream exchangeStream(c10::Stream stream) const noexcept override {
    return c10::Stream(c10::Stream::DEFAULT, stream.device());
  }
  c10::DeviceIndex deviceCount() const noexcept override {
    return static_cast<c10::DeviceIndex>(Runtime::get().device_count_noexcept());
  }
  void record(void**, const c10::Stream&, const c10::DeviceIndex, const c10::EventFlag) const override {}
  void block(void*, const c10::Stream&) const override {}
  bool queryEvent(void*) const override { return true; }
  void destroyEvent(void*, const c10::DeviceIndex) const noexcept override {}
  bool queryStream(const c10::Stream&) const override { return true; }
  void synchronizeStream(const c10::Stream&) const override {}
  void synchronizeEvent(void*) const override {}
  void synchronizeDevice(const c10::DeviceIndex) const override {}
  void recordDataPtrOnStream(const c10::DataPtr&, const c10::Stream&) const override {}
};

C10_REGISTER_GUARD_IMPL(PrivateUse1, AccelGuardImpl);

}  // namespace
}  // namespace accel::glue
