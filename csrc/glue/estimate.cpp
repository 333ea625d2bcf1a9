#include "glue/estimate.h"

#include <mutex>
#include <stdexcept>

#include "chip/arch_override.h"
#include "chip/caching_allocator.h"
#include "chip/dram_arena.h"
#include "engine/plan_mode.h"

namespace accel::glue {
namespace {

thread_local EstimateScope* t_estimate = nullptr;

// Large enough for a 70B-parameter model's weights, gradients and optimizer
// state; smaller when the host will not reserve that much address space.
chip::DramArena& virtual_arena() {
  static chip::DramArena* arena = [] {
    for (uint64_t bytes = uint64_t{4} << 40; bytes >= (uint64_t{64} << 30); bytes /= 2) {
      try {
        return new chip::DramArena(-1, bytes);  // never destroyed: tensors may outlive statics
      } catch (const std::runtime_error&) {
      }
    }
    throw std::runtime_error("estimate mode: the host cannot reserve 64 GiB of address space");
  }();
  return *arena;
}

}  // namespace

struct EstimateScope::Active {
  Active(const chip::Arch& arch, std::vector<engine::ProgramRecord>* sink)
      : arch_override(arch), redirect(sink) {}
  engine::PlanOnlyScope plan_only;
  chip::ArchOverride arch_override;
  engine::RecordRedirect redirect;
};

EstimateScope::EstimateScope(chip::Arch arch)
    : arch_(std::move(arch)), previous_(t_estimate), active_(std::make_unique<Active>(arch_, &records_)) {
  baseline_bytes_ = virtual_arena().used_bytes();
  t_estimate = this;
}

EstimateScope::~EstimateScope() {
  active_.reset();
  t_estimate = previous_;
}

std::vector<engine::ProgramRecord> EstimateScope::take_records() { return std::exchange(records_, {}); }

EstimateScope* active_estimate() { return t_estimate; }

void* allocate_virtual(size_t bytes) {
  chip::DramArena& arena = virtual_arena();
  void* ptr = arena.allocate(bytes);
  if (!ptr)
    throw chip::OutOfMemory("estimate mode: a tensor of " + std::to_string(bytes) +
                                " bytes does not fit the " + std::to_string(arena.capacity() >> 30) +
                                " GiB of address space reserved for estimate tensors (" +
                                std::to_string(arena.used_bytes() >> 30) + " GiB in use)",
                            -1, bytes, arena.capacity() - arena.used_bytes(), arena.capacity());
  if (t_estimate) t_estimate->note_virtual_bytes(arena.used_bytes());
  return ptr;
}

void free_virtual(void* ptr) { virtual_arena().release(ptr); }

}  // namespace accel::glue
