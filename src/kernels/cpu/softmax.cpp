// Row kernels for softmax / log-softmax / softmax cross-entropy (see the header for the contracts).
#include "ember/kernels/cpu/softmax.hpp"

#include <omp.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "ember/kernels/cpu/loops.hpp"  // kParallelGrain

namespace ember::kernels::cpu {

namespace {

// exp for float that the compiler can vectorise inside `omp simd` loops (glibc's expf is a call
// and stays scalar without -ffast-math, which made exp ~80% of the fused cross-entropy's time).
// exp(x) = 2^n * exp(r) with n = round(x / ln 2) and |r| <= ln2 / 2; exp(r) by its Taylor series to
// degree 7 (truncation error < 6e-9 relative), ln 2 split in two parts so r is exact enough.
// Rounding uses the 1.5 * 2^23 trick and 2^n is built from exponent bits, so there is no
// float -> int conversion (and no UB for NaN). Accurate to a few ulp; NaN propagates,
// x < -87.3 gives 0 and x > 88.7 gives +inf.
inline float exp_f32(float xin) {
  float x = xin < -87.0f ? -87.0f : xin;
  x = x > 88.0f ? 88.0f : x;
  constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer in the low bits
  float t = x * 1.44269504088896341f + kMagic;
  float n = t - kMagic;
  float r = x - n * 0.693145751953125f;  // ln 2, high part (few mantissa bits: n * hi is exact)
  r = r - n * 1.42860682030941723e-6f;   // ln 2 - high part
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  // bits(t) = 0x4B400000 + n for |n| < 2^22; the exponent field of 2^n is n + 127.
  uint32_t bits = std::bit_cast<uint32_t>(t) - 0x4B400000u + 127u;
  float scale = std::bit_cast<float>(bits << 23);
  float y = p * scale;
  y = xin < -87.3f ? 0.0f : y;
  y = xin > 88.7f ? std::numeric_limits<float>::infinity() : y;
  return y;
}

template <typename T>
inline T exp_t(T x) {
  if constexpr (std::is_same_v<T, float>) return exp_f32(x);
  else return std::exp(x);
}

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

template <typename Body>
void parallel_rows(int64_t rows, int64_t work, Body&& body) {
  if (work < kParallelGrain || omp_get_max_threads() == 1 || omp_in_parallel()) {
    for (int64_t r = 0; r < rows; ++r) body(r);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) body(r);
}

// ---- contiguous rows (inner == 1) ----

template <typename T>
T row_max(const T* x, int64_t n) {
  T m = static_cast<T>(kNegInf);
#pragma omp simd reduction(max : m)
  for (int64_t i = 0; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

// sum(exp(x - m)); a NaN in x gives NaN.
template <typename T>
T row_sum_exp(const T* x, int64_t n, T m) {
  T s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += exp_t<T>(x[i] - m);
  return s;
}

template <typename T>
struct RowStats {
  T max, sum;
};

template <typename T>
RowStats<T> row_stats(const T* x, int64_t n) {
  T m = row_max(x, n);
  return {m, row_sum_exp(x, n, m)};
}

// ---- strided rows (inner > 1): the reduction runs over len with `inner` independent lanes ----

template <typename T>
void lanes_max_sum(const T* x, int64_t len, int64_t inner, T* m, T* s) {
  for (int64_t i = 0; i < inner; ++i) { m[i] = static_cast<T>(kNegInf); s[i] = 0; }
  for (int64_t k = 0; k < len; ++k) {
    const T* xr = x + k * inner;
#pragma omp simd
    for (int64_t i = 0; i < inner; ++i) m[i] = xr[i] > m[i] ? xr[i] : m[i];
  }
  for (int64_t k = 0; k < len; ++k) {
    const T* xr = x + k * inner;
#pragma omp simd
    for (int64_t i = 0; i < inner; ++i) s[i] += exp_t<T>(xr[i] - m[i]);
  }
}

}  // namespace

template <typename T>
void softmax_forward(const RowGeometry& g, const T* x, T* y) {
  if (g.len == 0 || g.inner == 0) return;
  if (g.inner == 1) {
    parallel_rows(g.outer, g.outer * g.len, [&](int64_t r) {
      const T* xr = x + r * g.len;
      T* yr = y + r * g.len;
      T m = row_max(xr, g.len);
      T s = 0;
#pragma omp simd reduction(+ : s)
      for (int64_t i = 0; i < g.len; ++i) {
        T e = exp_t<T>(xr[i] - m);
        yr[i] = e;
        s += e;
      }
      T inv = T(1) / s;
#pragma omp simd
      for (int64_t i = 0; i < g.len; ++i) yr[i] *= inv;
    });
    return;
  }
  parallel_rows(g.outer, g.outer * g.len * g.inner, [&](int64_t o) {
    std::vector<T> m(g.inner), s(g.inner);
    const T* xb = x + o * g.len * g.inner;
    T* yb = y + o * g.len * g.inner;
    lanes_max_sum(xb, g.len, g.inner, m.data(), s.data());
    for (int64_t i = 0; i < g.inner; ++i) s[i] = T(1) / s[i];
    for (int64_t k = 0; k < g.len; ++k) {
#pragma omp simd
      for (int64_t i = 0; i < g.inner; ++i) yb[k * g.inner + i] = exp_t<T>(xb[k * g.inner + i] - m[i]) * s[i];
    }
  });
}

template <typename T>
void log_softmax_forward(const RowGeometry& g, const T* x, T* y) {
  if (g.len == 0 || g.inner == 0) return;
  if (g.inner == 1) {
    parallel_rows(g.outer, g.outer * g.len, [&](int64_t r) {
      const T* xr = x + r * g.len;
      T* yr = y + r * g.len;
      T m = row_max(xr, g.len);
      T ls = std::log(row_sum_exp(xr, g.len, m));
#pragma omp simd
      for (int64_t i = 0; i < g.len; ++i) yr[i] = (xr[i] - m) - ls;
    });
    return;
  }
  parallel_rows(g.outer, g.outer * g.len * g.inner, [&](int64_t o) {
    std::vector<T> m(g.inner), s(g.inner);
    const T* xb = x + o * g.len * g.inner;
    T* yb = y + o * g.len * g.inner;
    lanes_max_sum(xb, g.len, g.inner, m.data(), s.data());
    for (int64_t i = 0; i < g.inner; ++i) s[i] = std::log(s[i]);
    for (int64_t k = 0; k < g.len; ++k) {
#pragma omp simd
      for (int64_t i = 0; i < g.inner; ++i) yb[k * g.inner + i] = (xb[k * g.inner + i] - m[i]) - s[i];
    }
  });
}

template <typename T>
void softmax_backward(const RowGeometry& g, const T* y, const T* dy, T* dx) {
  if (g.len == 0 || g.inner == 0) return;
  parallel_rows(g.outer, g.outer * g.len * g.inner, [&](int64_t o) {
    const int64_t base = o * g.len * g.inner;
    if (g.inner == 1) {
      const T* yr = y + base;
      const T* gr = dy + base;
      T* dr = dx + base;
      T dot = 0;
#pragma omp simd reduction(+ : dot)
      for (int64_t i = 0; i < g.len; ++i) dot += gr[i] * yr[i];
#pragma omp simd
      for (int64_t i = 0; i < g.len; ++i) dr[i] = yr[i] * (gr[i] - dot);
      return;
    }
    std::vector<T> dot(g.inner, T(0));
    for (int64_t k = 0; k < g.len; ++k) {
#pragma omp simd
      for (int64_t i = 0; i < g.inner; ++i) dot[i] += dy[base + k * g.inner + i] * y[base + k * g.inner + i];
    }
    for (int64_t k = 0; k < g.len; ++k) {
#pragma omp simd
      for (int64_t i = 0; i < g.inner; ++i) {
        const int64_t j = base + k * g.inner + i;
        dx[j] = y[j] * (dy[j] - dot[i]);
      }
    }
  });
}

template <typename T>
void log_softmax_backward(const RowGeometry& g, const T* y, const T* dy, T* dx) {
  if (g.len == 0 || g.inner == 0) return;
  parallel_rows(g.outer, g.outer * g.len * g.inner, [&](int64_t o) {
    const int64_t base = o * g.len * g.inner;
    if (g.inner == 1) {
      const T* yr = y + base;
      const T* gr = dy + base;
      T* dr = dx + base;
      T s = 0;
#pragma omp simd reduction(+ : s)
      for (int64_t i = 0; i < g.len; ++i) s += gr[i];
#pragma omp simd
      for (int64_t i = 0; i < g.len; ++i) dr[i] = gr[i] - exp_t<T>(yr[i]) * s;
      return;
    }
    std::vector<T> s(g.inner, T(0));
    for (int64_t k = 0; k < g.len; ++k) {
#pragma omp simd
      for (int64_t i = 0; i < g.inner; ++i) s[i] += dy[base + k * g.inner + i];
    }
    for (int64_t k = 0; k < g.len; ++k) {
#pragma omp simd
      for (int64_t i = 0; i < g.inner; ++i) {
        const int64_t j = base + k * g.inner + i;
        dx[j] = dy[j] - exp_t<T>(y[j]) * s[i];
      }
    }
  });
}

template <typename T>
void softmax_xent_forward(int64_t rows, int64_t classes, const T* logits, const T* labels, T* loss, T* row_max,
                          T* row_sum) {
  parallel_rows(rows, rows * classes, [&](int64_t r) {
    const T* xr = logits + r * classes;
    const T* lr = labels + r * classes;
    const RowStats<T> st = row_stats(xr, classes);
    const T m = st.max, ls = std::log(st.sum);
    T acc = 0;
#pragma omp simd reduction(+ : acc)
    for (int64_t k = 0; k < classes; ++k) acc += lr[k] * (ls - (xr[k] - m));
    loss[r] = acc;
    row_max[r] = st.max;
    row_sum[r] = st.sum;
  });
}

template <typename T>
void softmax_xent_backward(int64_t rows, int64_t classes, const T* logits, const T* labels, const T* row_max,
                           const T* row_sum, const T* dloss, T* dlogits, T* dlabels) {
  parallel_rows(rows, rows * classes, [&](int64_t r) {
    const T* xr = logits + r * classes;
    const T* lr = labels + r * classes;
    const T m = row_max[r], gr = dloss[r];
    T label_sum = 0;
#pragma omp simd reduction(+ : label_sum)
    for (int64_t k = 0; k < classes; ++k) label_sum += lr[k];
    const T scale = label_sum / row_sum[r];
    T* dr = dlogits + r * classes;
#pragma omp simd
    for (int64_t k = 0; k < classes; ++k) dr[k] = gr * (scale * exp_t<T>(xr[k] - m) - lr[k]);
    if (dlabels) {
      const T ls = std::log(row_sum[r]);
      T* dl = dlabels + r * classes;
#pragma omp simd
      for (int64_t k = 0; k < classes; ++k) dl[k] = gr * (ls - (xr[k] - m));
    }
  });
}

template <typename T>
void sparse_softmax_xent_forward(int64_t rows, int64_t classes, const T* logits, const int64_t* labels, T* loss,
                                 T* row_max, T* row_sum) {
  parallel_rows(rows, rows * classes, [&](int64_t r) {
    const T* xr = logits + r * classes;
    const RowStats<T> st = row_stats(xr, classes);
    row_max[r] = st.max;
    row_sum[r] = st.sum;
    loss[r] = std::log(st.sum) - (xr[labels[r]] - st.max);
  });
}

template <typename T>
void sparse_softmax_xent_backward(int64_t rows, int64_t classes, const T* logits, const int64_t* labels,
                                  const T* row_max, const T* row_sum, const T* dloss, T* dlogits) {
  parallel_rows(rows, rows * classes, [&](int64_t r) {
    const T* xr = logits + r * classes;
    const T m = row_max[r], gr = dloss[r];
    const T scale = gr / row_sum[r];
    T* dr = dlogits + r * classes;
#pragma omp simd
    for (int64_t k = 0; k < classes; ++k) dr[k] = scale * exp_t<T>(xr[k] - m);
    dr[labels[r]] -= gr;
  });
}

#define EMBER_INSTANTIATE(T)                                                                                        \
  template void softmax_forward<T>(const RowGeometry&, const T*, T*);                                               \
  template void log_softmax_forward<T>(const RowGeometry&, const T*, T*);                                           \
  template void softmax_backward<T>(const RowGeometry&, const T*, const T*, T*);                                    \
  template void log_softmax_backward<T>(const RowGeometry&, const T*, const T*, T*);                                \
  template void softmax_xent_forward<T>(int64_t, int64_t, const T*, const T*, T*, T*, T*);                          \
  template void softmax_xent_backward<T>(int64_t, int64_t, const T*, const T*, const T*, const T*, const T*, T*, T*); \
  template void sparse_softmax_xent_forward<T>(int64_t, int64_t, const T*, const int64_t*, T*, T*, T*);             \
  template void sparse_softmax_xent_backward<T>(int64_t, int64_t, const T*, const int64_t*, const T*, const T*,     \
                                                const T*, T*);
EMBER_INSTANTIATE(float)
EMBER_INSTANTIATE(double)
#undef EMBER_INSTANTIATE

}  // namespace ember::kernels::cpu
