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
// summation order (and the result) is the same at every thread count.
constexpr int64_t kRowsPerChunk = 256;
// Columns per block: the block's running sums (kBlock doubles) stay in registers across the rows.
constexpr int64_t kBlock = 16;

// dpre = g * act'(y) for rows [r0, r1) and columns [c0, c0 + width); acc[j] += column sums.
template <typename T, int64_t kWidth>
inline void backward_block(int64_t r0, int64_t r1, int64_t cols, int64_t c0, const T* g, const T* y, BiasAct act,
                           T* dpre, double* acc) {
  double sums[kWidth] = {};
  for (int64_t r = r0; r < r1; ++r) {
    const T* gr = g + r * cols + c0;
    const T* yr = y + r * cols + c0;
    T* dr = dpre + r * cols + c0;
#pragma omp simd
    for (int64_t j = 0; j < kWidth; ++j) {
      const T d = act == BiasAct::ReLU ? (yr[j] > T(0) ? gr[j] : T(0)) : gr[j];
      dr[j] = d;
      sums[j] += static_cast<double>(d);
    }
  }
  if (acc) {
    for (int64_t j = 0; j < kWidth; ++j) acc[j] = sums[j];
  }
}

// The same for a ragged last block of `width` < kBlock columns.
template <typename T>
inline void backward_tail(int64_t r0, int64_t r1, int64_t cols, int64_t c0, int64_t width, const T* g, const T* y,
                          BiasAct act, T* dpre, double* acc) {
  double sums[kBlock] = {};
  for (int64_t r = r0; r < r1; ++r) {
    for (int64_t j = 0; j < width; ++j) {
      const T gv = g[r * cols + c0 + j];
      const T d = act == BiasAct::ReLU ? (y[r * cols + c0 + j] > T(0) ? gv : T(0)) : gv;
      dpre[r * cols + c0 + j] = d;
      sums[j] += static_cast<double>(d);
    }
  }
  if (acc) {
    for (int64_t j = 0; j < width; ++j) acc[j] = sums[j];
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
  thread_local std::vector<double> partial;  // [chunks, cols]; grows once, then reused
  if (db && partial.size() < static_cast<std::size_t>(chunks * cols)) partial.resize(chunks * cols);
  double* part = db ? partial.data() : nullptr;
  parallel_for(0, chunks, grain_for(kRowsPerChunk * cols), [&](int64_t k0, int64_t k1) {
    for (int64_t chunk = k0; chunk < k1; ++chunk) {
      const int64_t r0 = chunk * kRowsPerChunk, r1 = std::min(rows, r0 + kRowsPerChunk);
      double* acc = part ? part + chunk * cols : nullptr;
      int64_t c0 = 0;
      for (; c0 + kBlock <= cols; c0 += kBlock) {
        backward_block<T, kBlock>(r0, r1, cols, c0, g, y, act, dpre, acc ? acc + c0 : nullptr);
      }
      if (c0 < cols) backward_tail<T>(r0, r1, cols, c0, cols - c0, g, y, act, dpre, acc ? acc + c0 : nullptr);
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
