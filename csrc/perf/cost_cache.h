// The modelled time of a program, cached by its signature: every record
// field estimate_cost reads, and the arch. A model runs the same few programs
// over and over (a training step's element-wise ops, layer after layer), so
// the per-op path prices each distinct program once per thread.
#pragma once

#include "chip/arch.h"
#include "engine/program.h"

namespace accel::perf {

// estimate_cost(record, arch).time_s. `arch` is identified by its address:
// pass one that lives as long as the process and does not change (the
// runtime's), or call clear_cost_cache() after changing it.
double cached_time_s(const engine::ProgramRecord& record, const chip::Arch& arch);
void clear_cost_cache();

}  // namespace accel::perf
