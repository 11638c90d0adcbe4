// Fused bias + activation passes around Dense's GEMM and Conv2D's convolution (bias_act.hpp).
#include "ember/kernels/cpu/bias_act.hpp"

#include <algorithm>
#include <vector>

#include "ember/kernels/cpu/parallel.hpp"

namespace ember::kernels::cpu {

template <typename T>
void bias_act_forward(int64_t rows, int64_t cols, T* y, const T* bias, BiasAct act) {
  if (rows <= 0 || cols <= 0 || (!bias && act == BiasAct::None)) return;
  parallel_for(0, rows, grain_for(cols), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      T* row = y + r * cols;
      if (bias && act == BiasAct::ReLU) {
#pragma omp simd
        for (int64_t c = 0; c < cols; ++c) {
          const T v = row[c] + bias[c];
          row[c] = v > T(0) ? v : T(0);
        }
      } else if (bias) {
#pragma omp simd
        for (int64_t c = 0; c < cols; ++c) row[c] += bias[c];
      } else {
#pragma omp simd
        for (int64_t c = 0; c < cols; ++c) row[c] = row[c] > T(0) ? row[c] : T(0);
      }
    }
  });
}

namespace {
// Rows per chunk of the bias-gradient reduction: a function of nothing but this constant, so the
// summation order (and the result) is the same at every thread count. A chunk of dpre (256 rows)
// is still in cache when its column sums are taken.
constexpr int64_t kRowsPerChunk = 256;

// dpre = g * act'(y) over n contiguous elements: both loads unconditional and the choice a select,
// so the loop vectorises.
template <typename T>
inline void act_backward(int64_t n, const T* g, const T* y, BiasAct act, T* dpre) {
  if (act == BiasAct::ReLU) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) {
      const T gv = g[i], yv = y[i];
      dpre[i] = yv > T(0) ? gv : T(0);
    }
  } else if (dpre != g) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) dpre[i] = g[i];
  }
}
}  // namespace

template <typename T>
void bias_act_backward(int64_t rows, int64_t cols, const T* g, const T* y, BiasAct act, T* dpre, T* db) {
  if (cols <= 0) return;
  if (rows <= 0) {
    if (db) std::fill(db, db + cols, T(0));
    return;
  }
  const int64_t chunks = (rows + kRowsPerChunk - 1) / kRowsPerChunk;
  if (chunks == 1) {
    // One chunk (a Dense layer's batch of up to 256 rows): split over columns instead, or the second
    // thread would wait. Each column is still summed from zero in row order: the same db as below.
    parallel_for(0, cols, grain_for(rows), [&](int64_t c0, int64_t c1) {
      const int64_t width = c1 - c0;
      thread_local std::vector<double> column_sums;  // grows once, then reused
      if (column_sums.size() < static_cast<std::size_t>(width)) column_sums.resize(width);
      double* acc = column_sums.data();
      std::fill(acc, acc + width, 0.0);
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t at = r * cols + c0;
        act_backward(width, g + at, y ? y + at : nullptr, act, dpre + at);
        if (!db) continue;
#pragma omp simd
        for (int64_t c = 0; c < width; ++c) acc[c] += static_cast<double>(dpre[at + c]);
      }
      if (db) {
        for (int64_t c = 0; c < width; ++c) db[c0 + c] = static_cast<T>(acc[c]);
      }
    });
    return;
  }
  thread_local std::vector<double> partial;  // [chunks, cols]; grows once, then reused
  if (db && partial.size() < static_cast<std::size_t>(chunks * cols)) partial.resize(chunks * cols);
  double* part = db ? partial.data() : nullptr;
  parallel_for(0, chunks, grain_for(kRowsPerChunk * cols), [&](int64_t k0, int64_t k1) {
    for (int64_t chunk = k0; chunk < k1; ++chunk) {
      const int64_t r0 = chunk * kRowsPerChunk, r1 = std::min(rows, r0 + kRowsPerChunk);
      act_backward((r1 - r0) * cols, g + r0 * cols, y ? y + r0 * cols : nullptr, act, dpre + r0 * cols);
      if (!part) continue;
      double* acc = part + chunk * cols;
      std::fill(acc, acc + cols, 0.0);
      for (int64_t r = r0; r < r1; ++r) {
        const T* dr = dpre + r * cols;
#pragma omp simd
        for (int64_t c = 0; c < cols; ++c) acc[c] += static_cast<double>(dr[c]);
      }
    }
  });
  if (!db) return;
  // Chunk 0's row becomes the total: ((p0 + p1) + p2) + ..., the same order at every thread count.
  for (int64_t chunk = 1; chunk < chunks; ++chunk) {
    const double* p = part + chunk * cols;
#pragma omp simd
    for (int64_t c = 0; c < cols; ++c) part[c] += p[c];
  }
  for (int64_t c = 0; c < cols; ++c) db[c] = static_cast<T>(part[c]);
}

template void bias_act_forward<float>(int64_t, int64_t, float*, const float*, BiasAct);
template void bias_act_forward<double>(int64_t, int64_t, double*, const double*, BiasAct);
template void bias_act_backward<float>(int64_t, int64_t, const float*, const float*, BiasAct, float*, float*);
template void bias_act_backward<double>(int64_t, int64_t, const double*, const double*, BiasAct, double*, double*);

}  // namespace ember::kernels::cpu
