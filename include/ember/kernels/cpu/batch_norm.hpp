#pragma once
// Raw-memory batch normalisation over every axis but the last (layer 2: no Tensor, no autograd).
//
// x is viewed as [rows, channels], channels innermost (NHWC activations: rows = N*H*W; Dense
// activations: rows = N). Per channel c:
//   mean_c = (1/rows) sum_r x[r,c],  var_c = (1/rows) sum_r (x[r,c] - mean_c)^2   (biased, as TF/Keras)
//   y[r,c] = gamma_c * (x[r,c] - mean_c) / sqrt(var_c + eps) + beta_c
// gamma/beta may be nullptr (meaning 1 and 0, Keras scale=False / center=False); then dgamma/dbeta may
// be nullptr too. Updating moving statistics is the caller's job (it needs the unbiased variance
// var * rows / (rows - 1) for PyTorch, the biased one for Keras).
//
// Sums are accumulated in double over fixed row chunks whose size depends only on (rows, channels),
// and the chunks are combined in order: results are bit-identical for any thread count.
// Instantiated for float and double. Outputs are overwritten and must not alias inputs.
// Interface, threads, determinism and errors follow kernels.hpp (raw pointers + geometry).
#include <cstdint>

namespace ember::kernels::cpu {

// Computes batch statistics and y. save_mean/save_invstd ([channels]) receive mean and
// 1/sqrt(var + eps) for the backward pass. Throws ValueError if rows < 1 or channels < 1.
template <typename T>
void batch_norm_forward_training(int64_t rows, int64_t channels, const T* x, const T* gamma, const T* beta, T eps,
                                 T* y, T* save_mean, T* save_invstd);

// y from given statistics (the moving averages): y = gamma*(x - mean)/sqrt(var + eps) + beta.
template <typename T>
void batch_norm_forward_inference(int64_t rows, int64_t channels, const T* x, const T* gamma, const T* beta,
                                  const T* mean, const T* var, T eps, T* y);

// Gradients of the training-mode forward (batch statistics depend on x):
//   dbeta = sum_r dy,  dgamma = sum_r dy * xhat,  xhat = (x - mean) * invstd
//   dx = gamma * invstd * (dy - dbeta/rows - xhat * dgamma/rows)
// dgamma/dbeta may be nullptr when not wanted.
template <typename T>
void batch_norm_backward(int64_t rows, int64_t channels, const T* x, const T* dy, const T* gamma, const T* save_mean,
                         const T* save_invstd, T* dx, T* dgamma, T* dbeta);

// The same three followed by ReLU, max(y, 0), in the same passes (a model's BatchNormalization →
// ReLU; ops/normalization.hpp's batch_norm_relu). y equals relu() of the unfused y bit for bit.
// Training also hands back the per-channel scale gamma/sqrt(var + eps) and shift beta it applied
// (save_scale, save_shift: [channels]); the backward takes them to recompute the pre-ReLU value from
// x, so that no mask is stored: dy counts where that value is > 0, as relu's gradient.
template <typename T>
void batch_norm_relu_forward_training(int64_t rows, int64_t channels, const T* x, const T* gamma, const T* beta, T eps,
                                      T* y, T* save_mean, T* save_invstd, T* save_scale, T* save_shift);
template <typename T>
void batch_norm_relu_forward_inference(int64_t rows, int64_t channels, const T* x, const T* gamma, const T* beta,
                                       const T* mean, const T* var, T eps, T* y);
template <typename T>
void batch_norm_relu_backward(int64_t rows, int64_t channels, const T* x, const T* dy, const T* gamma,
                              const T* save_mean, const T* save_invstd, const T* save_scale, const T* save_shift, T* dx,
                              T* dgamma, T* dbeta);

}  // namespace ember::kernels::cpu
