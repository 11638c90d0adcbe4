// The fused recurrent op (ops/recurrent.hpp): its float32 fast path (oneDNN sgemm, vectorised
// activations) against the float64 path on random inputs, its packed output layout, and bad input
// (a clear error naming the op, never a crash). Its gradients: recurrent_gradcheck.cpp; its agreement
// with the step-by-step layers: tests/nn/recurrent_fast_path_test.cpp.
#include "ember/core/threads.hpp"
#include "ember/ops/recurrent.hpp"
#include "ember/ops/shape.hpp"
#include "test_support.hpp"

using namespace ember;
using ember::testing::all_close;
using ember::testing::message_of;
using ember::testing::random_f64;

namespace {

const RecurrentCellKind kCells[] = {RecurrentCellKind::SimpleRNN, RecurrentCellKind::LSTM, RecurrentCellKind::GRU,
                                    RecurrentCellKind::GRUResetBefore};
int64_t gates(RecurrentCellKind c) {
  return c == RecurrentCellKind::LSTM ? 4 : c == RecurrentCellKind::SimpleRNN ? 1 : 3;
}

}  // namespace

TEST(RecurrentSequence, Float32AgreesWithFloat64) {
  // Sizes that leave vector tails (units not a multiple of 8) and go parallel over the batch.
  const int64_t N = 37, T = 6, F = 5, U = 13;
  std::vector<double> m;
  for (int64_t i = 0; i < N; ++i)
    for (int64_t t = 0; t < T; ++t) m.push_back((i + t) % 3 == 0 ? 0 : 1);
  const Tensor mask = from_vector(m, {N, T});
  for (RecurrentCellKind c : kCells) {
    const int64_t GU = gates(c) * U;
    std::vector<Tensor> in{random_f64({N, T, F}, 1), random_f64({F, GU}, 2), random_f64({U, GU}, 3),
                           random_f64(c == RecurrentCellKind::GRU ? Shape{2, GU} : Shape{GU}, 4)};
    for (bool masked : {false, true}) {
      const RecurrentSequenceOptions o{.cell = c, .go_backwards = masked, .return_sequences = true};
      std::vector<Tensor> f32s;
      for (const Tensor& t : in) f32s.push_back(t.to(f32).requires_grad_());
      std::vector<Tensor> f64s;
      for (const Tensor& t : in) f64s.push_back(t.detach().clone().requires_grad_());
      Tensor y32 = recurrent_sequence(f32s[0], f32s[1], f32s[2], f32s[3], {}, masked ? mask : Tensor(), o);
      Tensor y64 = recurrent_sequence(f64s[0], f64s[1], f64s[2], f64s[3], {}, masked ? mask : Tensor(), o);
      EXPECT_EQ(y32.shape(), (Shape{N, T + (c == RecurrentCellKind::LSTM ? 2 : 1), U}));
      EXPECT_TRUE(all_close(y32, y64, 1e-5, 1e-5)) << static_cast<int>(c) << " masked " << masked;
      const Tensor up = random_f64(y64.shape(), 9);
      y32.backward(up.to(f32));
      y64.backward(up);
      for (std::size_t i = 0; i < in.size(); ++i) {
        EXPECT_TRUE(all_close(f32s[i].grad(), f64s[i].grad(), 1e-4, 1e-4)) << static_cast<int>(c) << " grad " << i;
      }
    }
  }
}

TEST(RecurrentSequence, PackedOutputIsOutputsThenFinalStates) {
  // Without a mask the last output is the final h; with return_sequences row T-1 is too.
  const Tensor x = random_f64({3, 4, 2}, 1), w = random_f64({2, 8}, 2), r = random_f64({2, 8}, 3);
  Tensor last = recurrent_sequence(x, w, r, Tensor(), {}, Tensor(), {.cell = RecurrentCellKind::LSTM});
  ASSERT_EQ(last.shape(), (Shape{3, 3, 2}));
  EXPECT_TRUE(all_close(last.slice(1, 0, 1), last.slice(1, 1, 2), 0, 0));
  Tensor seq = recurrent_sequence(x, w, r, Tensor(), {}, Tensor(), {.cell = RecurrentCellKind::LSTM, .return_sequences = true});
  ASSERT_EQ(seq.shape(), (Shape{3, 6, 2}));
  EXPECT_TRUE(all_close(seq.slice(1, 3, 4), seq.slice(1, 4, 5), 0, 0));
  EXPECT_TRUE(all_close(seq.slice(1, 4, 6), last.slice(1, 1, 3), 0, 0));
}

TEST(RecurrentSequence, BadInputIsAnErrorNamingTheOp) {
  const Tensor x = random_f64({2, 3, 4}, 1), w = random_f64({4, 20}, 2), r = random_f64({5, 20}, 3);
  auto lstm = [](const Tensor& a, const Tensor& b, const Tensor& c, const Tensor& bias, std::vector<Tensor> s = {},
                 const Tensor& mask = Tensor()) {
    return recurrent_sequence(a, b, c, bias, s, mask, {.cell = RecurrentCellKind::LSTM});
  };
  EXPECT_NE(message_of<ShapeError>([&] { lstm(reshape(x, {6, 4}), w, r, Tensor()); }).find("recurrent_sequence: x must be"),
            std::string::npos);
  EXPECT_NE(message_of<ShapeError>([&] { lstm(x, random_f64({3, 20}, 4), r, Tensor()); }).find("kernel must be [4, 20]"),
            std::string::npos);
  EXPECT_NE(message_of<ShapeError>([&] { lstm(x, w, random_f64({5, 15}, 5), Tensor()); }).find("recurrent_kernel must be"),
            std::string::npos);
  EXPECT_NE(message_of<ShapeError>([&] { lstm(x, w, r, random_f64({2, 20}, 6)); }).find("bias must be [20]"),
            std::string::npos);
  EXPECT_NE(message_of<ShapeError>([&] { lstm(x, w, r, Tensor(), {random_f64({2, 5}, 7)}); }).find("expected 2 initial states"),
            std::string::npos);
  EXPECT_NE(message_of<ShapeError>([&] { lstm(x, w, r, Tensor(), {random_f64({2, 5}, 7), random_f64({3, 5}, 8)}); })
                .find("initial states must be [batch, units]"),
            std::string::npos);
  EXPECT_NE(message_of<ShapeError>([&] { lstm(x, w, r, Tensor(), {}, random_f64({2, 4}, 9)); }).find("mask must be"),
            std::string::npos);
  EXPECT_NE(message_of<ShapeError>([&] { lstm(random_f64({2, 0, 4}, 1), w, r, Tensor()); }).find("at least one time step"),
            std::string::npos);
  EXPECT_NE(message_of<DTypeError>([&] { lstm(x.to(f32), w, r, Tensor()); }).find("recurrent_sequence"), std::string::npos);
  EXPECT_NE(message_of<DTypeError>([&] { lstm(x.to(i64), w.to(i64), r.to(i64), Tensor()); }).find("recurrent_sequence"),
            std::string::npos);
}

TEST(RecurrentSequence, EmptyBatchGivesEmptyOutputAndZeroWeightGradients) {
  const Tensor x = zeros({0, 3, 2}, f64), w = random_f64({2, 3}, 2).requires_grad_(), r = random_f64({3, 3}, 3).requires_grad_();
  Tensor y = recurrent_sequence(x, w, r, Tensor(), {}, Tensor(), {.cell = RecurrentCellKind::SimpleRNN});
  EXPECT_EQ(y.shape(), (Shape{0, 2, 3}));
  y.backward(zeros({0, 2, 3}, f64));
  EXPECT_TRUE(all_close(w.grad(), zeros({2, 3}, f64), 0, 0));
  EXPECT_TRUE(all_close(r.grad(), zeros({3, 3}, f64), 0, 0));
}

TEST(RecurrentSequence, BatchSplitAcrossThreadsGivesTheSameResult) {
  // Each thread runs the whole sequence on its own rows (kernels/cpu/recurrent.cpp): 1 and 3 threads
  // must agree (float64, rounding only) on values and every gradient, for every cell, with masks.
  const int64_t N = 41, T = 7, F = 4, U = 9;
  std::vector<double> m;
  for (int64_t i = 0; i < N; ++i)
    for (int64_t t = 0; t < T; ++t) m.push_back((2 * i + t) % 5 == 0 ? 0 : 1);
  const Tensor mask = from_vector(m, {N, T});
  const bool automatic = automatic_threads();
  const int threads = get_num_threads();
  for (RecurrentCellKind c : kCells) {
    const int64_t GU = gates(c) * U;
    const std::vector<Tensor> in{random_f64({N, T, F}, 1), random_f64({F, GU}, 2), random_f64({U, GU}, 3),
                                 random_f64(c == RecurrentCellKind::GRU ? Shape{2, GU} : Shape{GU}, 4)};
    std::vector<std::vector<Tensor>> results;
    for (int n : {1, 3}) {
      set_num_threads(n);
      std::vector<Tensor> leaves;
      for (const Tensor& t : in) leaves.push_back(t.detach().clone().requires_grad_());
      Tensor y = recurrent_sequence(leaves[0], leaves[1], leaves[2], leaves[3], {}, mask,
                                    {.cell = c, .go_backwards = true, .return_sequences = true});
      y.backward(random_f64(y.shape(), 5));
      std::vector<Tensor> r{y.detach()};
      for (const Tensor& t : leaves) r.push_back(t.grad());
      results.push_back(r);
    }
    for (std::size_t i = 0; i < results[0].size(); ++i) {
      EXPECT_TRUE(all_close(results[0][i], results[1][i], 1e-12, 1e-12)) << static_cast<int>(c) << " tensor " << i;
    }
  }
  if (automatic) set_automatic_threads();
  else set_num_threads(threads);
}
