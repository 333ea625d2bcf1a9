// Estimate mode on the calling thread: accel ops run their planners and record
// their programs without executing (engine/plan_mode.h), for an architecture
// that may differ from the runtime's, on tensors whose memory is reserved
// address space that is never committed. Ops that would fall back to the CPU
// are counted as host fallbacks instead of running.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "chip/arch.h"
#include "engine/program.h"

namespace accel::glue {

class EstimateScope {
 public:
  explicit EstimateScope(chip::Arch arch);
  ~EstimateScope();
  EstimateScope(const EstimateScope&) = delete;
  EstimateScope& operator=(const EstimateScope&) = delete;

  const chip::Arch& arch() const { return arch_; }
  // The programs recorded so far, in launch order; the list starts over.
  std::vector<engine::ProgramRecord> take_records();
  // Op name -> times it would have run through the CPU fallback.
  const std::map<std::string, int64_t>& host_fallbacks() const { return host_fallbacks_; }
  void note_host_fallback(const std::string& op) { ++host_fallbacks_[op]; }
  // Most bytes of estimate tensors alive at once since the scope began.
  uint64_t peak_bytes() const { return peak_bytes_; }
  void note_virtual_bytes(uint64_t live) {
    if (live > baseline_bytes_ && live - baseline_bytes_ > peak_bytes_) peak_bytes_ = live - baseline_bytes_;
  }

 private:
  struct Active;  // the thread-scoped overrides
  chip::Arch arch_;
  std::vector<engine::ProgramRecord> records_;
  std::map<std::string, int64_t> host_fallbacks_;
  uint64_t baseline_bytes_ = 0, peak_bytes_ = 0;
  EstimateScope* previous_;
  std::unique_ptr<Active> active_;
};

// The estimate active on this thread, or nullptr.
EstimateScope* active_estimate();

// Storage for estimate tensors: a range of address space reserved once and
// never committed (reads see zeros), shared by every device index.
void* allocate_virtual(size_t bytes);
void free_virtual(void* ptr);

}  // namespace accel::glue
