// The modelled device clock: each emulated device's time advances by the
// modelled duration of every program it runs (estimate_cost), so
// torch.accel.Event measures the chip's time rather than the host's.
//
// Streams are ordered queues; programs on different streams may overlap when
// they fit on cores the other stream is not using. The clock keeps, per
// device, the time each stream's last program ends and the time each core
// becomes free: a program starts when its stream is ready and enough cores are
// free, takes the earliest-free cores, and ends its modelled duration later.
#pragma once

#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "chip/arch.h"
#include "engine/program.h"

namespace accel::perf {

class DeviceClock {
 public:
  explicit DeviceClock(int64_t cores = 1) : core_free_(static_cast<size_t>(std::max<int64_t>(1, cores)), 0.0) {}
  // Places a program of `seconds` on `cores` cores of `stream` (none: a
  // collective on the Ethernet cores, ordered by its stream only); returns its end.
  double schedule(int64_t stream, int64_t cores, double seconds);
  // When the last program queued on `stream` ends (0 before any).
  double stream_time(int64_t stream) const;
  // When every queued program has ended.
  double now() const;
  // Makes `stream`'s later programs start no earlier than `t` (an event wait).
  void wait(int64_t stream, double t);

 private:
  mutable std::mutex mutex_;
  std::unordered_map<int64_t, double> streams_;
  std::vector<double> core_free_;
  double last_core_free_ = 0;  // max of core_free_
  std::vector<double> scratch_;
};

// The process-wide clocks, one per device index, on `arch`'s grid.
DeviceClock& device_clock(int device, const chip::Arch& arch);

// The calling thread's current stream on `device` (0 is the default stream).
int64_t current_stream(int device);
void set_current_stream(int device, int64_t stream);
// A stream id never handed out before.
int64_t new_stream_id();

// Advances record.device's clock on the calling thread's current stream by
// the program's modelled time, which it returns (seconds).
double advance_clock(const engine::ProgramRecord& record, const chip::Arch& arch);

}  // namespace accel::perf
