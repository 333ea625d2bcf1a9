#include "kernels/fused/program.h"

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

#include "kernels/eltwise/backward.h"
#include "kernels/eltwise/binary.h"
#include "kernels/eltwise/unary.h"

namespace accel::kernels::fused {
namespace {

struct StepKind {
  const engine::TileKernel* kernel;
  int arity;
};

// The tile kernels a fused program may run, by the name the compiler writes.
const std::map<std::string, StepKind, std::less<>>& step_kinds() {
  static const auto* kinds = [] {
    auto* m = new std::map<std::string, StepKind, std::less<>>;
    const std::pair<const char*, Unary> unary[] = {
        {"relu", Unary::Relu}, {"gelu", Unary::Gelu}, {"gelu_tanh", Unary::GeluTanh},
        {"silu", Unary::Silu}, {"sigmoid", Unary::Sigmoid}, {"tanh", Unary::Tanh},
        {"exp", Unary::Exp}, {"expm1", Unary::Expm1}, {"log", Unary::Log}, {"log1p", Unary::Log1p},
        {"sqrt", Unary::Sqrt}, {"rsqrt", Unary::Rsqrt}, {"reciprocal", Unary::Reciprocal},
        {"abs", Unary::Abs}, {"neg", Unary::Neg}, {"sign", Unary::Sign}, {"sin", Unary::Sin},
        {"cos", Unary::Cos}, {"erf", Unary::Erf}, {"floor", Unary::Floor}, {"ceil", Unary::Ceil},
        {"round", Unary::Round}, {"trunc", Unary::Trunc}, {"clamp", Unary::Clamp},
        {"leaky_relu", Unary::LeakyRelu}, {"hardswish", Unary::Hardswish},
        {"hardsigmoid", Unary::Hardsigmoid}, {"softplus", Unary::Softplus}, {"mish", Unary::Mish},
        {"elu", Unary::Elu}};
    for (const auto& [name, op] : unary) (*m)[name] = {&unary_kernel(op), 1};
    const std::pair<const char*, Binary> binary[] = {
        {"add", Binary::Add}, {"sub", Binary::Sub}, {"mul", Binary::Mul}, {"div", Binary::Div},
        {"maximum", Binary::Maximum}, {"minimum", Binary::Minimum}, {"pow", Binary::Pow},
        {"eq", Binary::Eq}, {"ne", Binary::Ne}, {"lt", Binary::Lt}, {"le", Binary::Le},
        {"gt", Binary::Gt}, {"ge", Binary::Ge}};
    for (const auto& [name, op] : binary) (*m)[name] = {&binary_kernel(op), 2};
    (*m)["where"] = {&ternary_kernel(Ternary::Where), 3};
    (*m)["addcmul"] = {&ternary_kernel(Ternary::Addcmul), 3};
    const std::pair<const char*, Backward> backward[] = {
        {"threshold_backward", Backward::Threshold}, {"gelu_backward", Backward::Gelu},
        {"gelu_tanh_backward", Backward::GeluTanh}, {"silu_backward", Backward::Silu},
        {"sigmoid_backward", Backward::Sigmoid}, {"tanh_backward", Backward::Tanh},
        {"leaky_relu_backward", Backward::LeakyRelu}};
    for (const auto& [name, op] : backward) (*m)[name] = {&backward_kernel(op), 2};
    return m;
  }();
  return *kinds;
}

engine::DType dtype_named(const std::string& name, const std::string& text) {
  static const std::pair<const char*, engine::DType> names[] = {
      {"float32", engine::DType::F32}, {"bfloat16", engine::DType::BF16}, {"float16", engine::DType::F16}};
  for (const auto& [n, dt] : names)
    if (name == n) return dt;
  throw std::invalid_argument("fused program '" + text + "': output dtype '" + name +
                              "' is not float32, bfloat16 or float16");
}

[[noreturn]] void bad(const std::string& text, const std::string& why) {
  throw std::invalid_argument("fused program '" + text + "': " + why);
}

float parse_float(const std::string& s, const std::string& text) {
  char* end = nullptr;
  const float v = std::strtof(s.c_str(), &end);
  if (s.empty() || *end != '\0') bad(text, "'" + s + "' is not a number");
  return v;
}

int parse_value(const std::string& s, int defined, const std::string& text) {
  char* end = nullptr;
  const long v = std::strtol(s.c_str() + 1, &end, 10);
  if (s.size() < 2 || *end != '\0' || v < 0 || v >= defined)
    bad(text, "operand '" + s + "' is not a value defined before it (0.." + std::to_string(defined - 1) + ")");
  return static_cast<int>(v);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, sep);) {
    const auto first = part.find_first_not_of(' '), last = part.find_last_not_of(' ');
    if (first != std::string::npos) parts.push_back(part.substr(first, last - first + 1));
  }
  return parts;
}

Program parse(const std::string& text, int num_inputs) {
  Program p;
  p.text = text;
  const auto bar = text.find('|');
  if (bar == std::string::npos) bad(text, "no '|' before the outputs");
  if (num_inputs < 1) bad(text, "no inputs");
  const auto step_texts = split(text.substr(0, bar), ';');
  // The text alone cannot tell inputs from step results ("mul %2 %3" reads
  // two inputs of four or an input and the first step of three), so the
  // caller says how many inputs there are.
  p.num_inputs = num_inputs;
  for (const auto& st : step_texts) {
    const auto toks = split(st, ' ');
    Step step;
    step.name = toks[0];
    int arity;
    if (step.name == "to_bfloat16" || step.name == "to_float16") {
      step.rounding = step.name == "to_bfloat16" ? Rounding::BFloat16 : Rounding::Half;
      arity = 1;
    } else {
      const auto it = step_kinds().find(step.name);
      if (it == step_kinds().end()) bad(text, "no tile kernel named '" + step.name + "'");
      step.kernel = it->second.kernel;
      arity = it->second.arity;
    }
    for (size_t t = 1; t < toks.size(); ++t) {
      const auto& tok = toks[t];
      const auto eq = tok.find('=');
      if (tok[0] == '%') {
        step.operands.push_back({parse_value(tok, p.num_inputs + int(p.steps.size()), text), 0});
      } else if (tok[0] == '#') {
        p.constants.push_back(parse_float(tok.substr(1), text));
        step.operands.push_back({-1 - int(p.constants.size() - 1), 0});
      } else if (eq != std::string::npos) {
        const std::string key = tok.substr(0, eq), val = tok.substr(eq + 1);
        if (key == "alpha") step.params.alpha = parse_float(val, text);
        else if (key == "beta") step.params.beta = parse_float(val, text);
        else if (key == "gamma") step.params.gamma = parse_float(val, text);
        else if (key == "mode") step.params.mode = static_cast<int64_t>(parse_float(val, text));
        else bad(text, "unknown parameter '" + key + "'");
      } else {
        bad(text, "cannot read '" + tok + "'");
      }
    }
    if (int(step.operands.size()) != arity)
      bad(text, "'" + step.name + "' takes " + std::to_string(arity) + " operands, got " +
                    std::to_string(step.operands.size()));
    p.steps.push_back(std::move(step));
  }
  // Constants live after the values: fix their indices now the count is known.
  for (auto& step : p.steps)
    for (auto& op : step.operands)
      if (op.value < 0) op.value = p.num_values() + (-1 - op.value);
  for (const auto& out : split(text.substr(bar + 1), ',')) {
    const auto colon = out.find(':');
    if (out[0] != '%' || colon == std::string::npos) bad(text, "output '" + out + "' is not %value:dtype");
    p.outputs.push_back({parse_value(out.substr(0, colon), p.num_values(), text),
                         dtype_named(out.substr(colon + 1), text)});
  }
  if (p.outputs.empty()) bad(text, "no outputs");
  // Every input and step result is read: a value nothing reads means the
  // text and the inputs do not describe the same program.
  std::vector<bool> read(p.num_values(), false);
  for (const auto& step : p.steps)
    for (const auto& op : step.operands)
      if (op.value < p.num_values()) read[op.value] = true;  // constants are numbered after the values
  for (const auto& out : p.outputs) read[out.value] = true;
  for (int v = 0; v < p.num_values(); ++v)
    if (!read[v])
      bad(text, (v < p.num_inputs ? "input %" : "the result %") + std::to_string(v) + " is never read (" +
                    std::to_string(p.num_inputs) + " inputs)");
  return p;
}

}  // namespace

double Program::arithmetic_instructions() const {
  double total = 0;
  for (const auto& step : steps) {
    if (!step.kernel) {
      total += 1;  // one rounding move (SFP_STOCH_RND) per element
      continue;
    }
    const perf::KernelDesc& k = *step.kernel->desc;
    if (k.engine == perf::Engine::Sfpu && k.sfpu_instructions > 0) {
      // The kernel's own count less its loads and store: in a fused program
      // the operands are already in Dst.
      total += std::max(1.0, k.sfpu_instructions - double(step.operands.size()) - 1);
    } else if (k.engine == perf::Engine::Sfpu) {
      total += k.flops_per_element;
    } else {
      // An FPU pass: tile / 128 elements per cycle, as lane instructions of
      // the 32-lane SFPU (1024 / 32 cycles per instruction).
      total += 32.0 / 128.0 * double(step.operands.size() - 1);
    }
  }
  return total + double(outputs.size() - 1);  // every further output is one more store
}

std::string Program::absorbed() const {
  std::string names;
  for (const auto& step : steps) names += (names.empty() ? "" : "+") + step.name;
  return names;
}

const Program& parse_program(const std::string& text, int num_inputs) {
  static std::mutex mutex;
  static std::map<std::pair<std::string, int>, std::unique_ptr<Program>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  const auto key = std::make_pair(text, num_inputs);
  auto& slot = cache[key];
  if (!slot) {
    try {
      slot = std::make_unique<Program>(parse(text, num_inputs));
    } catch (...) {
      cache.erase(key);
      throw;
    }
  }
  return *slot;
}

int count_outputs(const std::string& text) {
  const auto bar = text.find('|');
  return bar == std::string::npos ? 0 : int(split(text.substr(bar + 1), ',').size());
}

void run_tile(const Program& program, float* const* values, int64_t n) {
  const float* in[3];
  for (size_t s = 0; s < program.steps.size(); ++s) {
    const Step& step = program.steps[s];
    float* out = values[program.num_inputs + s];
    for (size_t o = 0; o < step.operands.size(); ++o) in[o] = values[step.operands[o].value];
    if (step.kernel) {
      step.kernel->f32(in, out, n, step.params);
    } else if (step.rounding == Rounding::BFloat16) {
      for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(c10::BFloat16(in[0][i]));
    } else {
      for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(c10::Half(in[0][i]));
    }
  }
}

}  // namespace accel::kernels::fused
