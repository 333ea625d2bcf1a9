// One description per kernel: every reader, compute and writer kernel a
// program can record has exactly one entry here. The tile kernels take their
// engine and FLOPs from it, the cost model its engine and vector-engine
// instruction count, the profiler its op class. Torch-free, like the rest of
// the performance model. docs/PERFORMANCE_MODEL.md, "Adding an element-wise op".
#pragma once

#include <cstdint>
#include <iosfwd>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace accel::perf {

enum class KernelRole : uint8_t { Reader, Compute, Writer };
// Fpu: the matrix engine's element-wise path; Matrix: its matrix products;
// Sfpu: the vector engine; Noc: data movement only (the RISC-V movers).
enum class Engine : uint8_t { Fpu, Sfpu, Matrix, Noc };

const char* role_name(KernelRole role);
const char* engine_name(Engine engine);

// Data formats a kernel accepts, one bit per format in formats.cpp's order:
// the nine float formats (IEEE and block-float) first, then the integers and Bool.
using FormatSet = uint32_t;
constexpr FormatSet kFloatFormats = 0x01FF;
constexpr FormatSet kIntFormats = 0x7E00;
constexpr FormatSet kAnyFormat = kFloatFormats | kIntFormats;
// The bit of a format name; unknown names throw std::invalid_argument.
FormatSet format_bit(std::string_view format);
std::vector<std::string> format_names(FormatSet formats);

// Vector-engine instructions counted from the record instead of a fixed
// figure: the program's FLOPs per element, one load per input and a store.
// For kernels whose work depends on the program's options (window size,
// sort passes, norm statistics).
constexpr double kInstructionsFromFlops = -1;

struct KernelDesc {
  const char* name;
  KernelRole role;
  Engine engine;
  int flops_per_element;     // nominal; programs with shape-dependent work count their own
  double sfpu_instructions;  // per element, one lane-cycle each; Sfpu compute kernels only
  FormatSet formats;
  const char* op_class;      // the profiler's family
};

// Every entry, in table order.
std::span<const KernelDesc> kernel_table();
// nullptr when `name` has no entry.
const KernelDesc* find_kernel(std::string_view name);
// As find_kernel; an unknown name throws std::invalid_argument naming it.
const KernelDesc& kernel_desc(std::string_view name);

// A kernel name in a program record: a pointer to its table entry, so
// records carry no strings and an unknown name fails where it is written.
class KernelRef {
 public:
  KernelRef() = default;
  KernelRef(const KernelDesc& desc) : desc_(&desc) {}
  // "" (or nullptr) is no kernel; a name without an entry throws std::invalid_argument.
  KernelRef(const char* name) : desc_(name && *name ? &kernel_desc(name) : nullptr) {}
  KernelRef(std::string_view name) : desc_(name.empty() ? nullptr : &kernel_desc(name)) {}
  KernelRef(const std::string& name) : KernelRef(std::string_view(name)) {}

  const KernelDesc* desc() const { return desc_; }
  const char* name() const { return desc_ ? desc_->name : ""; }
  bool empty() const { return desc_ == nullptr; }
  explicit operator bool() const { return desc_ != nullptr; }

  friend bool operator==(KernelRef a, std::string_view b) { return b == a.name(); }
  friend bool operator==(KernelRef a, const char* b) { return std::string_view(b) == a.name(); }

 private:
  const KernelDesc* desc_ = nullptr;
};
std::ostream& operator<<(std::ostream& os, KernelRef k);

// The table's parts, one per family of kernels (kernel_table_*.cpp).
std::span<const KernelDesc> eltwise_kernels();
std::span<const KernelDesc> program_kernels();
std::span<const KernelDesc> movement_kernels();

}  // namespace accel::perf
