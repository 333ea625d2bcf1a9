// The kernel table's index: every family's entries, found by name.
#include "perf/kernel_table.h"

#include <cstdint>
#include <ostream>
#include <stdexcept>
#include <unordered_map>
#include <vector>

namespace accel::perf {
namespace {

struct Index {
  std::vector<KernelDesc> all;
  std::unordered_map<std::string_view, const KernelDesc*> by_name;
};

const Index& index() {
  static const Index idx = [] {
    Index i;
    for (auto part : {eltwise_kernels(), program_kernels(), movement_kernels()})
      i.all.insert(i.all.end(), part.begin(), part.end());
    i.by_name.reserve(i.all.size());
    for (const KernelDesc& d : i.all)
      if (!i.by_name.emplace(d.name, &d).second)
        throw std::logic_error(std::string("kernel table: two entries for '") + d.name + "'");
    return i;
  }();
  return idx;
}

}  // namespace

const char* role_name(KernelRole role) {
  switch (role) {
    case KernelRole::Reader: return "reader";
    case KernelRole::Compute: return "compute";
    case KernelRole::Writer: return "writer";
  }
  return "?";
}

const char* engine_name(Engine engine) {
  switch (engine) {
    case Engine::Fpu: return "fpu";
    case Engine::Sfpu: return "sfpu";
    case Engine::Matrix: return "matrix";
    case Engine::Noc: return "noc";
  }
  return "?";
}

std::span<const KernelDesc> kernel_table() { return index().all; }

const KernelDesc* find_kernel(std::string_view name) {
  const auto& by_name = index().by_name;
  auto it = by_name.find(name);
  return it == by_name.end() ? nullptr : it->second;
}

// Programs name their kernels with string literals, the same few addresses
// on every launch: a per-thread cache by address skips hashing the name.
// An entry is used only when the text still matches, so a reused buffer
// holding another name is looked up afresh.
static const KernelDesc* find_by_address(std::string_view name) {
  struct Slot {
    const char* address = nullptr;
    const KernelDesc* desc = nullptr;
  };
  thread_local Slot slots[64];
  Slot& slot = slots[(reinterpret_cast<uintptr_t>(name.data()) >> 3) & 63];
  if (slot.address == name.data() && slot.desc && name == slot.desc->name) return slot.desc;
  const KernelDesc* desc = find_kernel(name);
  slot = {name.data(), desc};
  return desc;
}

const KernelDesc& kernel_desc(std::string_view name) {
  if (const KernelDesc* d = find_by_address(name)) return *d;
  throw std::invalid_argument("unknown kernel '" + std::string(name) +
                              "': every kernel a program records needs an entry in "
                              "csrc/perf/kernel_table_*.cpp");
}

std::ostream& operator<<(std::ostream& os, KernelRef k) { return os << k.name(); }

}  // namespace accel::perf
