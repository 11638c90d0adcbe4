// f64 gradient checks (the notes' criterion, relative error < 1e-7) of LayerNormalization and
// MultiHeadAttention with respect to every input and every trainable weight.
#include <gtest/gtest.h>

#include "ember/nn/layers/attention.hpp"
#include "test_support.hpp"

namespace ember {
namespace {

using testing::gradcheck_ok;
using testing::random_f64;
using Inputs = std::vector<Tensor>;

Tensor leaf(const Shape& shape, uint64_t seed) { return random_f64(shape, seed, -1, 1).requires_grad_(); }

// Builds `layer` on zero f32 inputs of `shapes`, replaces every weight by a random f64 leaf, and
// returns the f64 inputs followed by those weights (the gradcheck's inputs).
Inputs with_f64_weights(nn::Layer& layer, const std::vector<Shape>& shapes, uint64_t seed) {
  {
    autograd::NoGradGuard no_grad;
    std::vector<Tensor> blanks;
    for (const Shape& s : shapes) blanks.push_back(zeros(s));
    layer(blanks, false);
  }
  Inputs inputs;
  for (const Shape& s : shapes) inputs.push_back(leaf(s, ++seed));
  for (const auto& nw : layer.named_weights()) {
    nw.weight->value() = random_f64(nw.weight->value().shape(), ++seed, -1, 1);
    inputs.push_back(nw.weight->value().requires_grad_());
  }
  return inputs;
}

TEST(AttentionGradcheck, LayerNormalizationLastAxis) {
  nn::LayerNormalization ln;
  Inputs in = with_f64_weights(ln, {{3, 4, 5}}, 1);
  ASSERT_EQ(in.size(), 3u);
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return ln(x[0]); }, in));
}

TEST(AttentionGradcheck, LayerNormalizationTwoAxes) {
  nn::LayerNormalization ln({.axis = {1, 3}, .epsilon = 1e-2});
  Inputs in = with_f64_weights(ln, {{2, 3, 2, 4}}, 2);
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return ln(x[0]); }, in));
}

TEST(AttentionGradcheck, MultiHeadAttentionCrossWithMaskAndCausal) {
  nn::MultiHeadAttention mha({.num_heads = 2, .key_dim = 3, .value_dim = 2, .output_shape = Shape{4}});
  Inputs in = with_f64_weights(mha, {{2, 4, 5}, {2, 4, 3}, {2, 4, 6}}, 3);
  ASSERT_EQ(in.size(), 3u + 8u);
  Tensor mask = ones({2, 4, 4});
  {
    autograd::NoGradGuard no_grad;
    mask.slice(2, 2, 3).fill_(0);  // every query row keeps key 0
  }
  EXPECT_TRUE(gradcheck_ok(
      [&](const Inputs& x) {
        return mha.attend(x[0], x[1], {.key = x[2], .attention_mask = mask, .use_causal_mask = true});
      },
      in));
}

TEST(AttentionGradcheck, MultiHeadAttentionSelfNoBiasOneOfTwoPositionAxes) {
  nn::MultiHeadAttention mha({.num_heads = 2, .key_dim = 2, .use_bias = false, .attention_axes = Axes{2}});
  Inputs in = with_f64_weights(mha, {{2, 2, 3, 4}, {2, 2, 3, 4}}, 4);
  ASSERT_EQ(in.size(), 2u + 4u);
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return mha(std::vector<Tensor>{x[0], x[1]}); }, in));
}

}  // namespace
}  // namespace ember
