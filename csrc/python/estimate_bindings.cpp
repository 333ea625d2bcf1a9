// torch_accel._C bindings of estimate mode (glue/estimate.h), which
// torch_accel/estimate.py drives: one scope per estimate, entered and left on
// the thread that runs the model.
#include <torch/csrc/utils/pybind.h>

#include <memory>

#include "chip/arch.h"
#include "glue/estimate.h"
#include "glue/glue.h"

namespace py = pybind11;

py::dict record_dict(const accel::engine::ProgramRecord& r);  // perf_bindings.cpp

namespace {

struct Session {
  accel::chip::Arch arch;
  std::unique_ptr<accel::glue::EstimateScope> scope;
  std::vector<accel::engine::ProgramRecord> records;  // taken when the scope ends
  std::map<std::string, int64_t> host_fallbacks;
  uint64_t peak_bytes = 0;

  void collect() {
    auto more = scope->take_records();
    records.insert(records.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  }
};

}  // namespace

void bind_estimate(py::module& m) {
  py::class_<Session>(m, "EstimateScope")
      .def(py::init([](const std::string& arch) {
             return Session{accel::glue::chip_call([&] { return accel::chip::load_arch(arch); })};
           }),
           py::arg("arch"))
      .def("enter", [](Session& s) {
        if (s.scope) throw std::runtime_error("this estimate scope is already active; it is not reentrant");
        s.scope = std::make_unique<accel::glue::EstimateScope>(s.arch);
      })
      .def("exit", [](Session& s) {
        if (!s.scope) return;
        s.collect();
        s.host_fallbacks = s.scope->host_fallbacks();
        s.peak_bytes = s.scope->peak_bytes();
        s.scope.reset();
      })
      // The records so far (the list starts over); `discard` drops them instead.
      .def("take_records", [](Session& s, bool discard) {
        if (s.scope) s.collect();
        py::list out;
        if (!discard)
          for (const auto& r : s.records) out.append(record_dict(r));
        s.records.clear();
        return out;
      }, py::arg("discard") = false)
      .def("host_fallbacks", [](const Session& s) {
        return s.scope ? s.scope->host_fallbacks() : s.host_fallbacks;
      })
      .def_property_readonly("peak_bytes", [](const Session& s) {
        return s.scope ? s.scope->peak_bytes() : s.peak_bytes;
      })
      .def_property_readonly("arch_name", [](const Session& s) { return s.arch.name; });
}
