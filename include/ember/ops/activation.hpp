#pragma once
// Activation functions (tf.nn / Keras activations), elementwise on float32/float64 tensors; other
// dtypes throw DTypeError. Each is one fused kernel forward and one fused kernel backward, computed
// from the saved output where the derivative allows (relu, sigmoid, tanh, hard_sigmoid, elu).
#include "ember/core/tensor.hpp"

namespace ember {

// max(x, 0). Gradient 1 where x > 0, else 0 (0 at x == 0, as TensorFlow).
Tensor relu(const Tensor& x);

// x where x > 0, alpha*x elsewhere. The default alpha = 0.2 is tf.nn.leaky_relu's; Keras's LeakyReLU
// layer defaults to 0.3 and passes its own value.
Tensor leaky_relu(const Tensor& x, double alpha = 0.2);

// x where x > 0, alpha*(exp(x) - 1) elsewhere.
Tensor elu(const Tensor& x, double alpha = 1.0);

// 1 / (1 + exp(-x)), evaluated so that it neither overflows nor loses precision for large |x|.
Tensor sigmoid(const Tensor& x);

// Hyperbolic tangent.
Tensor tanh(const Tensor& x);

// log(1 + exp(x)), evaluated stably as log1p(exp(-|x|)) + max(x, 0). Gradient sigmoid(x).
Tensor softplus(const Tensor& x);

// Keras hard_sigmoid: clip(0.2*x + 0.5, 0, 1). Gradient 0.2 strictly inside (-2.5, 2.5), else 0.
Tensor hard_sigmoid(const Tensor& x);

// x * sigmoid(x) (= silu), a composite of sigmoid and mul.
Tensor swish(const Tensor& x);

// The notes' step function: 1 where x > 0, else 0, in x's dtype. Not differentiable: the result
// carries no history (it is a constant to autograd).
Tensor step(const Tensor& x);

}  // namespace ember
