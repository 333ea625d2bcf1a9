#include "engine/program.h"

#include <ATen/Parallel.h>

#include <atomic>
#include <mutex>

#include "engine/executor.h"
#include "engine/plan_mode.h"

namespace accel::engine {

CoreSplit split_tiles(int64_t total_tiles, int64_t num_cores) {
  CoreSplit split;
  split.cores_used = std::min(total_tiles, num_cores);
  split.first_tile.resize(split.cores_used + 1, 0);
  if (split.cores_used == 0) return split;
  const int64_t base = total_tiles / split.cores_used;
  const int64_t extra = total_tiles % split.cores_used;  // first `extra` cores take one more
  for (int64_t c = 0; c < split.cores_used; ++c)
    split.first_tile[c + 1] = split.first_tile[c] + base + (c < extra ? 1 : 0);
  return split;
}

int64_t check_l1(const chip::Arch& arch, const std::string& op,
                 const std::vector<CircularBuffer>& buffers) {
  int64_t total = 0;
  for (const auto& cb : buffers) total += cb.bytes();
  if (total <= arch.l1_bytes_per_core) return total;
  // Every program calls this; the listing is only worth building for the error.
  std::string listing;
  for (const auto& cb : buffers)
    listing += (listing.empty() ? "" : ", ") + cb.name + " " + std::to_string(cb.pages) + " x " +
               std::to_string(cb.tile_bytes) + " B";
  throw L1OverflowError(op + ": circular buffers need " + std::to_string(total) +
                        " bytes of L1 per core (" + listing + ") but '" + arch.name + "' has " +
                        std::to_string(arch.l1_bytes_per_core));
}

// A program of a few tiles runs its cores on the calling thread: waking the
// host's thread pool costs tens of microseconds, far more than the work.
constexpr int64_t kSerialTiles = 4;

void run_on_cores(const CoreSplit& split,
                  const std::function<void(int64_t, int64_t, int64_t)>& body) {
  if (!executing()) return;
  const int64_t tiles = split.cores_used == 0 ? 0 : split.first_tile[split.cores_used];
  const int64_t grain = tiles <= kSerialTiles ? std::max<int64_t>(split.cores_used, 1) : 1;
  at::parallel_for(0, split.cores_used, grain, [&](int64_t begin, int64_t end) {
    for (int64_t core = begin; core < end; ++core)
      body(core, split.first_tile[core], split.first_tile[core + 1]);
  });
}

void run_on_host_threads(const CoreSplit& split, const std::function<void(int64_t, int64_t)>& body) {
  if (!executing()) return;  // as run_on_cores: a plan runs no tile work
  const int64_t tiles = split.cores_used == 0 ? 0 : split.first_tile[split.cores_used];
  const int64_t grain = tiles <= kSerialTiles ? std::max<int64_t>(split.cores_used, 1) : 1;
  at::parallel_for(0, split.cores_used, grain, [&](int64_t core_begin, int64_t core_end) {
    body(split.first_tile[core_begin], split.first_tile[core_end]);
  });
}

namespace {
thread_local bool t_plan_only = false;
thread_local std::vector<ProgramRecord>* t_sink = nullptr;
std::atomic<bool> g_recording{false};
std::mutex g_mutex;
std::vector<ProgramRecord> g_records;
std::vector<const char*> g_executors;  // per record: engine/executor.h
std::atomic<RecordObserver> g_observer{nullptr};
}  // namespace

bool executing() { return !t_plan_only; }

PlanOnlyScope::PlanOnlyScope(bool plan_only) : previous_(t_plan_only) { t_plan_only = plan_only; }
PlanOnlyScope::~PlanOnlyScope() { t_plan_only = previous_; }

RecordRedirect::RecordRedirect(std::vector<ProgramRecord>* sink) : previous_(t_sink) { t_sink = sink; }
RecordRedirect::~RecordRedirect() { t_sink = previous_; }

void set_record_observer(RecordObserver observer) { g_observer.store(observer); }

void set_recording(bool on) { g_recording.store(on); }
bool recording() { return t_sink != nullptr || g_recording.load(std::memory_order_relaxed); }

void record(ProgramRecord rec) {
  if (t_sink) {  // an estimate's own collector: no device clock, no profile
    t_sink->push_back(std::move(rec));
    return;
  }
  const char* executor = take_program_executor();
  if (RecordObserver observe = g_observer.load(std::memory_order_relaxed)) observe(rec);
  if (!recording()) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  g_records.push_back(std::move(rec));
  g_executors.push_back(executor);
}

std::vector<ProgramRecord> take_records() {
  std::vector<const char*> executors;
  return take_records(executors);
}

std::vector<ProgramRecord> take_records(std::vector<const char*>& executors) {
  std::lock_guard<std::mutex> lock(g_mutex);
  executors = std::exchange(g_executors, {});
  return std::exchange(g_records, {});
}

}  // namespace accel::engine
