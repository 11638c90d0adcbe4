// f64 gradient checks (the notes' criterion, relative error < 1e-7) of the sequence layers of issue
// 15: Masking (through a masked recurrent layer, in a functional model), TimeDistributed and RNN
// over every built-in cell and StackedRNNCells (the user cell of sequence_wrappers_test.cpp is
// composed of ops with their own checks).
#include <gtest/gtest.h>

#include "ember/nn/layers/conv.hpp"
#include "ember/nn/layers/core.hpp"
#include "ember/nn/layers/masking.hpp"
#include "ember/nn/layers/recurrent.hpp"
#include "ember/nn/layers/rnn.hpp"
#include "ember/nn/layers/wrappers.hpp"
#include "ember/nn/model.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/shape.hpp"
#include "test_support.hpp"

namespace ember {
namespace {

using testing::gradcheck_ok;
using testing::random_f64;
using Inputs = std::vector<Tensor>;

// Replaces every weight of `layer` (built) by a random f64 leaf, appended to `in`.
void f64_weights(nn::Layer& layer, Inputs& in, uint64_t seed) {
  for (const auto& nw : layer.named_weights()) {
    nw.weight->value() = random_f64(nw.weight->value().shape(), ++seed, -0.8, 0.8);
    in.push_back(nw.weight->value().requires_grad_());
  }
}

// 1 for the real steps of sequences of lengths 3, 1, 4 (of 4), 0 for the padding: [3, 4, 1].
Tensor padding_pattern() {
  return from_vector(std::vector<double>{1, 1, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1}, {3, 4, 1});
}

// Masking → LSTM(return_sequences) → Dense in a functional model. The input is leaf · pattern, so
// the padded steps are exactly the mask value whatever the leaf (a finite difference never
// un-masks a step, where the mask has its kink); gradients reach the leaf only through real steps.
TEST(SequenceLayersGradcheck, MaskingIntoMaskedLSTMInAFunctionalModel) {
  auto in = nn::Input({4, 2});
  auto lstm = std::make_shared<nn::LSTM>(nn::RecurrentOptions{.units = 3, .return_sequences = true});
  auto dense = std::make_shared<nn::Dense>(nn::DenseOptions{.units = 2});
  nn::Model model(in, nn::LayerRef(dense)(nn::LayerRef(lstm)(nn::Masking()(in))));
  {
    autograd::NoGradGuard no_grad;
    model(zeros({3, 4, 2}));
  }
  Inputs leaves{random_f64({3, 4, 2}, 7, 0.2, 1.0).requires_grad_()};
  f64_weights(*lstm, leaves, 10);
  f64_weights(*dense, leaves, 20);
  const Tensor pattern = padding_pattern();
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return model(x[0] * pattern); }, leaves));
}

TEST(SequenceLayersGradcheck, MaskingAlone) {
  // Away from the kink (no step at the mask value) Masking is the identity; at masked steps the
  // gradient is 0 (the leaf is multiplied by a pattern that zeroes them).
  nn::Masking masking;
  Inputs leaves{random_f64({3, 4, 2}, 30, 0.2, 1.0).requires_grad_()};
  const Tensor pattern = padding_pattern();
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return square(masking(x[0] * pattern)); }, leaves));
}

// A layer built on `shape` with f64 weights: {x, weights...}.
Inputs built_f64(nn::Layer& layer, const Shape& shape, uint64_t seed) {
  {
    autograd::NoGradGuard no_grad;
    layer(zeros(shape));
  }
  Inputs in{random_f64(shape, seed).requires_grad_()};
  f64_weights(layer, in, seed);
  return in;
}

TEST(SequenceLayersGradcheck, TimeDistributedDense) {
  nn::TimeDistributed td(nn::Dense({.units = 3, .activation = Activation::Tanh}));
  Inputs in = built_f64(td, {2, 3, 4}, 40);
  ASSERT_EQ(in.size(), 3u);
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return td(x[0]); }, in));
}

TEST(SequenceLayersGradcheck, TimeDistributedConv1D) {
  nn::TimeDistributed td(nn::Conv1D({.filters = 2, .kernel_size = 2, .padding = Padding::Same}));
  Inputs in = built_f64(td, {2, 3, 4, 2}, 50);
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return td(x[0]); }, in));
}

// RNN over each built-in cell, through the output sequence and the final states, with a mask.
void check_rnn(nn::RNN& rnn, const Shape& shape, uint64_t seed) {
  Inputs in = built_f64(rnn, shape, seed);
  Tensor mask = cast(from_vector(std::vector<int64_t>{1, 1, 0, 1, 1, 1}, {2, 3}), DType::b8);
  EXPECT_TRUE(gradcheck_ok(
      [&](const Inputs& x) {
        nn::RecurrentOutput out = rnn.run(x[0], false, {}, mask);
        std::vector<Tensor> parts{reshape(out.output, {-1})};
        for (const Tensor& s : out.states) parts.push_back(reshape(s, {-1}));
        return concat(parts, 0);
      },
      in))
      << rnn.name();
}

TEST(SequenceLayersGradcheck, RNNOverLSTMCell) {
  nn::RNN rnn(nn::LSTMCell({.units = 3}), {.return_sequences = true});
  check_rnn(rnn, {2, 3, 2}, 60);
}

TEST(SequenceLayersGradcheck, RNNOverGRUCellsGoingBackwards) {
  nn::RNN rnn(nn::GRUCell({.units = 2}), {.go_backwards = true});
  check_rnn(rnn, {2, 3, 2}, 70);
  nn::RNN before(nn::GRUCell({.units = 2, .reset_after = false}), {.return_sequences = true});
  check_rnn(before, {2, 3, 2}, 75);
}

TEST(SequenceLayersGradcheck, RNNOverStackedSimpleRNNAndLSTMCells) {
  nn::RNN rnn(nn::StackedRNNCells({nn::SimpleRNNCell({.units = 3}), nn::LSTMCell({.units = 2})}), {.return_sequences = true});
  check_rnn(rnn, {2, 3, 2}, 80);
}

}  // namespace
}  // namespace ember
