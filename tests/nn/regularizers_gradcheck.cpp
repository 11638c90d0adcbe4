// f64 gradient checks of the regularizer penalties (the notes' criterion, relative error < 1e-7).
#include <gtest/gtest.h>

#include "ember/nn/regularizers.hpp"
#include "test_support.hpp"

namespace ember {
namespace {

namespace reg = nn::regularizers;

// Values in ±[0.2, 1.2): |w| is differentiable everywhere near them (the check's step is 1e-6).
Tensor away_from_zero(const Shape& shape, uint64_t seed) {
  std::vector<double> v = testing::random_f64(shape, seed, 0.2, 1.2).to_vector<double>();
  for (size_t i = 0; i < v.size(); ++i)
    if ((i * 7 + seed) % 3 == 0) v[i] = -v[i];
  return from_vector(v, shape, f64).requires_grad_();
}

TEST(RegularizersGradcheck, L1) {
  reg::L1 r({.l1 = 0.3});
  EXPECT_TRUE(testing::gradcheck_ok([&](const std::vector<Tensor>& x) { return r(x[0]); },
                                    {away_from_zero({4, 5}, 1)}));
}

TEST(RegularizersGradcheck, L2) {
  reg::L2 r({.l2 = 0.7});
  EXPECT_TRUE(testing::gradcheck_ok([&](const std::vector<Tensor>& x) { return r(x[0]); },
                                    {testing::random_f64({3, 3, 2, 4}, 2).requires_grad_()}));
}

TEST(RegularizersGradcheck, L1L2) {
  reg::L1L2 r({.l1 = 0.2, .l2 = 0.5});
  // Inside a loss, with a second input, so the penalty's gradient is checked as it is used.
  EXPECT_TRUE(testing::gradcheck_ok(
      [&](const std::vector<Tensor>& x) { return sum(matmul(x[1], x[0])) + r(x[0]); },
      {away_from_zero({5, 3}, 3), testing::random_f64({2, 5}, 4).requires_grad_()}));
}

}  // namespace
}  // namespace ember
