#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "chip/caching_allocator.h"
#include "chip/dram_arena.h"

using namespace accel::chip;

namespace {
constexpr uint64_t MiB = 1 << 20;

// Resident set size of this process, from /proc.
uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * 4096;
}
}  // namespace

TEST(DramArena, AllocatesWithinCapacityAndCoalesces) {
  DramArena arena(0, 64 * MiB);
  void* a = arena.allocate(16 * MiB);
  void* b = arena.allocate(16 * MiB);
  void* c = arena.allocate(32 * MiB);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(arena.allocate(4096), nullptr);  // full
  EXPECT_EQ(arena.used_bytes(), 64 * MiB);
  arena.release(a);
  arena.release(b);
  EXPECT_EQ(arena.largest_free_extent(), 32 * MiB);  // a and b merged
  void* d = arena.allocate(32 * MiB);
  EXPECT_EQ(d, a);
  arena.release(c);
  arena.release(d);
  EXPECT_EQ(arena.used_bytes(), 0u);
  EXPECT_EQ(arena.largest_free_extent(), 64 * MiB);
}

TEST(DramArena, CommitsHostMemoryOnlyWhenTouched) {
  const uint64_t before = resident_bytes();
  DramArena arena(0, 12ULL << 30);  // a wormhole's 12 GiB
  char* p = static_cast<char*>(arena.allocate(8ULL << 30));
  ASSERT_NE(p, nullptr);
  EXPECT_LT(resident_bytes() - before, 64 * MiB);
  for (uint64_t i = 0; i < 16 * MiB; i += 4096) p[i] = 1;
  EXPECT_GE(resident_bytes() - before, 16 * MiB);
  arena.release(p);
  EXPECT_LT(resident_bytes() - before, 8 * MiB);  // pages went back
}

TEST(CachingAllocator, ReusesCachedBlocks) {
  DramArena arena(0, 64 * MiB);
  CachingAllocator alloc(arena);
  void* a = alloc.allocate(1000);
  alloc.free(a);
  void* b = alloc.allocate(900);
  EXPECT_EQ(a, b);  // same rounded block
  auto s = alloc.stats();
  EXPECT_EQ(s.allocated_bytes.current, 1024);
  EXPECT_EQ(s.requested_bytes.current, 900);
  EXPECT_EQ(s.reserved_bytes.current, 2 * MiB);
  EXPECT_EQ(s.segment.current, 1);
  alloc.free(b);
  EXPECT_EQ(alloc.stats().allocated_bytes.current, 0);
  EXPECT_EQ(alloc.stats().reserved_bytes.current, static_cast<int64_t>(2 * MiB));
  alloc.empty_cache();
  EXPECT_EQ(alloc.stats().reserved_bytes.current, 0);
  EXPECT_EQ(arena.used_bytes(), 0u);
}

TEST(CachingAllocator, SplitsAndMergesBlocks) {
  DramArena arena(0, 64 * MiB);
  CachingAllocator alloc(arena);
  std::vector<void*> ptrs;
  for (int i = 0; i < 8; ++i) ptrs.push_back(alloc.allocate(100 * 1024));
  EXPECT_EQ(alloc.stats().segment.current, 1);  // all from one 2 MiB segment
  for (void* p : ptrs) alloc.free(p);
  auto s = alloc.stats();
  EXPECT_EQ(s.inactive_split.current, 0);  // merged back into one block
  void* big = alloc.allocate(1 * MiB);
  EXPECT_EQ(big, ptrs[0]);
  alloc.free(big);
}

TEST(CachingAllocator, PeakAndReset) {
  DramArena arena(0, 64 * MiB);
  CachingAllocator alloc(arena);
  void* a = alloc.allocate(4 * MiB);
  alloc.free(a);
  EXPECT_EQ(alloc.stats().allocated_bytes.peak, static_cast<int64_t>(4 * MiB));
  alloc.reset_peak_stats();
  EXPECT_EQ(alloc.stats().allocated_bytes.peak, 0);
  EXPECT_EQ(alloc.stats().allocation.allocated, 1);
  alloc.reset_accumulated_stats();
  EXPECT_EQ(alloc.stats().allocation.allocated, 0);
}

TEST(CachingAllocator, OutOfMemoryNamesDeviceAndSizesThenRecovers) {
  DramArena arena(3, 64 * MiB);
  CachingAllocator alloc(arena);
  void* a = alloc.allocate(40 * MiB);
  try {
    alloc.allocate(30 * MiB);
    FAIL() << "expected OutOfMemory";
  } catch (const OutOfMemory& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("accel:3"), std::string::npos) << msg;
    EXPECT_NE(msg.find("tried to allocate 30.00 MiB"), std::string::npos) << msg;
    EXPECT_NE(msg.find("24.00 MiB"), std::string::npos) << msg;  // free
    EXPECT_EQ(e.requested, 30 * MiB);
    EXPECT_EQ(e.free, 24 * MiB);
  }
  EXPECT_EQ(alloc.stats().num_ooms, 1);
  void* b = alloc.allocate(20 * MiB);  // the next allocation succeeds
  ASSERT_NE(b, nullptr);
  alloc.free(a);
  alloc.free(b);
  EXPECT_EQ(alloc.stats().allocated_bytes.current, 0);
}

TEST(CachingAllocator, FlushesCacheBeforeGivingUp) {
  DramArena arena(0, 64 * MiB);
  CachingAllocator alloc(arena);
  void* a = alloc.allocate(50 * MiB);
  alloc.free(a);  // cached, still reserved
  void* b = alloc.allocate(60 * MiB);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(alloc.stats().num_alloc_retries, 1);
  alloc.free(b);
}
