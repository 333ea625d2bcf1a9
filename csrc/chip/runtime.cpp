#include "chip/runtime.h"

#include <cstdlib>

#include "chip/arch_override.h"

namespace accel::chip {
namespace {

thread_local int t_current_device = 0;
thread_local const Arch* t_arch_override = nullptr;

int parse_device_count(const std::string& text, const std::string& origin) {
  size_t used = 0;
  int n = 0;
  try {
    n = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty() || n < 1 || n > Runtime::kMaxDevices)
    throw ConfigError(origin + " must be a whole number of devices from 1 to " +
                      std::to_string(Runtime::kMaxDevices) + ", got '" + text + "'");
  return n;
}

}  // namespace

Runtime& Runtime::get() {
  static Runtime* runtime = new Runtime();  // never destroyed: tensors may outlive statics
  return *runtime;
}

void Runtime::configure(const RuntimeConfig& config) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (initialized_)
    throw ConfigError("torch_accel.configure() must be called before the accel device is first "
                      "used; it was initialized by " + initialized_by_ +
                      ". Call configure() earlier, or set TORCH_ACCEL_ARCH / "
                      "TORCH_ACCEL_NUM_DEVICES in the environment.");
  if (config.num_devices)
    parse_device_count(std::to_string(*config.num_devices), "num_devices");
  if (config.arch_spec || config.arch_json) {
    config_.arch_spec = config.arch_spec;
    config_.arch_json = config.arch_json;
    config_.arch_origin = config.arch_origin;
    config_.deferred_error.reset();
  }
  if (config.deferred_error) config_.deferred_error = config.deferred_error;
  if (config.num_devices) config_.num_devices = config.num_devices;
}

bool Runtime::initialized() const { return initialized_.load(std::memory_order_acquire); }

int Runtime::device_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (initialized_) return static_cast<int>(devices_.size());
  if (config_.num_devices) return *config_.num_devices;
  if (const char* env = std::getenv("TORCH_ACCEL_NUM_DEVICES"))
    return parse_device_count(env, "TORCH_ACCEL_NUM_DEVICES");
  return 1;
}

int Runtime::device_count_noexcept() const noexcept {
  try {
    return device_count();
  } catch (...) {
    return 0;
  }
}

Arch Runtime::resolve_arch() const {
  if (config_.deferred_error) throw ArchError(*config_.deferred_error);
  if (config_.arch_json) return arch_from_json(*config_.arch_json, config_.arch_origin);
  if (config_.arch_spec) return load_arch(*config_.arch_spec);
  if (const char* env = std::getenv("TORCH_ACCEL_ARCH"); env && *env) {
    try {
      return load_arch(env);
    } catch (const ArchError& e) {
      throw ArchError(std::string("TORCH_ACCEL_ARCH=") + env + ": " + e.what());
    }
  }
  return preset("wormhole_n150");
}

void Runtime::initialize(const char* reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (initialized_) return;
  Arch arch = resolve_arch();
  int count = 1;
  if (config_.num_devices) {
    count = *config_.num_devices;
  } else if (const char* env = std::getenv("TORCH_ACCEL_NUM_DEVICES")) {
    count = parse_device_count(env, "TORCH_ACCEL_NUM_DEVICES");
  }
  std::vector<std::unique_ptr<Device>> devices;
  for (int i = 0; i < count; ++i)
    devices.push_back(std::make_unique<Device>(i, static_cast<uint64_t>(arch.dram_bytes)));
  arch_ = std::move(arch);
  devices_ = std::move(devices);
  initialized_by_ = reason;
  initialized_.store(true, std::memory_order_release);
}

ArchOverride::ArchOverride(const Arch& arch) : previous_(t_arch_override) { t_arch_override = &arch; }
ArchOverride::~ArchOverride() { t_arch_override = previous_; }

const Arch& Runtime::arch(const char* reason) {
  if (t_arch_override) return *t_arch_override;
  if (!initialized()) initialize(reason);
  return arch_;
}

void Runtime::check_index(int index) const {
  const int count = initialized() ? static_cast<int>(devices_.size()) : device_count();
  if (index < 0 || index >= count)
    throw DeviceIndexError("accel:" + std::to_string(index) +
                           " is not a valid device: this configuration has " +
                           std::to_string(count) + " accel device" + (count == 1 ? "" : "s") +
                           " (accel:0" + (count > 1 ? " to accel:" + std::to_string(count - 1)
                                                    : std::string()) +
                           "); set TORCH_ACCEL_NUM_DEVICES or torch_accel.configure("
                           "num_devices=...) for more");
}

Device& Runtime::device(int index, const char* reason) {
  if (!initialized()) initialize(reason);
  check_index(index);
  return *devices_[index];
}

int Runtime::device_of(const void* ptr) const {
  if (!initialized()) return -1;
  for (const auto& d : devices_)
    if (d->arena.contains(ptr)) return d->arena.device_index();
  return -1;
}

int Runtime::current_device() const { return t_current_device; }

void Runtime::set_current_device(int index) {
  check_index(index);
  t_current_device = index;
}

}  // namespace accel::chip
