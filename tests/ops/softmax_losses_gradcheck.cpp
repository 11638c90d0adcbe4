// f64 gradient checks (the notes' criterion) for softmax, log_softmax and the losses.
// Inputs are kept away from kinks (|e| = 0, |e| = delta, hinge at 0, clip bounds) so that
// two-sided differences are valid; the fixtures below assert that precondition themselves.
#include <cmath>

#include "test_support.hpp"

using namespace ember;
using ember::testing::gradcheck_ok;
using ember::testing::random_f64;

namespace {

// Random signs (+1 / -1) as an f64 tensor.
Tensor random_signs(const Shape& shape, uint64_t seed) {
  return sign(random_f64(shape, seed, -1, 1));
}

// y_true and y_pred = y_true + e with |e| drawn from [lo, hi) and random signs (both leaves).
std::pair<Tensor, Tensor> regression_pair(const Shape& shape, uint64_t seed, double lo, double hi) {
  Tensor y_true = random_f64(shape, seed);
  Tensor e = random_f64(shape, seed + 1, lo, hi) * random_signs(shape, seed + 2);
  return {y_true, (y_true + e).detach()};
}

Tensor int_labels(const std::vector<int64_t>& v, const Shape& shape) { return from_vector(v, shape); }

}  // namespace

TEST(SoftmaxGradcheck, SoftmaxLastAxis) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return softmax(v[0]); }, {random_f64({4, 5}, 1, -3, 3)}));
}
TEST(SoftmaxGradcheck, SoftmaxAxis0) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return softmax(v[0], 0); }, {random_f64({4, 3}, 2, -3, 3)}));
}
TEST(SoftmaxGradcheck, SoftmaxMiddleAxisStrided) {
  // inner > 1 path of the row kernels; the input is also a non-contiguous (transposed) view.
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return softmax(v[0].transpose(0, 2), 1); },
                           {random_f64({3, 4, 2}, 3, -3, 3)}));
}
TEST(SoftmaxGradcheck, LogSoftmaxLastAxis) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return log_softmax(v[0]); }, {random_f64({4, 5}, 4, -3, 3)}));
}
TEST(SoftmaxGradcheck, LogSoftmaxAxis0) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return log_softmax(v[0], 0); }, {random_f64({3, 2, 4}, 5, -3, 3)}));
}

TEST(LossGradcheck, MeanSquaredError) {
  auto [t, p] = regression_pair({3, 4}, 10, 0.1, 1.0);
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return mean_squared_error(v[0], v[1]); }, {t, p}));
}
TEST(LossGradcheck, MeanAbsoluteErrorAwayFromKink) {
  auto [t, p] = regression_pair({3, 4}, 20, 0.1, 1.0);  // |y_pred - y_true| >= 0.1
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return mean_absolute_error(v[0], v[1]); }, {t, p}));
}
TEST(LossGradcheck, HuberBothBranches) {
  // Half the errors in the quadratic zone (|e| < 0.8 < delta 1), half in the linear one (|e| > 1.2).
  auto [t, p] = regression_pair({2, 6}, 30, 0.05, 0.8);
  Tensor far = (random_f64({2, 6}, 33, 1.2, 2.5) * random_signs({2, 6}, 34) + t).detach();
  Tensor pick = greater(random_f64({2, 6}, 35), zeros({}, f64));
  Tensor pred = where(pick, p, far).detach();
  Tensor err = abs(pred - t);
  ASSERT_GT(sum(less(err, scalar_tensor(1.0, f64)).to(f64)).item<double>(), 0);
  ASSERT_GT(sum(greater(err, scalar_tensor(1.0, f64)).to(f64)).item<double>(), 0);
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return huber(v[0], v[1], 1.0); }, {t, pred}));
}
TEST(LossGradcheck, HuberSmallDelta) {
  auto [t, p] = regression_pair({3, 4}, 40, 0.05, 0.4);
  Tensor far = (random_f64({3, 4}, 43, 0.6, 2.0) * random_signs({3, 4}, 44) + t).detach();
  Tensor pred = where(greater(random_f64({3, 4}, 45), zeros({}, f64)), p, far).detach();
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return huber(v[0], v[1], 0.5); }, {t, pred}));
}
TEST(LossGradcheck, BinaryCrossentropyProbs) {
  // Probabilities well inside (eps, 1 - eps); soft labels; both inputs differentiated.
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return binary_crossentropy(v[0], v[1]); },
                           {random_f64({3, 4}, 50, 0, 1), random_f64({3, 4}, 51, 0.05, 0.95)}));
}
TEST(LossGradcheck, BinaryCrossentropyLogits) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return binary_crossentropy(v[0], v[1], true); },
                           {random_f64({3, 4}, 60, 0, 1), random_f64({3, 4}, 61, -4, 4)}));
}
TEST(LossGradcheck, CategoricalCrossentropyProbs) {
  // Unnormalised positive rows: the Keras rescale p / sum(p) is part of what is checked.
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return categorical_crossentropy(v[0], v[1]); },
                           {random_f64({3, 5}, 70, 0, 1), random_f64({3, 5}, 71, 0.1, 1.0)}));
}
TEST(LossGradcheck, CategoricalCrossentropyLogits) {
  // Soft labels that do not sum to 1, so the sum(labels) * softmax term of the fused backward
  // matters; labels are differentiated too (-log_softmax).
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return categorical_crossentropy(v[0], v[1], true); },
                           {random_f64({4, 5}, 80, 0, 1), random_f64({4, 5}, 81, -3, 3)}));
}
TEST(LossGradcheck, CategoricalCrossentropyLogitsBatchAxes) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return softmax_cross_entropy_with_logits(v[0], v[1].transpose(0, 1)); },
                           {random_f64({3, 2, 4}, 82, 0, 1), random_f64({2, 3, 4}, 83, -3, 3)}));
}
TEST(LossGradcheck, SparseCategoricalCrossentropyProbs) {
  Tensor labels = int_labels({0, 3, 4, 1}, {4});
  EXPECT_TRUE(gradcheck_ok([labels](const auto& v) { return sparse_categorical_crossentropy(labels, v[0]); },
                           {random_f64({4, 5}, 90, 0.1, 1.0)}));
}
TEST(LossGradcheck, SparseCategoricalCrossentropyLogits) {
  Tensor labels = int_labels({2, 0, 4, 4, 1, 3}, {2, 3});  // batch axes [2, 3]
  EXPECT_TRUE(gradcheck_ok([labels](const auto& v) { return sparse_categorical_crossentropy(labels, v[0], true); },
                           {random_f64({2, 3, 5}, 100, -3, 3)}));
}
TEST(LossGradcheck, SparseSoftmaxCrossEntropyFloatLabels) {
  Tensor labels = from_vector(std::vector<double>{1, 0, 2}, {3}, f64);
  EXPECT_TRUE(gradcheck_ok([labels](const auto& v) { return sparse_softmax_cross_entropy_with_logits(labels, v[0]); },
                           {random_f64({3, 3}, 110, -3, 3)}));
}
TEST(LossGradcheck, MulticlassSvmAwayFromHinge) {
  Tensor labels = int_labels({1, 0, 3, 2, 4}, {5});
  Tensor scores = random_f64({5, 5}, 120, -2, 2);
  // Precondition: every s_j - s_y + 1 (j != y) is away from 0, and both hinge branches occur.
  auto s = scores.to_vector<double>();
  auto y = labels.to_vector<int64_t>();
  int active = 0, inactive = 0;
  for (int i = 0; i < 5; ++i) {
    for (int j = 0; j < 5; ++j) {
      if (j == y[i]) continue;
      double m = s[i * 5 + j] - s[i * 5 + y[i]] + 1.0;
      ASSERT_GT(std::abs(m), 1e-3);
      (m > 0 ? active : inactive)++;
    }
  }
  ASSERT_GT(active, 0);
  ASSERT_GT(inactive, 0);
  EXPECT_TRUE(gradcheck_ok([labels](const auto& v) { return multiclass_svm_loss(labels, v[0]); }, {scores}));
}
TEST(LossGradcheck, SigmoidCrossEntropyWithLogits) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return sigmoid_cross_entropy_with_logits(v[0], v[1]); },
                           {random_f64({3, 4}, 130, 0, 1), random_f64({3, 4}, 131, -5, 5)}));
}
TEST(LossGradcheck, SigmoidCrossEntropyAtZeroLogit) {
  // The derivative at x = 0 is sigmoid(0) - z = 0.5 - z exactly (no subgradient from |x|).
  Tensor x = zeros({3}, f64);
  x.requires_grad_(true);
  Tensor z = from_vector(std::vector<double>{0, 0.25, 1}, {3}, f64);
  sum(sigmoid_cross_entropy_with_logits(z, x)).backward();
  auto g = x.grad().to_vector<double>();
  EXPECT_DOUBLE_EQ(g[0], 0.5);
  EXPECT_DOUBLE_EQ(g[1], 0.25);
  EXPECT_DOUBLE_EQ(g[2], -0.5);
}
