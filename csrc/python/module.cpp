// torch_accel._C: the bindings the Python package needs, nothing more.
#include <torch/csrc/Generator.h>
#include <torch/csrc/utils/pybind.h>

#include "aten/fallback.h"
#include "chip/arch.h"
#include "engine/program.h"
#include "glue/glue.h"

namespace py = pybind11;
using accel::chip::Runtime;

void bind_perf(py::module& m);  // perf_bindings.cpp
void bind_graph_runner(py::module& m);  // graph_runner.cpp
py::dict record_dict(const accel::engine::ProgramRecord& r);  // perf_bindings.cpp

namespace {

py::dict stats_dict(const accel::chip::AllocatorStats& s) {
  py::dict out;
  auto put = [&](const char* name, const accel::chip::Stat& stat) {
    const std::string prefix = std::string(name) + ".all.";
    out[py::str(prefix + "current")] = stat.current;
    out[py::str(prefix + "peak")] = stat.peak;
    out[py::str(prefix + "allocated")] = stat.allocated;
    out[py::str(prefix + "freed")] = stat.freed;
  };
  put("allocation", s.allocation);
  put("segment", s.segment);
  put("active", s.active);
  put("inactive_split", s.inactive_split);
  put("allocated_bytes", s.allocated_bytes);
  put("reserved_bytes", s.reserved_bytes);
  put("active_bytes", s.active_bytes);
  put("inactive_split_bytes", s.inactive_split_bytes);
  put("requested_bytes", s.requested_bytes);
  out["num_alloc_retries"] = s.num_alloc_retries;
  out["num_ooms"] = s.num_ooms;
  out["num_device_alloc"] = s.num_device_alloc;
  out["num_device_free"] = s.num_device_free;
  return out;
}

accel::chip::CachingAllocator& allocator_of(int index) {
  return accel::glue::chip_call([&]() -> accel::chip::CachingAllocator& {
    return Runtime::get().device(accel::glue::resolve_device(index), "a memory query").allocator;
  });
}

}  // namespace

PYBIND11_MODULE(_C, m) {
  m.doc() = "torch_accel native core";

  m.def("configure",
        [](std::optional<std::string> arch, std::optional<std::string> arch_json,
           std::string origin, std::optional<int> num_devices,
           std::optional<std::string> deferred_error) {
          Runtime::get().configure({arch, arch_json, origin, num_devices, deferred_error});
        },
        py::arg("arch") = py::none(), py::arg("arch_json") = py::none(),
        py::arg("origin") = "", py::arg("num_devices") = py::none(),
        py::arg("deferred_error") = py::none());
  m.def("is_initialized", [] { return Runtime::get().initialized(); });
  m.def("device_count", [] { return Runtime::get().device_count(); });
  m.def("device_count_noexcept", [] { return Runtime::get().device_count_noexcept(); });
  m.def("current_device", [] { return Runtime::get().current_device(); });
  m.def("set_device", [](int index) {
    accel::glue::chip_call([&] { Runtime::get().set_current_device(index); });
  });
  m.def("init", [] { accel::glue::chip_call([] { Runtime::get().arch("torch.accel.init()"); }); });
  m.def("arch_json", [] {
    return accel::glue::chip_call([] { return accel::chip::arch_to_json(Runtime::get().arch("an architecture query")); });
  });
  m.def("preset_names", &accel::chip::preset_names);
  m.def("arch_json_for", [](const std::string& spec) {
    return accel::chip::arch_to_json(accel::chip::load_arch(spec));
  });
  m.def("validate_arch_json", [](const std::string& text, const std::string& origin) {
    return accel::chip::arch_to_json(accel::chip::arch_from_json(text, origin));
  });

  m.def("memory_stats", [](int index) { return stats_dict(allocator_of(index).stats()); });
  m.def("reset_peak_memory_stats", [](int index) { allocator_of(index).reset_peak_stats(); });
  m.def("reset_accumulated_memory_stats",
        [](int index) { allocator_of(index).reset_accumulated_stats(); });
  m.def("empty_cache", [] { accel::glue::allocator()->emptyCache({0, 0}); });
  m.def("mem_get_info", [](int index) {
    auto& a = allocator_of(index);
    return py::make_tuple(a.free_bytes(), a.capacity());
  });

  m.def("default_generator", [](int index) {
    return py::reinterpret_steal<py::object>(
        THPGenerator_initDefaultGenerator(accel::glue::default_generator(index)));
  });

  m.def("set_recording", &accel::engine::set_recording);
  m.def("take_records", [] {
    py::list out;
    for (const auto& r : accel::engine::take_records()) out.append(record_dict(r));
    return out;
  });

  bind_perf(m);
  bind_graph_runner(m);
  m.def("fallback_stats", &accel::aten::fallback_stats);
  m.def("reset_fallback_stats", &accel::aten::reset_fallback_stats);
  m.def("set_fallback_policy", &accel::aten::set_fallback_policy);
  m.def("fallback_policy", &accel::aten::fallback_policy);
  void bind_compute(py::module&); bind_compute(m);  // compute_bindings.cpp
  void bind_estimate(py::module&); bind_estimate(m);  // estimate_bindings.cpp
  void bind_systems(py::module&); bind_systems(m);  // system_bindings.cpp
  void bind_cuda(py::module&); bind_cuda(m);  // cuda_bindings.cpp
  void bind_distributed(py::module&); bind_distributed(m);  // distributed_bindings.cpp
}
