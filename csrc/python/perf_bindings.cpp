// torch_accel._C bindings of the performance model: program records with
// their estimated cost, for torch_accel.profiler.
#include <torch/csrc/utils/pybind.h>

#include <optional>
#include <stdexcept>

#include "chip/arch.h"
#include "chip/runtime.h"
#include "engine/executor.h"
#include "engine/program.h"
#include "glue/glue.h"
#include "perf/clock.h"
#include "perf/cost.h"
#include "perf/kernel_table.h"

namespace py = pybind11;

using accel::engine::ProgramRecord;

py::dict record_dict(const ProgramRecord& r) {
  py::dict d;
  d["op"] = r.op;
  d["reader"] = r.reader.name();
  d["compute"] = r.compute.name();
  d["writer"] = r.writer.name();
  d["compute_engine"] = r.compute_engine();
  d["input_format"] = r.input_format;
  d["output_format"] = r.output_format;
  d["math_fidelity"] = r.math_fidelity;
  d["fp32_dest_acc"] = r.fp32_dest_acc;
  d["flops"] = r.flops;
  d["dram_read_bytes"] = r.dram_read_bytes;
  d["dram_write_bytes"] = r.dram_write_bytes;
  d["noc_bytes"] = r.noc_bytes;
  d["tiles"] = r.tiles;
  d["cores_used"] = r.cores_used;
  d["max_tiles_per_core"] = r.max_tiles_per_core;
  d["l1_bytes_per_core"] = r.l1_bytes_per_core;
  d["device"] = r.device;
  d["batch"] = r.batch;
  d["m_tiles"] = r.m_tiles;
  d["n_tiles"] = r.n_tiles;
  d["k_tiles"] = r.k_tiles;
  d["in1_batched"] = r.in1_batched;
  d["in1_format"] = r.in1_format;
  d["sfpu_function"] = r.sfpu_function.name();
  d["multicast_bytes"] = r.multicast_bytes;
  return d;
}

namespace {

template <class T>
void read(const py::dict& d, const char* key, T& field) {
  if (d.contains(key)) field = d[key].cast<T>();
}

// Kernel names resolve to their table entries; an unknown one throws
// std::invalid_argument. "compute_engine" is not read: it is the compute
// kernel's entry's.
void read(const py::dict& d, const char* key, accel::perf::KernelRef& field) {
  if (d.contains(key)) field = d[key].cast<std::string>();
}

ProgramRecord record_from(const py::dict& d) {
  ProgramRecord r;
  read(d, "op", r.op);
  read(d, "reader", r.reader);
  read(d, "compute", r.compute);
  read(d, "writer", r.writer);
  read(d, "input_format", r.input_format);
  read(d, "output_format", r.output_format);
  read(d, "math_fidelity", r.math_fidelity);
  read(d, "fp32_dest_acc", r.fp32_dest_acc);
  read(d, "flops", r.flops);
  read(d, "dram_read_bytes", r.dram_read_bytes);
  read(d, "dram_write_bytes", r.dram_write_bytes);
  read(d, "noc_bytes", r.noc_bytes);
  read(d, "tiles", r.tiles);
  read(d, "cores_used", r.cores_used);
  read(d, "max_tiles_per_core", r.max_tiles_per_core);
  read(d, "l1_bytes_per_core", r.l1_bytes_per_core);
  read(d, "device", r.device);
  read(d, "batch", r.batch);
  read(d, "m_tiles", r.m_tiles);
  read(d, "n_tiles", r.n_tiles);
  read(d, "k_tiles", r.k_tiles);
  read(d, "in1_batched", r.in1_batched);
  read(d, "in1_format", r.in1_format);
  read(d, "sfpu_function", r.sfpu_function);
  read(d, "multicast_bytes", r.multicast_bytes);
  return r;
}

py::dict cost_dict(const accel::perf::Cost& c) {
  py::dict d;
  d["time_s"] = c.time_s;
  d["host_dispatch_s"] = c.host_dispatch_s;
  d["compute_s"] = c.compute_s;
  d["dram_s"] = c.dram_s;
  d["noc_s"] = c.noc_s;
  d["launch_s"] = c.launch_s;
  d["bound"] = c.bound;
  d["math_cycles"] = c.math_cycles;
  d["unpack_cycles"] = c.unpack_cycles;
  d["pack_cycles"] = c.pack_cycles;
  d["sync_cycles"] = c.sync_cycles;
  d["compute_cycles"] = c.compute_cycles;
  d["dram_cycles"] = c.dram_cycles;
  d["noc_cycles"] = c.noc_cycles;
  d["l1_cycles"] = c.l1_cycles;
  d["multicast_cycles"] = c.multicast_cycles;
  d["fill_drain_cycles"] = c.fill_drain_cycles;
  d["core_cycles"] = c.core_cycles;
  d["util_compute"] = c.util_compute;
  d["util_dram"] = c.util_dram;
  d["util_noc"] = c.util_noc;
  d["util_l1"] = c.util_l1;
  d["dram_bytes"] = c.dram_bytes;
  d["noc_byte_hops"] = c.noc_byte_hops;
  d["l1_bytes"] = c.l1_bytes;
  d["energy_j"] = c.energy_j;
  d["energy_compute_j"] = c.energy_compute_j;
  d["energy_sram_j"] = c.energy_sram_j;
  d["energy_noc_j"] = c.energy_noc_j;
  d["energy_dram_j"] = c.energy_dram_j;
  d["energy_static_j"] = c.energy_static_j;
  d["avg_power_w"] = c.avg_power_w;
  return d;
}

accel::chip::Arch arch_for(const std::optional<std::string>& spec) {
  if (spec) return accel::chip::load_arch(*spec);
  return accel::chip::Runtime::get().arch("a performance estimate");
}

py::dict estimate(const py::dict& record, const std::optional<std::string>& arch) {
  return accel::glue::chip_call([&] {
    const accel::chip::Arch a = arch_for(arch);
    try {
      return cost_dict(accel::perf::estimate_cost(record_from(record), a));
    } catch (const std::invalid_argument& e) {
      throw py::value_error(e.what());
    }
  });
}

}  // namespace

void bind_perf(py::module& m) {
  // Full records (the performance-model fields too), each with its "cost"
  // on the runtime's architecture.
  m.def("perf_take_records", [] {
    py::list out;
    std::vector<const char*> executors;
    const auto records = accel::engine::take_records(executors);
    if (records.empty()) return out;
    const accel::chip::Arch a = arch_for(std::nullopt);
    for (size_t i = 0; i < records.size(); ++i) {
      const auto& r = records[i];
      py::dict d = record_dict(r);
      d["cost"] = cost_dict(accel::perf::estimate_cost(r, a));
      d["executor"] = executors[i];  // host executor (engine/executor.h); never priced
      out.append(d);
    }
    return out;
  });
  m.def("perf_estimate", &estimate, py::arg("record"), py::arg("arch") = py::none(),
        "Cost of a program record (a dict; missing fields default) on `arch` "
        "(a preset name or architecture file), or on the configured chip.");
  m.def("perf_estimate_many", [](const py::list& records, const std::optional<std::string>& arch) {
    return accel::glue::chip_call([&] {
      const accel::chip::Arch a = arch_for(arch);
      py::list out;
      try {
        for (const auto& r : records)
          out.append(cost_dict(accel::perf::estimate_cost(record_from(r.cast<py::dict>()), a)));
      } catch (const std::invalid_argument& e) {
        throw py::value_error(e.what());
      }
      return out;
    });
  }, py::arg("records"), py::arg("arch") = py::none(),
        "perf_estimate over a list of records, loading the architecture once.");
  m.def("perf_plan_matmul", [](int64_t batch, int64_t mt, int64_t nt, int64_t kt,
                               const std::string& in0, const std::string& in1,
                               const std::string& out, bool fp32_acc,
                               const std::optional<std::string>& arch, bool in1_batched) {
    return accel::glue::chip_call([&] {
      const auto p = accel::perf::plan_matmul({batch, mt, nt, kt, in1_batched}, in0, in1, out,
                                              fp32_acc, arch_for(arch));
      py::dict d;
      d["program"] = accel::perf::matmul_program_name(p.program);
      d["cores_used"] = p.cores_used;
      d["rows_used"] = p.rows_used;
      d["cols_used"] = p.cols_used;
      d["core_m"] = p.core_m;
      d["core_n"] = p.core_n;
      d["block_m"] = p.block_m;
      d["block_n"] = p.block_n;
      d["block_k"] = p.block_k;
      d["dram_read_bytes"] = p.dram_read_bytes;
      d["dram_write_bytes"] = p.dram_write_bytes;
      d["multicast_bytes"] = p.multicast_bytes;
      d["l1_bytes"] = p.l1_bytes;
      return d;
    });
  }, py::arg("batch"), py::arg("m_tiles"), py::arg("n_tiles"), py::arg("k_tiles"),
        py::arg("in0_format"), py::arg("in1_format"), py::arg("out_format"),
        py::arg("fp32_dest_acc"), py::arg("arch") = py::none(), py::arg("in1_batched") = false,
        "The chip program a matmul of these tiles runs as (perf/matmul_plan.h).");
  m.def("kernel_table", [] {
    py::list out;
    for (const auto& k : accel::perf::kernel_table()) {
      py::dict d;
      d["name"] = k.name;
      d["role"] = accel::perf::role_name(k.role);
      d["engine"] = accel::perf::engine_name(k.engine);
      d["flops_per_element"] = k.flops_per_element;
      d["sfpu_instructions"] = k.sfpu_instructions == accel::perf::kInstructionsFromFlops
                                   ? py::object(py::none())
                                   : py::object(py::float_(k.sfpu_instructions));
      d["formats"] = accel::perf::format_names(k.formats);
      d["op_class"] = k.op_class;
      out.append(d);
    }
    return out;
  }, "Every kernel a program can record: name, role, engine, FLOPs per element, "
     "vector-engine instructions per element (None: counted from the record's FLOPs), "
     "formats and the profiler's op class (csrc/perf/kernel_table_*.cpp).");
  // The modelled device clock (perf/clock.h), in seconds.
  m.def("clock_device_time", [](int device) {
    return accel::glue::chip_call([&] {
      auto& rt = accel::chip::Runtime::get();
      rt.check_index(device);
      return accel::perf::device_clock(device, rt.arch("device clock")).now();
    });
  });
  m.def("clock_stream_time", [](int device, int64_t stream) {
    return accel::glue::chip_call([&] {
      auto& rt = accel::chip::Runtime::get();
      rt.check_index(device);
      return accel::perf::device_clock(device, rt.arch("device clock")).stream_time(stream);
    });
  });
}
