#pragma once
// Activation functions by name (Keras identifiers) and as values usable in layer options.
#include <string>

#include "ember/core/tensor.hpp"
#include "ember/ops/fused.hpp"

namespace ember {

// In namespace ember (not nn) so that layer options read `.activation = Activation::ReLU`.
enum class Activation {
  Linear,
  ReLU,
  LeakyReLU,  // alpha 0.2 (tf.nn.leaky_relu); use the LeakyReLU layer for other slopes
  ELU,
  Sigmoid,
  HardSigmoid,
  Tanh,
  Softmax,  // over the last axis
  Softplus,
  Swish,  // = silu
  Step,   // the notes' step function: forward only, no gradient
};

}  // namespace ember

namespace ember::nn {

Tensor apply_activation(Activation a, const Tensor& x);
// Whether a layer can fold `a` into its fused op (ops/fused.hpp): linear and ReLU.
inline bool fusable(Activation a) { return a == Activation::Linear || a == Activation::ReLU; }
inline FusedActivation fused_activation(Activation a) {
  return a == Activation::ReLU ? FusedActivation::ReLU : FusedActivation::None;
}
// Keras identifier: "linear", "relu", "leaky_relu", "elu", "sigmoid", "hard_sigmoid", "tanh",
// "softmax", "softplus", "swish" (also "silu"), "step". Unknown names throw ValueError.
Activation activation_from_name(const std::string& name);
std::string activation_name(Activation a);

}  // namespace ember::nn
