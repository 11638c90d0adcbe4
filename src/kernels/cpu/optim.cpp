// Fused optimizer kernels. Plain elementwise loops, vectorised with `omp simd` and split across the
// OpenMP pool only when a parameter is large enough to pay for the fork. The float loops run with
// subnormals flushed to zero (see denormals.hpp: decaying slots otherwise turn subnormal and slow).
#include "ember/kernels/cpu/optim.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <type_traits>

#include "denormals.hpp"
#include "ember/kernels/cpu/parallel.hpp"

namespace ember::kernels::cpu {

namespace {
// body(i) for i in [0, n): one static split across the pool (elementwise, so results do not depend
// on the thread count), each thread flushing float subnormals for the duration of its share.
template <typename T, typename Body>
void for_each_index(int64_t n, Body body) {
  parallel_for(0, n, grain_for(1), [&](int64_t b, int64_t e) {
    const FlushDenormals ftz(std::is_same_v<T, float>);
#pragma omp simd
    for (int64_t i = b; i < e; ++i) body(i);
  });
}
}  // namespace

namespace {
// The plain SGD and Adagrad element updates, shared by the dense and the row forms so that both
// do exactly the same arithmetic.
template <typename T>
inline void sgd_element(T& w, T g, T lr) {
  w -= lr * g;
}
template <typename T>
inline void adagrad_element(T& w, T g, T& acc, T lr, T eps) {
  const T a = acc + g * g;
  acc = a;
  w -= lr * g / std::sqrt(a + eps);
}

// body(r, i) for the rows idx[r] of a [*, row_len] buffer: split over rows (distinct, so no two
// threads write one element).
template <typename T, typename Body>
void for_each_row(int64_t n, int64_t row_len, const int64_t* idx, Body body) {
  parallel_for(0, n, grain_for(row_len), [&](int64_t b, int64_t e) {
    const FlushDenormals ftz(std::is_same_v<T, float>);
    for (int64_t r = b; r < e; ++r) {
      const int64_t base = idx[r] * row_len, gbase = r * row_len;
#pragma omp simd
      for (int64_t i = 0; i < row_len; ++i) body(base + i, gbase + i);
    }
  });
}
}  // namespace

template <typename T>
void sgd_rows_step(int64_t n, int64_t row_len, const int64_t* idx, T* w, const T* g, T lr) {
  for_each_row<T>(n, row_len, idx, [&](int64_t wi, int64_t gi) { sgd_element(w[wi], g[gi], lr); });
}

template <typename T>
void adagrad_rows_step(int64_t n, int64_t row_len, const int64_t* idx, T* w, const T* g, T* acc, T lr, T eps) {
  for_each_row<T>(n, row_len, idx, [&](int64_t wi, int64_t gi) { adagrad_element(w[wi], g[gi], acc[wi], lr, eps); });
}

template <typename T>
void sgd_step(int64_t n, T* w, const T* g, T* v, T lr, T momentum, bool nesterov, bool ewma, T decay) {
  const T keep = T(1) - decay;
  if (v == nullptr) {
    for_each_index<T>(n, [&](int64_t i) {
      w[i] *= keep;  // exact when decay == 0 (keep == 1)
      sgd_element(w[i], g[i], lr);
    });
    return;
  }
  if (!ewma) {
    for_each_index<T>(n, [&](int64_t i) {
      const T vi = momentum * v[i] - lr * g[i];
      v[i] = vi;
      w[i] = w[i] * keep + (nesterov ? momentum * vi - lr * g[i] : vi);
    });
  } else {
    const T damp = T(1) - momentum;
    for_each_index<T>(n, [&](int64_t i) {
      const T vi = momentum * v[i] + damp * g[i];
      v[i] = vi;
      w[i] = w[i] * keep - lr * (nesterov ? momentum * vi + damp * g[i] : vi);
    });
  }
}

template <typename T>
void adagrad_step(int64_t n, T* w, const T* g, T* acc, T lr, T eps, T decay) {
  const T keep = T(1) - decay;
  for_each_index<T>(n, [&](int64_t i) {
    w[i] *= keep;  // exact when decay == 0 (keep == 1)
    adagrad_element(w[i], g[i], acc[i], lr, eps);
  });
}

template <typename T>
void rmsprop_step(int64_t n, T* w, const T* g, T* vel, T* avg_grad, T* mom, T lr, T rho, T momentum, T eps,
                  T decay) {
  const T one_m_rho = T(1) - rho, keep = T(1) - decay;
  for_each_index<T>(n, [&](int64_t i) {
    const T gi = g[i];
    const T ve = rho * vel[i] + one_m_rho * gi * gi;
    vel[i] = ve;
    T denom = ve + eps;
    if (avg_grad != nullptr) {
      const T ag = rho * avg_grad[i] + one_m_rho * gi;
      avg_grad[i] = ag;
      denom -= ag * ag;
    }
    const T inc = lr * gi / std::sqrt(denom);
    if (mom != nullptr) {
      const T mo = momentum * mom[i] + inc;
      mom[i] = mo;
      w[i] = w[i] * keep - mo;
    } else {
      w[i] = w[i] * keep - inc;
    }
  });
}

// Adam's and Nadam's moment estimates for element i: m = beta1 m + (1 - beta1) g, v = beta2 v +
// (1 - beta2) g², stored back and returned (inlined into each update's vectorised loop).
template <typename T>
inline void update_moments(int64_t i, T gi, T* m, T* v, T beta1, T b1c, T beta2, T b2c, T& mi, T& vi) {
  mi = beta1 * m[i] + b1c * gi;
  vi = beta2 * v[i] + b2c * gi * gi;
  m[i] = mi;
  v[i] = vi;
}

namespace {
std::atomic<bool> g_optim_avx512{true};

// Adam's float update without AMSGrad (the common case) in 16-lane AVX-512 vectors, where the CPU
// has them: its square root and division are the loop's cost, and at 16 lanes W1 of the mlp
// (200,704 weights) took 25 µs instead of 36 at 2 threads (bench/RESULTS.md, issue 10). The
// arithmetic is adam_step's, written out again because a function compiled for another target is
// not inlined here; tests/kernels compare the two bit for bit.
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f")
#endif
void adam_step_avx512(int64_t n, float* w, const float* g, float* m, float* v, float alpha, float beta1, float beta2,
                      float eps, float decay) {
  const float b1c = 1.0f - beta1, b2c = 1.0f - beta2, keep = 1.0f - decay;
  parallel_for(0, n, grain_for(1), [=](int64_t b, int64_t e) {
    const FlushDenormals ftz(true);
#pragma omp simd simdlen(16)
    for (int64_t i = b; i < e; ++i) {
      const float gi = g[i];
      const float mi = beta1 * m[i] + b1c * gi;
      const float vi = beta2 * v[i] + b2c * gi * gi;
      m[i] = mi;
      v[i] = vi;
      w[i] = w[i] * keep - alpha * mi / (std::sqrt(vi) + eps);
    }
  });
}
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
}  // namespace

void set_optim_avx512(bool allowed) { g_optim_avx512 = allowed; }

template <typename T>
void adam_step(int64_t n, T* w, const T* g, T* m, T* v, T* vhat, T alpha, T beta1, T beta2, T eps, T decay) {
  if constexpr (std::is_same_v<T, float>) {
    static const bool cpu = __builtin_cpu_supports("avx512f");
    if (vhat == nullptr && cpu && g_optim_avx512) {
      adam_step_avx512(n, w, g, m, v, alpha, beta1, beta2, eps, decay);
      return;
    }
  }
  const T b1c = T(1) - beta1, b2c = T(1) - beta2, keep = T(1) - decay;
  // AMSGrad or not is decided once, at compile time, not per element: so the loop vectorises.
  auto run = [&]<bool kAmsgrad>(std::bool_constant<kAmsgrad>) {
    for_each_index<T>(n, [&](int64_t i) {
      const T gi = g[i];
      T mi, vi;
      update_moments(i, gi, m, v, beta1, b1c, beta2, b2c, mi, vi);
      T denom = vi;
      if constexpr (kAmsgrad) {
        denom = std::max(vhat[i], vi);
        vhat[i] = denom;
      }
      w[i] = w[i] * keep - alpha * mi / (std::sqrt(denom) + eps);
    });
  };
  if (vhat != nullptr) run(std::true_type{});
  else run(std::false_type{});
}

template <typename T>
void nadam_step(int64_t n, T* w, const T* g, T* m, T* v, T lr, T beta1, T beta2, T eps, T coef_m, T coef_g, T bias2,
                T decay) {
  const T b1c = T(1) - beta1, b2c = T(1) - beta2, keep = T(1) - decay;
  for_each_index<T>(n, [&](int64_t i) {
    const T gi = g[i];
    T mi, vi;
    update_moments(i, gi, m, v, beta1, b1c, beta2, b2c, mi, vi);
    w[i] = w[i] * keep - lr * (coef_m * mi + coef_g * gi) / (std::sqrt(vi / bias2) + eps);
  });
}

template <typename T>
void ema_update(int64_t n, T* shadow, const T* x, T decay) {
  const T c = T(1) - decay;
  for_each_index<T>(n, [&](int64_t i) { shadow[i] = decay * shadow[i] + c * x[i]; });
}

#define EMBER_OPTIM_INSTANTIATE(T)                                                                              \
  template void sgd_step<T>(int64_t, T*, const T*, T*, T, T, bool, bool, T);                                      \
  template void adagrad_step<T>(int64_t, T*, const T*, T*, T, T, T);                                           \
  template void sgd_rows_step<T>(int64_t, int64_t, const int64_t*, T*, const T*, T);                            \
  template void adagrad_rows_step<T>(int64_t, int64_t, const int64_t*, T*, const T*, T*, T, T);                 \
  template void rmsprop_step<T>(int64_t, T*, const T*, T*, T*, T*, T, T, T, T, T);                             \
  template void adam_step<T>(int64_t, T*, const T*, T*, T*, T*, T, T, T, T, T);                                \
  template void nadam_step<T>(int64_t, T*, const T*, T*, T*, T, T, T, T, T, T, T, T);                          \
  template void ema_update<T>(int64_t, T*, const T*, T);
EMBER_OPTIM_INSTANTIATE(float)
EMBER_OPTIM_INSTANTIATE(double)
#undef EMBER_OPTIM_INSTANTIATE

}  // namespace ember::kernels::cpu
