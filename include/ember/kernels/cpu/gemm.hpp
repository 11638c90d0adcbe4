#pragma once
// General matrix multiply on row-major buffers: C = alpha * op(A) * op(B) + beta * C, where op
// transposes when the flag is set. A is m×k after op, B is k×n after op; lda/ldb/ldc are the row
// strides of the buffers as stored.
// Interface, threads, determinism and errors follow kernels.hpp (raw pointers + geometry).
#include <cstdint>
#include <vector>

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

// A batch of products C[i] = op(A[i]) * op(B[i]) over (broadcast) leading axes, as NumPy's matmul.
// Each A[i] / B[i] is a matrix laid out as gemm's a / b above (trans flag + row stride ld); the batch
// axes are walked with their own element strides, 0 where an operand is broadcast. C is dense:
// [batch..., m, n], overwritten (k == 0 gives zeros).
struct BatchedGemmGeometry {
  int64_t m = 0, n = 0, k = 0;
  bool trans_a = false, trans_b = false;
  int64_t lda = 0, ldb = 0;
  std::vector<int64_t> batch;                          // batch shape; empty for one product
  std::vector<int64_t> batch_stride_a, batch_stride_b;  // per batch axis, in elements
};

// float32/float64 go through gemm (oneDNN / OpenBLAS, which parallelise each product on the OpenMP
// pool); integer types through gemm_ref. Instantiated for float, double, int32_t, int64_t, uint8_t.
template <typename T>
void batched_gemm(const BatchedGemmGeometry& g, const T* a, const T* b, T* c);

}  // namespace ember::kernels::cpu
