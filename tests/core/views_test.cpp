// Views share storage with their base: writing through a view changes the base and vice versa.
// Copies (contiguous of a strided tensor, clone, to) do not.
#include "test_support.hpp"

using namespace ember;

namespace {
Tensor iota_f32(const Shape& shape) { return arange(0, static_cast<double>(numel(shape)), 1, f32).reshape(shape); }
std::vector<float> vals(const Tensor& t) { return t.to_vector<float>(); }
}  // namespace

TEST(Views, ReshapeOfContiguousSharesStorage) {
  Tensor x = iota_f32({2, 6});
  Tensor v = x.reshape({3, -1});
  EXPECT_EQ(v.shape(), (Shape{3, 4}));
  EXPECT_TRUE(v.shares_storage(x));
  v.slice(0, 1, 2).fill_(-1.0);  // row 1 of the view = elements 4..7 of the base
  EXPECT_EQ(vals(x), (std::vector<float>{0, 1, 2, 3, -1, -1, -1, -1, 8, 9, 10, 11}));
  Tensor f = x.flatten();
  EXPECT_TRUE(f.shares_storage(x));
  EXPECT_EQ(f.shape(), (Shape{12}));
  EXPECT_TRUE(x.view({12}).shares_storage(x));
}

TEST(Views, ReshapeOfStridedCopiesWithTheLogicalOrder) {
  Tensor x = iota_f32({2, 3});
  Tensor r = x.t().reshape({6});
  EXPECT_EQ(vals(r), (std::vector<float>{0, 3, 1, 4, 2, 5}));
}

TEST(Views, TransposeAndPermuteShareStorage) {
  Tensor x = iota_f32({2, 3, 4});
  Tensor t = x.transpose(0, 2);
  EXPECT_EQ(t.shape(), (Shape{4, 3, 2}));
  EXPECT_EQ(t.strides(), (Strides{1, 4, 12}));
  EXPECT_TRUE(t.shares_storage(x));
  EXPECT_FALSE(t.is_contiguous());
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 3; ++j)
      for (int64_t k = 0; k < 4; ++k) EXPECT_EQ(t.at<float>({k, j, i}), x.at<float>({i, j, k}));
  Tensor p = x.permute({1, 2, 0});
  EXPECT_EQ(p.shape(), (Shape{3, 4, 2}));
  EXPECT_EQ(p.at<float>({2, 1, 1}), x.at<float>({1, 2, 1}));
  // write through the permuted view: p[0, 3, 1] is x[1, 0, 3] = 15
  p.slice(0, 0, 1).slice(1, 3, 4).slice(2, 1, 2).fill_(100.0);
  EXPECT_EQ(x.at<float>({1, 0, 3}), 100.0f);
  EXPECT_EQ(x.at<float>({0, 0, 3}), 3.0f);
  Tensor m = iota_f32({2, 3});
  EXPECT_EQ(vals(m.t()), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  EXPECT_THROW(zeros({2, 3, 4}).t(), ShapeError);
  EXPECT_THROW(x.permute({0, 1}), ShapeError);
  EXPECT_THROW(x.permute({0, 1, 1}), ValueError);
}

TEST(Views, SliceWithStepAndNegativeStart) {
  Tensor x = iota_f32({10});
  EXPECT_EQ(vals(x.slice(0, 1, 8, 3)), (std::vector<float>{1, 4, 7}));       // x[1:8:3]
  EXPECT_EQ(vals(x.slice(0, -4, 10, 2)), (std::vector<float>{6, 8}));        // x[-4::2]
  EXPECT_EQ(vals(x.slice(0, -3, -1)), (std::vector<float>{7, 8}));           // x[-3:-1]
  EXPECT_EQ(vals(x.slice(0, -100, 2)), (std::vector<float>{0, 1}));          // clamped like Python
  EXPECT_EQ(vals(x.slice(0, 8, 100, 5)), (std::vector<float>{8}));
  EXPECT_EQ(x.slice(0, 7, 3).numel(), 0);                                    // empty, not an error
  EXPECT_THROW(x.slice(0, 0, 5, 0), ValueError);
  EXPECT_THROW(x.slice(1, 0, 5), ValueError);

  Tensor s = x.slice(0, -4, 10, 2);
  EXPECT_TRUE(s.shares_storage(x));
  EXPECT_EQ(s.strides(), (Strides{2}));
  s.fill_(-1.0);
  EXPECT_EQ(vals(x), (std::vector<float>{0, 1, 2, 3, 4, 5, -1, 7, -1, 9}));

  Tensor m = iota_f32({3, 5});
  Tensor c = m.slice(1, 0, 5, 2);  // columns 0, 2, 4
  EXPECT_EQ(c.shape(), (Shape{3, 3}));
  EXPECT_EQ(vals(c), (std::vector<float>{0, 2, 4, 5, 7, 9, 10, 12, 14}));
  c.slice(0, 2, 3).fill_(0.5);
  EXPECT_EQ(m.at<float>({2, 2}), 0.5f);
  EXPECT_EQ(m.at<float>({2, 1}), 11.0f);
}

TEST(Views, ExpandBroadcastsWithZeroStrides) {
  Tensor x = from_vector(std::vector<float>{1, 2, 3}, {3, 1});
  Tensor e = x.expand({2, 3, 4});
  EXPECT_EQ(e.shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(e.strides()[0], 0);
  EXPECT_EQ(e.strides()[2], 0);
  EXPECT_TRUE(e.shares_storage(x));
  EXPECT_EQ(e.at<float>({1, 2, 3}), 3.0f);
  Tensor b = broadcast_to(x, {3, 2});
  EXPECT_EQ(vals(b), (std::vector<float>{1, 1, 2, 2, 3, 3}));
  x.slice(0, 1, 2).fill_(20.0);  // write to the base, read through the view
  EXPECT_EQ(e.at<float>({0, 1, 0}), 20.0f);
  EXPECT_EQ(b.at<float>({1, 1}), 20.0f);
  EXPECT_THROW(x.expand({3, 2, 1}), ShapeError);
  EXPECT_THROW(x.expand({2}), ShapeError);
  EXPECT_THROW(zeros({2, 3}).expand({4, 3, 2}), ShapeError);
}

TEST(Views, SqueezeAndUnsqueezeShareStorage) {
  Tensor x = iota_f32({2, 1, 3});
  Tensor s = x.squeeze(1);
  EXPECT_EQ(s.shape(), (Shape{2, 3}));
  EXPECT_TRUE(s.shares_storage(x));
  EXPECT_EQ(x.squeeze().shape(), (Shape{2, 3}));
  Tensor u = x.unsqueeze(-1);
  EXPECT_EQ(u.shape(), (Shape{2, 1, 3, 1}));
  EXPECT_TRUE(u.shares_storage(x));
  EXPECT_EQ(x.unsqueeze(0).shape(), (Shape{1, 2, 1, 3}));
  s.slice(0, 1, 2).fill_(7.0);
  EXPECT_EQ(vals(x), (std::vector<float>{0, 1, 2, 7, 7, 7}));
  EXPECT_THROW(x.squeeze(0), ShapeError);
  EXPECT_THROW(x.squeeze(3), ValueError);
  EXPECT_THROW(x.unsqueeze(5), ValueError);
}

TEST(Views, SqueezeAndUnsqueezeOfAStridedTensorAreViews) {
  // The header promises views for squeeze/unsqueeze, also when the input is not contiguous.
  Tensor x = iota_f32({3, 2});
  Tensor t = x.t();  // [2,3], strided
  Tensor u = t.unsqueeze(1);  // [2,1,3]
  EXPECT_EQ(u.shape(), (Shape{2, 1, 3}));
  EXPECT_EQ(vals(u), (std::vector<float>{0, 2, 4, 1, 3, 5}));
  EXPECT_TRUE(u.shares_storage(x));
  Tensor s = u.squeeze(1);
  EXPECT_TRUE(s.shares_storage(x));
  EXPECT_EQ(vals(s), (std::vector<float>{0, 2, 4, 1, 3, 5}));
  s.slice(0, 0, 1).fill_(-1.0);  // t[0, :] = x[:, 0]
  EXPECT_EQ(vals(x), (std::vector<float>{-1, 1, -1, 3, -1, 5}));
}

TEST(Views, ContiguousAndCloneCopy) {
  Tensor x = iota_f32({2, 3});
  EXPECT_TRUE(x.contiguous().is_same(x));  // already contiguous: no copy
  Tensor t = x.t();
  Tensor c = t.contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_FALSE(c.shares_storage(x));
  EXPECT_EQ(vals(c), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  EXPECT_EQ(c.strides(), (Strides{2, 1}));
  c.fill_(9.0);
  EXPECT_EQ(x.at<float>({0, 0}), 0.0f);

  Tensor k = x.clone();
  EXPECT_FALSE(k.shares_storage(x));
  EXPECT_EQ(vals(k), vals(x));
  k.fill_(-2.0);
  EXPECT_EQ(vals(x), (std::vector<float>{0, 1, 2, 3, 4, 5}));
  Tensor ks = x.slice(1, 0, 3, 2).clone();  // clone of a strided view is a compact copy
  EXPECT_TRUE(ks.is_contiguous());
  EXPECT_EQ(vals(ks), (std::vector<float>{0, 2, 3, 5}));
}

TEST(Views, CopyAndInPlaceOpsWriteThroughViews) {
  Tensor x = zeros({3, 4});
  x.slice(1, 1, 4, 2).copy_(from_vector(std::vector<float>{1, 2}, {2}));  // broadcast over rows
  EXPECT_EQ(vals(x), (std::vector<float>{0, 1, 0, 2, 0, 1, 0, 2, 0, 1, 0, 2}));
  x.t().slice(0, 3, 4).mul_(3);  // column 3
  EXPECT_EQ(vals(x.slice(1, 3, 4)), (std::vector<float>{6, 6, 6}));
  x.slice(0, 0, 1).add_(ones({4}), 0.5);
  EXPECT_EQ(vals(x.slice(0, 0, 1)), (std::vector<float>{0.5, 1.5, 0.5, 6.5}));
  EXPECT_EQ(x.at<float>({1, 0}), 0.0f);
  Tensor i = zeros({2}, i32);
  i.copy_(from_vector(std::vector<double>{1.9, -2.9}, {2}, f64));  // cast on copy
  EXPECT_EQ(i.to_vector<int32_t>(), (std::vector<int32_t>{1, -2}));
}
