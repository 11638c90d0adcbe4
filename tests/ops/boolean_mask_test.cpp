// boolean_mask: tf.boolean_mask semantics on axis 0 (expected values worked out by hand), and its
// f64 gradient (a gather: 1 at each kept position, 0 elsewhere).
#include "test_support.hpp"

namespace ember {
namespace {

using testing::message_of;

TEST(BooleanMask, RankOneMaskKeepsRows) {
  Tensor x = arange(0, 6, 1, f64).reshape({3, 2});
  Tensor m = from_vector(std::vector<double>{1, 0, 1}, {3}, boolean);
  Tensor y = boolean_mask(x, m);
  EXPECT_EQ(y.shape(), (Shape{2, 2}));
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{0, 1, 4, 5}));
}

TEST(BooleanMask, RankTwoMaskFlattensTheMaskedAxes) {
  // x [2, 3, 2], mask [2, 3] with true at (0,1), (1,0), (1,2): rows 1, 3 and 5 of the [6, 2] view.
  Tensor x = arange(0, 12, 1, f64).reshape({2, 3, 2});
  Tensor m = from_vector(std::vector<double>{0, 1, 0, 1, 0, 1}, {2, 3}, boolean);
  Tensor y = boolean_mask(x, m);
  EXPECT_EQ(y.shape(), (Shape{3, 2}));
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{2, 3, 6, 7, 10, 11}));
  // A full-rank mask gives a 1-D result; a non-bool mask is read as != 0.
  Tensor all = boolean_mask(x, greater(x, scalar_tensor(8.0, f64)));
  EXPECT_EQ(all.to_vector<double>(), (std::vector<double>{9, 10, 11}));
  Tensor ints = boolean_mask(arange(0, 4, 1, f64), from_vector(std::vector<int64_t>{0, 3, 0, -1}, {4}));
  EXPECT_EQ(ints.to_vector<double>(), (std::vector<double>{1, 3}));
  // Nothing selected: zero rows, the trailing axes kept.
  EXPECT_EQ(boolean_mask(x, zeros({2}, boolean)).shape(), (Shape{0, 3, 2}));
}

TEST(BooleanMask, ShapeMismatch) {
  Tensor x = zeros({3, 2});
  EXPECT_EQ(message_of<ShapeError>([&] { boolean_mask(x, zeros({2}, boolean)); }),
            "boolean_mask: mask of shape [2] must match the leading axes of x, of shape [3,2] (rank 1 or more)");
  EXPECT_THROW(boolean_mask(x, zeros({3, 2, 1}, boolean)), ShapeError);
  EXPECT_THROW(boolean_mask(x, scalar_tensor(1, boolean)), ShapeError);
}

TEST(BooleanMask, GradientIsOneAtKeptPositions) {
  Tensor x = testing::random_f64({3, 2}, 4).requires_grad_();
  Tensor m = from_vector(std::vector<double>{1, 0, 1}, {3}, boolean);
  boolean_mask(x, m).sum().backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{1, 1, 0, 0, 1, 1}));
  EXPECT_TRUE(testing::gradcheck_ok([m](const auto& v) { return boolean_mask(v[0], m) * 3.0; },
                                    {testing::random_f64({3, 2}, 5)}));
}

}  // namespace
}  // namespace ember
