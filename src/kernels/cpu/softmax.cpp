// Row kernels for softmax / log-softmax / softmax cross-entropy (see the header for the contracts).
#include "ember/kernels/cpu/softmax.hpp"

#include <immintrin.h>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "ember/kernels/cpu/parallel.hpp"
#include "vec_math.hpp"

namespace ember::kernels::cpu {

namespace {

using vec::exp1;
using vec::exp8;

inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

template <typename T>
inline T exp_t(T x) {
  if constexpr (std::is_same_v<T, float>) return exp1(x);
  else return std::exp(x);
}

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// body(r) for every row; rows are independent, each written by one thread.
template <typename Body>
void parallel_rows(int64_t rows, int64_t work, const Body& body) {
  const int64_t per_row = rows > 0 ? work / rows : 0;
  parallel_for(0, rows, grain_for(per_row), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) body(r);
  });
}

// ---- contiguous rows (inner == 1); float runs 8 lanes wide, double stays scalar (reference) ----

// Max of a row; NaN may be skipped here, but x - max is then NaN for it and the row turns NaN.
template <typename T>
T row_max(const T* x, int64_t n) {
  T m = static_cast<T>(kNegInf);
  int64_t i = 0;
  if constexpr (std::is_same_v<T, float>) {
    if (n >= 8) {
      __m256 acc = _mm256_loadu_ps(x);
      for (i = 8; i + 8 <= n; i += 8) acc = _mm256_max_ps(_mm256_loadu_ps(x + i), acc);
      alignas(32) float lanes[8];
      _mm256_store_ps(lanes, acc);
      for (float v : lanes) m = v > m ? v : m;
    }
  }
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

// y[i] = scale * exp(x[i] - m) (y may be nullptr: nothing stored); returns sum of exp(x[i] - m).
template <typename T>
T row_exp(const T* x, T* y, int64_t n, T m, T scale) {
  T s = 0;
  int64_t i = 0;
  if constexpr (std::is_same_v<T, float>) {
    __m256 acc = _mm256_setzero_ps();
    const __m256 vm = _mm256_set1_ps(m), vs = _mm256_set1_ps(scale);
    for (; i + 8 <= n; i += 8) {
      __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
      acc = _mm256_add_ps(acc, e);
      if (y) _mm256_storeu_ps(y + i, _mm256_mul_ps(e, vs));
    }
    s = hsum8(acc);
  }
  for (; i < n; ++i) {
    T e = exp_t<T>(x[i] - m);
    s += e;
    if (y) y[i] = e * scale;
  }
  return s;
}

template <typename T>
T row_dot(const T* a, const T* b, int64_t n) {
  T s = 0;
  int64_t i = 0;
  if constexpr (std::is_same_v<T, float>) {
    __m256 acc = _mm256_setzero_ps();
    for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
    s = hsum8(acc);
  }
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

template <typename T>
T row_total(const T* a, int64_t n) {
  T s = 0;
  int64_t i = 0;
  if constexpr (std::is_same_v<T, float>) {
    __m256 acc = _mm256_setzero_ps();
    for (; i + 8 <= n; i += 8) acc = _mm256_add_ps(acc, _mm256_loadu_ps(a + i));
    s = hsum8(acc);
  }
  for (; i < n; ++i) s += a[i];
  return s;
}

template <typename T>
struct RowStats {
  T max, sum;
};

template <typename T>
RowStats<T> row_stats(const T* x, int64_t n) {
  T m = row_max(x, n);
  return {m, row_exp<T>(x, nullptr, n, m, T(1))};
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
      T inv = T(1) / row_exp<T>(xr, yr, g.len, m, T(1));
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
      T ls = std::log(row_exp<T>(xr, nullptr, g.len, m, T(1)));
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
      const T dot = row_dot(gr, yr, g.len);
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
      const T s = row_total(gr, g.len);
      row_exp<T>(yr, dr, g.len, T(0), s);  // dr = exp(y) * sum(g)
#pragma omp simd
      for (int64_t i = 0; i < g.len; ++i) dr[i] = gr[i] - dr[i];
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
    // sum_k y_k (log s - (x_k - m)) = log(s) sum(y) - sum(y (x - m)), each term computed exactly as
    // TensorFlow does (0 * inf for a -inf logit with label 0 gives NaN there too).
    T acc = 0;
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
    const T scale = gr * row_total(lr, classes) / row_sum[r];
    T* dr = dlogits + r * classes;
    row_exp<T>(xr, dr, classes, m, scale);  // dr = g * sum(labels) * softmax
#pragma omp simd
    for (int64_t k = 0; k < classes; ++k) dr[k] -= gr * lr[k];
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
    T* dr = dlogits + r * classes;
    row_exp<T>(xr, dr, classes, m, gr / row_sum[r]);  // dr = g * softmax
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
