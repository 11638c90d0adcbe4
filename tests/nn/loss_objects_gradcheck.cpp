// f64 gradient checks of the loss objects w.r.t. y_pred (the notes' criterion, relative error < 1e-7),
// through the reduction and, in two cases, label smoothing and sample weights. Inputs are kept away
// from the kinks of |e|, max(·, 0) and the Huber switch, where finite differences are meaningless.
#include <gtest/gtest.h>

#include "ember/nn/losses.hpp"
#include "test_support.hpp"

namespace ember {
namespace {

using losses::Reduction;
using testing::gradcheck_ok;
using testing::random_f64;

Tensor t2(const std::vector<double>& v, const Shape& s) { return from_vector(v, s, f64); }

// Checks d loss(y_true, y_pred, w) / d y_pred (the None reduction is summed to a scalar).
::testing::AssertionResult check(const losses::Loss& loss, const Tensor& y_true, const Tensor& y_pred,
                                 const Tensor& w = Tensor()) {
  return gradcheck_ok(
      [&](const std::vector<Tensor>& x) {
        Tensor l = loss(y_true, x[0], w);
        return loss.reduction == Reduction::None ? sum(l) : l;
      },
      {y_pred.clone().requires_grad_()});
}

// Probabilities in (0.05, 0.95) and one-hot labels.
Tensor probs(const Shape& s, uint64_t seed) { return random_f64(s, seed, 0.05, 0.95); }
Tensor one_hot_rows() { return t2({0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1}, {5, 4}); }

TEST(LossObjectsGradcheck, MeanSquaredError) {
  EXPECT_TRUE(check(losses::MeanSquaredError(), random_f64({4, 3}, 1), random_f64({4, 3}, 2)));
}

TEST(LossObjectsGradcheck, MeanAbsoluteErrorWithSampleWeights) {
  // |e| >= 0.25 everywhere: y_pred = y_true ± [0.25, 1).
  Tensor yt = random_f64({4, 3}, 3);
  std::vector<double> d = random_f64({4, 3}, 4, 0.25, 1).to_vector<double>();
  for (size_t i = 0; i < d.size(); i += 2) d[i] = -d[i];
  Tensor yp = yt + t2(d, {4, 3});
  EXPECT_TRUE(check(losses::MeanAbsoluteError({.reduction = Reduction::Sum}), yt, yp, t2({0.5, 2, 0, 1.5}, {4})));
}

TEST(LossObjectsGradcheck, Huber) {
  // Errors in ±[0.1, 0.4] ∪ ±[0.6, 1.2] around delta = 0.5: both branches, no switch point.
  Tensor yt = zeros({2, 4}, f64);
  Tensor yp = t2({0.1, -0.3, 0.7, -1.2, 0.4, 0.9, -0.6, -0.15}, {2, 4});
  EXPECT_TRUE(check(losses::Huber({.delta = 0.5}), yt, yp));
}

TEST(LossObjectsGradcheck, BinaryCrossentropyWithLabelSmoothingAndWeights) {
  Tensor yt = t2({0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0}, {4, 3});
  EXPECT_TRUE(check(losses::BinaryCrossentropy({.label_smoothing = 0.1}), yt, probs({4, 3}, 5),
                    t2({1, 0.5, 2, 0.25}, {4, 1})));
}

TEST(LossObjectsGradcheck, BinaryCrossentropyFromLogits) {
  Tensor yt = random_f64({3, 4}, 6, 0, 1);  // soft labels
  EXPECT_TRUE(check(losses::BinaryCrossentropy({.from_logits = true, .reduction = Reduction::None}), yt,
                    random_f64({3, 4}, 7, -4, 4)));
}

TEST(LossObjectsGradcheck, CategoricalCrossentropyWithLabelSmoothing) {
  EXPECT_TRUE(check(losses::CategoricalCrossentropy({.label_smoothing = 0.2}), one_hot_rows(), probs({5, 4}, 8)));
  EXPECT_TRUE(check(losses::CategoricalCrossentropy({.from_logits = true, .label_smoothing = 0.2}), one_hot_rows(),
                    random_f64({5, 4}, 9, -3, 3), t2({1, 2, 0.5, 0, 1}, {5})));
}

TEST(LossObjectsGradcheck, SparseCategoricalCrossentropy) {
  Tensor labels = from_vector(std::vector<int64_t>{1, 1, 2, 0, 3}, {5});
  EXPECT_TRUE(check(losses::SparseCategoricalCrossentropy(), labels, probs({5, 4}, 10)));
  EXPECT_TRUE(check(losses::SparseCategoricalCrossentropy({.from_logits = true}), labels,
                    random_f64({5, 4}, 11, -3, 3)));
}

TEST(LossObjectsGradcheck, Hinge) {
  // Margins 1 − y·p: 0.7, 1.6, −0.5 (inactive); 0.6, 0.75, 0.3 — none near the kink at 0.
  Tensor yt = t2({1, 0, 1, 0, 1, 1}, {2, 3});  // 0/1 labels, converted to −1/1
  Tensor yp = t2({0.3, 0.6, 1.5, -0.4, 0.25, 0.7}, {2, 3});
  EXPECT_TRUE(check(losses::Hinge(), yt, yp));
}

TEST(LossObjectsGradcheck, SquaredHinge) {
  Tensor yt = t2({-1, 1, 1, -1, 1, -1}, {2, 3});
  Tensor yp = t2({0.3, 0.6, 1.5, -0.4, 0.25, -2.0}, {2, 3});
  EXPECT_TRUE(check(losses::SquaredHinge({.reduction = Reduction::Sum}), yt, yp));
}

TEST(LossObjectsGradcheck, CategoricalHinge) {
  // Distinct positive scores (no ties in the max over the wrong classes); all rows active.
  Tensor yp = t2({0.3, 0.6, 0.9, 0.1, 0.5, 0.2, 0.45, 0.8, 0.7, 0.15, 0.35, 0.55, 0.65, 0.25, 0.05, 0.95,
                  0.4, 0.12, 0.3, 0.2},
                 {5, 4});
  EXPECT_TRUE(check(losses::CategoricalHinge(), one_hot_rows(), yp));
}

TEST(LossObjectsGradcheck, MulticlassSvm) {
  // Scores with no margin exactly at 0: the CS231n example.
  Tensor scores = t2({3.2, 5.1, -1.7, 1.3, 4.9, 2.0, 2.2, 2.5, -3.1}, {3, 3});
  Tensor labels = from_vector(std::vector<int64_t>{0, 1, 2}, {3});
  EXPECT_TRUE(check(losses::MulticlassSvm(), labels, scores));
}

}  // namespace
}  // namespace ember
