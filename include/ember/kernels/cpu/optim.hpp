#pragma once
// Fused optimizer updates over raw contiguous buffers (layer 2: no Tensor, no autograd).
//
// Each function makes ONE pass over n elements, reading the gradient once and updating the
// parameter and its slots in place, so an optimizer step costs one memory sweep per parameter.
// Hyper-parameters arrive already folded into per-step coefficients (bias corrections, learning
// rate of this step) computed by the caller in double. Instantiated for float and double; the
// arithmetic runs in T. Slot pointers documented as "may be null" select the variant.
// Elementwise only: results do not depend on the thread count.
// Interface, threads, determinism and errors follow kernels.hpp (raw pointers + geometry).
#include <cstdint>

namespace ember::kernels::cpu {

// SGD, Keras form (ewma = false):  v = momentum*v - lr*g;  w += v            (nesterov: w += momentum*v - lr*g)
// Notes' EWMA form (ewma = true):   v = momentum*v + (1-momentum)*g;  w -= lr*v
//                                   (nesterov: w -= lr*(momentum*v + (1-momentum)*g))
// Every update below first applies decoupled weight decay, w *= (1 - decay) with decay = lr*weight_decay
// (Keras 3, any optimizer; 0: none, and exact: w*1 == w), in the same pass.
//
// Both forms of SGD: v may be null only when momentum == 0 (then w -= lr*g after the decay).
template <typename T>
void sgd_step(int64_t n, T* w, const T* g, T* v, T lr, T momentum, bool nesterov, bool ewma, T decay);

// Adagrad (Keras 3): acc += g^2;  w -= lr*g / sqrt(acc + eps).
template <typename T>
void adagrad_step(int64_t n, T* w, const T* g, T* acc, T lr, T eps, T decay);

// The same two updates on the rows idx[0, n) (distinct) of w (and acc), [*, row_len] each, with g
// [n, row_len]: element for element the arithmetic of sgd_step (momentum 0) and adagrad_step (no decay), so
// the rows come out bit-identical to a dense update whose gradient is zero elsewhere.
template <typename T>
void sgd_rows_step(int64_t n, int64_t row_len, const int64_t* idx, T* w, const T* g, T lr);
template <typename T>
void adagrad_rows_step(int64_t n, int64_t row_len, const int64_t* idx, T* w, const T* g, T* acc, T lr, T eps);

// RMSprop (Keras 3 / TF >= 2.11):
//   vel = rho*vel + (1-rho)*g^2
//   centered (avg_grad != null): avg_grad = rho*avg_grad + (1-rho)*g;  denom = vel - avg_grad^2 + eps
//   else denom = vel + eps
//   inc = lr*g / sqrt(denom)
//   mom != null: mom = momentum*mom + inc; w -= mom        else: w -= inc
template <typename T>
void rmsprop_step(int64_t n, T* w, const T* g, T* vel, T* avg_grad, T* mom, T lr, T rho, T momentum, T eps,
                  T decay);

// Adam in the "epsilon hat" form of Keras (2 and 3):
//   m = beta1*m + (1-beta1)*g;  v = beta2*v + (1-beta2)*g^2
//   amsgrad (vhat != null): vhat = max(vhat, v), used in place of v below
//   w -= alpha * m / (sqrt(v) + eps)     with alpha = lr*sqrt(1-beta2^t)/(1-beta1^t) from the caller
// float without AMSGrad runs in AVX-512 vectors where the CPU has them (bit-identical results).
template <typename T>
void adam_step(int64_t n, T* w, const T* g, T* m, T* v, T* vhat, T alpha, T beta1, T beta2, T eps, T decay);

// Whether adam_step<float> may use its AVX-512 loop (default true); for tests that compare the two.
void set_optim_avx512(bool allowed);

// Nadam (Keras 3 / PyTorch NAdam): m, v as Adam, then
//   w -= lr * (coef_m*m + coef_g*g) / (sqrt(v / bias2) + eps)
// with coef_m = u_{t+1}/(1 - prod_{i<=t+1} u_i), coef_g = (1-u_t)/(1 - prod_{i<=t} u_i), bias2 = 1-beta2^t.
template <typename T>
void nadam_step(int64_t n, T* w, const T* g, T* m, T* v, T lr, T beta1, T beta2, T eps, T coef_m, T coef_g, T bias2,
                T decay);

// Exponential moving average: shadow = decay*shadow + (1-decay)*x.
template <typename T>
void ema_update(int64_t n, T* shadow, const T* x, T decay);

}  // namespace ember::kernels::cpu
