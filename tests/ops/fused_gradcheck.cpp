// f64 gradient checks (the notes' criterion, 1e-7) for the fused Dense / Conv2D ops (ops/fused.hpp),
// with respect to every operand, with and without bias and ReLU.
#include "ember/ops/fused.hpp"
#include "test_support.hpp"

using namespace ember;
using ember::testing::gradcheck_ok;
using ember::testing::random_f64;

TEST(FusedGradcheck, DenseReluWithBias) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return fused_dense(v[0], v[1], v[2], FusedActivation::ReLU); },
                           {random_f64({5, 4}, 1), random_f64({4, 3}, 2), random_f64({3}, 3)}));
}
TEST(FusedGradcheck, DenseLinearNoBias3d) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return fused_dense(v[0], v[1], Tensor(), FusedActivation::None); },
                           {random_f64({2, 3, 4}, 4), random_f64({4, 5}, 5)}));
}
TEST(FusedGradcheck, DenseLinearWithBias) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return fused_dense(v[0], v[1], v[2], FusedActivation::None); },
                           {random_f64({3, 4}, 6), random_f64({4, 2}, 7), random_f64({2}, 8)}));
}
TEST(FusedGradcheck, Conv2dReluWithBiasSame) {
  EXPECT_TRUE(gradcheck_ok(
      [](const auto& v) { return fused_conv2d(v[0], v[1], v[2], {.padding = Padding::Same}, FusedActivation::ReLU); },
      {random_f64({2, 5, 6, 3}, 9), random_f64({3, 3, 3, 4}, 10), random_f64({4}, 11)}));
}
TEST(FusedGradcheck, Conv2dLinearNoBiasValidStride2) {
  EXPECT_TRUE(gradcheck_ok(
      [](const auto& v) {
        return fused_conv2d(v[0], v[1], Tensor(), {.strides = {2, 2}, .padding = Padding::Valid}, FusedActivation::None);
      },
      {random_f64({2, 7, 6, 2}, 12), random_f64({3, 2, 2, 3}, 13)}));
}
