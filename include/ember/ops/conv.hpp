#pragma once
// Convolution ops, TensorFlow semantics: NHWC activations, HWIO filters, cross-correlation (no filter
// flip, as tf.nn.conv2d), TensorFlow SAME padding (out = ceil(in/stride), the odd extra padding goes
// bottom/right — PyTorch's padding='same' would put it elsewhere for even kernels).
//
// float32 runs the fast kernels (oneDNN / im2col+BLAS), float64 the reference loops (the gradient
// check path); other dtypes, or mismatched dtypes, throw DTypeError. Shape problems throw ShapeError,
// bad strides/dilations ValueError, each message naming the op and both shapes.
#include <array>
#include <cstdint>

#include "ember/core/tensor.hpp"
#include "ember/core/padding.hpp"

namespace ember {

struct Conv2dOptions {
  std::array<int64_t, 2> strides{1, 1};   // (height, width), each >= 1
  Padding padding = Padding::Valid;       // Keras default
  std::array<int64_t, 2> dilation{1, 1};  // (height, width), each >= 1
  int64_t groups = 1;                     // grouped convolution; divides Cin and Cout
};

// x: [N, H, W, Cin], filter: [kh, kw, Cin / groups, Cout] -> [N, out_h, out_w, Cout]; with groups
// G > 1 output channel o sees only the input channels of its group o / (Cout / G) (TensorFlow's
// grouped conv2d). Differentiable w.r.t. x and filter.
Tensor conv2d(const Tensor& x, const Tensor& filter, Conv2dOptions opt = {});

// tf.nn.conv2d_transpose: x [N, H, W, Cin], filter [kh, kw, Cout, Cin] -> [N, output_size, Cout],
// the gradient of conv2d(·, filter, opt) w.r.t. an input of that size (so the same kernels run it).
// ShapeError when such a convolution does not give back H x W ("the output size cannot be met").
// Differentiable w.r.t. x and filter; opt.groups must be 1.
Tensor conv2d_transpose(const Tensor& x, const Tensor& filter, std::array<int64_t, 2> output_size, Conv2dOptions opt = {});

struct DepthwiseConv2dOptions {
  std::array<int64_t, 2> strides{1, 1};
  Padding padding = Padding::Valid;
  std::array<int64_t, 2> dilation{1, 1};
};

// tf.nn.depthwise_conv2d: x [N, H, W, C], filter [kh, kw, C, m] -> [N, out_h, out_w, C * m], output
// channel c * m + j = input channel c convolved with filter[:, :, c, j]. A grouped conv2d with C
// groups (oneDNN's depthwise kernels for float32). Differentiable w.r.t. x and filter.
Tensor depthwise_conv2d(const Tensor& x, const Tensor& filter, DepthwiseConv2dOptions opt = {});

struct Conv1dOptions {
  int64_t stride = 1;
  Padding padding = Padding::Valid;
  int64_t dilation = 1;
};

// x: [N, W, Cin], filter: [k, Cin, Cout] -> [N, out_w, Cout]; conv2d with a height of 1.
Tensor conv1d(const Tensor& x, const Tensor& filter, Conv1dOptions opt = {});

// x + bias with bias [C] added along the last axis of x (tf.nn.bias_add, channels-last).
// ShapeError unless bias is 1-D with x's last dimension; DTypeError unless the dtypes match.
Tensor bias_add(const Tensor& x, const Tensor& bias);

}  // namespace ember
