// f64 gradient checks (the notes' criterion) for the elementwise ops.
#include "test_support.hpp"

using namespace ember;
using ember::testing::gradcheck_ok;
using ember::testing::random_f64;
using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

TEST(ElementwiseGradcheck, AddBroadcast) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return add(v[0], v[1]); }, {random_f64({3, 4}, 1), random_f64({4}, 2)}));
}
TEST(ElementwiseGradcheck, SubBroadcast) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return sub(v[0], v[1]); }, {random_f64({2, 1, 3}, 3), random_f64({4, 1}, 4)}));
}
TEST(ElementwiseGradcheck, Mul) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return mul(v[0], v[1]); }, {random_f64({3, 4}, 5), random_f64({3, 1}, 6)}));
}
TEST(ElementwiseGradcheck, Div) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return div(v[0], v[1]); }, {random_f64({3, 4}, 7), random_f64({3, 4}, 8, 0.5, 2)}));
}
TEST(ElementwiseGradcheck, PowTensor) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return pow(v[0], v[1]); }, {random_f64({3, 4}, 9, 0.5, 2), random_f64({3, 4}, 10)}));
}
TEST(ElementwiseGradcheck, PowScalar) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return pow(v[0], 3); }, {random_f64({5}, 11)}));
}
TEST(ElementwiseGradcheck, Neg) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return neg(v[0]); }, {random_f64({5}, 12)}));
}
TEST(ElementwiseGradcheck, Exp) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return exp(v[0]); }, {random_f64({2, 3}, 13)}));
}
TEST(ElementwiseGradcheck, Log) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return log(v[0]); }, {random_f64({2, 3}, 14, 0.5, 3)}));
}
TEST(ElementwiseGradcheck, Sqrt) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return sqrt(v[0]); }, {random_f64({2, 3}, 15, 0.5, 3)}));
}
TEST(ElementwiseGradcheck, Rsqrt) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return rsqrt(v[0]); }, {random_f64({2, 3}, 16, 0.5, 3)}));
}
TEST(ElementwiseGradcheck, Abs) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return abs(v[0]); }, {random_f64({2, 3}, 17)}));
}
TEST(ElementwiseGradcheck, Square) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return square(v[0]); }, {random_f64({2, 3}, 18)}));
}
TEST(ElementwiseGradcheck, MaximumMinimum) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return maximum(v[0], v[1]) + minimum(v[0], v[1]) * 2; },
                           {random_f64({3, 4}, 19), random_f64({3, 4}, 20)}));
}
TEST(ElementwiseGradcheck, Clip) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return clip(v[0], -0.5, 0.5); }, {random_f64({4, 4}, 21)}));
}
TEST(ElementwiseGradcheck, Where) {
  Tensor cond = greater(random_f64({3, 4}, 22), zeros({}, f64));
  EXPECT_TRUE(gradcheck_ok([cond](const auto& v) { return where(cond, v[0], v[1]); }, {random_f64({3, 4}, 23), random_f64({4}, 24)}));
}
TEST(ElementwiseGradcheck, CastRoundTrip) {
  // f64 -> f32 -> f64 loses precision, so check cast f64 -> f64 and the composite with arithmetic.
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return cast(v[0], f64) * 3; }, {random_f64({4}, 25)}));
}
TEST(ElementwiseGradcheck, Matmul) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return matmul(v[0], v[1]); }, {random_f64({3, 4}, 26), random_f64({4, 5}, 27)}));
}
TEST(ElementwiseGradcheck, MatmulTransposedBatchedBroadcast) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return matmul(v[0], v[1], {.transpose_a = true, .transpose_b = true}); },
                           {random_f64({2, 1, 4, 3}, 28), random_f64({3, 5, 4}, 29)}));
}
TEST(ElementwiseGradcheck, MatmulVector) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return matmul(v[0], v[1]) + matmul(v[1].t(), v[2]); },
                           {random_f64({4}, 30), random_f64({4, 5}, 31), random_f64({4}, 32)}));
}
