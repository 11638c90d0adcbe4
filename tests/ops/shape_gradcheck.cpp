// f64 gradient checks (the notes' criterion) for every differentiable shape op.
#include "test_support.hpp"

using namespace ember;
using ember::testing::gradcheck_ok;
using ember::testing::random_f64;

TEST(ShapeGradcheck, Reshape) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return reshape(v[0], {4, -1}) * 2.0; }, {random_f64({2, 3, 2}, 101)}));
}
TEST(ShapeGradcheck, Flatten) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return flatten(v[0], 1, 2); }, {random_f64({2, 3, 2, 2}, 102)}));
}
TEST(ShapeGradcheck, Transpose) {
  // Multiply by a non-symmetric weight so a wrong axis order shows up.
  Tensor w = random_f64({4, 3}, 103);
  EXPECT_TRUE(gradcheck_ok([w](const auto& v) { return transpose(v[0], 0, 1) * w; }, {random_f64({3, 4}, 104)}));
}
TEST(ShapeGradcheck, Permute) {
  Tensor w = random_f64({4, 2, 3}, 105);
  EXPECT_TRUE(gradcheck_ok([w](const auto& v) { return permute(v[0], {2, 0, 1}) * w; }, {random_f64({2, 3, 4}, 106)}));
}
TEST(ShapeGradcheck, SliceWithStep) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return slice(slice(v[0], 1, -5, 7, 2), 0, 1, 3); },
                           {random_f64({3, 7}, 107)}));
}
TEST(ShapeGradcheck, Expand) {
  Tensor w = random_f64({2, 3, 4}, 108);
  EXPECT_TRUE(gradcheck_ok([w](const auto& v) { return expand(v[0], {2, 3, 4}) * w; }, {random_f64({3, 1}, 109)}));
}
TEST(ShapeGradcheck, Squeeze) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return squeeze(v[0], 1) * v[0].squeeze(); }, {random_f64({3, 1, 2}, 110)}));
}
TEST(ShapeGradcheck, Unsqueeze) {
  Tensor w = random_f64({3, 1, 2}, 111);
  EXPECT_TRUE(gradcheck_ok([w](const auto& v) { return unsqueeze(v[0], 1) * w; }, {random_f64({3, 2}, 112)}));
  // strided input (a view, not a copy)
  EXPECT_TRUE(gradcheck_ok([w](const auto& v) { return unsqueeze(v[0].t(), 1) * w; }, {random_f64({2, 3}, 124)}));
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return squeeze(v[0].transpose(0, 2), 1) * 3.0; }, {random_f64({2, 1, 3}, 125)}));
}
TEST(ShapeGradcheck, ContiguousOfTransposed) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return contiguous(v[0].t()) * v[0].t(); }, {random_f64({3, 4}, 113)}));
}
TEST(ShapeGradcheck, Clone) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return clone(v[0]) * v[0]; }, {random_f64({2, 3}, 114)}));
}
TEST(ShapeGradcheck, ConcatThreeInputsAxis1) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return concat({v[0], v[1], v[2]}, 1); },
                           {random_f64({2, 1, 3}, 115), random_f64({2, 2, 3}, 116), random_f64({2, 3, 3}, 117)}));
}
TEST(ShapeGradcheck, Stack) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return stack({v[0], v[1] * 2.0}, 1); },
                           {random_f64({2, 3}, 118), random_f64({2, 3}, 119)}));
}
TEST(ShapeGradcheck, Split) {
  // Every piece is used in the output, with different weights.
  EXPECT_TRUE(gradcheck_ok(
      [](const auto& v) {
        std::vector<Tensor> p = split(v[0], std::vector<int64_t>{1, 3, 2}, 1);
        return p[0] * 3.0 + sum(p[1], {1}, true) - square(p[2]).sum({1}, true);
      },
      {random_f64({2, 6}, 120)}));
}
TEST(ShapeGradcheck, Pad) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return pad(v[0], {{1, 2}, {0, 1}}, 0.5); }, {random_f64({2, 3}, 121)}));
}
TEST(ShapeGradcheck, GatherWithRepeatedIndices) {
  Tensor idx = from_vector(std::vector<int64_t>{2, 0, 2, 2, -1}, {5});
  EXPECT_TRUE(gradcheck_ok([idx](const auto& v) { return gather(v[0], idx, 1); }, {random_f64({2, 4, 3}, 122)}));
}
TEST(ShapeGradcheck, Tile) {
  EXPECT_TRUE(gradcheck_ok([](const auto& v) { return tile(v[0], {2, 1, 3}); }, {random_f64({2, 3}, 123)}));
}

// embedding_lookup: the gradient of a leaf table arrives as rows (densified by .grad()); repeated rows.
TEST(ShapeGradcheck, EmbeddingLookup) {
  Tensor idx = from_vector(std::vector<int64_t>{4, 0, 4, 2}, {2, 2});
  Tensor c = random_f64({2, 2, 3}, 131);
  EXPECT_TRUE(gradcheck_ok([&](const auto& v) { return sigmoid(embedding_lookup(v[0], idx)) * c; }, {random_f64({5, 3}, 132)}));
}
