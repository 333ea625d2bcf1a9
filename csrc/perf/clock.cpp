#include "perf/clock.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <memory>

#include "perf/cost_cache.h"

namespace accel::perf {

double DeviceClock::schedule(int64_t stream, int64_t cores, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  double& stream_end = streams_[stream];
  const double ready = stream_end;
  const size_t n = core_free_.size();
  if (cores <= 0) {
    // Off the Tensix grid (the Ethernet cores of a collective): only the stream orders it.
    stream_end = ready + seconds;
    return stream_end;
  }
  const size_t k = static_cast<size_t>(std::clamp<int64_t>(cores, 1, static_cast<int64_t>(n)));
  if (ready >= last_core_free_) {
    // Every core is free by the stream's ready time (always so with one
    // stream): the program starts then on the first k cores, as below, without
    // the search.
    const double end = ready + seconds;
    std::fill(core_free_.begin(), core_free_.begin() + k, end);
    last_core_free_ = end;
    stream_end = end;
    return end;
  }
  // The k cores that free up first: with one stream every core is free by the
  // stream's ready time, so a single stream's clock is the sum of its programs.
  scratch_.resize(n);
  for (size_t i = 0; i < n; ++i) scratch_[i] = core_free_[i];
  std::nth_element(scratch_.begin(), scratch_.begin() + (k - 1), scratch_.end());
  const double start = std::max(ready, scratch_[k - 1]);
  const double end = start + seconds;
  size_t taken = 0;
  for (size_t i = 0; i < n && taken < k; ++i) {
    if (core_free_[i] <= start) {
      core_free_[i] = end;
      ++taken;
    }
  }
  last_core_free_ = std::max(last_core_free_, end);
  stream_end = end;
  return end;
}

double DeviceClock::stream_time(int64_t stream) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = streams_.find(stream);
  return it == streams_.end() ? 0.0 : it->second;
}

double DeviceClock::now() const {
  std::lock_guard<std::mutex> lock(mutex_);
  double t = 0;
  for (const auto& [id, end] : streams_) t = std::max(t, end);
  return t;
}

void DeviceClock::wait(int64_t stream, double t) {
  std::lock_guard<std::mutex> lock(mutex_);
  double& ready = streams_[stream];
  ready = std::max(ready, t);
}

namespace {
constexpr int kMaxDevices = 64;
std::array<std::atomic<DeviceClock*>, kMaxDevices> g_clocks{};
std::mutex g_create;
thread_local std::array<int64_t, kMaxDevices> t_current_stream{};
std::atomic<int64_t> g_next_stream{1};
}  // namespace

DeviceClock& device_clock(int device, const chip::Arch& arch) {
  const int d = std::clamp(device, 0, kMaxDevices - 1);
  if (DeviceClock* c = g_clocks[d].load(std::memory_order_acquire)) return *c;
  std::lock_guard<std::mutex> lock(g_create);
  if (DeviceClock* c = g_clocks[d].load()) return *c;
  // Clocks live as long as the process, like the devices they time.
  auto* c = new DeviceClock(arch.num_cores());
  g_clocks[d].store(c, std::memory_order_release);
  return *c;
}

int64_t current_stream(int device) {
  return t_current_stream[std::clamp(device, 0, kMaxDevices - 1)];
}

void set_current_stream(int device, int64_t stream) {
  t_current_stream[std::clamp(device, 0, kMaxDevices - 1)] = stream;
}

int64_t new_stream_id() { return g_next_stream.fetch_add(1); }

double advance_clock(const engine::ProgramRecord& record, const chip::Arch& arch) {
  const double seconds = cached_time_s(record, arch);
  device_clock(record.device, arch)
      .schedule(current_stream(record.device),
                record.link_s > 0 ? 0 : std::max<int64_t>(1, record.cores_used), seconds);
  return seconds;
}

}  // namespace accel::perf
