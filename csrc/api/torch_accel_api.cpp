// include/torch_accel/torch_accel.h: the chip choice, the profiler and
// estimate mode for LibTorch programs, on the same runtime, records and cost
// model the Python package uses (torch_accel/_config.py, profiler.py, estimate.py).
#include "torch_accel/torch_accel.h"

#include <c10/core/AutogradState.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "chip/arch.h"
#include "chip/runtime.h"
#include "engine/program.h"
#include "glue/estimate.h"
#include "glue/glue.h"
#include "perf/cost.h"

namespace torch_accel {
namespace {

using accel::chip::Runtime;
using accel::glue::chip_call;

ProgramProfile priced(const accel::engine::ProgramRecord& r, const accel::chip::Arch& arch) {
  const accel::perf::Cost cost = accel::perf::estimate_cost(r, arch);
  ProgramProfile p;
  p.op = r.op;
  p.compute_kernel = r.compute.name();
  p.compute_engine = r.compute_engine();
  p.math_fidelity = std::to_string(r.math_fidelity);
  p.bound = cost.bound;
  p.device = r.device;
  p.flops = r.flops;
  p.dram_bytes = r.dram_read_bytes + r.dram_write_bytes;
  p.noc_bytes = r.noc_bytes;
  p.tiles = r.tiles;
  p.cores_used = r.cores_used;
  p.time_s = cost.time_s;
  p.energy_j = cost.energy_j;
  return p;
}

std::string format(const char* fmt, auto... args) {
  char line[256];
  std::snprintf(line, sizeof line, fmt, args...);
  return line;
}

}  // namespace

void configure(const std::optional<std::string>& arch, std::optional<int> num_devices) {
  TORCH_CHECK_VALUE(!num_devices || (*num_devices >= 1 && *num_devices <= Runtime::kMaxDevices),
                    "num_devices must be from 1 to ", Runtime::kMaxDevices, ", got ", *num_devices);
  chip_call([&] {
    if (arch) accel::chip::load_arch(*arch);  // names a bad preset or file now, not at first use
    Runtime::get().configure({arch, std::nullopt, "", num_devices, std::nullopt});
  });
}

std::vector<std::string> presets() { return accel::chip::preset_names(); }

std::string arch_json() {
  return chip_call([] { return accel::chip::arch_to_json(Runtime::get().arch("torch_accel::arch_json")); });
}

std::string arch_name() {
  return chip_call([] { return Runtime::get().arch("torch_accel::arch_name").name; });
}

int device_count() {
  return chip_call([] { return Runtime::get().device_count(); });
}

namespace {
template <class T>
T sum_over(const std::vector<ProgramProfile>& programs, T ProgramProfile::*field) {
  T total = 0;
  for (const auto& p : programs) total += p.*field;
  return total;
}
}  // namespace

double Profile::total_time_s() const { return sum_over(programs, &ProgramProfile::time_s); }
double Profile::total_energy_j() const { return sum_over(programs, &ProgramProfile::energy_j); }
int64_t Profile::total_flops() const { return sum_over(programs, &ProgramProfile::flops); }
int64_t Profile::total_dram_bytes() const { return sum_over(programs, &ProgramProfile::dram_bytes); }

std::vector<OpSummary> Profile::by_op() const {
  std::map<std::string, OpSummary> rows;
  for (const auto& p : programs) {
    OpSummary& row = rows[p.op];
    row.op = p.op;
    row.count += 1;
    row.time_s += p.time_s;
    row.flops += p.flops;
    row.dram_bytes += p.dram_bytes;
  }
  std::vector<OpSummary> out;
  for (auto& [op, row] : rows) out.push_back(std::move(row));
  std::stable_sort(out.begin(), out.end(),
                   [](const OpSummary& a, const OpSummary& b) { return a.time_s > b.time_s; });
  return out;
}

std::string Profile::summary() const {
  std::string text = format("%-32s%7s%12s%10s%9s%10s\n", "op", "count", "time us", "GFLOP",
                            "TFLOP/s", "DRAM MB");
  for (const auto& row : by_op()) {
    const double tflops = row.time_s > 0 ? row.flops / row.time_s / 1e12 : 0.0;
    text += format("%-32s%7lld%12.2f%10.3f%9.2f%10.2f\n", row.op.c_str(),
                   static_cast<long long>(row.count), row.time_s * 1e6, row.flops / 1e9, tflops,
                   row.dram_bytes / 1e6);
  }
  text += format("total: %zu programs, %.2f us, %.3f GFLOP, %.2f MB DRAM, %.4f mJ", programs.size(),
                 total_time_s() * 1e6, total_flops() / 1e9, total_dram_bytes() / 1e6,
                 total_energy_j() * 1e3);
  return text;
}

void start_profiling() {
  TORCH_CHECK(!accel::engine::recording(),
              "torch_accel::start_profiling: a profile is already being collected");
  accel::engine::take_records();  // drop what an unfinished collection left behind
  accel::engine::set_recording(true);
}

Profile stop_profiling() {
  TORCH_CHECK(accel::engine::recording(),
              "torch_accel::stop_profiling: no profile is being collected (start_profiling first)");
  accel::engine::set_recording(false);
  const auto records = accel::engine::take_records();
  Profile out;
  if (records.empty()) return out;
  chip_call([&] {
    const accel::chip::Arch& arch = Runtime::get().arch("a profile");
    out.programs.reserve(records.size());
    for (const auto& r : records) out.programs.push_back(priced(r, arch));
  });
  return out;
}

Profile profile(const std::function<void()>& fn) {
  start_profiling();
  try {
    fn();
  } catch (...) {
    accel::engine::set_recording(false);
    accel::engine::take_records();
    throw;
  }
  return stop_profiling();
}

Estimate estimate(const std::function<void()>& fn, const std::string& arch) {
  Estimate out;
  const accel::chip::Arch chip = chip_call([&] { return accel::chip::load_arch(arch); });
  std::vector<accel::engine::ProgramRecord> records;
  {
    // The scope covers this thread only: backward() must not hand the accel
    // nodes to autograd's device thread (as torch_accel/estimate.py does).
    auto& autograd = c10::AutogradState::get_tls_state();
    const bool multithreaded = autograd.get_multithreading_enabled();
    autograd.set_multithreading_enabled(false);
    struct Restore {
      c10::AutogradState& state;
      bool value;
      ~Restore() { state.set_multithreading_enabled(value); }
    } restore{autograd, multithreaded};
    accel::glue::EstimateScope scope(chip);
    fn();
    records = scope.take_records();
    out.host_fallbacks = scope.host_fallbacks();
    out.peak_bytes = scope.peak_bytes();
  }
  out.arch = chip.name;
  out.programs.reserve(records.size());
  for (const auto& r : records) out.programs.push_back(priced(r, chip));
  return out;
}

}  // namespace torch_accel
