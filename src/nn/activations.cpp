#include "ember/nn/activations.hpp"

#include <array>
#include <utility>

#include "ember/ops/activation.hpp"
#include "ember/ops/softmax.hpp"

namespace ember::nn {

namespace {
constexpr std::array<std::pair<Activation, const char*>, 11> kNames = {{
    {Activation::Linear, "linear"},
    {Activation::ReLU, "relu"},
    {Activation::LeakyReLU, "leaky_relu"},
    {Activation::ELU, "elu"},
    {Activation::Sigmoid, "sigmoid"},
    {Activation::HardSigmoid, "hard_sigmoid"},
    {Activation::Tanh, "tanh"},
    {Activation::Softmax, "softmax"},
    {Activation::Softplus, "softplus"},
    {Activation::Swish, "swish"},
    {Activation::Step, "step"},
}};
}  // namespace

Tensor apply_activation(Activation a, const Tensor& x) {
  switch (a) {
    case Activation::Linear: return x;
    case Activation::ReLU: return relu(x);
    case Activation::LeakyReLU: return leaky_relu(x);
    case Activation::ELU: return elu(x);
    case Activation::Sigmoid: return sigmoid(x);
    case Activation::HardSigmoid: return hard_sigmoid(x);
    case Activation::Tanh: return ember::tanh(x);
    case Activation::Softmax: return softmax(x, -1);
    case Activation::Softplus: return softplus(x);
    case Activation::Swish: return swish(x);
    case Activation::Step: return step(x);
  }
  throw ValueError("unknown activation");
}

Activation activation_from_name(const std::string& name) {
  if (name == "silu") return Activation::Swish;
  for (const auto& [a, n] : kNames) {
    if (name == n) return a;
  }
  std::string known;
  for (const auto& [a, n] : kNames) known += std::string(known.empty() ? "" : ", ") + n;
  throw ValueError("unknown activation '" + name + "'; expected one of " + known);
}

std::string activation_name(Activation a) {
  for (const auto& [act, n] : kNames) {
    if (act == a) return n;
  }
  return "linear";
}

}  // namespace ember::nn
