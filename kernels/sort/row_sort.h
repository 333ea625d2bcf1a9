// Compute kernels of the sort family: one row along the sort dim at a time,
// held in a core's L1. A row becomes order keys whose ascending order is the
// order CPU ATen sorts in (NaN largest, -0 equal to +0, descending flips it),
// each key carrying its element's index so every key is unique: any sort of
// the keys is then stable, and ties resolve to the lower index.
#pragma once

#include <cstdint>

#include "engine/tensor_ref.h"

namespace accel::kernels {

// Dtypes of at most 32 bits pack (order key << 32 | index) in one word.
bool packs_in_word(engine::DType dt);

// A 64-bit dtype's key and its index, ordered lexicographically.
struct WideKey {
  uint64_t key;
  int64_t index;
  bool operator<(const WideKey& o) const { return key < o.key || (key == o.key && index < o.index); }
};

// Reader side: `n` elements of `dt` at `src` (element stride `stride`) to keys.
void make_keys(const void* src, engine::DType dt, int64_t stride, int64_t n, bool descending,
               uint64_t* keys);
void make_keys(const void* src, engine::DType dt, int64_t stride, int64_t n, bool descending,
               WideKey* keys);

// Full ascending sort of unique packed keys; `scratch` holds n words.
void sort_keys(uint64_t* keys, uint64_t* scratch, int64_t n);
void sort_keys(WideKey* keys, int64_t n);

// The first k keys in ascending order (sorted) or in any order.
void select_smallest(uint64_t* keys, int64_t n, int64_t k, bool sorted);
void select_smallest(WideKey* keys, int64_t n, int64_t k, bool sorted);

inline int64_t index_of(uint64_t key) { return static_cast<int64_t>(key & 0xffffffffu); }
inline int64_t index_of(const WideKey& key) { return key.index; }
// Whether an ascending key is a NaN's (all NaNs share the largest key).
bool is_nan_key(uint64_t key, engine::DType dt);
bool is_nan_key(const WideKey& key, engine::DType dt);

// Writer side: values[i] = src[index_of(keys[i])], indices[i] = that index.
template <class K>
void write_row(const K* keys, int64_t n, const void* src, int64_t src_stride, engine::DType dt,
               void* values, int64_t values_stride, int64_t* indices, int64_t indices_stride);

}  // namespace accel::kernels
