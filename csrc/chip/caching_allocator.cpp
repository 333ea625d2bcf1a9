#include "chip/caching_allocator.h"

#include <cstdio>
#include <vector>

namespace accel::chip {
namespace {

size_t round_up(size_t n, size_t multiple) { return (n + multiple - 1) / multiple * multiple; }

std::string format_bytes(uint64_t bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  char text[64];
  std::snprintf(text, sizeof(text), unit == 0 ? "%.0f %s" : "%.2f %s", value, units[unit]);
  return text;
}

}  // namespace

CachingAllocator::~CachingAllocator() {
  for (Pool* pool : {&small_pool_, &large_pool_})
    for (Block* b : *pool) delete b;
  for (auto& [ptr, b] : live_) delete b;
}

CachingAllocator::Block* CachingAllocator::new_segment(size_t size, bool small) {
  void* ptr = arena_.allocate(size);
  if (!ptr) return nullptr;
  stats_.segment.increase(1);
  stats_.reserved_bytes.increase(static_cast<int64_t>(size));
  ++stats_.num_device_alloc;
  auto* b = new Block{static_cast<char*>(ptr), size};
  b->small = small;
  return b;
}

void CachingAllocator::release_free_segments() {
  for (Pool* pool : {&small_pool_, &large_pool_}) {
    for (auto it = pool->begin(); it != pool->end();) {
      Block* b = *it;
      if (is_split(b)) {
        ++it;
        continue;
      }
      it = pool->erase(it);
      arena_.release(b->ptr);
      stats_.segment.decrease(1);
      stats_.reserved_bytes.decrease(static_cast<int64_t>(b->size));
      ++stats_.num_device_free;
      delete b;
    }
  }
}

void* CachingAllocator::allocate(size_t bytes) {
  if (bytes == 0) return nullptr;
  const size_t size = round_up(bytes, kMinBlock);
  const bool small = size <= kSmallSize;
  std::lock_guard<std::mutex> lock(mutex_);

  Pool& pool = pool_for(small);
  Block key{nullptr, size};
  Block* block = nullptr;
  if (auto it = pool.lower_bound(&key); it != pool.end()) {
    block = *it;
    pool.erase(it);
    if (is_split(block)) {
      stats_.inactive_split.decrease(1);
      stats_.inactive_split_bytes.decrease(static_cast<int64_t>(block->size));
    }
  } else {
    const size_t preferred = small                 ? kSmallSegment
                             : size < 10 * kSmallSize ? kLargeSegment
                                                      : round_up(size, kRoundLarge);
    const size_t minimal = small ? kSmallSegment : round_up(size, DramArena::kPageBytes);
    block = new_segment(preferred, small);
    if (!block && minimal != preferred) block = new_segment(minimal, small);
    if (!block) {
      // Like torch.cuda: give cached segments back and try once more.
      ++stats_.num_alloc_retries;
      release_free_segments();
      block = new_segment(minimal, small);
    }
    if (!block) {
      ++stats_.num_ooms;
      throw OutOfMemory(oom_message(size), arena_.device_index(), size,
                        arena_.capacity() - arena_.used_bytes(), arena_.capacity());
    }
  }

  const size_t remaining = block->size - size;
  if ((small && remaining >= kMinBlock) || (!small && remaining > kSmallSize)) {
    auto* rest = new Block{block->ptr + size, remaining};
    rest->small = small;
    rest->prev = block;
    rest->next = block->next;
    if (block->next) block->next->prev = rest;
    block->next = rest;
    block->size = size;
    pool.insert(rest);
    stats_.inactive_split.increase(1);
    stats_.inactive_split_bytes.increase(static_cast<int64_t>(remaining));
  }

  block->allocated = true;
  block->requested = bytes;
  live_[block->ptr] = block;
  const auto n = static_cast<int64_t>(block->size);
  stats_.allocation.increase(1);
  stats_.active.increase(1);
  stats_.allocated_bytes.increase(n);
  stats_.active_bytes.increase(n);
  stats_.requested_bytes.increase(static_cast<int64_t>(bytes));
  return block->ptr;
}

void CachingAllocator::free(void* ptr) {
  if (!ptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = live_.find(ptr);
  if (it == live_.end()) throw std::logic_error("CachingAllocator::free: unknown pointer");
  Block* block = it->second;
  live_.erase(it);
  const auto n = static_cast<int64_t>(block->size);
  stats_.allocation.decrease(1);
  stats_.active.decrease(1);
  stats_.allocated_bytes.decrease(n);
  stats_.active_bytes.decrease(n);
  stats_.requested_bytes.decrease(static_cast<int64_t>(block->requested));
  block->allocated = false;

  Pool& pool = pool_for(block->small);
  auto absorb = [&](Block* into, Block* from) {
    into->size += from->size;
    into->next = from->next;
    if (from->next) from->next->prev = into;
  };
  auto take_from_pool = [&](Block* b) {
    pool.erase(b);
    stats_.inactive_split.decrease(1);
    stats_.inactive_split_bytes.decrease(static_cast<int64_t>(b->size));
  };
  if (Block* prev = block->prev; prev && !prev->allocated) {
    take_from_pool(prev);
    absorb(prev, block);
    delete block;
    block = prev;
  }
  if (Block* next = block->next; next && !next->allocated) {
    take_from_pool(next);
    absorb(block, next);
    delete next;
  }
  pool.insert(block);
  if (is_split(block)) {
    stats_.inactive_split.increase(1);
    stats_.inactive_split_bytes.increase(static_cast<int64_t>(block->size));
  }
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  release_free_segments();
}

AllocatorStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void CachingAllocator::reset_peak_stats() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (Stat* s : {&stats_.allocation, &stats_.segment, &stats_.active, &stats_.inactive_split,
                  &stats_.allocated_bytes, &stats_.reserved_bytes, &stats_.active_bytes,
                  &stats_.inactive_split_bytes, &stats_.requested_bytes})
    s->peak = s->current;
}

void CachingAllocator::reset_accumulated_stats() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (Stat* s : {&stats_.allocation, &stats_.segment, &stats_.active, &stats_.inactive_split,
                  &stats_.allocated_bytes, &stats_.reserved_bytes, &stats_.active_bytes,
                  &stats_.inactive_split_bytes, &stats_.requested_bytes})
    s->allocated = s->freed = 0;
  stats_.num_alloc_retries = stats_.num_ooms = 0;
  stats_.num_device_alloc = stats_.num_device_free = 0;
}

uint64_t CachingAllocator::free_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  uint64_t cached = 0;
  for (const Pool* pool : {&small_pool_, &large_pool_})
    for (const Block* b : *pool) cached += b->size;
  return arena_.capacity() - arena_.used_bytes() + cached;
}

std::string CachingAllocator::oom_message(size_t size) const {
  const uint64_t free = arena_.capacity() - arena_.used_bytes();
  const auto allocated = static_cast<uint64_t>(stats_.allocated_bytes.current);
  const auto reserved = static_cast<uint64_t>(stats_.reserved_bytes.current);
  const std::string dev = "accel:" + std::to_string(arena_.device_index());
  return dev + " out of memory: tried to allocate " + format_bytes(size) + " (" +
         std::to_string(size) + " bytes). " + dev + " has a DRAM capacity of " +
         format_bytes(arena_.capacity()) + ", of which " + format_bytes(free) + " (" +
         std::to_string(free) + " bytes) is free; " + format_bytes(allocated) +
         " is allocated by PyTorch and " + format_bytes(reserved - allocated) +
         " is reserved by PyTorch but unallocated.";
}

}  // namespace accel::chip
