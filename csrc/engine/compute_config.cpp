#include "engine/compute_config.h"

#include <c10/util/ThreadLocalDebugInfo.h>
#include <torch/version.h>

#include <atomic>
#include <mutex>

// Named debug-info slots arrived after torch 2.11's enum of fixed ones; with
// an older torch a scoped setting stays on its own thread.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 13)
#define ACCEL_PROPAGATE_COMPUTE_CONFIG 1
#endif

namespace accel::engine {
namespace {
std::mutex g_mutex;
ComputeConfig g_global;
thread_local bool t_scoped = false;
thread_local ComputeConfig t_config;

#ifdef ACCEL_PROPAGATE_COMPUTE_CONFIG
// ATen's ThreadLocalState carries debug info to the threads that run this
// thread's autograd graph, so a scope set around backward() reaches its ops.
constexpr std::string_view kSlotName = "ACCEL_COMPUTE_CONFIG";
const c10::DebugInfoKind kSlot(&kSlotName);

struct PropagatedConfig : c10::DebugInfoBase {
  explicit PropagatedConfig(const ComputeConfig& c) : config(c) {}
  ComputeConfig config;
};

const ComputeConfig* inherited_config() {
  const auto* info = static_cast<const PropagatedConfig*>(c10::ThreadLocalDebugInfo::get(kSlot));
  return info ? &info->config : nullptr;
}
#else
const ComputeConfig* inherited_config() { return nullptr; }
#endif
}  // namespace

ComputeConfig global_compute_config() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_global;
}

void set_global_compute_config(const ComputeConfig& cfg) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_global = cfg;
}

ComputeConfig current_compute_config() {
  if (t_scoped) return t_config;
  if (const ComputeConfig* inherited = inherited_config()) return *inherited;
  return global_compute_config();
}

ComputeConfigScope::ComputeConfigScope(const ComputeConfig& cfg)
    : had_previous_(t_scoped), previous_(t_config) {
  t_scoped = true;
  t_config = cfg;
#ifdef ACCEL_PROPAGATE_COMPUTE_CONFIG
  propagated_ = std::make_shared<c10::DebugInfoGuard>(kSlot, std::make_shared<PropagatedConfig>(cfg));
#endif
}

ComputeConfigScope::~ComputeConfigScope() {
  propagated_.reset();
  t_scoped = had_previous_;
  t_config = previous_;
}

}  // namespace accel::engine
