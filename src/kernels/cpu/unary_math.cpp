// Fast float32 exp / log / sigmoid / tanh / elu / softplus over dense buffers (see the header for the contract).
#include "ember/kernels/cpu/unary_math.hpp"

#include <immintrin.h>

#include "ember/kernels/cpu/parallel.hpp"
#include "vec_math.hpp"

namespace ember::kernels::cpu {

namespace {

// y[0, n) = f(x[0, n)): 8 lanes at a time, then the scalar twin for the tail.
template <typename F8, typename F1>
void run(const float* x, float* y, int64_t n, F8 f8, F1 f1) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, f8(_mm256_loadu_ps(x + i)));
  for (; i < n; ++i) y[i] = f1(x[i]);
}

template <typename F8, typename F1>
void run_blocks(const float* x, float* y, int64_t n, F8 f8, F1 f1) {
  // Blocks are a multiple of 8, so the vector/tail split, and with it every value, is the same
  // whichever thread runs a block.
  constexpr int64_t kBlock = 8192;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  parallel_for(0, blocks, grain_for(kBlock), [&](int64_t b0, int64_t b1) {
    const int64_t start = b0 * kBlock, end = std::min(n, b1 * kBlock);
    run(x + start, y + start, end - start, f8, f1);
  });
}

// The same for a function pair named at compile time (called directly, so inlined into the loop).
template <__m256 (*F8)(__m256), float (*F1)(float)>
void run_blocks(const float* x, float* y, int64_t n) {
  run_blocks(x, y, n, [](__m256 v) { return F8(v); }, [](float v) { return F1(v); });
}

}  // namespace

void unary_math_f32(UnaryMath op, const float* x, float* y, int64_t n, float alpha) {
  switch (op) {
    case UnaryMath::exp:
      run_blocks<vec::exp8, vec::exp1>(x, y, n);
      return;
    case UnaryMath::sigmoid:
      run_blocks<vec::sigmoid8, vec::sigmoid1>(x, y, n);
      return;
    case UnaryMath::tanh:
      run_blocks<vec::tanh8, vec::tanh1>(x, y, n);
      return;
    case UnaryMath::log:
      run_blocks<vec::log8, vec::log1>(x, y, n);
      return;
    case UnaryMath::softplus:
      run_blocks<vec::softplus8, vec::softplus1>(x, y, n);
      return;
    case UnaryMath::elu: {
      // alpha is captured as a float, not as a __m256: a lambda carrying a 256-bit member made GCC
      // leave out the vzeroupper at the end of the loop, and the dirty upper halves then slowed
      // the next SSE code on that thread (glibc's log1pf in softplus) 9-fold.
      run_blocks(
          x, y, n,
          [alpha](__m256 v) {
            // v > 0 ? v : alpha * expm1(v); a NaN v takes the second branch and stays NaN.
            __m256 neg = _mm256_mul_ps(_mm256_set1_ps(alpha), vec::expm1_8(v));
            return _mm256_blendv_ps(neg, v, _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GT_OQ));
          },
          [alpha](float v) { return v > 0.0f ? v : alpha * vec::expm1_1(v); });
      return;
    }
  }
}

}  // namespace ember::kernels::cpu
