#pragma once
// Gradient clipping, TensorFlow semantics. Norms are accumulated in double and the scale factor is
// applied as a constant (no gradient flows through the norm, unlike tf.clip_by_norm's graph).
// Inputs must be float32/float64 (DTypeError otherwise); results are new tensors.
#include <vector>

#include "ember/core/tensor.hpp"

namespace ember::optim {

// t * clip_norm / max(||t||_2, clip_norm): unchanged when the L2 norm is <= clip_norm.
// clip_norm must be > 0 (ValueError).
Tensor clip_by_norm(const Tensor& t, double clip_norm);

// sqrt(sum over tensors of sum(t^2)), accumulated in double; undefined tensors are ignored.
double global_norm(const std::vector<Tensor>& tensors);

struct GlobalNormClip {
  std::vector<Tensor> tensors;  // clipped, same order; undefined entries stay undefined
  double global_norm = 0.0;     // the norm BEFORE clipping
};
// The notes' g <- c*g/||g||_2 when ||g||_2 >= c, with ||g||_2 the norm of all tensors together
// (tf.clip_by_global_norm: t * c / max(global_norm, c)). A non-finite global norm gives NaN
// tensors, as TensorFlow. clip_norm must be > 0.
GlobalNormClip clip_by_global_norm(const std::vector<Tensor>& tensors, double clip_norm);

// Elementwise clamp to [low, high] (low <= high, else ValueError).
Tensor clip_by_value(const Tensor& t, double low, double high);

}  // namespace ember::optim
