// f64 gradient checks (the notes' criterion, 1e-7) for convolution, pooling and batch norm.
#include "test_support.hpp"

using namespace ember;
using ember::testing::gradcheck_ok;
using ember::testing::random_f64;

namespace {

// A random permutation of distinct values spaced 0.05 apart: no ties in any pooling window, and a
// finite-difference step of 1e-6 never changes a window's winner.
Tensor distinct_values(const Shape& shape, uint64_t seed) {
  const int64_t n = numel(shape);
  Generator gen(seed);
  Tensor perm = randperm(n, &gen);
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = -1.0 + 0.05 * static_cast<double>(perm.data<int64_t>()[i]);
  return from_vector(v, shape, f64);
}

}  // namespace

// ------------------------------------------------------------------ conv

TEST(ConvGradcheck, Conv2dSameStride1) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return conv2d(v[0], v[1], {.padding = Padding::Same}); },
                           {random_f64({2, 5, 6, 3}, 1), random_f64({3, 3, 3, 4}, 2)}));
}
TEST(ConvGradcheck, Conv2dValidStride2) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return conv2d(v[0], v[1], {.strides = {2, 2}, .padding = Padding::Valid}); },
                           {random_f64({2, 7, 6, 2}, 3), random_f64({3, 2, 2, 3}, 4)}));
}
TEST(ConvGradcheck, Conv2dDilation2) {
  EXPECT_TRUE(gradcheck_ok(
      [](const auto& v) { return conv2d(v[0], v[1], {.padding = Padding::Same, .dilation = {2, 2}}); },
      {random_f64({1, 7, 6, 2}, 5), random_f64({3, 3, 2, 3}, 6)}));
}
TEST(ConvGradcheck, Conv2dSameStride2x1EvenKernel) {  // asymmetric SAME padding (extra at bottom/right)
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return conv2d(v[0], v[1], {.strides = {2, 1}, .padding = Padding::Same}); },
                           {random_f64({1, 6, 5, 2}, 7), random_f64({2, 2, 2, 2}, 8)}));
}
TEST(ConvGradcheck, Conv1d) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return conv1d(v[0], v[1], {.stride = 2, .padding = Padding::Same}); },
                           {random_f64({2, 9, 3}, 9), random_f64({3, 3, 4}, 10)}));
}
TEST(ConvGradcheck, BiasAdd) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return bias_add(v[0], v[1]); },
                           {random_f64({2, 3, 4, 5}, 11), random_f64({5}, 12)}));
}

// ------------------------------------------------------------------ pooling

TEST(ConvGradcheck, MaxPool2dSame) {
  EXPECT_TRUE(gradcheck_ok(
      [](const auto& v) { return max_pool2d(v[0], {.pool_size = {3, 3}, .strides = {{2, 2}}, .padding = Padding::Same}); },
      {distinct_values({2, 7, 6, 3}, 13)}));
}
TEST(ConvGradcheck, MaxPool2dValid) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return max_pool2d(v[0], {.pool_size = {2, 2}}); },
                           {distinct_values({2, 7, 6, 3}, 14)}));
}
TEST(ConvGradcheck, AvgPool2dSame) {
  EXPECT_TRUE(gradcheck_ok(
      [](const auto& v) { return avg_pool2d(v[0], {.pool_size = {3, 3}, .strides = {{2, 2}}, .padding = Padding::Same}); },
      {random_f64({2, 7, 6, 3}, 15)}));
}
TEST(ConvGradcheck, AvgPool2dValid) {
  EXPECT_TRUE(gradcheck_ok(
      [](const auto& v) { return avg_pool2d(v[0], {.pool_size = {3, 2}, .strides = {{1, 2}}, .padding = Padding::Valid}); },
      {random_f64({2, 6, 7, 2}, 16)}));
}
TEST(ConvGradcheck, GlobalAvgPool2d) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return global_avg_pool2d(v[0]); }, {random_f64({2, 4, 3, 5}, 17)}));
}
TEST(ConvGradcheck, GlobalMaxPool2d) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return global_max_pool2d(v[0]); }, {distinct_values({2, 4, 3, 5}, 18)}));
}
TEST(ConvGradcheck, MaxPool1d) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return max_pool1d(v[0], 3, 2, Padding::Same); },
                           {distinct_values({2, 9, 3}, 19)}));
}

// ------------------------------------------------------------------ batch norm

TEST(ConvGradcheck, BatchNormTraining) {
  // Moving statistics are updated on every evaluation; they do not affect the training output.
  Tensor mm = zeros({4}, f64), mv = ones({4}, f64);
  EXPECT_TRUE(gradcheck_ok([mm, mv](const auto& v) { return batch_norm(v[0], v[1], v[2], mm, mv, true); },
                           {random_f64({3, 2, 3, 4}, 20, -2, 2), random_f64({4}, 21, 0.5, 1.5), random_f64({4}, 22)}));
}
TEST(ConvGradcheck, BatchNormTrainingDenseNoScaleNoCenter) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return batch_norm(v[0], Tensor(), Tensor(), Tensor(), Tensor(), true); },
                           {random_f64({6, 3}, 23, -2, 2)}));
}
TEST(ConvGradcheck, BatchNormInference) {
  Tensor mm = random_f64({4}, 24), mv = random_f64({4}, 25, 0.5, 2);
  EXPECT_TRUE(gradcheck_ok([mm, mv](const auto& v) { return batch_norm(v[0], v[1], v[2], mm, mv, false); },
                           {random_f64({3, 2, 3, 4}, 26, -2, 2), random_f64({4}, 27, 0.5, 1.5), random_f64({4}, 28)}));
}

// batch_norm_relu, on inputs whose normalised values keep clear of ReLU's kink at 0 (checked: a
// finite-difference step of 1e-6 must not cross it).
TEST(ConvGradcheck, BatchNormReluTraining) {
  Tensor mm = zeros({4}, f64), mv = ones({4}, f64);
  std::vector<Tensor> in{random_f64({3, 2, 3, 4}, 30, -2, 2), random_f64({4}, 31, 0.5, 1.5), random_f64({4}, 32)};
  Tensor pre = batch_norm(in[0], in[1], in[2], Tensor(), Tensor(), true);
  ASSERT_GT(min(abs(pre)).item<double>(), 1e-4);
  ASSERT_LT(min(pre).item<double>(), 0.0);  // the ReLU cuts some
  EXPECT_TRUE(gradcheck_ok([mm, mv](const auto& v) { return batch_norm_relu(v[0], v[1], v[2], mm, mv, true); }, in));
}
TEST(ConvGradcheck, BatchNormReluInference) {
  Tensor mm = random_f64({4}, 33), mv = random_f64({4}, 34, 0.5, 2);
  std::vector<Tensor> in{random_f64({3, 2, 3, 4}, 35, -2, 2), random_f64({4}, 36, 0.5, 1.5), random_f64({4}, 37)};
  Tensor pre = batch_norm(in[0], in[1], in[2], mm, mv, false);
  ASSERT_GT(min(abs(pre)).item<double>(), 1e-4);
  ASSERT_LT(min(pre).item<double>(), 0.0);  // the ReLU cuts some
  EXPECT_TRUE(gradcheck_ok([mm, mv](const auto& v) { return batch_norm_relu(v[0], v[1], v[2], mm, mv, false); }, in));
}

// ------------------------------------------------------------------ grouped / depthwise (issue 16)

TEST(ConvGradcheck, Conv2dTwoGroups) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return conv2d(v[0], v[1], {.padding = Padding::Same, .groups = 2}); },
                           {random_f64({2, 5, 4, 4}, 20), random_f64({3, 3, 2, 6}, 21)}));
}
TEST(ConvGradcheck, DepthwiseConv2dMultiplier2Stride2) {
  EXPECT_TRUE(gradcheck_ok(
      [](const auto& v) { return depthwise_conv2d(v[0], v[1], {.strides = {2, 2}, .padding = Padding::Same}); },
      {random_f64({2, 6, 5, 3}, 22), random_f64({3, 3, 3, 2}, 23)}));
}
TEST(ConvGradcheck, AvgPool1dSame) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return avg_pool1d(v[0], 3, 2, Padding::Same); },
                           {random_f64({2, 7, 3}, 24)}));
}
TEST(ConvGradcheck, Conv2dTransposeSameStride2) {
  EXPECT_TRUE(gradcheck_ok(
      [](const auto& v) { return conv2d_transpose(v[0], v[1], {7, 6}, {.strides = {2, 2}, .padding = Padding::Same}); },
      {random_f64({2, 4, 3, 3}, 25), random_f64({3, 3, 2, 3}, 26)}));
}
TEST(ConvGradcheck, Conv2dTransposeValidStride3KernelSmallerThanStride) {
  EXPECT_TRUE(gradcheck_ok(
      [](const auto& v) { return conv2d_transpose(v[0], v[1], {9, 6}, {.strides = {3, 3}}); },
      {random_f64({1, 3, 2, 2}, 27), random_f64({2, 2, 3, 2}, 28)}));
}
