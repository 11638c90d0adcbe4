#include "ember/kernels/cpu/gemm.hpp"
#include "ember/kernels/cpu/parallel.hpp"

#include <cblas.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <atomic>
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

void check_sgemm(dnnl_status_t st, int64_t m, int64_t n, int64_t k) {
  if (st != dnnl_success) {
    throw ValueError("gemm: oneDNN sgemm failed (status " + std::to_string(static_cast<int>(st)) + ") for m=" +
                     std::to_string(m) + " n=" + std::to_string(n) + " k=" + std::to_string(k));
  }
}

// How a product is spread over the pool, by its multiply-adds. oneDNN threads each product itself,
// and does that well for large ones, but for the middle sizes of a small network's layers
// (128x128x256: the mlp's second layer, its gradients) it reached 263-351 GFLOP/s at 2 threads
// where C split in two halves — one single-threaded oneDNN call per thread — reached 331-392
// (21-25 µs instead of 24-32 per product); and tiny products (128x10x128, 3 µs) are fastest on one
// thread, as waking the other costs about as much as the work (bench/RESULTS.md, issue 10).
constexpr int64_t kSingleThreadMacs = int64_t{1} << 19;  // below: one thread
constexpr int64_t kSplitMacs = int64_t{1} << 24;         // up to: halves of C, then oneDNN's own threading
constexpr int64_t kMinSplitRows = 32;                     // rows or columns of C per thread, at least
}  // namespace

// float32 goes through oneDNN's JIT sgemm rather than OpenBLAS: Debian's OpenBLAS 0.3.21 does not
// recognise AVX-512 virtual CPUs such as the one these machines report and falls back to its SSE3
// (Prescott) kernels, measured 5-6x slower than oneDNN's sgemm here (bench/RESULTS.md). oneDNN
// detects the ISA itself and runs on the same OpenMP pool.
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda, const float* b,
          int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  const char tra = ta ? 'T' : 'N', trb = tb ? 'T' : 'N';
  const int64_t macs = m * n * std::max<int64_t>(k, 1);
  const int pool = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (pool <= 1 || macs > kSplitMacs) {
    check_sgemm(dnnl_sgemm(tra, trb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc), m, n, k);
    return;
  }
  // Split C along its longer side into `parts` contiguous blocks (static, so the same shapes always
  // split the same way); inside the parallel region each oneDNN call runs on its own thread.
  const bool split_cols = n > m;
  const int64_t extent = split_cols ? n : m;
  const int64_t parts = macs < kSingleThreadMacs ? 1 : std::min<int64_t>(pool, extent / kMinSplitRows);
  if (parts <= 1) {
    // omp_set_num_threads is the calling thread's setting; oneDNN reads it for this call only.
    omp_set_num_threads(1);
    const dnnl_status_t st = dnnl_sgemm(tra, trb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    omp_set_num_threads(pool);
    check_sgemm(st, m, n, k);
    return;
  }
  std::atomic<dnnl_status_t> status{dnnl_success};  // nothing may throw inside the parallel region
  parallel_for(0, parts, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t lo = extent * p / parts, hi = extent * (p + 1) / parts;
      const dnnl_status_t st =
          split_cols  // columns lo..hi of B and C, or rows lo..hi of A and C
              ? dnnl_sgemm(tra, trb, m, hi - lo, k, alpha, a, lda, tb ? b + lo * ldb : b + lo, ldb, beta, c + lo, ldc)
              : dnnl_sgemm(tra, trb, hi - lo, n, k, alpha, ta ? a + lo : a + lo * lda, lda, b, ldb, beta, c + lo * ldc, ldc);
      if (st != dnnl_success) status = st;
    }
  });
  check_sgemm(status, m, n, k);
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
