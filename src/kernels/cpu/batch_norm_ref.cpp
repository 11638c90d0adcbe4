// Batch normalisation, channels last. Reductions run over fixed chunks of rows (size chosen from
// rows and channels only, never from the thread count); each chunk sums a contiguous block of rows
// into its own double partials, and the partials are added chunk by chunk in order. That keeps
// memory access contiguous (unlike splitting by channel blocks, which strides through every row and
// leaves threads idle when channels are few) and makes results independent of the thread count.
// The variance is computed in one pass on data shifted by the first row (x - x[0,c]), which avoids
// the catastrophic cancellation of sum(x^2) - sum(x)^2 when |mean| >> std.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "ember/core/error.hpp"
#include "ember/kernels/cpu/parallel.hpp"
#include "ember/kernels/cpu/batch_norm.hpp"

namespace ember::kernels::cpu {

namespace {

constexpr int64_t kChunkElements = 16384;

int64_t chunk_rows(int64_t channels) { return std::max<int64_t>(1, kChunkElements / channels); }

// Per-thread buffers that only grow, so steady-state calls do not allocate. Each Slot is a distinct
// buffer (buffers of different slots may be live at the same time).
template <typename U, int Slot>
U* buffer(int64_t n) {
  thread_local std::vector<U> buf;
  if (static_cast<int64_t>(buf.size()) < n) buf.resize(n);
  return buf.data();
}

void check_args(const char* fn, int64_t rows, int64_t channels) {
  if (rows < 1 || channels < 1) {
    throw ValueError(std::string(fn) + ": needs rows >= 1 and channels >= 1, got rows " + std::to_string(rows) +
                     ", channels " + std::to_string(channels));
  }
}

// sum_a[c] = sum_r f(a[r,c]) and sum_b[c] = sum_r g(...) over all rows, in chunk order. `body`
// accumulates one row into (acc_a, acc_b) for all channels.
template <typename Body>
void chunked_sums(int64_t rows, int64_t channels, double* sum_a, double* sum_b, Body body) {
  const int64_t R = chunk_rows(channels), nchunks = (rows + R - 1) / R;
  double* part = buffer<double, 0>(2 * nchunks * channels);
  parallel_for(0, nchunks, grain_for(R * channels), [&](int64_t k_begin, int64_t k_end) {
    for (int64_t k = k_begin; k < k_end; ++k) {
      double* pa = part + 2 * k * channels;
      double* pb = pa + channels;
      std::fill(pa, pa + 2 * channels, 0.0);
      const int64_t r1 = std::min(rows, (k + 1) * R);
      for (int64_t r = k * R; r < r1; ++r) body(r, pa, pb);
    }
  });
  std::fill(sum_a, sum_a + channels, 0.0);
  std::fill(sum_b, sum_b + channels, 0.0);
  for (int64_t k = 0; k < nchunks; ++k) {
    const double* pa = part + 2 * k * channels;
    const double* pb = pa + channels;
#pragma omp simd
    for (int64_t c = 0; c < channels; ++c) {
      sum_a[c] += pa[c];
      sum_b[c] += pb[c];
    }
  }
}

// The value batch norm gives x[r,c] before any ReLU: one expression, so that the fused backward
// recomputes exactly the forward's value (and its sign).
template <typename T>
inline T affine(T x, T center, T scale, T shift) {
  return (x - center) * scale + shift;
}

// y[r,c] = affine(x[r,c]), and with Relu max(that, 0) as relu() computes it (v > 0 ? v : 0).
template <bool Relu, typename T>
void affine_rows(int64_t rows, int64_t channels, const T* x, const T* center, const T* scale, const T* shift, T* y) {
  parallel_for(0, rows, grain_for(channels), [&](int64_t r_begin, int64_t r_end) {
    for (int64_t r = r_begin; r < r_end; ++r) {
      const T* xr = x + r * channels;
      T* yr = y + r * channels;
#pragma omp simd
      for (int64_t c = 0; c < channels; ++c) {
        const T v = affine(xr[c], center[c], scale[c], shift[c]);
        yr[c] = Relu ? (v > T(0) ? v : T(0)) : v;
      }
    }
  });
}

// Per-channel scale gamma/sqrt(var + eps) and shift beta, as the forward passes apply them.
template <typename T>
void scale_and_shift(int64_t C, const T* gamma, const T* beta, const double* invstd, T* scale, T* shift) {
  for (int64_t c = 0; c < C; ++c) {
    scale[c] = static_cast<T>((gamma ? static_cast<double>(gamma[c]) : 1.0) * invstd[c]);
    shift[c] = beta ? beta[c] : T(0);
  }
}

template <bool Relu, typename T>
void forward_training(int64_t rows, int64_t channels, const T* x, const T* gamma, const T* beta, T eps, T* y,
                      T* save_mean, T* save_invstd, T* scale, T* shift) {
  const int64_t C = channels;
  double* stats = buffer<double, 1>(3 * C);  // the shifted sums, then 1/sqrt(var + eps)
  double* s1 = stats;
  double* s2 = stats + C;
  double* invstd = stats + 2 * C;
  const T* shift_row = x;  // K_c = x[0, c]
  chunked_sums(rows, C, s1, s2, [&](int64_t r, double* pa, double* pb) {
    const T* xr = x + r * C;
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) {
      const double d = static_cast<double>(xr[c]) - static_cast<double>(shift_row[c]);
      pa[c] += d;
      pb[c] += d * d;
    }
  });
  const double n = static_cast<double>(rows);
  for (int64_t c = 0; c < C; ++c) {
    const double m1 = s1[c] / n;
    const double var = std::max(s2[c] / n - m1 * m1, 0.0);
    invstd[c] = 1.0 / std::sqrt(var + static_cast<double>(eps));
    save_mean[c] = static_cast<T>(static_cast<double>(shift_row[c]) + m1);
    save_invstd[c] = static_cast<T>(invstd[c]);
  }
  scale_and_shift(C, gamma, beta, invstd, scale, shift);
  affine_rows<Relu>(rows, C, x, save_mean, scale, shift, y);
}

// The inference forward, `fn` its public name (for errors).
template <bool Relu, typename T>
void forward_inference(const char* fn, int64_t rows, int64_t channels, const T* x, const T* gamma, const T* beta,
                       const T* mean, const T* var, T eps, T* y) {
  if (channels < 1) check_args(fn, rows, channels);
  if (rows <= 0) return;
  const int64_t C = channels;
  double* invstd = buffer<double, 1>(C);
  T* scale = buffer<T, 2>(2 * C);
  for (int64_t c = 0; c < C; ++c) invstd[c] = 1.0 / std::sqrt(static_cast<double>(var[c]) + static_cast<double>(eps));
  scale_and_shift(C, gamma, beta, invstd, scale, scale + C);
  affine_rows<Relu>(rows, C, x, mean, scale, scale + C, y);
}

// The backward of the training-mode forward; with Relu, of max(bn(x), 0): dy counts only where the
// forward's pre-ReLU value, recomputed from x with the forward's scale and shift, was positive
// (relu's gradient, y > 0 ? dy : 0).
template <bool Relu, typename T>
void backward(int64_t rows, int64_t channels, const T* x, const T* dy, const T* gamma, const T* save_mean,
              const T* save_invstd, const T* scale, const T* shift, T* dx, T* dgamma, T* dbeta) {
  const int64_t C = channels;
  // The select vectorises only because this file is compiled with -fno-trapping-math (CMakeLists.txt):
  // without it these loops ran scalar, with a branch per element (20 % of a training step).
  auto grad = [save_mean, scale, shift](const T* xr, const T* dyr, int64_t c) {
    const T d = dyr[c];
    if constexpr (Relu) {
      return affine(xr[c], save_mean[c], scale[c], shift[c]) > T(0) ? d : T(0);
    } else {
      return d;
    }
  };
  double* stats = buffer<double, 1>(2 * C);
  double* sum_dy = stats;
  double* sum_dy_xc = stats + C;  // sum dy * (x - mean)
  chunked_sums(rows, C, sum_dy, sum_dy_xc, [&](int64_t r, double* pa, double* pb) {
    const T* xr = x + r * C;
    const T* dyr = dy + r * C;
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) {
      const double g = static_cast<double>(grad(xr, dyr, c));
      pa[c] += g;
      pb[c] += g * (static_cast<double>(xr[c]) - static_cast<double>(save_mean[c]));
    }
  });
  // dx = a*dy + b*(x - mean) + c0 with a = gamma*invstd, b = -gamma*invstd^3*sum(dy*(x-mean))/rows,
  // c0 = -gamma*invstd*sum(dy)/rows.
  T* coef = buffer<T, 3>(3 * C);
  const double n = static_cast<double>(rows);
  for (int64_t c = 0; c < C; ++c) {
    const double is = static_cast<double>(save_invstd[c]);
    const double g = gamma ? static_cast<double>(gamma[c]) : 1.0;
    const double dg = sum_dy_xc[c] * is;
    if (dgamma) dgamma[c] = static_cast<T>(dg);
    if (dbeta) dbeta[c] = static_cast<T>(sum_dy[c]);
    coef[c] = static_cast<T>(g * is);
    coef[C + c] = static_cast<T>(-g * is * is * dg / n);
    coef[2 * C + c] = static_cast<T>(-g * is * sum_dy[c] / n);
  }
  const T* a = coef;
  const T* b = coef + C;
  const T* c0 = coef + 2 * C;
  parallel_for(0, rows, grain_for(C), [&](int64_t r_begin, int64_t r_end) {
    for (int64_t r = r_begin; r < r_end; ++r) {
      const T* xr = x + r * C;
      const T* dyr = dy + r * C;
      T* dxr = dx + r * C;
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) dxr[c] = a[c] * grad(xr, dyr, c) + b[c] * (xr[c] - save_mean[c]) + c0[c];
    }
  });
}

}  // namespace

template <typename T>
void batch_norm_forward_training(int64_t rows, int64_t channels, const T* x, const T* gamma, const T* beta, T eps,
                                 T* y, T* save_mean, T* save_invstd) {
  check_args("batch_norm_forward_training", rows, channels);
  T* scale = buffer<T, 2>(2 * channels);
  forward_training<false>(rows, channels, x, gamma, beta, eps, y, save_mean, save_invstd, scale, scale + channels);
}

template <typename T>
void batch_norm_forward_inference(int64_t rows, int64_t channels, const T* x, const T* gamma, const T* beta,
                                  const T* mean, const T* var, T eps, T* y) {
  forward_inference<false>("batch_norm_forward_inference", rows, channels, x, gamma, beta, mean, var, eps, y);
}

template <typename T>
void batch_norm_backward(int64_t rows, int64_t channels, const T* x, const T* dy, const T* gamma, const T* save_mean,
                         const T* save_invstd, T* dx, T* dgamma, T* dbeta) {
  check_args("batch_norm_backward", rows, channels);
  backward<false>(rows, channels, x, dy, gamma, save_mean, save_invstd, static_cast<const T*>(nullptr),
                  static_cast<const T*>(nullptr), dx, dgamma, dbeta);
}

template <typename T>
void batch_norm_relu_forward_training(int64_t rows, int64_t channels, const T* x, const T* gamma, const T* beta, T eps,
                                      T* y, T* save_mean, T* save_invstd, T* save_scale, T* save_shift) {
  check_args("batch_norm_relu_forward_training", rows, channels);
  forward_training<true>(rows, channels, x, gamma, beta, eps, y, save_mean, save_invstd, save_scale, save_shift);
}

template <typename T>
void batch_norm_relu_forward_inference(int64_t rows, int64_t channels, const T* x, const T* gamma, const T* beta,
                                       const T* mean, const T* var, T eps, T* y) {
  forward_inference<true>("batch_norm_relu_forward_inference", rows, channels, x, gamma, beta, mean, var, eps, y);
}

template <typename T>
void batch_norm_relu_backward(int64_t rows, int64_t channels, const T* x, const T* dy, const T* gamma,
                              const T* save_mean, const T* save_invstd, const T* save_scale, const T* save_shift, T* dx,
                              T* dgamma, T* dbeta) {
  check_args("batch_norm_relu_backward", rows, channels);
  backward<true>(rows, channels, x, dy, gamma, save_mean, save_invstd, save_scale, save_shift, dx, dgamma, dbeta);
}

#define EMBER_INSTANTIATE_BATCH_NORM(T)                                                                      \
  template void batch_norm_forward_training<T>(int64_t, int64_t, const T*, const T*, const T*, T, T*, T*, T*); \
  template void batch_norm_forward_inference<T>(int64_t, int64_t, const T*, const T*, const T*, const T*,     \
                                                const T*, T, T*);                                            \
  template void batch_norm_backward<T>(int64_t, int64_t, const T*, const T*, const T*, const T*, const T*, T*, \
                                       T*, T*);                                                              \
  template void batch_norm_relu_forward_training<T>(int64_t, int64_t, const T*, const T*, const T*, T, T*, T*, \
                                                    T*, T*, T*);                                             \
  template void batch_norm_relu_forward_inference<T>(int64_t, int64_t, const T*, const T*, const T*,          \
                                                     const T*, const T*, T, T*);                             \
  template void batch_norm_relu_backward<T>(int64_t, int64_t, const T*, const T*, const T*, const T*,         \
                                            const T*, const T*, const T*, T*, T*, T*);
EMBER_INSTANTIATE_BATCH_NORM(float)
EMBER_INSTANTIATE_BATCH_NORM(double)
#undef EMBER_INSTANTIATE_BATCH_NORM

}  // namespace ember::kernels::cpu
