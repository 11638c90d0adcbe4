// Optimizer kernels and subnormals: float slots are flushed to zero (the speed fix described in
// src/kernels/cpu/denormals.hpp), double keeps IEEE gradual underflow, and the caller's
// floating-point control state is left as it was.
#include <xmmintrin.h>

#include <cmath>
#include <limits>
#include <vector>

#include "ember/kernels/cpu/optim.hpp"
#include "test_support.hpp"

namespace kc = ember::kernels::cpu;

namespace {

// Runs one Adam step with zero gradients over n elements whose second moment starts subnormal,
// and returns v afterwards. n is large enough to take the multi-threaded path.
template <typename T>
std::vector<T> adam_v_after_zero_grad_step(int64_t n, T v0) {
  std::vector<T> w(n, T(1)), g(n, T(0)), m(n, T(0)), v(n, v0);
  kc::adam_step<T>(n, w.data(), g.data(), m.data(), v.data(), nullptr, T(1e-3), T(0.9), T(0.999), T(1e-7), T(0));
  return v;
}

}  // namespace

TEST(OptimKernels, FloatSlotsFlushSubnormalsToZero) {
  const float sub = std::numeric_limits<float>::denorm_min() * 1000;  // ~1.4e-42, subnormal
  ASSERT_EQ(std::fpclassify(sub), FP_SUBNORMAL);
  for (int64_t n : {int64_t{7}, int64_t{1} << 16}) {  // serial and pooled paths
    const auto v = adam_v_after_zero_grad_step<float>(n, sub);
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(v[static_cast<size_t>(i)], 0.0f) << "n=" << n << " i=" << i;
  }
}

TEST(OptimKernels, DoubleSlotsKeepSubnormals) {
  const double sub = std::numeric_limits<double>::denorm_min() * 1000;
  ASSERT_EQ(std::fpclassify(sub), FP_SUBNORMAL);
  const auto v = adam_v_after_zero_grad_step<double>(int64_t{1} << 16, sub);
  // 0.999 * sub, rounded to the subnormal grid: still positive and subnormal.
  EXPECT_EQ(std::fpclassify(v[0]), FP_SUBNORMAL);
  EXPECT_EQ(v[0], 0.999 * sub);
}

TEST(OptimKernels, CallerFloatingPointStateRestored) {
  const unsigned before = _mm_getcsr();
  adam_v_after_zero_grad_step<float>(int64_t{1} << 16, 1.0f);
  adam_v_after_zero_grad_step<float>(5, 1.0f);
  EXPECT_EQ(_mm_getcsr() & 0x8040u, before & 0x8040u);  // FTZ and DAZ bits as before the calls
  // And ordinary float arithmetic on this thread still underflows gradually.
  volatile float tiny = std::numeric_limits<float>::min();
  volatile float half = tiny / 2.0f;
  EXPECT_EQ(std::fpclassify(half), FP_SUBNORMAL);
}
