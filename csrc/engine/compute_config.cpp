#include "engine/compute_config.h"

#include <atomic>
#include <mutex>

namespace accel::engine {
namespace {
std::mutex g_mutex;
ComputeConfig g_global;
thread_local bool t_scoped = false;
thread_local ComputeConfig t_config;
}  // namespace

ComputeConfig global_compute_config() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_global;
}

void set_global_compute_config(const ComputeConfig& cfg) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_global = cfg;
}

ComputeConfig current_compute_config() { return t_scoped ? t_config : global_compute_config(); }

ComputeConfigScope::ComputeConfigScope(const ComputeConfig& cfg)
    : had_previous_(t_scoped), previous_(t_config) {
  t_scoped = true;
  t_config = cfg;
}

ComputeConfigScope::~ComputeConfigScope() {
  t_scoped = had_previous_;
  t_config = previous_;
}

}  // namespace accel::engine
