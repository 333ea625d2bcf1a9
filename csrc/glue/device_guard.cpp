// Current device, streams and events for c10. Every program runs to completion
// when launched, so the host never waits; but each device keeps a modelled
// clock (perf/clock.h) that programs advance on the current stream, and events
// record that clock, so torch.Event / torch.accel.Event time the chip.
#include <ATen/record_function.h>
#include <c10/core/impl/DeviceGuardImplInterface.h>

#include <cstdio>

#include "engine/program.h"
#include "glue/glue.h"
#include "perf/clock.h"

namespace accel::glue {
namespace {

using chip::Runtime;

struct ModelledEvent {
  double time_s = 0;
  bool recorded = false;
};

perf::DeviceClock& clock_of(c10::DeviceIndex index) {
  return perf::device_clock(index < 0 ? 0 : index, Runtime::get().arch("stream use"));
}

c10::Stream stream_of(c10::Device device, int64_t id) {
  return c10::Stream(c10::Stream::UNSAFE, device, static_cast<c10::StreamId>(id));
}

// Under torch.profiler (or any RecordFunction observer) each program also
// leaves a user-scope range named after its op and modelled device time, so
// a torch.profiler user sees the accel programs and what they would cost.
void observe(const engine::ProgramRecord& rec) {
  const double seconds = perf::advance_clock(rec, Runtime::get().arch("program launch"));
  if (!at::hasCallbacks()) return;
  at::RecordFunction range(at::RecordScope::USER_SCOPE);
  if (!range.isActive()) return;
  char name[256];
  std::snprintf(name, sizeof(name), "accel::%s [modelled %.3f us]", rec.op.c_str(), seconds * 1e6);
  range.before(std::string(name));
}

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
    return stream_of(device, perf::current_stream(device.index()));
  }
  c10::Stream getDefaultStream(c10::Device device) const override { return stream_of(device, 0); }
  c10::Stream getNewStream(c10::Device device, int /*priority*/) const override {
    return stream_of(device, perf::new_stream_id());
  }
  c10::Stream getStreamFromGlobalPool(c10::Device device, bool /*high_priority*/) const override {
    return stream_of(device, perf::new_stream_id());
  }
  c10::Stream exchangeStream(c10::Stream stream) const noexcept override {
    const c10::DeviceIndex index = stream.device_index();
    c10::Stream old = stream_of(stream.device(), perf::current_stream(index));
    perf::set_current_stream(index, stream.id());
    return old;
  }
  c10::DeviceIndex deviceCount() const noexcept override {
    return static_cast<c10::DeviceIndex>(Runtime::get().device_count_noexcept());
  }
  void record(void** event, const c10::Stream& stream, const c10::DeviceIndex device_index,
              const c10::EventFlag) const override {
    TORCH_CHECK(device_index == -1 || device_index == stream.device_index(),
                "event device index ", device_index, " does not match the recording stream's ",
                stream.device_index());
    auto* e = static_cast<ModelledEvent*>(*event);
    if (e == nullptr) *event = e = new ModelledEvent();
    e->time_s = chip_call([&] { return clock_of(stream.device_index()).stream_time(stream.id()); });
    e->recorded = true;
  }
  void block(void* event, const c10::Stream& stream) const override {
    const auto* e = static_cast<const ModelledEvent*>(event);
    if (e == nullptr || !e->recorded) return;
    chip_call([&] { clock_of(stream.device_index()).wait(stream.id(), e->time_s); });
  }
  bool queryEvent(void*) const override { return true; }
  void destroyEvent(void* event, const c10::DeviceIndex) const noexcept override {
    delete static_cast<ModelledEvent*>(event);
  }
  double elapsedTime(void* start, void* end, const c10::DeviceIndex) const override {
    const auto* a = static_cast<const ModelledEvent*>(start);
    const auto* b = static_cast<const ModelledEvent*>(end);
    TORCH_CHECK(a && b && a->recorded && b->recorded,
                "elapsed_time: both events must be recorded before timing them");
    return (b->time_s - a->time_s) * 1e3;
  }
  bool queryStream(const c10::Stream&) const override { return true; }
  void synchronizeStream(const c10::Stream&) const override {}
  void synchronizeEvent(void*) const override {}
  void synchronizeDevice(const c10::DeviceIndex) const override {}
  void recordDataPtrOnStream(const c10::DataPtr&, const c10::Stream&) const override {}
};

C10_REGISTER_GUARD_IMPL(PrivateUse1, AccelGuardImpl);

// Every program advances its device's clock, profiled or not.
const bool g_clock_installed = (engine::set_record_observer(&observe), true);

}  // namespace
}  // namespace accel::glue
