// Masks into losses and metrics (issue 15): a compiled model whose output carries a mask (a
// return_sequences output after Embedding(mask_zero) or Masking) weights its loss and metrics by
// it, as Keras: masked steps do not count, and with the default reduction the loss is the mean over
// the unmasked steps only (Σ v·w·m / Σ m; Keras's apply_valid_mask).
#include <cmath>

#include "ember/nn/layers/core.hpp"
#include "ember/nn/layers/masking.hpp"
#include "ember/nn/layers/recurrent.hpp"
#include "ember/nn/losses.hpp"
#include "ember/nn/model.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/shape.hpp"
#include "ember/optim/optim.hpp"
#include "ember/train/training.hpp"
#include "test_support.hpp"

namespace ember {
namespace {

using testing::all_close;
using testing::message_of;

// Per step of batch [2, 3]: which are real (lengths 2 and 3).
const std::vector<double> kMask{1, 1, 0, 1, 1, 1};
Tensor mask_2x3() { return cast(from_vector(kMask, {2, 3}), DType::b8); }

TEST(MaskedLoss, LossObjectsAverageOverTheUnmaskedValuesOnly) {
  // Squared errors per step (y_pred − y_true)²: 1, 4, 100 (masked), 0, 9, 16.
  Tensor y_true = from_vector(std::vector<double>{0, 0, 0, 1, 1, 1}, {2, 3, 1});
  Tensor y_pred = from_vector(std::vector<double>{1, 2, 10, 1, 4, 5}, {2, 3, 1});
  losses::MeanSquaredError mse;
  EXPECT_NEAR(mse(y_true, y_pred, {}, mask_2x3()).item<double>(), (1 + 4 + 0 + 9 + 16) / 5.0, 1e-12);
  // With sample weights 2 and 0.5 per sequence: Σ v·w·m / Σ m (Keras divides by the count, not by Σw).
  Tensor sw = from_vector(std::vector<double>{2, 0.5}, {2});
  EXPECT_NEAR(mse(y_true, y_pred, sw, mask_2x3()).item<double>(), (2 * (1 + 4) + 0.5 * (0 + 9 + 16)) / 5.0, 1e-12);
  // Sum: the masked values are left out, nothing rescaled.
  losses::MeanSquaredError summed({.reduction = losses::Reduction::Sum});
  EXPECT_NEAR(summed(y_true, y_pred, {}, mask_2x3()).item<double>(), 30.0, 1e-12);
  // All masked: 0, not NaN.
  EXPECT_EQ(mse(y_true, y_pred, {}, zeros({2, 3}, DType::b8)).item<double>(), 0.0);
  // A mask that does not fit the values names the loss and both shapes.
  std::string m = message_of<ShapeError>([&] { mse(y_true, y_pred, {}, ones({2, 4}, DType::b8)); });
  EXPECT_NE(m.find("mean_squared_error"), std::string::npos) << m;
  EXPECT_NE(m.find(to_string(Shape{2, 4})), std::string::npos) << m;
  EXPECT_NE(m.find(to_string(Shape{2, 3})), std::string::npos) << m;
}

// Embedding(mask_zero) → SimpleRNN(return_sequences) → Dense(1): one step per token, padding 0.
// The same seed gives the same initial weights.
std::shared_ptr<nn::Sequential> tagger(uint64_t seed, bool mask_zero = true) {
  nn::reset_layer_names();
  manual_seed(seed);
  auto model = std::make_shared<nn::Sequential>(std::initializer_list<nn::LayerRef>{
      nn::Input({3}), nn::Embedding({.input_dim = 6, .output_dim = 3, .mask_zero = mask_zero}),
      nn::SimpleRNN({.units = 4, .return_sequences = true}), nn::Dense({.units = 1})});
  model->compile({.optimizer = optim::SGD({.learning_rate = 0.1}), .loss = "mse", .metrics = {"mae"}});
  return model;
}

// Token ids, 0 the padding: lengths 2 and 3.
Tensor tokens() { return from_vector(std::vector<int64_t>{4, 2, 0, 1, 5, 3}, {2, 3}); }

TEST(MaskedLoss, EvaluateCountsOnlyTheUnmaskedSteps) {
  auto model = tagger(1);
  Tensor y = from_vector(std::vector<double>{0.5, -1, 0, 2, 0.25, 1}, {2, 3, 1}).to(f32);
  Tensor p = model->predict(tokens(), {}).to(f64);
  const std::vector<double> pv = p.to_vector<double>(), yv = y.to(f64).to_vector<double>();
  double se = 0, ae = 0, count = 0;
  for (std::size_t i = 0; i < kMask.size(); ++i) {
    se += kMask[i] * (pv[i] - yv[i]) * (pv[i] - yv[i]);
    ae += kMask[i] * std::abs(pv[i] - yv[i]);
    count += kMask[i];
  }
  auto logs = model->evaluate(tokens(), y, {.batch_size = 2});
  EXPECT_NEAR(logs["loss"], se / count, 1e-6);
  EXPECT_NEAR(logs["mae"], ae / count, 1e-6);
  // The padded step's target does not matter.
  Tensor y_other = where(cast(reshape(mask_2x3(), {2, 3, 1}), DType::b8), y, full({2, 3, 1}, 1000.0));
  auto other = model->evaluate(tokens(), y_other, {.batch_size = 2});
  EXPECT_NEAR(other["loss"], logs["loss"], 1e-6);
  EXPECT_NEAR(other["mae"], logs["mae"], 1e-6);
}

// Training never sees the padding: any targets at the padded steps give the same weights, through
// train_on_batch and through fit. Without mask_zero they would (the test can fail).
TEST(MaskedLoss, TrainingIgnoresThePaddedTargets) {
  Tensor y = from_vector(std::vector<double>{0.5, -1, 0, 2, 0.25, 1}, {2, 3, 1}).to(f32);
  Tensor y_pad = where(cast(reshape(mask_2x3(), {2, 3, 1}), DType::b8), y, full({2, 3, 1}, -50.0));
  auto same_weights = [](nn::Model& a, nn::Model& b) {
    auto wa = a.named_weights(), wb = b.named_weights();
    bool same = wa.size() == wb.size();
    for (std::size_t i = 0; same && i < wa.size(); ++i) same = all_close(wb[i].weight->value(), wa[i].weight->value(), 0, 1e-6);
    return same;
  };
  auto a = tagger(3), b = tagger(3);
  EXPECT_NEAR(a->train_on_batch(tokens(), y)["loss"], b->train_on_batch(tokens(), y_pad)["loss"], 1e-6);
  EXPECT_TRUE(same_weights(*a, *b));
  auto c = tagger(4), d = tagger(4);
  c->fit(tokens(), y, {.batch_size = 2, .epochs = 3, .verbose = 0, .shuffle = false});
  d->fit(tokens(), y_pad, {.batch_size = 2, .epochs = 3, .verbose = 0, .shuffle = false});
  EXPECT_TRUE(same_weights(*c, *d));
  auto e = tagger(4, false), f = tagger(4, false);
  e->train_on_batch(tokens(), y);
  f->train_on_batch(tokens(), y_pad);
  EXPECT_FALSE(same_weights(*e, *f));
}

}  // namespace
}  // namespace ember
