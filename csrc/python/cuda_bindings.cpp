// The GPU executor's switch and counters (engine/executor.h), for
// torch_accel.configure(cuda=...) and torch_accel.cuda_stats().
#include <torch/csrc/utils/pybind.h>

#include "engine/executor.h"

namespace py = pybind11;

void bind_cuda(py::module& m) {
  m.def("cuda_executor_built", &accel::engine::cuda_executor_built);
  // std::runtime_error becomes RuntimeError, with the reason the executor cannot run.
  m.def("set_cuda_executor", &accel::engine::set_cuda_executor, py::arg("on"));
  m.def("cuda_executor_on", &accel::engine::cuda_executor_on);
  m.def("cuda_executor_unavailable_reason", &accel::engine::cuda_executor_unavailable_reason);
  m.def("cuda_executor_stats", [] {
    const accel::engine::ExecutorStats s = accel::engine::executor_stats();
    py::dict d;
    d["cpu_programs"] = s.cpu_programs;
    d["cuda_programs"] = s.cuda_programs;
    d["cuda_products"] = s.cuda_products;
    return d;
  });
  m.def("reset_cuda_executor_stats", &accel::engine::reset_executor_stats);
  m.def("set_cuda_min_multiplies", &accel::engine::set_cuda_min_multiplies, py::arg("n"));
  m.def("cuda_min_multiplies", &accel::engine::cuda_min_multiplies);
}
