#pragma once
// Dense's and Conv2D's whole computation, each as one op:
//
//   fused_dense(x, kernel, bias, act)        = act(matmul(x, kernel) + bias)        (last axis of x)
//   fused_conv2d(x, filter, bias, opt, act)  = act(bias_add(conv2d(x, filter, opt), bias))
//
// Same values and gradients as the unfused ops (up to float rounding), fewer passes over memory: the
// bias and the ReLU ride on the GEMM / convolution forward (a oneDNN post-op for conv2d), and backward
// takes one pass for the ReLU's gradient and the bias's (kernels/cpu/bias_act.hpp) before the GEMMs /
// convolutions — which run only for the operands that require grad. `bias` may be undefined (no bias).
// x, kernel/filter and bias must share one floating dtype (DTypeError), bias be 1-D with the output's
// channel count (ShapeError); conv2d's and matmul's own checks apply, under the fused op's name.
#include "ember/core/tensor.hpp"
#include "ember/ops/conv.hpp"

namespace ember {

enum class FusedActivation { None, ReLU };

// x: [..., in], kernel: [in, units], bias: [units] -> [..., units].
Tensor fused_dense(const Tensor& x, const Tensor& kernel, const Tensor& bias, FusedActivation act);

// x: [N, H, W, Cin], filter: [kh, kw, Cin, Cout], bias: [Cout] -> [N, out_h, out_w, Cout].
Tensor fused_conv2d(const Tensor& x, const Tensor& filter, const Tensor& bias, Conv2dOptions opt, FusedActivation act);

}  // namespace ember
