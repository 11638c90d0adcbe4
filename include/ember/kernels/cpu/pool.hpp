#pragma once
// Raw-memory 2-D max and average pooling, TensorFlow semantics, NHWC (layer 2: no Tensor, no autograd).
//
// Window (oh, ow) covers input rows oh*stride_h - pad_top + [0, k_h) and columns
// ow*stride_w - pad_left + [0, k_w); padding follows the same TensorFlow rules as convolution
// (see conv.hpp). Padded positions never take part: they never win a max (TensorFlow pads with -inf)
// and an average divides by the number of real input elements in the window (TensorFlow; PyTorch's
// count_include_pad=True would differ at the borders). Global pooling is not done here.
//
// Contracts: buffers are dense NHWC, x: [batch, in_h, in_w, channels], y/dy: [batch, out_h, out_w,
// channels]; outputs are overwritten and must not alias inputs; results are bit-identical for a fixed
// thread count. Instantiated for float and double.
// Interface, threads, determinism and errors follow kernels.hpp (raw pointers + geometry).
#include <cstdint>

#include "ember/core/padding.hpp"

namespace ember::kernels::cpu {

using ember::Padding;

struct Pool2dGeometry {
  int64_t batch = 0, in_h = 0, in_w = 0, channels = 0, k_h = 0, k_w = 0, stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0, out_h = 0, out_w = 0;
};

// What make_pool2d_geometry needs, filled by name:
//   make_pool2d_geometry({.batch = 1, .in_h = 28, .in_w = 28, .channels = 32, .k_h = 2, .k_w = 2,
//                         .stride_h = 2, .stride_w = 2})
struct Pool2dParams {
  int64_t batch = 0, in_h = 0, in_w = 0, channels = 0;  // x: [batch, in_h, in_w, channels]
  int64_t k_h = 0, k_w = 0, stride_h = 1, stride_w = 1;
  Padding padding = Padding::Valid;
};

// Fills pads and output sizes. Throws ValueError for non-positive sizes/strides (batch may be 0),
// ShapeError when a VALID window does not fit in the input. As for convolution, messages state the
// facts with their numbers and name no op; the calling op adds its name and the input shape.
Pool2dGeometry make_pool2d_geometry(const Pool2dParams& p);

// y = window maximum. argmax (may be nullptr): for every output element, the flat index into x
// (batch offset included) of the element chosen. Ties go to the first maximal element in row-major
// window order; a NaN in the window wins (the first one), so NaN propagates.
template <typename T>
void max_pool2d_forward(const Pool2dGeometry& g, const T* x, T* y, int64_t* argmax);

// dx = 0, then dx[argmax[i]] += dy[i] for every output element i. Overwrites dx.
template <typename T>
void max_pool2d_backward(const Pool2dGeometry& g, const T* dy, const int64_t* argmax, T* dx);

// y = mean over the real (non-padded) elements of the window.
template <typename T>
void avg_pool2d_forward(const Pool2dGeometry& g, const T* x, T* y);

// dx[i] = sum over the windows containing i of dy / (that window's real element count). Overwrites dx.
template <typename T>
void avg_pool2d_backward(const Pool2dGeometry& g, const T* dy, T* dx);

}  // namespace ember::kernels::cpu
