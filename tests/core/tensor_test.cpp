#include "test_support.hpp"

using namespace ember;

TEST(Tensor, CreationAndItem) {
  Tensor z = zeros({2, 3});
  EXPECT_EQ(z.shape(), (Shape{2, 3}));
  EXPECT_EQ(z.dtype(), f32);
  EXPECT_EQ(z.at<float>({1, 2}), 0.0f);
  Tensor e = eye(3, std::nullopt, f64);
  EXPECT_EQ(e.at<double>({1, 1}), 1.0);
  EXPECT_EQ(e.at<double>({1, 2}), 0.0);
  Tensor a = arange(5);
  EXPECT_EQ(a.dtype(), i64);
  EXPECT_EQ(a.to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  Tensor l = linspace(0, 1, 5);
  EXPECT_FLOAT_EQ(l.at<float>({1}), 0.25f);
  EXPECT_THROW(from_vector(std::vector<double>{1, 2, 3}, {2, 2}), ShapeError);
  EXPECT_THROW(z.at<float>({2, 0}), ShapeError);
}
