// f64 gradient checks (the notes' criterion, 1e-7) for the activation functions and dropout.
// Inputs keep |x| > 1e-3 away from the kinks (relu, leaky_relu, elu at 0; hard_sigmoid at +-2.5).
#include "test_support.hpp"

using namespace ember;
using ember::testing::gradcheck_ok;
using ember::testing::random_f64;

namespace {

// Random values in [-3, 3] with |x| >= 0.05 and away from +-2.5 (the hard_sigmoid corners).
Tensor away_from_kinks(const Shape& shape, uint64_t seed) {
  Tensor t = random_f64(shape, seed, -3, 3);
  double* p = t.data<double>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (std::abs(p[i]) < 0.05) p[i] = p[i] < 0 ? -0.05 - p[i] : 0.05 + p[i];
    if (std::abs(std::abs(p[i]) - 2.5) < 0.05) p[i] *= 0.9;
  }
  return t;
}

}  // namespace

TEST(ActivationGradcheck, Relu) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return relu(v[0]); }, {away_from_kinks({3, 5}, 1)}));
}
TEST(ActivationGradcheck, LeakyRelu) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return leaky_relu(v[0]); }, {away_from_kinks({3, 5}, 2)}));
}
TEST(ActivationGradcheck, LeakyReluCustomAlpha) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return leaky_relu(v[0], 0.3); }, {away_from_kinks({3, 5}, 3)}));
}
TEST(ActivationGradcheck, Elu) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return elu(v[0], 1.5); }, {away_from_kinks({3, 5}, 4)}));
}
TEST(ActivationGradcheck, EluNegativeAlpha) {  // the input-based backward branch
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return elu(v[0], -0.5); }, {away_from_kinks({3, 5}, 5)}));
}
TEST(ActivationGradcheck, Sigmoid) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return sigmoid(v[0]); }, {away_from_kinks({3, 5}, 6)}));
}
TEST(ActivationGradcheck, Tanh) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return ember::tanh(v[0]); }, {away_from_kinks({3, 5}, 7)}));
}
TEST(ActivationGradcheck, Softplus) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return softplus(v[0]); }, {away_from_kinks({3, 5}, 8)}));
}
TEST(ActivationGradcheck, HardSigmoid) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return hard_sigmoid(v[0]); }, {away_from_kinks({4, 5}, 9)}));
}
TEST(ActivationGradcheck, Swish) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return swish(v[0]); }, {away_from_kinks({3, 5}, 10)}));
}
TEST(ActivationGradcheck, ReluOfStridedView) {  // backward through a non-contiguous input
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return relu(transpose(v[0], 0, 1)); }, {away_from_kinks({4, 3}, 11)}));
}
TEST(ActivationGradcheck, Dropout) {
  // The generator is created inside f with a fixed seed: every evaluation draws the same mask.
  EXPECT_TRUE(gradcheck_ok(
      [](const auto& v) {
        Generator gen(1234);
        return dropout(v[0], 0.4, true, &gen);
      },
      {random_f64({6, 7}, 12)}));
}
