#include "engine/activation.h"

namespace accel::engine {

std::optional<Activation> activation_from_name(const std::string& name) {
  for (Activation a : {Activation::None, Activation::Relu, Activation::Gelu, Activation::GeluTanh,
                       Activation::Silu})
    if (name == activation_name(a)) return a;
  return std::nullopt;
}

const char* activation_name(Activation act) {
  switch (act) {
    case Activation::None: return "none";
    case Activation::Relu: return "relu";
    case Activation::Gelu: return "gelu";
    case Activation::GeluTanh: return "gelu_tanh";
    case Activation::Silu: return "silu";
  }
  return "?";
}

}  // namespace accel::engine
