// Estimate mode runs the same programs as eager with the tile work left out:
// planning (tiling, L1 checks, records) still happens, execution does not.
// Kept out of program.h so that gating a file recompiles only that file.
#pragma once

#include <vector>

#include "engine/program.h"

namespace accel::engine {

// False while a PlanOnlyScope is active on this thread: every site that moves
// or computes tensor data skips it (run_on_cores does so for its callers).
bool executing();

// Plans without executing on this thread until destroyed; nests. An
// ExecuteScope inside one executes again (a real CPU fallback in an estimate).
class PlanOnlyScope {
 public:
  explicit PlanOnlyScope(bool plan_only = true);
  ~PlanOnlyScope();
  PlanOnlyScope(const PlanOnlyScope&) = delete;
  PlanOnlyScope& operator=(const PlanOnlyScope&) = delete;

 private:
  bool previous_;
};
struct ExecuteScope : PlanOnlyScope {
  ExecuteScope() : PlanOnlyScope(false) {}
};

// Sends this thread's program records to `sink` instead of the device clock
// and any active torch_accel.profile(), until destroyed; nests.
class RecordRedirect {
 public:
  explicit RecordRedirect(std::vector<ProgramRecord>* sink);
  ~RecordRedirect();
  RecordRedirect(const RecordRedirect&) = delete;
  RecordRedirect& operator=(const RecordRedirect&) = delete;

 private:
  std::vector<ProgramRecord>* previous_;
};

}  // namespace accel::engine
