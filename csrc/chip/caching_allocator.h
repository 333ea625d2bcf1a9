// A caching allocator over one device's DRAM arena, shaped like PyTorch's CUDA
// caching allocator: blocks are rounded, carved from segments, cached on free
// and reused; empty_cache() returns whole free segments to the arena.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "chip/dram_arena.h"

namespace accel::chip {

struct OutOfMemory : std::runtime_error {
  OutOfMemory(const std::string& what, int device, uint64_t requested, uint64_t free,
              uint64_t capacity)
      : std::runtime_error(what), device(device), requested(requested), free(free),
        capacity(capacity) {}
  int device;
  uint64_t requested, free, capacity;
};

// current/peak are levels; allocated/freed are cumulative, as in torch.cuda.
struct Stat {
  int64_t current = 0, peak = 0, allocated = 0, freed = 0;
  void increase(int64_t n) {
    current += n;
    allocated += n;
    if (current > peak) peak = current;
  }
  void decrease(int64_t n) {
    current -= n;
    freed += n;
  }
};

struct AllocatorStats {
  Stat allocation, segment, active, inactive_split;
  Stat allocated_bytes, reserved_bytes, active_bytes, inactive_split_bytes, requested_bytes;
  int64_t num_alloc_retries = 0, num_ooms = 0, num_device_alloc = 0, num_device_free = 0;
};

class CachingAllocator {
 public:
  static constexpr size_t kMinBlock = 512;
  static constexpr size_t kSmallSize = 1 << 20;      // largest small-pool request
  static constexpr size_t kSmallSegment = 2 << 20;   // small-pool segment size
  static constexpr size_t kLargeSegment = 20 << 20;  // for 1..10 MiB requests
  static constexpr size_t kRoundLarge = 2 << 20;

  explicit CachingAllocator(DramArena& arena) : arena_(arena) {}
  ~CachingAllocator();

  // Throws OutOfMemory naming the device, the request and the free bytes.
  void* allocate(size_t bytes);
  void free(void* ptr);
  void empty_cache();

  AllocatorStats stats() const;
  void reset_peak_stats();
  void reset_accumulated_stats();
  // Bytes a new allocation could still get: free arena space plus cached blocks.
  uint64_t free_bytes() const;
  uint64_t capacity() const { return arena_.capacity(); }
  int device_index() const { return arena_.device_index(); }

 private:
  struct Block {
    char* ptr;
    size_t size;
    size_t requested = 0;
    bool allocated = false;
    bool small = false;
    Block* prev = nullptr;
    Block* next = nullptr;
  };
  struct BySizeThenAddress {
    bool operator()(const Block* a, const Block* b) const {
      return a->size != b->size ? a->size < b->size : a->ptr < b->ptr;
    }
  };
  using Pool = std::set<Block*, BySizeThenAddress>;

  Pool& pool_for(bool small) { return small ? small_pool_ : large_pool_; }
  Block* new_segment(size_t size, bool small);
  void release_free_segments();
  bool is_split(const Block* b) const { return b->prev || b->next; }
  std::string oom_message(size_t size) const;

  DramArena& arena_;
  mutable std::mutex mutex_;
  Pool small_pool_, large_pool_;
  std::unordered_map<void*, Block*> live_;
  AllocatorStats stats_;
};

}  // namespace accel::chip
