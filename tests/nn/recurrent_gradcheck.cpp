// f64 gradient checks of the recurrent layers (the notes' criterion, relative error < 1e-7): the
// input, every weight and (where given) the initial states, through the output sequence or last
// output and the final states together, so backpropagation through time is checked on every path.
#include <gtest/gtest.h>

#include "ember/nn/layers/recurrent.hpp"
#include "ember/ops/shape.hpp"
#include "test_support.hpp"

namespace ember {
namespace {

using testing::gradcheck_ok;
using testing::random_f64;
using Inputs = std::vector<Tensor>;

Tensor leaf(const Shape& shape, uint64_t seed) { return random_f64(shape, seed).requires_grad_(); }

// Builds `layer` on an input of `shape` and replaces its weights by random f64 leaves; returns
// {x, kernel, recurrent_kernel, bias...}.
Inputs build_f64(nn::Layer& layer, const Shape& shape, uint64_t seed) {
  {
    autograd::NoGradGuard no_grad;
    layer(zeros(shape), false);
  }
  Inputs in{leaf(shape, seed)};
  for (const auto& nw : layer.named_weights()) {
    nw.weight->value() = random_f64(nw.weight->value().shape(), ++seed, -0.8, 0.8);
    in.push_back(nw.weight->value().requires_grad_());
  }
  return in;
}

// The output and every final state, flattened into one vector.
Tensor everything(const nn::RecurrentOutput& out) {
  std::vector<Tensor> parts{reshape(out.output, {-1})};
  for (const Tensor& s : out.states) parts.push_back(reshape(s, {-1}));
  return concat(parts, 0);
}

void check(nn::RecurrentLayer& layer, const Shape& shape, uint64_t seed, std::size_t n_weights) {
  Inputs in = build_f64(layer, shape, seed);
  ASSERT_EQ(in.size(), 1 + n_weights) << layer.name();
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return everything(layer.run(x[0])); }, in)) << layer.name();
}

TEST(RecurrentGradcheck, SimpleRNNSequence) {
  nn::SimpleRNN rnn({.units = 3, .return_sequences = true});
  check(rnn, {2, 4, 3}, 10, 3);
}

TEST(RecurrentGradcheck, SimpleRNNLastGoBackwardsNoBias) {
  nn::SimpleRNN rnn({.units = 3, .use_bias = false, .go_backwards = true});
  check(rnn, {2, 5, 2}, 20, 2);
}

TEST(RecurrentGradcheck, LSTMSequence) {
  nn::LSTM lstm({.units = 3, .return_sequences = true});
  check(lstm, {2, 4, 3}, 30, 3);
}

TEST(RecurrentGradcheck, LSTMLastGoBackwards) {
  nn::LSTM lstm({.units = 2, .go_backwards = true});
  check(lstm, {3, 5, 2}, 40, 3);
}

TEST(RecurrentGradcheck, LSTMInitialStates) {
  nn::LSTM lstm({.units = 3, .return_sequences = true});
  Inputs in = build_f64(lstm, {2, 3, 2}, 50);
  in.push_back(leaf({2, 3}, 60));
  in.push_back(leaf({2, 3}, 61));
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return everything(lstm.run(x[0], false, {x[4], x[5]})); }, in));
}

TEST(RecurrentGradcheck, GRUResetAfterSequence) {
  nn::GRU gru({.units = 3, .return_sequences = true});
  check(gru, {2, 4, 3}, 70, 3);
}

TEST(RecurrentGradcheck, GRUResetAfterLastGoBackwards) {
  nn::GRU gru({.units = 2, .go_backwards = true});
  check(gru, {3, 4, 2}, 80, 3);
}

TEST(RecurrentGradcheck, GRUResetBeforeSequence) {
  nn::GRU gru({.units = 3, .return_sequences = true, .reset_after = false});
  check(gru, {2, 4, 3}, 90, 3);
}

TEST(RecurrentGradcheck, GRUResetBeforeLastGoBackwardsHardSigmoid) {
  nn::GRU gru({.units = 2, .recurrent_activation = Activation::HardSigmoid, .go_backwards = true,
               .reset_after = false});
  check(gru, {2, 5, 2}, 100, 3);
}

TEST(RecurrentGradcheck, EmbeddingTable) {
  nn::Embedding emb({.input_dim = 5, .output_dim = 3});
  Tensor idx = from_vector(std::vector<int64_t>{4, 0, 2, 2, 1, 4}, {2, 3});
  {
    autograd::NoGradGuard no_grad;
    emb(idx);
  }
  Tensor& table = emb.find_weight("embeddings")->value();
  table = random_f64({5, 3}, 110).requires_grad_();
  EXPECT_TRUE(gradcheck_ok([&](const Inputs&) { return emb(idx); }, {table}));
}

TEST(RecurrentGradcheck, EmbeddingIntoLSTM) {
  // The composition a text model uses: gradients reach the embedding table through the LSTM.
  nn::Embedding emb({.input_dim = 6, .output_dim = 2});
  nn::LSTM lstm({.units = 2});
  Tensor idx = from_vector(std::vector<int64_t>{5, 1, 1, 0, 3, 2, 4, 5}, {2, 4});
  {
    autograd::NoGradGuard no_grad;
    lstm(emb(idx));
  }
  Inputs in;
  uint64_t seed = 120;
  for (nn::Layer* l : {static_cast<nn::Layer*>(&emb), static_cast<nn::Layer*>(&lstm)}) {
    for (const auto& nw : l->named_weights()) {
      nw.weight->value() = random_f64(nw.weight->value().shape(), ++seed, -0.8, 0.8);
      in.push_back(nw.weight->value().requires_grad_());
    }
  }
  EXPECT_TRUE(gradcheck_ok([&](const Inputs&) { return lstm(emb(idx)); }, in));
}

}  // namespace
// Bidirectional: both copies' weights, the merged output and all four (or two) final states.
void check_bidirectional(nn::Bidirectional& layer, const Shape& shape, uint64_t seed) {
  Inputs in = build_f64(layer, shape, seed);
  ASSERT_EQ(in.size(), 7u) << layer.name();
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return everything(layer.run(x[0])); }, in)) << layer.name();
}

TEST(RecurrentGradcheck, BidirectionalLSTMConcatSequence) {
  nn::Bidirectional bi(nn::LSTM({.units = 2, .return_sequences = true}));
  check_bidirectional(bi, {2, 4, 3}, 110);
}

TEST(RecurrentGradcheck, BidirectionalGRUAveLast) {
  nn::Bidirectional bi(nn::GRU({.units = 3}), {.merge_mode = "ave"});
  check_bidirectional(bi, {2, 3, 2}, 120);
}

TEST(RecurrentGradcheck, BidirectionalSimpleRNNMulSequence) {
  nn::Bidirectional bi(nn::SimpleRNN({.units = 2, .return_sequences = true}), {.merge_mode = "mul"});
  check_bidirectional(bi, {2, 4, 2}, 130);
}

// Masked steps: the gradient flows around them (states carried), for a plain and a wrapped layer.
Tensor ragged_mask() { return from_vector(std::vector<uint8_t>{1, 1, 1, 1, 1, 1, 0, 0}, {2, 4}).to(DType::b8); }

TEST(RecurrentGradcheck, LSTMMaskedSequenceCarriedOutput) {
  nn::LSTM lstm({.units = 2, .return_sequences = true});
  Inputs in = build_f64(lstm, {2, 4, 2}, 140);
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return everything(lstm.run(x[0], false, {}, ragged_mask())); }, in));
}

TEST(RecurrentGradcheck, BidirectionalGRUMaskedSequence) {
  nn::Bidirectional bi(nn::GRU({.units = 2, .return_sequences = true}));
  Inputs in = build_f64(bi, {2, 4, 2}, 150);
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return everything(bi.run(x[0], false, ragged_mask())); }, in));
}

}  // namespace ember
