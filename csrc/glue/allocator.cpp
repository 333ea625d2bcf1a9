// The accel DeviceAllocator: the chip's caching allocator per device, with
// its statistics exposed the way torch.cuda's are.
#include <c10/core/CachingDeviceAllocator.h>
#include <c10/util/Exception.h>

#include <cstring>

#include "engine/plan_mode.h"
#include "glue/estimate.h"
#include "glue/glue.h"

namespace accel::glue {
namespace {

using chip::Runtime;

void delete_block(void* ptr) {
  auto& runtime = Runtime::get();
  const int index = runtime.device_of(ptr);
  if (index >= 0) runtime.device(index).allocator.free(ptr);
}

void copy_stat(c10::CachingAllocator::StatArray& out, const chip::Stat& in) {
  auto& s = out[static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE)];
  s.current = in.current;
  s.peak = in.peak;
  s.allocated = in.allocated;
  s.freed = in.freed;
}

class AccelAllocator final : public c10::DeviceAllocator {
 public:
  c10::DataPtr allocate(size_t nbytes) override {
    auto& runtime = Runtime::get();
    const int index = runtime.current_device();
    const c10::Device device(kAccel, static_cast<c10::DeviceIndex>(index));
    if (nbytes == 0) return {nullptr, nullptr, &delete_block, device};
    // An estimate's tensors live in reserved address space, outside the
    // devices' memory and its statistics.
    if (active_estimate()) {
      void* ptr = chip_call([&] { return allocate_virtual(nbytes); });
      return {ptr, ptr, &free_virtual, device};
    }
    void* ptr = chip_call([&] { return runtime.device(index, "a tensor allocation").allocator.allocate(nbytes); });
    return {ptr, ptr, &delete_block, device};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &delete_block; }
  void copy_data(void* dest, const void* src, std::size_t count) const override {
    if (engine::executing()) std::memcpy(dest, src, count);  // an estimate moves no bytes
  }

  bool initialized() override { return Runtime::get().initialized(); }
  void emptyCache(c10::MempoolId_t) override {
    auto& runtime = Runtime::get();
    if (!runtime.initialized()) return;
    for (int i = 0; i < runtime.device_count(); ++i) runtime.device(i).allocator.empty_cache();
  }
  void recordStream(const c10::DataPtr&, c10::Stream) override {}

  c10::CachingDeviceAllocator::DeviceStats getDeviceStats(c10::DeviceIndex index) override {
    const auto s = chip_call([&] { return Runtime::get().device(resolve_device(index), "a memory statistics query").allocator.stats(); });
    c10::CachingDeviceAllocator::DeviceStats out;
    copy_stat(out.allocation, s.allocation);
    copy_stat(out.segment, s.segment);
    copy_stat(out.active, s.active);
    copy_stat(out.inactive_split, s.inactive_split);
    copy_stat(out.allocated_bytes, s.allocated_bytes);
    copy_stat(out.reserved_bytes, s.reserved_bytes);
    copy_stat(out.active_bytes, s.active_bytes);
    copy_stat(out.inactive_split_bytes, s.inactive_split_bytes);
    copy_stat(out.requested_bytes, s.requested_bytes);
    out.num_alloc_retries = s.num_alloc_retries;
    out.num_ooms = s.num_ooms;
    out.num_device_alloc = s.num_device_alloc;
    out.num_device_free = s.num_device_free;
    return out;
  }
  void resetAccumulatedStats(c10::DeviceIndex index) override {
    chip_call([&] { Runtime::get().device(resolve_device(index)).allocator.reset_accumulated_stats(); });
  }
  void resetPeakStats(c10::DeviceIndex index) override {
    chip_call([&] { Runtime::get().device(resolve_device(index)).allocator.reset_peak_stats(); });
  }
  // Not marked override: the hook is newer than the oldest torch we support.
  std::pair<size_t, size_t> getMemoryInfo(c10::DeviceIndex index) {
    auto& alloc = chip_call([&]() -> chip::CachingAllocator& {
      return Runtime::get().device(resolve_device(index)).allocator;
    });
    return {alloc.free_bytes(), alloc.capacity()};
  }
};

AccelAllocator g_allocator;
REGISTER_ALLOCATOR(c10::DeviceType::PrivateUse1, &g_allocator)

}  // namespace

c10::DeviceAllocator* allocator() { return &g_allocator; }

}  // namespace accel::glue
