#pragma once
// General matrix multiply on row-major buffers: C = alpha * op(A) * op(B) + beta * C, where op
// transposes when the flag is set. A is m×k after op, B is k×n after op; lda/ldb/ldc are the row
// strides of the buffers as stored.
#include <cstdint>

namespace ember::kernels::cpu {

// Reference triple loop, any arithmetic T (the oracle for the BLAS paths; integers use it).
template <typename T>
void gemm_ref(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
              const T* b, int64_t ldb, T beta, T* c, int64_t ldc);

// float32: oneDNN's JIT sgemm (see gemm.cpp for why not OpenBLAS); float64: OpenBLAS dgemm.
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
// OpenBLAS cblas_sgemm, for benchmark comparisons.
void gemm_openblas(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                   int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
          const double* b, int64_t ldb, double beta, double* c, int64_t ldc);

}  // namespace ember::kernels::cpu
