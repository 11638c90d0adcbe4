#pragma once
// Raw-memory 2-D convolution kernels (layer 2: no Tensor, no autograd).
//
// Layouts follow TensorFlow: activations NHWC, filters HWIO (k_h, k_w, in_c, out_c), all buffers
// dense and contiguous. The operation is cross-correlation (no filter flip), as tf.nn.conv2d:
//
//   y[n, oh, ow, oc] = sum_{kh, kw, ic} x[n, oh*stride_h - pad_top + kh*dilation_h,
//                                         ow*stride_w - pad_left + kw*dilation_w, ic] * w[kh, kw, ic, oc]
//
// with out-of-range input positions reading as zero. conv1d is conv2d with in_h = k_h = 1.
//
// Grouped convolution (groups G > 1; G = in_c is depthwise): the filter is [k_h, k_w, in_c / G,
// out_c] (TensorFlow's grouped layout) and output channel oc reads only the input channels of its
// group, g = oc / (out_c / G): ic = g * (in_c / G) + ic_local.
//
// Contracts shared by every kernel here:
//  - `g` comes from make_conv2d_geometry (or is filled consistently by hand);
//  - output buffers are overwritten, never accumulated into, and must not alias inputs;
//  - results are bit-identical from run to run for a fixed OpenMP thread count.
// Interface, threads, determinism and errors follow kernels.hpp (raw pointers + geometry).
#include <cstdint>

#include "ember/core/padding.hpp"  // Padding: TensorFlow's SAME/VALID rules
#include "ember/kernels/cpu/bias_act.hpp"  // BiasAct: the fusable epilogue

namespace ember::kernels::cpu {

using ember::Padding;

struct Conv2dGeometry {
  int64_t batch = 0, in_h = 0, in_w = 0, in_c = 0, k_h = 0, k_w = 0, out_c = 0;
  int64_t stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int64_t out_h = 0, out_w = 0;
  int64_t groups = 1;  // divides in_c and out_c
};

// What make_conv2d_geometry needs, filled by name:
//   make_conv2d_geometry({.batch = 8, .in_h = 28, .in_w = 28, .in_c = 1, .k_h = 5, .k_w = 5, .out_c = 32,
//                         .padding = Padding::Same})
struct Conv2dParams {
  int64_t batch = 0, in_h = 0, in_w = 0, in_c = 0;  // x: [batch, in_h, in_w, in_c]
  int64_t k_h = 0, k_w = 0, out_c = 0;               // w: [k_h, k_w, in_c / groups, out_c]
  int64_t stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  Padding padding = Padding::Valid;
  int64_t groups = 1;
};

// Fills pads and output sizes by TensorFlow's rules. Throws ValueError for non-positive
// stride/dilation/groups or sizes (batch may be 0) and for groups that do not divide in_c and
// out_c, ShapeError when the (dilated) kernel does not fit in a
// VALID input. Messages state the facts with their numbers ("VALID padding needs height input size
// >= dilated kernel size, got input 4, kernel 6 ..."), without naming an op: the calling op prefixes
// its own name and operand shapes as they are, with no need to parse this text.
Conv2dGeometry make_conv2d_geometry(const Conv2dParams& p);

// Reference kernels (any floating type; instantiated for float and double). Plain loops,
// parallelised with OpenMP over independent outputs, so the summation order per output is fixed.
// x: [batch, in_h, in_w, in_c], w: [k_h, k_w, in_c / groups, out_c], y/dy: [batch, out_h, out_w, out_c].
template <typename T>
void conv2d_forward_ref(const Conv2dGeometry& g, const T* x, const T* w, T* y);
template <typename T>
void conv2d_backward_input_ref(const Conv2dGeometry& g, const T* dy, const T* w, T* dx);    // overwrites dx
template <typename T>
void conv2d_backward_filter_ref(const Conv2dGeometry& g, const T* x, const T* dy, T* dw);  // overwrites dw

// Fast f32 paths, same contracts (oneDNN primitives cached per geometry and thread count; grouped
// geometries always run on oneDNN, whatever the algorithm chosen below).
// The forward can fuse Conv2D's epilogue, y = act(conv(x, w) + bias) (bias null: none), into the
// convolution itself: no extra pass over y.
void conv2d_forward_f32(const Conv2dGeometry& g, const float* x, const float* w, float* y,
                        const float* bias = nullptr, BiasAct act = BiasAct::None);
void conv2d_backward_input_f32(const Conv2dGeometry& g, const float* dy, const float* w, float* dx);
void conv2d_backward_filter_f32(const Conv2dGeometry& g, const float* x, const float* dy, float* dw);

namespace detail {
// Selects the implementation behind the *_f32 functions; for tests and benchmarks only.
//  DnnlDirect: oneDNN on the NHWC/HWIO buffers as they are (no copies).
//  DnnlAnyWeights: oneDNN with NHWC activations and weights reordered to its preferred layout.
//  DnnlBlocked: oneDNN with format_tag::any, reordering to/from its blocked layouts each call.
//  Im2colGemm: im2col/col2im + sgemm (oneDNN's, as gemm()).
//  DnnlWinograd: oneDNN's Winograd F(4x4, 3x3) with blocked layouts wherever it applies (3x3, stride
//    1, >= 16 channels in and out), else DnnlAnyWeights. Auto uses it where it measured faster.
//  EmberWinograd: our own Winograd F(4x4, 3x3) and F(4x4, 5x5) (conv_winograd.cpp) wherever they
//    apply (3x3 or 5x5, stride 1, no dilation, ungrouped, any channel count), else DnnlAnyWeights:
//    AVX-512 code where the CPU has it and both channel counts are multiples of 16, else AVX2.
//    Auto uses the 3x3 one where oneDNN has no Winograd kernel (CPUs without AVX-512) or ours measured
//    faster (AMD's AVX-512 CPUs), and the 5x5 one from 16 channels in and out on every CPU (oneDNN has
//    none).
//  EmberWinogradAvx2: EmberWinograd with its AVX2 code only (to test and time both widths on one CPU).
enum class ConvF32Algo { Auto, DnnlDirect, DnnlBlocked, Im2colGemm, DnnlAnyWeights, DnnlWinograd, EmberWinograd, EmberWinogradAvx2 };
void set_conv2d_f32_algo(ConvF32Algo algo);  // process-wide; Auto = the measured fastest
ConvF32Algo conv2d_f32_algo();
}  // namespace detail

}  // namespace ember::kernels::cpu
