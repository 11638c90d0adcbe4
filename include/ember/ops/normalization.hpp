#pragma once
// Regularisation and normalisation ops: dropout and batch normalisation (channels-last).
#include "ember/core/generator.hpp"
#include "ember/core/tensor.hpp"

namespace ember {

// Inverted dropout (tf.nn.dropout, Keras Dropout): in training each element is kept with probability
// 1 - rate and kept elements are scaled by 1/(1 - rate), so the expected value is unchanged and
// inference needs no rescaling. The mask is drawn serially from `gen` (default_generator() when null),
// so a seed fixes it, and backward reuses the same mask. Returns x itself when !training or rate == 0.
// `rate` is the drop probability (Keras naming) and must lie in [0, 1), else ValueError; x must be
// float32/float64, else DTypeError.
Tensor dropout(const Tensor& x, double rate, bool training = true, Generator* gen = nullptr);

struct BatchNormOptions {
  double momentum = 0.99;  // Keras: moving = moving*momentum + batch*(1 - momentum)
  double epsilon = 1e-3;   // Keras default
};

// Batch normalisation over every axis but the last (channels-last; x is at least 2-D, C = x's last
// dimension). gamma, beta, moving_mean, moving_var are [C] tensors of x's dtype, each may be undefined
// (gamma/beta undefined: scale/center off; moving stats undefined: nothing to update / use).
//
// training: normalises with the batch statistics (biased variance, as TF/Keras) and, when
// moving_mean/moving_var are defined, updates them in place without recording gradient:
//   moving = moving*momentum + batch*(1 - momentum)
// with the UNBIASED batch variance for moving_var (as TensorFlow's fused kernel and PyTorch do; Keras's
// non-fused path would use the biased one). With one row per channel the unbiased correction is taken
// as 1, as TensorFlow does. Differentiable w.r.t. x, gamma and beta (the kernel's fused backward).
//
// inference: y = gamma*(x - moving_mean)/sqrt(moving_var + epsilon) + beta; moving_mean and moving_var
// are required. Differentiable w.r.t. x, gamma and beta (the statistics are constants).
Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& moving_mean,
                  const Tensor& moving_var, bool training, BatchNormOptions opt = {});

// relu(batch_norm(...)) as one op: the same values and gradients, bit for bit, in fewer passes over
// memory (the ReLU is applied in batch norm's output pass, and its gradient taken inside batch norm's
// backward from x, so no mask is stored). Models run a BatchNormalization layer followed by
// Activation("relu") through it (nn::Model). Errors as batch_norm's, named "batch_norm_relu".
Tensor batch_norm_relu(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& moving_mean,
                       const Tensor& moving_var, bool training, BatchNormOptions opt = {});

}  // namespace ember
