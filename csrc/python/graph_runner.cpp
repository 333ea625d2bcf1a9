// torch_accel._C.GraphRunner: a lowered FX graph (torch_accel/compile/runner.py
// builds the description) run as a list of boxed dispatcher calls. It does
// what the graph's generated Python code does, op by op and through the whole
// dispatcher, without a Python frame and a schema parse of the arguments for
// every op: those cost about 2 us per op, a millisecond on a training step's
// few hundred ops.
#include <ATen/ScalarOps.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/csrc/Exceptions.h>
#include <torch/csrc/autograd/python_variable.h>
#include <torch/csrc/jit/python/pybind_utils.h>
#include <torch/csrc/utils/pybind.h>

#include <optional>
#include <string>
#include <vector>

namespace py = pybind11;

namespace {

// An operand: a value slot (a graph input or an earlier step's result), a
// constant, or a list built from slots and constants.
struct Operand {
  enum class Kind : uint8_t { Slot, Constant, WrappedNumber, Tensors, OptionalTensors };
  Kind kind = Kind::Constant;
  int slot = -1;
  c10::IValue constant;  // WrappedNumber: the number
  std::vector<Operand> items;
};

struct Step {
  std::optional<c10::OperatorHandle> op;  // unset: element `index` of slot `source`
  std::vector<Operand> operands;
  int source = -1;
  int64_t index = 0;
  int out = -1;
  std::vector<int> release;  // slots this step reads last
};

// A constant operand of the schema's type. A number where a tensor goes is
// made a wrapped-number tensor on every run, as torch's Python argument parser
// makes it (it takes part in type promotion as a Python number does, and no
// output of one run can alias the next run's).
Operand constant_of(const py::handle& obj, const c10::TypePtr& type) {
  Operand o;
  const bool tensor = type->kind() == c10::TypeKind::TensorType ||
                      (type->kind() == c10::TypeKind::OptionalType &&
                       type->castRaw<c10::OptionalType>()->getElementType()->kind() == c10::TypeKind::TensorType);
  const bool number = py::isinstance<py::bool_>(obj) || py::isinstance<py::int_>(obj) ||
                      py::isinstance<py::float_>(obj);
  if (!tensor || !number) {
    o.constant = torch::jit::toIValue(obj, type);  // raises where the type cannot hold obj
    return o;
  }
  o.kind = Operand::Kind::WrappedNumber;
  if (py::isinstance<py::bool_>(obj)) o.constant = obj.cast<bool>();
  else if (py::isinstance<py::int_>(obj)) o.constant = obj.cast<int64_t>();
  else o.constant = obj.cast<double>();
  return o;
}

Operand operand_from(const py::handle& spec, const c10::TypePtr& type) {
  const auto t = spec.cast<py::tuple>();
  const auto kind = t[0].cast<std::string>();
  Operand o;
  if (kind == "slot") {
    o.kind = Operand::Kind::Slot;
    o.slot = t[1].cast<int>();
  } else if (kind == "const") {
    o = constant_of(t[1], type);
  } else if (kind == "tensors" || kind == "optional_tensors") {
    o.kind = kind == "tensors" ? Operand::Kind::Tensors : Operand::Kind::OptionalTensors;
    const auto element = kind == "tensors" ? c10::TensorType::get() : c10::OptionalType::ofTensor();
    for (const auto& item : t[1].cast<py::list>()) o.items.push_back(operand_from(item, element));
  } else {
    throw std::invalid_argument("GraphRunner: unknown operand kind '" + kind + "'");
  }
  return o;
}

class GraphRunner {
 public:
  // steps: ("call", name, overload, [operand per schema argument], out, release)
  //     or ("item", source, index, out, release); outputs: operands, returned
  //     as a tuple (or a list when as_list).
  GraphRunner(int num_inputs, int num_slots, const py::list& steps, const py::list& outputs, bool as_list)
      : num_inputs_(num_inputs), num_slots_(num_slots), as_list_(as_list) {
    for (const auto& s : steps) {
      const auto t = s.cast<py::tuple>();
      Step step;
      if (t[0].cast<std::string>() == "call") {
        step.op = c10::Dispatcher::singleton().findSchemaOrThrow(t[1].cast<std::string>().c_str(),
                                                                 t[2].cast<std::string>().c_str());
        const auto& arguments = step.op->schema().arguments();
        const auto operands = t[3].cast<py::list>();
        TORCH_CHECK(operands.size() == arguments.size(), "GraphRunner: ", step.op->schema().name(), " takes ",
                    arguments.size(), " arguments, got ", operands.size());
        for (size_t k = 0; k < arguments.size(); ++k)
          step.operands.push_back(operand_from(operands[k], arguments[k].type()));
      } else {
        step.source = t[1].cast<int>();
        step.index = t[2].cast<int64_t>();
      }
      step.out = t[t.size() - 2].cast<int>();
      step.release = t[t.size() - 1].cast<std::vector<int>>();
      steps_.push_back(std::move(step));
    }
    for (const auto& o : outputs) outputs_.push_back(operand_from(o, c10::AnyType::get()));
  }

  py::object run(py::list args) {
    TORCH_CHECK(static_cast<int>(args.size()) == num_inputs_, "GraphRunner: the graph takes ", num_inputs_,
                " inputs, got ", args.size());
    std::vector<c10::IValue> env(num_slots_);
    for (int i = 0; i < num_inputs_; ++i) env[i] = input_value(args[i]);
    args.attr("clear")();  // boxed calling convention: the inputs are the graph's to free
    {
      py::gil_scoped_release no_gil;
      torch::jit::Stack stack;
      for (const Step& step : steps_) {
        if (step.op) {
          stack.clear();
          for (const Operand& o : step.operands) stack.push_back(value_of(o, env));
          step.op->callBoxed(&stack);
          env[step.out] = stack.empty()       ? c10::IValue()
                          : stack.size() == 1 ? std::move(stack[0])
                                              : c10::ivalue::Tuple::create(std::move(stack));
        } else {
          const c10::IValue& whole = env[step.source];
          env[step.out] = whole.isTuple() ? whole.toTupleRef().elements().at(step.index)
                                          : whole.toListRef().at(step.index);
        }
        for (int r : step.release) env[r] = c10::IValue();
      }
    }
    py::tuple out(outputs_.size());
    for (size_t i = 0; i < outputs_.size(); ++i) out[i] = torch::jit::toPyObject(value_of(outputs_[i], env));
    if (as_list_) return py::list(out);
    return std::move(out);
  }

 private:
  // A graph input: a tensor, or a number (a shape that AOTAutograd passes in).
  static c10::IValue input_value(const py::handle& obj) {
    if (THPVariable_Check(obj.ptr())) return THPVariable_Unpack(obj.ptr());
    if (obj.is_none()) return {};
    if (py::isinstance<py::bool_>(obj)) return obj.cast<bool>();
    if (py::isinstance<py::int_>(obj)) return obj.cast<int64_t>();
    if (py::isinstance<py::float_>(obj)) return obj.cast<double>();
    throw py::type_error("GraphRunner: a graph input of type " + py::str(py::type::handle_of(obj)).cast<std::string>() +
                         " (tensors and numbers only)");
  }

  static c10::IValue value_of(const Operand& o, const std::vector<c10::IValue>& env) {
    switch (o.kind) {
      case Operand::Kind::Slot:
        return env[o.slot];
      case Operand::Kind::Constant:
        return o.constant;
      case Operand::Kind::WrappedNumber: {
        at::Tensor wrapped = c10::scalar_to_tensor(o.constant.toScalar());
        wrapped.unsafeGetTensorImpl()->set_wrapped_number(true);
        return wrapped;
      }
      case Operand::Kind::Tensors: {
        c10::List<at::Tensor> list;
        list.reserve(o.items.size());
        for (const Operand& item : o.items) list.push_back(value_of(item, env).toTensor());
        return list;
      }
      case Operand::Kind::OptionalTensors: {
        c10::List<std::optional<at::Tensor>> list;
        list.reserve(o.items.size());
        for (const Operand& item : o.items) {
          c10::IValue v = value_of(item, env);
          list.push_back(v.isNone() ? std::nullopt : std::optional<at::Tensor>(v.toTensor()));
        }
        return list;
      }
    }
    return {};
  }

  int num_inputs_, num_slots_;
  bool as_list_;
  std::vector<Step> steps_;
  std::vector<Operand> outputs_;
};

}  // namespace

void bind_graph_runner(py::module& m) {
  py::class_<GraphRunner>(m, "GraphRunner")
      .def(py::init(torch::wrap_pybind_function(
               [](int num_inputs, int num_slots, const py::list& steps, const py::list& outputs, bool as_list) {
                 return std::make_unique<GraphRunner>(num_inputs, num_slots, steps, outputs, as_list);
               })),
           py::arg("num_inputs"), py::arg("num_slots"), py::arg("steps"), py::arg("outputs"), py::arg("as_list"))
      .def("run", torch::wrap_pybind_function([](GraphRunner& self, py::list args) { return self.run(args); }));
}
