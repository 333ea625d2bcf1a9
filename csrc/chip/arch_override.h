// An estimate plans for an architecture other than the one the runtime runs:
// while an ArchOverride lives, Runtime::arch() on its thread returns its arch
// (without initializing the runtime). Kept out of runtime.h, which every ATen
// file includes.
#pragma once

#include "chip/arch.h"

namespace accel::chip {

class ArchOverride {
 public:
  // `arch` must outlive the override.
  explicit ArchOverride(const Arch& arch);
  ~ArchOverride();
  ArchOverride(const ArchOverride&) = delete;
  ArchOverride& operator=(const ArchOverride&) = delete;

 private:
  const Arch* previous_;
};

}  // namespace accel::chip
