// Batch-norm kernels: hand-computed statistics, f32 vs f64, accuracy with a large mean, thread-count
// independence, and finite differences of the backward kernel.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <random>
#include <vector>

#include "ember/core/error.hpp"
#include "ember/kernels/cpu/batch_norm.hpp"
#include "test_support.hpp"

namespace {

using namespace ember::kernels::cpu;
using ember::testing::numeric_gradient;
using ember::testing::rel_error;

TEST(BatchNormKernels, HandComputedTraining) {
  // Columns (1,2,3,4) and (10,20,30,40): means 2.5 and 25, biased variances 1.25 and 125.
  const std::vector<double> x = {1, 10, 2, 20, 3, 30, 4, 40};
  const std::vector<double> gamma = {2, 1}, beta = {0.5, -1};
  std::vector<double> y(8), mean(2), invstd(2);
  batch_norm_forward_training(4, 2, x.data(), gamma.data(), beta.data(), 0.0, y.data(), mean.data(), invstd.data());
  EXPECT_DOUBLE_EQ(mean[0], 2.5);
  EXPECT_DOUBLE_EQ(mean[1], 25.0);
  EXPECT_NEAR(invstd[0], 1 / std::sqrt(1.25), 1e-15);
  EXPECT_NEAR(invstd[1], 1 / std::sqrt(125.0), 1e-15);
  // Both columns normalise to (-1.5, -0.5, 0.5, 1.5)/sqrt(1.25).
  const double s = 1 / std::sqrt(1.25);
  const double xhat[4] = {-1.5 * s, -0.5 * s, 0.5 * s, 1.5 * s};
  for (int r = 0; r < 4; ++r) {
    EXPECT_NEAR(y[2 * r], 2 * xhat[r] + 0.5, 1e-14);
    EXPECT_NEAR(y[2 * r + 1], xhat[r] - 1, 1e-14);
  }
  // No gamma/beta means scale 1, shift 0.
  batch_norm_forward_training<double>(4, 2, x.data(), nullptr, nullptr, 0.0, y.data(), mean.data(), invstd.data());
  for (int r = 0; r < 4; ++r) {
    EXPECT_NEAR(y[2 * r], xhat[r], 1e-14);
    EXPECT_NEAR(y[2 * r + 1], xhat[r], 1e-14);
  }
}

TEST(BatchNormKernels, HandComputedInference) {
  // y = gamma*(x - mean)/sqrt(var + eps) + beta with var + eps = 4: (5 - 1)/2*3 + 1 = 7.
  const std::vector<float> x = {5, -3}, gamma = {3, 1}, beta = {1, 0}, mean = {1, -1}, var = {3.5f, 0.5f};
  std::vector<float> y(2);
  batch_norm_forward_inference(1, 2, x.data(), gamma.data(), beta.data(), mean.data(), var.data(), 0.5f, y.data());
  EXPECT_FLOAT_EQ(y[0], 7.0f);
  EXPECT_FLOAT_EQ(y[1], -2.0f);  // (-3 + 1)/sqrt(1)
}

TEST(BatchNormKernels, BadArgumentsThrow) {
  float v = 0;
  EXPECT_THROW(batch_norm_forward_training<float>(0, 3, &v, nullptr, nullptr, 1e-3f, &v, &v, &v), ember::ValueError);
  EXPECT_THROW(batch_norm_forward_training<float>(3, 0, &v, nullptr, nullptr, 1e-3f, &v, &v, &v), ember::ValueError);
  EXPECT_THROW(batch_norm_backward<float>(0, 3, &v, &v, nullptr, &v, &v, &v, nullptr, nullptr), ember::ValueError);
}

struct Data {
  int64_t rows, C;
  std::vector<double> x, dy, gamma, beta;
};

Data make_data(int64_t rows, int64_t C, double offset, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> d(0.0, 1.0);
  Data D{rows, C, std::vector<double>(rows * C), std::vector<double>(rows * C), std::vector<double>(C),
         std::vector<double>(C)};
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < C; ++c) D.x[r * C + c] = offset + 0.1 * c + (1 + 0.05 * c) * d(rng);
  for (auto& e : D.dy) e = d(rng);
  for (auto& e : D.gamma) e = 1 + 0.5 * d(rng);
  for (auto& e : D.beta) e = d(rng);
  return D;
}

template <typename T>
struct Result {
  std::vector<T> y, mean, invstd, dx, dgamma, dbeta;
};

template <typename T>
Result<T> run(const Data& D, double eps) {
  const std::vector<T> x(D.x.begin(), D.x.end()), dy(D.dy.begin(), D.dy.end()), gamma(D.gamma.begin(), D.gamma.end()),
      beta(D.beta.begin(), D.beta.end());
  Result<T> R{std::vector<T>(x.size()), std::vector<T>(D.C), std::vector<T>(D.C), std::vector<T>(x.size()),
              std::vector<T>(D.C), std::vector<T>(D.C)};
  batch_norm_forward_training(D.rows, D.C, x.data(), gamma.data(), beta.data(), static_cast<T>(eps), R.y.data(),
                              R.mean.data(), R.invstd.data());
  batch_norm_backward(D.rows, D.C, x.data(), dy.data(), gamma.data(), R.mean.data(), R.invstd.data(), R.dx.data(),
                      R.dgamma.data(), R.dbeta.data());
  return R;
}

template <typename A, typename B>
void expect_close(const std::vector<A>& a, const std::vector<B>& b, double rel, const char* what) {
  ASSERT_EQ(a.size(), b.size());
  double scale = 1e-30;
  for (B e : b) scale = std::max(scale, std::abs(static_cast<double>(e)));
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], rel * scale) << what << " at " << i;
}

TEST(BatchNormKernels, F32MatchesF64) {
  for (double offset : {0.0, 1000.0}) {  // a large mean must not lose the variance
    const Data D = make_data(3001, 37, offset, 1);
    const auto r64 = run<double>(D, 1e-3);
    const auto r32 = run<float>(D, 1e-3);
    // The f32 inputs carry ~1e-7 relative rounding of an offset of 1000, i.e. ~1e-4 absolute: x - mean
    // is only that accurate, so compare against the scale of the outputs.
    const double tol = offset == 0 ? 1e-5 : 2e-4;
    expect_close(r32.mean, r64.mean, 1e-6, "mean");
    expect_close(r32.invstd, r64.invstd, tol, "invstd");
    expect_close(r32.y, r64.y, tol, "y");
    expect_close(r32.dx, r64.dx, tol, "dx");
    expect_close(r32.dgamma, r64.dgamma, tol, "dgamma");
    expect_close(r32.dbeta, r64.dbeta, 1e-5, "dbeta");
  }
}

TEST(BatchNormKernels, BitIdenticalAcrossThreadCounts) {
  const Data D = make_data(128 * 7 * 7, 64, 0.5, 2);
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const auto a = run<float>(D, 1e-3);
  omp_set_num_threads(2);
  const auto b = run<float>(D, 1e-3);
  const auto c = run<float>(D, 1e-3);
  omp_set_num_threads(saved);
  EXPECT_EQ(a.y, b.y);
  EXPECT_EQ(a.mean, b.mean);
  EXPECT_EQ(a.invstd, b.invstd);
  EXPECT_EQ(a.dx, b.dx);
  EXPECT_EQ(a.dgamma, b.dgamma);
  EXPECT_EQ(a.dbeta, b.dbeta);
  EXPECT_EQ(b.y, c.y);
  EXPECT_EQ(b.dx, c.dx);
}

// L = sum(y * r) with y the training-mode output; the statistics depend on x.
TEST(BatchNormKernels, BackwardMatchesFiniteDifferences) {
  Data D = make_data(7, 3, 0.3, 3);
  const std::vector<double>& r = D.dy;
  const double eps = 1e-3;
  auto loss = [&] {
    std::vector<double> y(D.x.size()), m(D.C), is(D.C);
    batch_norm_forward_training(D.rows, D.C, D.x.data(), D.gamma.data(), D.beta.data(), eps, y.data(), m.data(),
                                is.data());
    double s = 0;
    for (size_t i = 0; i < y.size(); ++i) s += y[i] * r[i];
    return s;
  };
  const auto R = run<double>(D, eps);
  auto numeric = [&](std::vector<double>& p) { return numeric_gradient(loss, p, 1e-6); };
  EXPECT_LT(rel_error(R.dx, numeric(D.x)), 1e-7);
  EXPECT_LT(rel_error(R.dgamma, numeric(D.gamma)), 1e-7);
  EXPECT_LT(rel_error(R.dbeta, numeric(D.beta)), 1e-7);

  // Without gamma/beta the gradient is the gamma = 1 one.
  std::vector<double> y(D.x.size()), m(D.C), is(D.C), dx(D.x.size()), dx1(D.x.size());
  batch_norm_forward_training<double>(D.rows, D.C, D.x.data(), nullptr, nullptr, eps, y.data(), m.data(), is.data());
  batch_norm_backward<double>(D.rows, D.C, D.x.data(), r.data(), nullptr, m.data(), is.data(), dx.data(), nullptr,
                              nullptr);
  const std::vector<double> ones(D.C, 1.0);
  batch_norm_backward<double>(D.rows, D.C, D.x.data(), r.data(), ones.data(), m.data(), is.data(), dx1.data(), nullptr,
                              nullptr);
  EXPECT_EQ(dx, dx1);
}

}  // namespace
