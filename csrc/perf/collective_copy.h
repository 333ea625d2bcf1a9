// Copies between the devices of a configured system (torch_accel.configure(
// system=...)) travel as Ethernet transfers along the topology's route: the
// collective model's send_recv prices them, and both devices' clocks advance.
#pragma once

#include "chip/arch.h"

namespace accel::perf {

// Starts when both devices' current streams are ready and occupies both for
// the transfer; returns its modelled seconds, 0 when no system is configured
// or src == dst.
double chip_to_chip_copy(int src, int dst, double nbytes, const chip::Arch& arch);

}  // namespace accel::perf
