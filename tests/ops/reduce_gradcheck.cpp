// f64 gradient checks (the notes' criterion) for every differentiable reduction.
#include "test_support.hpp"

using namespace ember;
using ember::testing::gradcheck_ok;
using ember::testing::random_f64;

namespace {
// Distinct values (a shuffled grid) so max/min have no ties and finite differences stay on one side.
Tensor distinct(const Shape& shape, uint64_t seed) {
  Generator g(seed);
  Tensor p = randperm(numel(shape), &g).to(f64);
  return (p * 0.1 - 1.0).reshape(shape).detach();
}
}  // namespace

TEST(ReduceGradcheck, SumAxesKeepdims) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return sum(v[0], {0, 2}, true); }, {random_f64({2, 3, 4}, 201)}));
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return sum(v[0], {-1}); }, {random_f64({2, 3, 4}, 202)}));
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return sum(v[0]); }, {random_f64({2, 3}, 203)}));
}
TEST(ReduceGradcheck, Mean) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return mean(v[0], {1}); }, {random_f64({2, 3, 4}, 204)}));
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return mean(v[0]); }, {random_f64({5}, 205)}));
}
TEST(ReduceGradcheck, MaxNoTies) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return max(v[0], {1}); }, {distinct({3, 4, 2}, 206)}));
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return max(v[0]); }, {distinct({3, 4}, 207)}));
}
TEST(ReduceGradcheck, Min) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return min(v[0], {0, 2}, true); }, {distinct({3, 4, 2}, 208)}));
}
TEST(ReduceGradcheck, Prod) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return prod(v[0], {1}); }, {random_f64({3, 4}, 209, 0.5, 1.5)}));
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return prod(v[0]); }, {random_f64({2, 3}, 210, -1.5, -0.5)}));
}
TEST(ReduceGradcheck, Var) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return var(v[0], {1}); }, {random_f64({3, 5}, 211)}));
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return var(v[0], {}, false, 1); }, {random_f64({3, 5}, 212)}));
}
TEST(ReduceGradcheck, Std) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return ember::std(v[0], {0}, true); }, {random_f64({4, 3}, 213)}));
}
TEST(ReduceGradcheck, Logsumexp) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return logsumexp(v[0], {1}); }, {random_f64({3, 4}, 214, -3, 3)}));
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return logsumexp(v[0] * 50.0, {}, true); }, {random_f64({2, 3}, 215)}));
}
TEST(ReduceGradcheck, NormL1AwayFromZero) {
  Tensor x = random_f64({3, 4}, 216, 0.2, 1.0) * where(greater(random_f64({3, 4}, 217), zeros({}, f64)),
                                                       ones({}, f64), full({}, -1.0, f64));
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return norm(v[0], 1, {1}); }, {x.detach()}));
}
TEST(ReduceGradcheck, NormL2) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return norm(v[0], 2, {0}); }, {random_f64({3, 4}, 218)}));
}
TEST(ReduceGradcheck, FrobeniusNorm) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return frobenius_norm(v[0]); }, {random_f64({3, 4}, 219)}));
}
TEST(ReduceGradcheck, ProdWithAZero) {
  // prod is linear in each element, so central differences are exact even at 0.
  Tensor x = random_f64({3, 4}, 220, 0.5, 1.5);
  {
    autograd::NoGradGuard g;
    x.slice(1, 2, 3).slice(0, 0, 1).fill_(0.0);  // one zero in row 0
    x.slice(1, 0, 2).slice(0, 1, 2).fill_(0.0);   // two zeros in row 1
  }
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return prod(v[0], {1}); }, {x}));
}
