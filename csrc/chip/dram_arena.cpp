#include "chip/dram_arena.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace accel::chip {

DramArena::DramArena(int device_index, uint64_t capacity_bytes)
    : device_index_(device_index), capacity_(capacity_bytes) {
  // MAP_NORESERVE: a 12 GiB device costs host RAM only for pages it touches.
  void* p = mmap(nullptr, capacity_, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    throw std::runtime_error("accel:" + std::to_string(device_index) + ": cannot reserve " +
                             std::to_string(capacity_) + " bytes of address space for DRAM: " +
                             std::strerror(errno));
  base_ = static_cast<char*>(p);
  insert_free(0, capacity_);
}

DramArena::~DramArena() {
  if (base_) munmap(base_, capacity_);
}

void DramArena::insert_free(uint64_t offset, uint64_t size) {
  free_by_offset_[offset] = size;
  free_by_size_.insert({size, offset});
}

void DramArena::erase_free(uint64_t offset, uint64_t size) {
  free_by_offset_.erase(offset);
  free_by_size_.erase({size, offset});
}

void* DramArena::allocate(uint64_t bytes) {
  if (bytes == 0) return nullptr;
  const uint64_t size = (bytes + kPageBytes - 1) / kPageBytes * kPageBytes;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = free_by_size_.lower_bound({size, 0});
  if (it == free_by_size_.end()) return nullptr;
  auto [extent, offset] = *it;
  erase_free(offset, extent);
  if (extent > size) insert_free(offset + size, extent - size);
  used_by_offset_[offset] = size;
  used_ += size;
  return base_ + offset;
}

void DramArena::release(void* ptr) {
  if (!ptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  uint64_t offset = static_cast<char*>(ptr) - base_;
  auto used = used_by_offset_.find(offset);
  if (used == used_by_offset_.end())
    throw std::logic_error("DramArena::release: pointer is not a live segment");
  uint64_t size = used->second;
  used_by_offset_.erase(used);
  used_ -= size;
  madvise(ptr, size, MADV_DONTNEED);

  // Coalesce with free neighbours so large segments stay possible.
  auto next = free_by_offset_.lower_bound(offset);
  if (next != free_by_offset_.end() && next->first == offset + size) {
    uint64_t next_size = next->second;
    erase_free(next->first, next_size);
    size += next_size;
  }
  auto prev = free_by_offset_.lower_bound(offset);
  if (prev != free_by_offset_.begin()) {
    --prev;
    if (prev->first + prev->second == offset) {
      uint64_t prev_offset = prev->first, prev_size = prev->second;
      erase_free(prev_offset, prev_size);
      offset = prev_offset;
      size += prev_size;
    }
  }
  insert_free(offset, size);
}

uint64_t DramArena::used_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return used_;
}

uint64_t DramArena::largest_free_extent() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return free_by_size_.empty() ? 0 : free_by_size_.rbegin()->first;
}

}  // namespace accel::chip
