// One device's DRAM: a reserved range of host address space whose pages are
// committed only when touched, carved into segments by a best-fit range
// allocator. Capacity is the chip's DRAM size, enforced here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <utility>

namespace accel::chip {

class DramArena {
 public:
  static constexpr uint64_t kPageBytes = 4096;

  DramArena(int device_index, uint64_t capacity_bytes);
  ~DramArena();
  DramArena(const DramArena&) = delete;
  DramArena& operator=(const DramArena&) = delete;

  // Returns nullptr when no free extent is large enough.
  void* allocate(uint64_t bytes);
  // Returns the segment and gives its host pages back to the OS.
  void release(void* ptr);

  bool contains(const void* ptr) const {
    auto p = static_cast<const char*>(ptr);
    return p >= base_ && p < base_ + capacity_;
  }
  int device_index() const { return device_index_; }
  uint64_t capacity() const { return capacity_; }
  uint64_t used_bytes() const;
  uint64_t largest_free_extent() const;
  char* base() const { return base_; }

 private:
  void insert_free(uint64_t offset, uint64_t size);
  void erase_free(uint64_t offset, uint64_t size);

  int device_index_;
  uint64_t capacity_;
  char* base_ = nullptr;
  mutable std::mutex mutex_;
  uint64_t used_ = 0;
  std::map<uint64_t, uint64_t> free_by_offset_;
  std::set<std::pair<uint64_t, uint64_t>> free_by_size_;  // (size, offset)
  std::map<uint64_t, uint64_t> used_by_offset_;
};

}  // namespace accel::chip
