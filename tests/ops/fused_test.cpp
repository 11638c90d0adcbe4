// The fused Dense / Conv2D ops (ops/fused.hpp) against their definition: the unfused ops composed
// (matmul + add + relu, conv2d + bias_add + relu), values and gradients, in float32 (the oneDNN
// path with its fused post-ops) and float64 (reference loops); and their argument checks.
#include "ember/ops/fused.hpp"

#include "ember/ops/activation.hpp"
#include "ember/ops/linalg.hpp"
#include "ember/ops/reduce.hpp"
#include "test_support.hpp"

using namespace ember;

namespace {

Tensor random(const Shape& shape, DType dt, uint64_t seed) {
  Generator gen(seed);
  return randn(shape, {.dtype = dt, .generator = &gen});
}

double rel(const Tensor& a, const Tensor& b) {
  return ember::testing::rel_error(a.to_vector<double>(), b.to_vector<double>());
}

// f() throws E whose message contains `part`.
template <typename E, typename F>
void expect_error(F&& f, const std::string& part) {
  const std::string msg = ember::testing::message_of<E>(f);
  EXPECT_NE(msg.find(part), std::string::npos) << "message: " << msg << "\nexpected to contain: " << part;
}

Tensor activate(const Tensor& t, FusedActivation act) { return act == FusedActivation::ReLU ? relu(t) : t; }

// Forward values and the gradients of every operand of sum(out * weights), fused vs composed.
void expect_same(const std::function<Tensor(const std::vector<Tensor>&)>& fused,
                 const std::function<Tensor(const std::vector<Tensor>&)>& composed, std::vector<Tensor> inputs,
                 double tol) {
  std::vector<Tensor> a, b;
  for (const Tensor& t : inputs) {
    a.push_back(t.clone().requires_grad_());
    b.push_back(t.clone().requires_grad_());
  }
  Tensor ya = fused(a), yb = composed(b);
  ASSERT_EQ(ya.shape(), yb.shape());
  EXPECT_LT(rel(ya, yb), tol) << "forward";
  Tensor w = random(ya.shape(), ya.dtype(), 99);
  sum(ya * w).backward();
  sum(yb * w).backward();
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_TRUE(a[i].grad().defined()) << "input " << i;
    EXPECT_LT(rel(a[i].grad(), b[i].grad()), tol) << "gradient of input " << i;
  }
}

}  // namespace

class FusedOps : public ::testing::TestWithParam<std::tuple<DType, FusedActivation>> {};

TEST_P(FusedOps, DenseEqualsMatmulAddActivation) {
  const auto [dt, act] = GetParam();
  const double tol = dt == f32 ? 1e-5 : 1e-12;
  expect_same([act](const auto& v) { return fused_dense(v[0], v[1], v[2], act); },
              [act](const auto& v) { return activate(matmul(v[0], v[1]) + v[2], act); },
              {random({33, 20}, dt, 1), random({20, 17}, dt, 2), random({17}, dt, 3)}, tol);
  // Leading axes are flattened; no bias.
  expect_same([act](const auto& v) { return fused_dense(v[0], v[1], Tensor(), act); },
              [act](const auto& v) { return activate(matmul(v[0], v[1]), act); },
              {random({3, 4, 6}, dt, 4), random({6, 5}, dt, 5)}, tol);
}

TEST_P(FusedOps, Conv2dEqualsConvBiasActivation) {
  const auto [dt, act] = GetParam();
  const double tol = dt == f32 ? 1e-5 : 1e-12;
  // The built-in cnn's first layer (one input channel) and a wider one, SAME and strided VALID.
  expect_same([act](const auto& v) { return fused_conv2d(v[0], v[1], v[2], {.padding = Padding::Same}, act); },
              [act](const auto& v) { return activate(bias_add(conv2d(v[0], v[1], {.padding = Padding::Same}), v[2]), act); },
              {random({4, 12, 12, 1}, dt, 6), random({5, 5, 1, 8}, dt, 7), random({8}, dt, 8)}, tol);
  const Conv2dOptions o{.strides = {2, 2}, .padding = Padding::Valid};
  expect_same([act, o](const auto& v) { return fused_conv2d(v[0], v[1], v[2], o, act); },
              [act, o](const auto& v) { return activate(bias_add(conv2d(v[0], v[1], o), v[2]), act); },
              {random({3, 9, 8, 16}, dt, 9), random({3, 3, 16, 24}, dt, 10), random({24}, dt, 11)}, tol);
}

INSTANTIATE_TEST_SUITE_P(DTypesAndActivations, FusedOps,
                         ::testing::Combine(::testing::Values(f32, f64),
                                            ::testing::Values(FusedActivation::None, FusedActivation::ReLU)));

TEST(FusedOps, OnlyTheOperandsThatNeedGradientsGetThem) {
  Tensor x = random({8, 6}, f32, 1);  // an input: no gradient wanted
  Tensor w = random({6, 4}, f32, 2).requires_grad_();
  Tensor b = random({4}, f32, 3);  // frozen bias
  sum(fused_dense(x, w, b, FusedActivation::ReLU)).backward();
  EXPECT_TRUE(w.grad().defined());
  EXPECT_FALSE(x.grad().defined());
  EXPECT_FALSE(b.grad().defined());
}

TEST(FusedOps, BadArgumentsNameTheOpAndShapes) {
  Tensor x = random({4, 6}, f32, 1), w = random({6, 3}, f32, 2);
  expect_error<ShapeError>([&] { (void)fused_dense(x, random({5, 3}, f32, 3), Tensor(), FusedActivation::None); }, "fused_dense: x has 6 features");
  expect_error<ShapeError>([&] { (void)fused_dense(x, w, random({4}, f32, 3), FusedActivation::None); },
                           "fused_dense: bias must be 1-D with 3 elements, got [4]");
  expect_error<DTypeError>([&] { (void)fused_dense(x, w, random({3}, f64, 3), FusedActivation::None); }, "fused_dense");
  expect_error<DTypeError>([&] { (void)fused_dense(x, random({6, 3}, f64, 3), Tensor(), FusedActivation::None); }, "fused_dense");
  expect_error<DTypeError>([&] { (void)fused_dense(x.to(i64), w.to(i64), Tensor(), FusedActivation::None); }, "fused_dense");
  Tensor img = random({2, 5, 5, 3}, f32, 4), f = random({3, 3, 3, 2}, f32, 5);
  expect_error<ShapeError>([&] { (void)fused_conv2d(img, random({3, 3, 2, 2}, f32, 6), Tensor(), {}, FusedActivation::None); }, "fused_conv2d: input has 3 channels but the filter expects 2");
  expect_error<ShapeError>([&] { (void)fused_conv2d(img, f, random({3}, f32, 7), {}, FusedActivation::ReLU); }, "fused_conv2d: bias must be 1-D with 2 elements");
  expect_error<ShapeError>([&] { (void)fused_conv2d(random({5, 5, 3}, f32, 8), f, Tensor(), {}, FusedActivation::None); }, "fused_conv2d: input must be 4-D");
}
