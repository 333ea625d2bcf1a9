// The C++ face of torch_accel for LibTorch programs.
//
// Linking TorchAccel::torch_accel (find_package(TorchAccel)) is all it takes
// for torch::Device("accel") to work: loading libtorch_accel.so names the
// PrivateUse1 device "accel" and registers its kernels, allocator, hooks and
// generator. This header adds what the Python package offers beyond plain
// tensors: choosing the emulated chip and the performance model's profile.
//
// Errors are thrown as c10::Error (c10::ValueError for a bad argument), the
// exceptions LibTorch itself throws.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace torch_accel {

// Chooses the chip before the device is first used: arch is a preset name
// (see presets()) or the path of a JSON architecture file; num_devices gives
// accel:0 .. accel:num_devices-1 (1 to 64). Unset arguments keep their value
// (by default TORCH_ACCEL_ARCH / TORCH_ACCEL_NUM_DEVICES, else the default preset).
void configure(const std::optional<std::string>& arch = std::nullopt,
               std::optional<int> num_devices = std::nullopt);

std::vector<std::string> presets();
// The architecture in use (initialises the device) as its JSON description.
std::string arch_json();
// The name of the architecture in use, e.g. "wormhole_n150".
std::string arch_name();
int device_count();

// One program the chip ran, with the performance model's estimate of its cost.
struct ProgramProfile {
  std::string op;              // the aten op, e.g. "aten::mm"
  std::string compute_kernel;  // e.g. "matmul_tiles"
  std::string compute_engine;  // "fpu", "sfpu", "matrix" or "noc" (perf/kernel_table.h)
  std::string math_fidelity;
  std::string bound;  // the resource that sets the time: "compute", "dram", "noc", ...
  int device = 0;
  int64_t flops = 0;
  int64_t dram_bytes = 0;  // read + written
  int64_t noc_bytes = 0;
  int64_t tiles = 0;
  int64_t cores_used = 0;
  double time_s = 0;  // modelled time on the chip
  double energy_j = 0;
};

// Per-op totals of a profile, as summary() prints them.
struct OpSummary {
  std::string op;
  int64_t count = 0;
  double time_s = 0;
  int64_t flops = 0;
  int64_t dram_bytes = 0;
};

struct Profile {
  std::vector<ProgramProfile> programs;  // in launch order

  double total_time_s() const;
  double total_energy_j() const;
  int64_t total_flops() const;
  int64_t total_dram_bytes() const;
  // One row per op, slowest first.
  std::vector<OpSummary> by_op() const;
  // A text table of by_op() and the totals.
  std::string summary() const;
};

// Collects every program launched from now on (any thread, any device).
// Throws if a collection is already running.
void start_profiling();
// Ends the collection and prices each program on the configured chip.
Profile stop_profiling();

// Runs fn under the profiler: the modelled time of everything fn launches on
// the device. The collection ends even when fn throws.
Profile profile(const std::function<void()>& fn);

// Estimate mode: runs fn with every accel op planning and recording the
// program it would run on `arch` (a preset name or JSON file), without
// executing it -- the same planners, records and cost model as an eager
// profile. Tensors fn creates on accel take no memory and read as zeros; ops
// that would fall back to the CPU are counted in host_fallbacks, not priced.
// Applies to the calling thread, where autograd then runs fn's backward passes.
struct Estimate : Profile {
  std::string arch;
  std::map<std::string, int64_t> host_fallbacks;  // op name -> calls
  uint64_t peak_bytes = 0;  // most bytes of accel tensors fn held at once
};
Estimate estimate(const std::function<void()>& fn, const std::string& arch);

}  // namespace torch_accel
