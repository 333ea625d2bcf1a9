// torch_accel._C bindings of multi-chip systems (chip/system.h) and the
// collective model (perf/collective.h), for torch_accel.systems. Systems
// cross the boundary as JSON text, as architectures do.
#include <torch/csrc/utils/pybind.h>

#include <optional>

#include "chip/arch.h"
#include "chip/runtime.h"
#include "chip/system.h"
#include "glue/glue.h"
#include "perf/clock.h"
#include "perf/collective.h"

namespace py = pybind11;

namespace {

accel::chip::System parse_system_json(const std::string& text) {
  return accel::chip::system_from_json(text, "<system>");
}

py::dict collective_cost_dict(const accel::perf::CollectiveCost& c) {
  py::dict d;
  d["op"] = c.op;
  d["algorithm"] = c.algorithm;
  d["strategy"] = c.strategy;
  d["group_size"] = c.group_size;
  d["steps"] = c.steps;
  d["max_hops"] = c.max_hops;
  d["links_used"] = c.links_used;
  d["link_bandwidth_bytes_per_s"] = c.link_bandwidth_bytes_per_s;
  d["latency_s"] = c.latency_s;
  d["bandwidth_s"] = c.bandwidth_s;
  d["reduce_s"] = c.reduce_s;
  d["launch_s"] = c.launch_s;
  d["time_s"] = c.time_s;
  d["bytes_per_link"] = c.bytes_per_link;
  d["wire_bytes"] = c.wire_bytes;
  d["energy_j"] = c.energy_j;
  d["order"] = c.order;
  return d;
}

}  // namespace

void bind_systems(py::module& m) {
  m.def("system_preset_names", &accel::chip::system_preset_names);
  m.def("system_json_for", [](const std::string& spec) {
    return accel::chip::system_to_json(accel::chip::load_system(spec));
  });
  m.def("validate_system_json", [](const std::string& text, const std::string& origin) {
    return accel::chip::system_to_json(accel::chip::system_from_json(text, origin));
  });
  m.def("system_route", [](const std::string& system_json, int64_t a, int64_t b) {
    return parse_system_json(system_json).route(a, b);
  });
  m.def("system_usable_links", [](const std::string& system_json, int64_t a, int64_t b) {
    return parse_system_json(system_json).usable_links(a, b);
  });
  m.def("set_active_system", [](std::optional<std::string> system_json) {
    accel::chip::set_active_system(system_json ? std::optional(parse_system_json(*system_json))
                                               : std::nullopt);
  });
  m.def("active_system_json", []() -> std::optional<std::string> {
    const auto s = accel::chip::active_system();
    return s ? std::optional(accel::chip::system_to_json(*s)) : std::nullopt;
  });
  // A collective's (or any transfer's) modelled time on one device: its
  // current stream waits until `not_before_s` (e.g. the last rank to arrive),
  // then is busy for `seconds` on the Ethernet cores; returns when it ends.
  m.def("clock_occupy", [](int device, double seconds, double not_before_s) {
    if (!(seconds >= 0) || !(not_before_s >= 0))
      throw std::invalid_argument("clock_occupy: seconds and not_before_s must be >= 0");
    return accel::glue::chip_call([&] {
      auto& rt = accel::chip::Runtime::get();
      rt.check_index(device);
      auto& clock = accel::perf::device_clock(device, rt.arch("device clock"));
      const int64_t stream = accel::perf::current_stream(device);
      clock.wait(stream, not_before_s);
      return clock.schedule(stream, 1, seconds);
    });
  }, py::arg("device"), py::arg("seconds"), py::arg("not_before_s") = 0.0);
  m.def("collective_ops", &accel::perf::collective_ops);
  m.def("collective_cost",
        [](const std::string& system_json, const std::string& op, double nbytes,
           const std::vector<int64_t>& ranks, const std::string& algorithm, int64_t element_bytes,
           int64_t root, std::optional<std::string> arch) {
          const auto system = parse_system_json(system_json);
          const auto chip = accel::chip::load_arch(arch.value_or(system.arch));
          return collective_cost_dict(accel::perf::collective_cost(system, chip, op, nbytes, ranks,
                                                                   algorithm, element_bytes, root));
        },
        py::arg("system_json"), py::arg("op"), py::arg("nbytes"), py::arg("ranks"),
        py::arg("algorithm") = "auto", py::arg("element_bytes") = 2, py::arg("root") = -1,
        py::arg("arch") = py::none());
}
