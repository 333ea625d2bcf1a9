#include "kernels/optim/amp.h"

#include <atomic>
#include <cmath>

#include "kernels/optim/multi_tensor.h"

namespace accel::kernels {

engine::ProgramRecord run_unscale(const chip::Arch& arch, const std::vector<engine::TensorRef>& grads,
                                  engine::DType format, float inv_scale, bool* found_inf) {
  std::vector<int64_t> jobs;
  for (const auto& g : grads) jobs.push_back(g.numel());
  std::atomic<bool> any{false};
  const FlatProgram prog{"aten::_amp_foreach_non_finite_check_and_unscale_", "sfpu_unscale_check",
                         1, 1, 1};
  auto rec = run_flat_multi(arch, prog, jobs, format, [&](int64_t, size_t j, int64_t first, int64_t n) {
    float buf[kFlatTile];
    read_floats(grads[j], first, n, buf);
    bool bad = false;
    for (int64_t i = 0; i < n; ++i) {
      bad |= !std::isfinite(buf[i]);
      buf[i] *= inv_scale;
    }
    if (bad) any.store(true, std::memory_order_relaxed);
    write_floats(grads[j], first, n, buf);
  });
  *found_inf = any.load();
  return rec;
}

ScaleState update_scale(ScaleState s, bool found_inf, double growth_factor, double backoff_factor,
                        int64_t growth_interval) {
  if (found_inf) return {static_cast<float>(s.scale * backoff_factor), 0};
  const int32_t successful = s.growth_tracker + 1;
  if (successful == growth_interval) {
    const float grown = static_cast<float>(s.scale * growth_factor);
    return {std::isfinite(grown) ? grown : s.scale, 0};
  }
  return {s.scale, successful};
}

}  // namespace accel::kernels
