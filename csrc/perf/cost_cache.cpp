#include "perf/cost_cache.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>
#include <string>
#include <unordered_map>

#include "perf/cost.h"

namespace accel::perf {
namespace {

using engine::ProgramRecord;

// A field estimate_cost reads but the signature lacks would serve stale
// times: a new record field must be added below (or here, if the cost
// ignores it) before this compiles.
static_assert(sizeof(ProgramRecord) == 4 * sizeof(std::string) + 168,
              "ProgramRecord changed: update the cost signature in perf/cost_cache.cpp");

struct Signature {
  const chip::Arch* arch;
  const KernelDesc *reader, *compute, *writer, *sfpu_function;
  std::string input_format, output_format, in1_format;
  int math_fidelity;
  bool fp32_dest_acc, in1_batched;
  int64_t flops, dram_read_bytes, dram_write_bytes, noc_bytes, tiles, cores_used,
      max_tiles_per_core, batch, m_tiles, n_tiles, k_tiles, multicast_bytes;
  double link_s;

  Signature(const ProgramRecord& r, const chip::Arch& a)
      : arch(&a), reader(r.reader.desc()), compute(r.compute.desc()), writer(r.writer.desc()),
        sfpu_function(r.sfpu_function.desc()), input_format(r.input_format),
        output_format(r.output_format), in1_format(r.in1_format), math_fidelity(r.math_fidelity),
        fp32_dest_acc(r.fp32_dest_acc), in1_batched(r.in1_batched), flops(r.flops), dram_read_bytes(r.dram_read_bytes),
        dram_write_bytes(r.dram_write_bytes), noc_bytes(r.noc_bytes), tiles(r.tiles),
        cores_used(r.cores_used), max_tiles_per_core(r.max_tiles_per_core), batch(r.batch),
        m_tiles(r.m_tiles), n_tiles(r.n_tiles), k_tiles(r.k_tiles),
        multicast_bytes(r.multicast_bytes), link_s(r.link_s) {}
  bool operator==(const Signature&) const = default;
};

struct SignatureHash {
  size_t operator()(const Signature& s) const {
    size_t h = 0;
    const auto mix = [&h](size_t v) { h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2); };
    for (const void* p : {static_cast<const void*>(s.arch), static_cast<const void*>(s.reader),
                          static_cast<const void*>(s.compute), static_cast<const void*>(s.writer),
                          static_cast<const void*>(s.sfpu_function)})
      mix(std::hash<const void*>{}(p));
    // Format names differ in their length or first bytes: hash those only.
    for (const std::string* f : {&s.input_format, &s.output_format, &s.in1_format}) {
      uint64_t head = 0;
      std::memcpy(&head, f->data(), std::min<size_t>(f->size(), sizeof(head)));
      mix(head ^ (f->size() << 56));
    }
    mix(static_cast<size_t>(s.math_fidelity) * 4 + s.fp32_dest_acc * 2 + s.in1_batched);
    for (int64_t v : {s.flops, s.dram_read_bytes, s.dram_write_bytes, s.noc_bytes, s.tiles,
                      s.cores_used, s.max_tiles_per_core, s.batch, s.m_tiles, s.n_tiles, s.k_tiles,
                      s.multicast_bytes})
      mix(std::hash<int64_t>{}(v));
    mix(std::hash<double>{}(s.link_s));
    return h;
  }
};

// Bounded: a workload of ever-new shapes starts over rather than grow.
constexpr size_t kMaxEntries = 4096;
// Bumped by clear_cost_cache(); each thread's cache drops itself when behind.
std::atomic<uint64_t> g_generation{0};

struct ThreadCache {
  uint64_t generation = 0;
  std::unordered_map<Signature, double, SignatureHash> times;
};

}  // namespace

double cached_time_s(const ProgramRecord& record, const chip::Arch& arch) {
  thread_local ThreadCache cache;
  const uint64_t generation = g_generation.load(std::memory_order_relaxed);
  if (cache.generation != generation || cache.times.size() >= kMaxEntries) {
    cache.times.clear();
    cache.generation = generation;
  }
  Signature key(record, arch);
  if (auto it = cache.times.find(key); it != cache.times.end()) return it->second;
  const double seconds = estimate_cost(record, arch).time_s;
  cache.times.emplace(std::move(key), seconds);
  return seconds;
}

void clear_cost_cache() { g_generation.fetch_add(1, std::memory_order_relaxed); }

}  // namespace accel::perf
