// The compute settings a Tenstorrent op carries: math fidelity and whether the
// destination registers accumulate in fp32. Set globally or per scope.
#pragma once

#include <memory>
#include <stdexcept>

namespace accel::engine {

// Passes of the 5x7-bit multipliers over the operands' mantissas.
enum class MathFidelity : int { LoFi = 1, HiFi2 = 2, HiFi3 = 3, HiFi4 = 4 };

struct ComputeConfig {
  // Defaults keep float32 results within torch.testing's tolerances of CPU.
  MathFidelity fidelity = MathFidelity::HiFi4;
  bool fp32_dest_acc = true;
};

// The scoped setting of this thread if one is active, else the global one.
ComputeConfig current_compute_config();
void set_global_compute_config(const ComputeConfig& cfg);
ComputeConfig global_compute_config();

// Overrides the setting on this thread until destroyed; nests. The setting
// also reaches the work this thread hands to autograd's device threads
// (backward), as autocast's does.
class ComputeConfigScope {
 public:
  explicit ComputeConfigScope(const ComputeConfig& cfg);
  ~ComputeConfigScope();
  ComputeConfigScope(const ComputeConfigScope&) = delete;
  ComputeConfigScope& operator=(const ComputeConfigScope&) = delete;

 private:
  bool had_previous_;
  ComputeConfig previous_;
  std::shared_ptr<void> propagated_;  // the guard that carries it to other threads
};

}  // namespace accel::engine
