#include "ember/kernels/cpu/gemm.hpp"
#include "ember/kernels/cpu/parallel.hpp"

#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <cstdint>
#include <limits>

#include "ember/core/error.hpp"
#include "ember/core/shape.hpp"

namespace ember::kernels::cpu {

template <typename T>
void gemm_ref(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
              const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
  parallel_for(0, m, grain_for(n * k), [&](int64_t i_begin, int64_t i_end) {
    for (int64_t i = i_begin; i < i_end; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        Acc acc = 0;
        for (int64_t p = 0; p < k; ++p) {
          T av = trans_a ? a[p * lda + i] : a[i * lda + p];
          T bv = trans_b ? b[j * ldb + p] : b[p * ldb + j];
          acc += static_cast<Acc>(av) * static_cast<Acc>(bv);
        }
        T prev = beta == T(0) ? T(0) : static_cast<T>(beta * c[i * ldc + j]);
        c[i * ldc + j] = static_cast<T>(static_cast<Acc>(alpha) * acc + static_cast<Acc>(prev));
      }
    }
  });
}

template void gemm_ref<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*,
                              int64_t, float, float*, int64_t);
template void gemm_ref<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t, const double*,
                               int64_t, double, double*, int64_t);
template void gemm_ref<int32_t>(bool, bool, int64_t, int64_t, int64_t, int32_t, const int32_t*, int64_t,
                                const int32_t*, int64_t, int32_t, int32_t*, int64_t);
template void gemm_ref<int64_t>(bool, bool, int64_t, int64_t, int64_t, int64_t, const int64_t*, int64_t,
                                const int64_t*, int64_t, int64_t, int64_t*, int64_t);
template void gemm_ref<uint8_t>(bool, bool, int64_t, int64_t, int64_t, uint8_t, const uint8_t*, int64_t,
                                const uint8_t*, int64_t, uint8_t, uint8_t*, int64_t);

namespace {
int blas_int(int64_t v) {
  if (v > std::numeric_limits<int>::max()) throw ShapeError("gemm: dimension too large for BLAS: " + std::to_string(v));
  return static_cast<int>(v);
}
}  // namespace

// float32 goes through oneDNN's JIT sgemm rather than OpenBLAS: Debian's OpenBLAS 0.3.21 does not
// recognise AVX-512 virtual CPUs such as the one these machines report and falls back to its SSE3
// (Prescott) kernels, measured 5-6x slower than oneDNN's sgemm here (bench/RESULTS.md). oneDNN
// detects the ISA itself and runs on the same OpenMP pool.
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda, const float* b,
          int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  dnnl_status_t st = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  if (st != dnnl_success) {
    throw ValueError("gemm: oneDNN sgemm failed (status " + std::to_string(static_cast<int>(st)) + ") for m=" +
                     std::to_string(m) + " n=" + std::to_string(n) + " k=" + std::to_string(k));
  }
}

// The same product through OpenBLAS's cblas_sgemm, kept for comparison in the benchmarks.
void gemm_openblas(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                   const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, blas_int(m), blas_int(n),
              blas_int(k), alpha, a, blas_int(lda), b, blas_int(ldb), beta, c, blas_int(ldc));
}

void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
          const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, blas_int(m), blas_int(n),
              blas_int(k), alpha, a, blas_int(lda), b, blas_int(ldb), beta, c, blas_int(ldc));
}

template <typename T>
void batched_gemm(const BatchedGemmGeometry& g, const T* a, const T* b, T* c) {
  const int nd = static_cast<int>(g.batch.size());
  int64_t count = 1;
  for (int64_t d : g.batch) count *= d;
  const int64_t mn = g.m * g.n, ldc = std::max<int64_t>(g.n, 1);
  // The products run one after another, each parallelised inside gemm: batches here are few and
  // their matrices large (Dense layers, attention-sized blocks), and one pool must not be nested.
  SmallVector<int64_t, kMaxDims> idx(static_cast<std::size_t>(nd), 0);
  int64_t oa = 0, ob = 0;  // element offsets of the current A[i], B[i]
  for (int64_t i = 0; i < count; ++i) {
    T* ci = c + i * mn;
    if (g.k == 0) {
      std::fill_n(ci, mn, T(0));
    } else if constexpr (std::is_floating_point_v<T>) {
      gemm(g.trans_a, g.trans_b, g.m, g.n, g.k, T(1), a + oa, g.lda, b + ob, g.ldb, T(0), ci, ldc);
    } else {
      gemm_ref<T>(g.trans_a, g.trans_b, g.m, g.n, g.k, T(1), a + oa, g.lda, b + ob, g.ldb, T(0), ci, ldc);
    }
    for (int d = nd - 1; d >= 0; --d) {  // odometer step over the batch axes
      oa += g.batch_stride_a[d];
      ob += g.batch_stride_b[d];
      if (++idx[d] < g.batch[d]) break;
      oa -= g.batch_stride_a[d] * g.batch[d];
      ob -= g.batch_stride_b[d] * g.batch[d];
      idx[d] = 0;
    }
  }
}

template void batched_gemm<float>(const BatchedGemmGeometry&, const float*, const float*, float*);
template void batched_gemm<double>(const BatchedGemmGeometry&, const double*, const double*, double*);
template void batched_gemm<int32_t>(const BatchedGemmGeometry&, const int32_t*, const int32_t*, int32_t*);
template void batched_gemm<int64_t>(const BatchedGemmGeometry&, const int64_t*, const int64_t*, int64_t*);
template void batched_gemm<uint8_t>(const BatchedGemmGeometry&, const uint8_t*, const uint8_t*, uint8_t*);

}  // namespace ember::kernels::cpu
