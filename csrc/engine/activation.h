// The activations a program can apply in its epilogue (matmul, conv, batch
// norm) or take the gradient of, by the names the torch.compile backend uses.
#pragma once

#include <optional>
#include <string>

namespace accel::engine {

enum class Activation { None, Relu, Gelu, GeluTanh, Silu };
// "none", "relu", "gelu", "gelu_tanh", "silu"; nullopt for any other name.
std::optional<Activation> activation_from_name(const std::string& name);
const char* activation_name(Activation act);

}  // namespace accel::engine
