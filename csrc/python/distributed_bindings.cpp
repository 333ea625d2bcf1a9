// torch_accel._C bindings for torch_accel.distributed: host views that let
// gloo move accel tensors without a copy, and the record that puts a
// collective on the modelled device clock and in the profile.
#include <torch/csrc/utils/pybind.h>

#include <string>

#include "aten/host_view.h"
#include "chip/runtime.h"
#include "engine/program.h"
#include "glue/glue.h"
#include "perf/clock.h"

namespace py = pybind11;

void bind_distributed(py::module& m) {
  m.def("host_view", [](const at::Tensor& t) {
    return accel::glue::chip_call([&] {
      TORCH_CHECK(t.device().type() == accel::glue::kAccel,
                  "host_view: expected an accel tensor, got one on ", t.device());
      return accel::aten::host_view(t);
    });
  }, py::arg("tensor"),
     "A CPU tensor over the accel tensor's bytes (device DRAM is host memory): "
     "valid only while the accel tensor lives.");
  m.def("clock_wait", [](int device, int64_t stream, double t) {
    accel::glue::chip_call([&] {
      auto& rt = accel::chip::Runtime::get();
      rt.check_index(device);
      accel::perf::device_clock(device, rt.arch("device clock")).wait(stream, t);
    });
  }, py::arg("device"), py::arg("stream"), py::arg("time_s"),
     "Makes `stream`'s later programs start no earlier than `time_s` on the "
     "device clock: a collective starts when its last participant is ready.");
  m.def("record_collective", [](int device, const std::string& op, int64_t nbytes, double link_s) {
    return accel::glue::chip_call([&] {
      accel::chip::Runtime::get().check_index(device);
      // A zero-time record would be priced as an empty program's launch instead.
      TORCH_CHECK(link_s > 0, "record_collective: link time must be > 0 seconds, got ", link_s);
      accel::engine::ProgramRecord rec;
      rec.op = op;
      rec.writer = "writer_ethernet_collective";
      rec.device = device;
      // The chip reads what it sends and writes what it receives.
      rec.dram_read_bytes = rec.dram_write_bytes = nbytes;
      rec.link_s = link_s;
      // On the calling thread's current stream of `device`, like any program.
      accel::engine::record(std::move(rec));
    });
  }, py::arg("device"), py::arg("op"), py::arg("nbytes"), py::arg("link_s"),
     "Records a collective of `link_s` modelled seconds on `device`'s current "
     "stream: it advances the device clock and shows in torch_accel.profile().");
}
