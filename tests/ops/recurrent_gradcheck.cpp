// f64 gradient checks (the notes' criterion, 1e-7) of the fused whole-sequence recurrent op
// (ops/recurrent.hpp) with respect to x, both kernels, the bias and the initial states, through
// its whole packed output (outputs and final states), for SimpleRNN, LSTM and GRU, with
// go_backwards, return_sequences, masks and zero_output_for_mask, and both GRU variants.
#include "ember/ops/recurrent.hpp"
#include "test_support.hpp"

using namespace ember;
using ember::testing::gradcheck_ok;
using ember::testing::random_f64;

namespace {

struct Setup {
  RecurrentCellKind cell = RecurrentCellKind::LSTM;
  bool bias = true, initial_states = false, masked = false;
  RecurrentSequenceOptions opt{};
};

int64_t gates(RecurrentCellKind c) {
  return c == RecurrentCellKind::LSTM ? 4 : c == RecurrentCellKind::SimpleRNN ? 1 : 3;
}

// Rows: all steps; right-padded; masked first step; masked middle steps.
Tensor mask_of(int64_t n, int64_t t) {
  std::vector<double> m;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t s = 0; s < t; ++s) {
      const int64_t row = i % 4;
      const bool keep = row == 0 || (row == 1 && s < t - 1) || (row == 2 && s > 0) || (row == 3 && (s == 0 || s == t - 1));
      m.push_back(keep ? 1 : 0);
    }
  return from_vector(m, {n, t});
}

::testing::AssertionResult check(Setup s) {
  s.opt.cell = s.cell;
  const int64_t N = 4, T = 4, F = 3, U = 3, GU = gates(s.cell) * U;
  std::vector<Tensor> in{random_f64({N, T, F}, 1), random_f64({F, GU}, 2), random_f64({U, GU}, 3)};
  if (s.bias) in.push_back(random_f64(s.cell == RecurrentCellKind::GRU ? Shape{2, GU} : Shape{GU}, 4));
  const int states = s.cell == RecurrentCellKind::LSTM ? 2 : 1;
  if (s.initial_states)
    for (int i = 0; i < states; ++i) in.push_back(random_f64({N, U}, 5 + static_cast<uint64_t>(i)));
  const Tensor mask = s.masked ? mask_of(N, T) : Tensor();
  return gradcheck_ok(
      [&](const std::vector<Tensor>& v) {
        std::size_t k = 3;
        Tensor bias = s.bias ? v[k++] : Tensor();
        std::vector<Tensor> init(v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
        return recurrent_sequence(v[0], v[1], v[2], bias, init, mask, s.opt);
      },
      in);
}

const RecurrentCellKind kCells[] = {RecurrentCellKind::SimpleRNN, RecurrentCellKind::LSTM, RecurrentCellKind::GRU,
                                    RecurrentCellKind::GRUResetBefore};

}  // namespace

TEST(RecurrentSequenceGradcheck, LastOutput) {
  for (RecurrentCellKind c : kCells) EXPECT_TRUE(check({.cell = c})) << static_cast<int>(c);
}
TEST(RecurrentSequenceGradcheck, SequencesGoBackwardsInitialStates) {
  for (RecurrentCellKind c : kCells)
    EXPECT_TRUE(check({.cell = c, .initial_states = true, .opt = {.go_backwards = true, .return_sequences = true}}))
        << static_cast<int>(c);
}
TEST(RecurrentSequenceGradcheck, MaskedSequences) {
  for (RecurrentCellKind c : kCells)
    EXPECT_TRUE(check({.cell = c, .masked = true, .opt = {.return_sequences = true}})) << static_cast<int>(c);
}
TEST(RecurrentSequenceGradcheck, MaskedZeroOutputGoBackwards) {
  for (RecurrentCellKind c : kCells)
    EXPECT_TRUE(check({.cell = c, .initial_states = true, .masked = true,
                       .opt = {.go_backwards = true, .return_sequences = true, .zero_output_for_mask = true}}))
        << static_cast<int>(c);
}
TEST(RecurrentSequenceGradcheck, MaskedLastOutputNoBias) {
  for (RecurrentCellKind c : kCells)
    EXPECT_TRUE(check({.cell = c, .bias = false, .initial_states = true, .masked = true})) << static_cast<int>(c);
}
