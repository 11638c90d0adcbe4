#pragma once
// Pooling ops, TensorFlow semantics, channels-last. Padding follows the conv rules (conv.hpp); padded
// positions never take part: they never win a max, and an average divides by the number of real
// elements in its window (TensorFlow; PyTorch's count_include_pad=True would differ at the borders).
// float32/float64 only (DTypeError otherwise); shape problems throw ShapeError, bad sizes or strides
// ValueError, each naming the op and the input shape.
#include <array>
#include <cstdint>
#include <optional>

#include "ember/core/tensor.hpp"
#include "ember/core/padding.hpp"

namespace ember {

struct Pool2dOptions {
  std::array<int64_t, 2> pool_size{2, 2};               // (height, width) of the window
  std::optional<std::array<int64_t, 2>> strides;        // default: pool_size, as Keras
  Padding padding = Padding::Valid;
};

// x: [N, H, W, C] -> [N, out_h, out_w, C]. The gradient goes to the element chosen in forward (the
// first maximum of a window in row-major order on ties).
Tensor max_pool2d(const Tensor& x, Pool2dOptions opt = {});
Tensor avg_pool2d(const Tensor& x, Pool2dOptions opt = {});

// x: [N, W, C] -> [N, out_w, C]; stride defaults to pool_size.
Tensor max_pool1d(const Tensor& x, int64_t pool_size = 2, std::optional<int64_t> stride = {},
                  Padding padding = Padding::Valid);
Tensor avg_pool1d(const Tensor& x, int64_t pool_size = 2, std::optional<int64_t> stride = {},
                  Padding padding = Padding::Valid);

// [N, H, W, C] -> [N, C]: mean / max over the spatial axes (composites of mean and max).
Tensor global_avg_pool2d(const Tensor& x);
Tensor global_max_pool2d(const Tensor& x);
// [N, steps, C] -> [N, C]: mean / max over the steps axis.
Tensor global_avg_pool1d(const Tensor& x);
Tensor global_max_pool1d(const Tensor& x);

}  // namespace ember
