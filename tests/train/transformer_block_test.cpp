// A transformer encoder block (MultiHeadAttention + residual + LayerNormalization + feed-forward)
// in the functional API trains with fit: on a task that needs information from every position
// (the class is the feature, among the first three, with the largest sum over the sequence), the
// training loss falls and the accuracy rises far above chance.
#include <gtest/gtest.h>

#include "ember/nn/layers/attention.hpp"
#include "ember/nn/layers/core.hpp"
#include "ember/nn/layers/merging.hpp"
#include "ember/nn/layers/reshaping.hpp"
#include "ember/nn/losses.hpp"
#include "ember/nn/model.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/reduce.hpp"
#include "ember/ops/shape.hpp"
#include "ember/optim/optim.hpp"
#include "test_support.hpp"

namespace ember {
namespace {

TEST(TransformerBlock, FunctionalEncoderBlockLearnsASequenceTask) {
  nn::reset_layer_names();
  default_generator().manual_seed(11);
  auto x = nn::Input({6, 8});
  auto att = nn::MultiHeadAttention({.num_heads = 2, .key_dim = 4})({x, x});
  auto h = nn::LayerNormalization()(nn::Add()({x, att}));
  auto ff = nn::Dense({.units = 8})(nn::Dense({.units = 16, .activation = Activation::ReLU})(h));
  auto out = nn::LayerNormalization()(nn::Add()({h, ff}));
  auto logits = nn::Dense({.units = 3})(nn::Flatten()(out));
  nn::Model model(x, logits);
  model.compile({.optimizer = optim::Adam({.learning_rate = 3e-3}),
                 .loss = losses::SparseCategoricalCrossentropy({.from_logits = true}),
                 .metrics = {"accuracy"}});
  Tensor xs = testing::random_f64({256, 6, 8}, 5, -1, 1).to(f32);
  Tensor ys = argmax(slice(sum(xs, {1}), 1, 0, 3), -1);  // [256] int64
  auto before = model.evaluate(xs, ys, {.verbose = 0});
  model.fit(xs, ys, {.batch_size = 32, .epochs = 40, .verbose = 0});
  auto after = model.evaluate(xs, ys, {.verbose = 0});
  EXPECT_LT(after.at("loss"), 0.5 * before.at("loss"));
  EXPECT_GT(after.at("accuracy"), 0.8);  // chance is 1/3
}

}  // namespace
}  // namespace ember
