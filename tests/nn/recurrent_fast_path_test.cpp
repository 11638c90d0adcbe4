// SimpleRNN / LSTM / GRU — and RNN(cell) with one of the built-in cells — take the fused
// whole-sequence op (ops/recurrent.hpp) for their default activations; RNN(StackedRNNCells{cell})
// runs the same maths step by step through ordinary ops. The two must agree in float64 to 1e-12 —
// outputs, final states and the gradients of the input, every weight and the initial states — on
// random inputs, with and without masks, go_backwards, return_sequences, zero_output_for_mask, both
// GRU variants. Settings the fused op does not implement (other activations, recurrent_dropout in
// training) keep the step path.
#include <gtest/gtest.h>

#include "ember/nn/layers/recurrent.hpp"
#include "ember/nn/layers/rnn.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/recurrent.hpp"
#include "ember/ops/reduce.hpp"
#include "test_support.hpp"

namespace ember {
namespace {

using testing::all_close;
using testing::random_f64;

struct Case {
  std::string cell;  // "SimpleRNN", "LSTM", "GRU", "GRUResetBefore"
  bool return_sequences = false, go_backwards = false, masked = false, zero_output = false, initial_states = false;
};

std::string describe(const Case& c) {
  return c.cell + (c.return_sequences ? " sequences" : "") + (c.go_backwards ? " go_backwards" : "") +
         (c.masked ? " masked" : "") + (c.zero_output ? " zero_output_for_mask" : "") +
         (c.initial_states ? " initial_states" : "");
}

// Mask [N, T]: row 0 all steps, row 1 right-padded, row 2 left-padded, row 3 holes (first and last
// steps masked), row 4 nothing.
Tensor make_mask(int64_t n, int64_t t) {
  std::vector<uint8_t> m;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t s = 0; s < t; ++s) {
      const int row = static_cast<int>(i % 5);
      m.push_back(row == 0 || (row == 1 && s < t - 2) || (row == 2 && s >= 2) || (row == 3 && s % 2 == 1) ? 1 : 0);
    }
  return from_vector(m, {n, t}).to(DType::b8);
}

struct Result {
  std::vector<Tensor> values;  // output, states
  std::vector<Tensor> grads;   // x, weights..., initial states
};

template <typename Run>
Result forward_backward(nn::Layer& layer, const Case& c, const Shape& shape, int64_t units, int states, Run&& run) {
  {
    autograd::NoGradGuard no_grad;
    layer(zeros(shape), false);
  }
  uint64_t seed = 100;
  std::vector<Tensor> leaves{random_f64(shape, seed).requires_grad_()};
  for (const auto& nw : layer.named_weights()) {
    nw.weight->value() = random_f64(nw.weight->value().shape(), ++seed, -0.7, 0.7).requires_grad_();
    leaves.push_back(nw.weight->value());
  }
  std::vector<Tensor> init;
  if (c.initial_states) {
    for (int s = 0; s < states; ++s) {
      init.push_back(random_f64({shape[0], units}, 50 + static_cast<uint64_t>(s)).requires_grad_());
      leaves.push_back(init.back());
    }
  }
  const Tensor mask = c.masked ? make_mask(shape[0], shape[1]) : Tensor();
  nn::RecurrentOutput out = run(leaves[0], init, mask);
  Result r{{out.output}, {}};
  Tensor loss = sum(out.output * random_f64(out.output.shape(), 7));
  for (std::size_t s = 0; s < out.states.size(); ++s) {
    r.values.push_back(out.states[s]);
    loss = loss + sum(out.states[s] * random_f64(out.states[s].shape(), 8 + s));
  }
  loss.backward();
  for (const Tensor& t : leaves) r.grads.push_back(t.grad());
  return r;
}

void check_agreement(const Case& c) {
  SCOPED_TRACE(describe(c));
  const Shape shape{7, 5, 3};
  const int64_t units = 4;
  nn::RecurrentOptions lo{.units = units, .return_sequences = c.return_sequences, .go_backwards = c.go_backwards,
                          .zero_output_for_mask = c.zero_output};
  nn::RNNCellOptions co{.units = units};
  nn::RNNOptions ro{.return_sequences = c.return_sequences, .go_backwards = c.go_backwards,
                    .zero_output_for_mask = c.zero_output};
  std::shared_ptr<nn::RecurrentLayer> fast;
  nn::LayerPtr cell;
  if (c.cell == "LSTM") {
    fast = std::make_shared<nn::LSTM>(lo);
    cell = std::make_shared<nn::LSTMCell>(co);
  } else if (c.cell == "GRU" || c.cell == "GRUResetBefore") {
    lo.reset_after = co.reset_after = c.cell == "GRU";
    fast = std::make_shared<nn::GRU>(lo);
    cell = std::make_shared<nn::GRUCell>(co);
  } else {
    fast = std::make_shared<nn::SimpleRNN>(lo);
    cell = std::make_shared<nn::SimpleRNNCell>(co);
  }
  // One cell in a stack: the same maths, but StackedRNNCells steps its cells one op at a time.
  nn::RNN slow(nn::LayerPtr(std::make_shared<nn::StackedRNNCells>(std::vector<nn::LayerRef>{cell})), ro);
  const int states = fast->num_states();

  Result a = forward_backward(*fast, c, shape, units, states, [&](const Tensor& x, const auto& init, const Tensor& mask) {
    const uint64_t before = recurrent_sequence_calls();
    nn::RecurrentOutput out = fast->run(x, true, init, mask);
    EXPECT_EQ(recurrent_sequence_calls() - before, 1u) << "the layer did not take the fused path";
    return out;
  });
  Result b = forward_backward(slow, c, shape, units, states, [&](const Tensor& x, const auto& init, const Tensor& mask) {
    const uint64_t before = recurrent_sequence_calls();
    nn::RecurrentOutput out = slow.run(x, true, init, mask);
    EXPECT_EQ(recurrent_sequence_calls(), before) << "RNN(StackedRNNCells) should run step by step";
    return out;
  });

  ASSERT_EQ(a.values.size(), b.values.size());
  for (std::size_t i = 0; i < a.values.size(); ++i) EXPECT_TRUE(all_close(a.values[i], b.values[i], 1e-12, 1e-12)) << "value " << i;
  ASSERT_EQ(a.grads.size(), b.grads.size());
  for (std::size_t i = 0; i < a.grads.size(); ++i) {
    ASSERT_TRUE(a.grads[i].defined() && b.grads[i].defined()) << "gradient " << i;
    EXPECT_TRUE(all_close(a.grads[i], b.grads[i], 1e-12, 1e-12)) << "gradient " << i;
  }
}

TEST(RecurrentFastPath, AgreesWithStepByStepPath) {
  for (const char* cell : {"SimpleRNN", "LSTM", "GRU", "GRUResetBefore"}) {
    check_agreement({.cell = cell});
    check_agreement({.cell = cell, .return_sequences = true});
    check_agreement({.cell = cell, .go_backwards = true, .initial_states = true});
    check_agreement({.cell = cell, .return_sequences = true, .go_backwards = true, .masked = true});
    check_agreement({.cell = cell, .masked = true, .initial_states = true});
    check_agreement({.cell = cell, .return_sequences = true, .masked = true, .zero_output = true, .initial_states = true});
    check_agreement({.cell = cell, .go_backwards = true, .masked = true, .zero_output = true});
  }
}

TEST(RecurrentFastPath, OtherSettingsKeepTheStepPath) {
  const Tensor x = random_f64({2, 3, 2}, 1).to(f32);  // the layers' dtype (another one: the step path)
  auto calls = [&](nn::RecurrentLayer& layer, bool training) {
    const uint64_t before = recurrent_sequence_calls();
    layer.run(x, training);
    return recurrent_sequence_calls() - before;
  };
  nn::LSTM relu({.units = 2, .activation = Activation::ReLU});
  EXPECT_EQ(calls(relu, false), 0u);
  nn::GRU hard({.units = 2, .recurrent_activation = Activation::HardSigmoid});
  EXPECT_EQ(calls(hard, false), 0u);
  nn::SimpleRNN dropped({.units = 2, .recurrent_dropout = 0.5, .seed = 3});
  EXPECT_EQ(calls(dropped, true), 0u);   // recurrent dropout: step path in training
  EXPECT_EQ(calls(dropped, false), 1u);  // and the fused op in inference
  nn::SimpleRNN input_dropout({.units = 2, .dropout = 0.5, .seed = 3});
  EXPECT_EQ(calls(input_dropout, true), 1u);  // input dropout comes before the projection
}

// RNN(LSTMCell) is the LSTM layer with the same weights: both take the whole-sequence op, so their
// outputs and states are the same numbers; a cell with another activation steps, and so does a stack.
TEST(RecurrentFastPath, RNNOfABuiltInCellTakesTheFusedOp) {
  const Tensor x = random_f64({3, 6, 4}, 2).to(f32);  // the cells' dtype (another one: the step path)
  auto calls = [&](nn::RNN& layer) {
    const uint64_t before = recurrent_sequence_calls();
    layer.run(x, true);
    return recurrent_sequence_calls() - before;
  };
  nn::RNN lstm_cell(nn::LSTMCell({.units = 5}), {.return_sequences = true});
  EXPECT_EQ(calls(lstm_cell), 1u);
  nn::RNN gru_cell(nn::GRUCell({.units = 5, .reset_after = false}));
  EXPECT_EQ(calls(gru_cell), 1u);
  nn::RNN simple_cell(nn::SimpleRNNCell({.units = 5}));
  EXPECT_EQ(calls(simple_cell), 1u);
  nn::RNN relu_cell(nn::SimpleRNNCell({.units = 5, .activation = Activation::ReLU}));
  EXPECT_EQ(calls(relu_cell), 0u);
  nn::RNN hard_cell(nn::LSTMCell({.units = 5, .recurrent_activation = Activation::HardSigmoid}));
  EXPECT_EQ(calls(hard_cell), 0u);
  nn::RNN stacked(nn::StackedRNNCells({nn::LSTMCell({.units = 5}), nn::LSTMCell({.units = 3})}));
  EXPECT_EQ(calls(stacked), 0u);

  nn::LSTM layer({.units = 5, .return_sequences = true});
  layer.run(x);
  const auto cell_weights = lstm_cell.named_weights();
  const auto layer_weights = layer.named_weights();
  ASSERT_EQ(cell_weights.size(), layer_weights.size());
  for (std::size_t i = 0; i < cell_weights.size(); ++i) layer_weights[i].weight->value() = cell_weights[i].weight->value();
  nn::RecurrentOutput a = lstm_cell.run(x, false), b = layer.run(x, false);
  EXPECT_TRUE(all_close(a.output, b.output, 0, 0));
  ASSERT_EQ(a.states.size(), 2u);
  for (std::size_t s = 0; s < 2; ++s) EXPECT_TRUE(all_close(a.states[s], b.states[s], 0, 0)) << "state " << s;
}

}  // namespace
}  // namespace ember
