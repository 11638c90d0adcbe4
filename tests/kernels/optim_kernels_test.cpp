// Optimizer kernels and subnormals: float slots are flushed to zero (the speed fix described in
// src/kernels/cpu/denormals.hpp), double keeps IEEE gradual underflow, and the caller's
// floating-point control state is left as it was.
#include <xmmintrin.h>

#include <cmath>
#include <cstdint>
#include <cstring>
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

// adam_step<float>'s AVX-512 loop (taken where the CPU has AVX-512) and its AVX2 loop give the same
// bits: 20 steps of random gradients with weight decay, on a serial size and a pooled one with a
// ragged tail, and the AVX-512 loop flushes subnormals as the other does.
TEST(OptimKernels, AdamAvx512LoopMatchesTheAvx2LoopBitForBit) {
  if (!__builtin_cpu_supports("avx512f")) GTEST_SKIP() << "this CPU has no AVX-512: only the AVX2 loop runs";
  for (int64_t n : {int64_t{37}, int64_t{200003}}) {
    std::vector<float> w(n), m(n, 0.0f), v(n, 0.0f), g(n);
    uint64_t state = 12345;
    auto uniform = [&] {  // in [-1, 1)
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      return static_cast<float>(static_cast<int64_t>(state >> 40) - (int64_t{1} << 23)) / static_cast<float>(1 << 23);
    };
    for (float& x : w) x = uniform();
    std::vector<float> w2 = w, m2 = m, v2 = v;
    for (int step = 1; step <= 20; ++step) {
      for (float& x : g) x = 0.1f * uniform();
      const float alpha = 1e-3f * std::sqrt(1.0f - std::pow(0.999f, static_cast<float>(step))) / (1.0f - std::pow(0.9f, static_cast<float>(step)));
      kc::set_optim_avx512(true);
      kc::adam_step<float>(n, w.data(), g.data(), m.data(), v.data(), nullptr, alpha, 0.9f, 0.999f, 1e-7f, 1e-4f);
      kc::set_optim_avx512(false);
      kc::adam_step<float>(n, w2.data(), g.data(), m2.data(), v2.data(), nullptr, alpha, 0.9f, 0.999f, 1e-7f, 1e-4f);
    }
    kc::set_optim_avx512(true);
    int64_t differ = 0;
    for (int64_t i = 0; i < n; ++i) {
      const auto k = static_cast<size_t>(i);
      differ += std::memcmp(&w[k], &w2[k], sizeof(float)) != 0 || std::memcmp(&m[k], &m2[k], sizeof(float)) != 0 ||
                std::memcmp(&v[k], &v2[k], sizeof(float)) != 0;
    }
    EXPECT_EQ(differ, 0) << "n=" << n;
    EXPECT_NE(w, std::vector<float>(n, 0.0f));  // the steps did move the weights
  }
  const float sub = std::numeric_limits<float>::denorm_min() * 1000;
  for (bool avx512 : {true, false}) {
    kc::set_optim_avx512(avx512);
    const auto v = adam_v_after_zero_grad_step<float>(int64_t{1} << 16, sub);
    kc::set_optim_avx512(true);
    EXPECT_EQ(v[100], 0.0f) << (avx512 ? "AVX-512" : "AVX2");
  }
}
