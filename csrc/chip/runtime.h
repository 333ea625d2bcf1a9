// The emulated system: one architecture, N devices each with its DRAM and
// caching allocator, and the calling thread's current device. Configuration
// is open until the first device is used, then fixed for the process.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "chip/arch.h"
#include "chip/caching_allocator.h"
#include "chip/dram_arena.h"

namespace accel::chip {

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct DeviceIndexError : std::out_of_range {
  using std::out_of_range::out_of_range;
};

struct Device {
  Device(int index, uint64_t dram_bytes) : arena(index, dram_bytes), allocator(arena) {}
  DramArena arena;
  CachingAllocator allocator;
};

struct RuntimeConfig {
  std::optional<std::string> arch_spec;  // preset name or JSON path
  std::optional<std::string> arch_json;  // inline JSON text
  std::string arch_origin;               // where arch_json came from
  std::optional<int> num_devices;
  std::optional<std::string> deferred_error;  // e.g. an unreadable YAML file
};

class Runtime {
 public:
  static constexpr int kMaxDevices = 64;
  static Runtime& get();

  // Replaces the given parts of the configuration. Throws ConfigError after
  // first use.
  void configure(const RuntimeConfig& config);
  bool initialized() const;
  // What initialized the runtime, for the configure-after-use message.
  const std::string& initialized_by() const { return initialized_by_; }

  // The configured count without initializing; 0 when the configuration is invalid.
  int device_count_noexcept() const noexcept;
  // The configured count; throws ConfigError/ArchError for a bad configuration.
  int device_count() const;

  const Arch& arch(const char* reason = "arch query");
  Device& device(int index, const char* reason = "device use");
  void check_index(int index) const;
  // The device whose DRAM holds ptr, or -1.
  int device_of(const void* ptr) const;

  int current_device() const;
  void set_current_device(int index);

 private:
  Runtime() = default;
  void initialize(const char* reason);
  Arch resolve_arch() const;

  mutable std::mutex mutex_;
  RuntimeConfig config_;
  std::atomic<bool> initialized_{false};  // set once, under mutex_
  std::string initialized_by_;
  Arch arch_;
  std::vector<std::unique_ptr<Device>> devices_;
};

}  // namespace accel::chip
