// torch_accel._C bindings of the compute settings (torch_accel/compute.py
// wraps them): the global config and a thread-scoped override.
#include <pybind11/pybind11.h>

#include <memory>

#include "engine/compute_config.h"

namespace py = pybind11;
using accel::engine::ComputeConfig;
using accel::engine::MathFidelity;

namespace {

ComputeConfig make_config(int fidelity, bool fp32_dest_acc) {
  if (fidelity < 1 || fidelity > 4)
    throw py::value_error("math_fidelity must be 1 (LoFi), 2 (HiFi2), 3 (HiFi3) or 4 (HiFi4)");
  return {static_cast<MathFidelity>(fidelity), fp32_dest_acc};
}

py::tuple as_tuple(const ComputeConfig& c) {
  return py::make_tuple(static_cast<int>(c.fidelity), c.fp32_dest_acc);
}

// One `with` block: the C++ scope lives from __enter__ to __exit__ on the
// thread that entered it.
struct Scope {
  ComputeConfig config;
  std::unique_ptr<accel::engine::ComputeConfigScope> active;
};

}  // namespace

void bind_compute(py::module& m) {
  m.def("set_compute_config", [](int fidelity, bool fp32_dest_acc) {
    accel::engine::set_global_compute_config(make_config(fidelity, fp32_dest_acc));
  });
  m.def("global_compute_config", [] { return as_tuple(accel::engine::global_compute_config()); });
  m.def("current_compute_config", [] { return as_tuple(accel::engine::current_compute_config()); });
  py::class_<Scope>(m, "ComputeConfigScope")
      .def(py::init([](int fidelity, bool fp32_dest_acc) {
        return Scope{make_config(fidelity, fp32_dest_acc), nullptr};
      }))
      .def("enter", [](Scope& s) {
        if (s.active) throw std::runtime_error("this compute_config is already active; it is not reentrant");
        s.active = std::make_unique<accel::engine::ComputeConfigScope>(s.config);
      })
      .def("exit", [](Scope& s) { s.active.reset(); });
}
