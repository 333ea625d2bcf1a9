#include "perf/collective_copy.h"

#include <algorithm>

#include "chip/system.h"
#include "perf/clock.h"
#include "perf/collective.h"

namespace accel::perf {

double chip_to_chip_copy(int src, int dst, double nbytes, const chip::Arch& arch) {
  const auto system = chip::active_system();
  if (!system || src == dst || nbytes <= 0) return 0;
  const double seconds = collective_cost(*system, arch, "send_recv", nbytes, {src, dst}).time_s;
  DeviceClock& from = device_clock(src, arch);
  DeviceClock& to = device_clock(dst, arch);
  const int64_t from_stream = current_stream(src), to_stream = current_stream(dst);
  const double start = std::max(from.stream_time(from_stream), to.stream_time(to_stream));
  from.wait(from_stream, start);
  to.wait(to_stream, start);
  // The Ethernet cores move the data; the Tensix cores stay free for other streams.
  from.schedule(from_stream, 1, seconds);
  to.schedule(to_stream, 1, seconds);
  return seconds;
}

}  // namespace accel::perf
