// Values of the shape ops on small hand-computed examples, and one bad call per op.
#include "test_support.hpp"

using namespace ember;
using ember::testing::message_of;

namespace {
Tensor iota(const Shape& shape, DType dt = f64) {
  return arange(0, static_cast<double>(numel(shape)), 1, dt).reshape(shape);
}
std::vector<double> vals(const Tensor& t) { return t.to_vector<double>(); }

}  // namespace

TEST(ShapeOps, Reshape) {
  Tensor x = iota({2, 3});
  EXPECT_EQ(vals(reshape(x, {3, 2})), (std::vector<double>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(reshape(x, {-1}).shape(), (Shape{6}));
  EXPECT_EQ(reshape(x, {1, -1, 2}).shape(), (Shape{1, 3, 2}));
  EXPECT_EQ(reshape(scalar_tensor(3.0, f64), {1, 1}).shape(), (Shape{1, 1}));
  std::string m = message_of<ShapeError>([&] { reshape(x, {4, 2}); });
  EXPECT_NE(m.find("[2,3]"), std::string::npos) << m;
  EXPECT_NE(m.find("[4,2]"), std::string::npos) << m;
  EXPECT_THROW(reshape(x, {-1, -1}), ShapeError);
  EXPECT_THROW(reshape(x, {4, -1}), ShapeError);
  EXPECT_THROW(reshape(x, {-2, 3}), ShapeError);
  // Dimensions whose product overflows int64 are a ShapeError, not signed overflow (UBSan checks).
  const int64_t big = int64_t(1) << 40;
  EXPECT_THROW(reshape(x, {big, big}), ShapeError);
  EXPECT_THROW(reshape(x, {big, -1, big}), ShapeError);
  EXPECT_THROW(reshape(zeros({0}), {big, big, 0}), ShapeError);  // its strides would overflow
}

TEST(ShapeOps, Flatten) {
  Tensor x = iota({2, 3, 4});
  EXPECT_EQ(flatten(x).shape(), (Shape{24}));
  EXPECT_EQ(flatten(x, 1).shape(), (Shape{2, 12}));
  EXPECT_EQ(flatten(x, 0, 1).shape(), (Shape{6, 4}));
  EXPECT_EQ(flatten(scalar_tensor(1.0)).shape(), (Shape{1}));
  // xt[a,b,c] = x[c,b,a]; row 0 of flatten(xt, 1) is x[0,0,0], x[1,0,0], x[0,1,0], x[1,1,0], x[0,2,0], x[1,2,0].
  std::vector<double> row0 = vals(flatten(x.transpose(0, 2), 1).slice(0, 0, 1));
  EXPECT_EQ(row0, (std::vector<double>{0, 12, 4, 16, 8, 20}));
  EXPECT_THROW(flatten(x, 2, 1), ValueError);
  EXPECT_THROW(flatten(x, 3), ValueError);
}

TEST(ShapeOps, TransposePermuteBadAxis) {
  Tensor x = iota({2, 3});
  EXPECT_THROW(transpose(x, 0, 2), ValueError);
  EXPECT_THROW(permute(x, {0, 2}), ValueError);
  EXPECT_EQ(vals(transpose(x, -1, -2)), (std::vector<double>{0, 3, 1, 4, 2, 5}));
}

TEST(ShapeOps, Concat) {
  Tensor a = iota({2, 1}), b = iota({2, 2}) + 10.0;
  Tensor c = concat({a, b}, 1);
  EXPECT_EQ(c.shape(), (Shape{2, 3}));
  EXPECT_EQ(vals(c), (std::vector<double>{0, 10, 11, 1, 12, 13}));
  Tensor d = concat({iota({1, 2}), iota({2, 2})}, 0);
  EXPECT_EQ(vals(d), (std::vector<double>{0, 1, 0, 1, 2, 3}));
  Tensor e = concat({from_vector(std::vector<int32_t>{1}, {1}), from_vector(std::vector<double>{0.5}, {1}, f64)}, -1);
  EXPECT_EQ(e.dtype(), f64);
  EXPECT_EQ(vals(e), (std::vector<double>{1, 0.5}));
  Tensor t = concat({iota({2, 2}).t(), iota({2, 1})}, 1);  // strided input
  EXPECT_EQ(vals(t), (std::vector<double>{0, 2, 0, 1, 3, 1}));
  std::string m = message_of<ShapeError>([&] { concat({iota({2, 3}), iota({3, 3})}, 1); });
  EXPECT_NE(m.find("[2,3]"), std::string::npos) << m;
  EXPECT_NE(m.find("[3,3]"), std::string::npos) << m;
  EXPECT_THROW(concat({iota({2}), iota({2, 1})}, 0), ShapeError);
  EXPECT_THROW(concat({}, 0), ValueError);
  EXPECT_THROW(concat({iota({2}), iota({2})}, 1), ValueError);
}

TEST(ShapeOps, Stack) {
  Tensor a = iota({2}), b = iota({2}) + 5.0;
  EXPECT_EQ(vals(stack({a, b})), (std::vector<double>{0, 1, 5, 6}));
  Tensor s1 = stack({a, b}, 1);
  EXPECT_EQ(s1.shape(), (Shape{2, 2}));
  EXPECT_EQ(vals(s1), (std::vector<double>{0, 5, 1, 6}));
  EXPECT_EQ(stack({a, b}, -1).shape(), (Shape{2, 2}));
  EXPECT_THROW(stack({a, iota({3})}), ShapeError);
  EXPECT_THROW(stack({a, b}, 3), ValueError);
}

TEST(ShapeOps, Split) {
  Tensor x = iota({2, 5});
  std::vector<Tensor> p = split(x, std::vector<int64_t>{2, 0, 3}, 1);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(vals(p[0]), (std::vector<double>{0, 1, 5, 6}));
  EXPECT_EQ(p[1].shape(), (Shape{2, 0}));
  EXPECT_EQ(vals(p[2]), (std::vector<double>{2, 3, 4, 7, 8, 9}));
  std::vector<Tensor> q = split(iota({6}), int64_t{3}, 0);
  ASSERT_EQ(q.size(), 3u);
  EXPECT_EQ(vals(q[2]), (std::vector<double>{4, 5}));
  std::string m = message_of<ShapeError>([&] { split(x, std::vector<int64_t>{2, 2}, 1); });
  EXPECT_NE(m.find("[2,5]"), std::string::npos) << m;
  EXPECT_THROW(split(iota({5}), int64_t{2}, 0), ShapeError);
  EXPECT_THROW(split(x, std::vector<int64_t>{2, 3}, 2), ValueError);
}

TEST(ShapeOps, Pad) {
  Tensor x = iota({2, 2}) + 1.0;
  Tensor p = pad(x, {{1, 0}, {0, 2}}, -1);
  EXPECT_EQ(p.shape(), (Shape{3, 4}));
  EXPECT_EQ(vals(p), (std::vector<double>{-1, -1, -1, -1, 1, 2, -1, -1, 3, 4, -1, -1}));
  Tensor q = pad(x, {{0, 1}});  // fewer pairs: only axis 0, zeros
  EXPECT_EQ(vals(q), (std::vector<double>{1, 2, 3, 4, 0, 0}));
  Tensor i = pad(from_vector(std::vector<int32_t>{5}, {1}), {{2, 1}}, 7);
  EXPECT_EQ(i.dtype(), i32);
  EXPECT_EQ(i.to_vector<int32_t>(), (std::vector<int32_t>{7, 7, 5, 7}));
  EXPECT_THROW(pad(x, {{0, 0}, {0, 0}, {1, 1}}), ShapeError);
  EXPECT_THROW(pad(x, {{-1, 0}}), ValueError);
}

TEST(ShapeOps, Gather) {
  Tensor x = iota({3, 2});
  Tensor g = gather(x, from_vector(std::vector<int64_t>{2, 0, 2}, {3}), 0);
  EXPECT_EQ(vals(g), (std::vector<double>{4, 5, 0, 1, 4, 5}));
  Tensor h = gather(x, from_vector(std::vector<int32_t>{1, -2, 1, 1}, {2, 2}), 1);  // any int dtype, 2-D indices
  EXPECT_EQ(h.shape(), (Shape{3, 2, 2}));
  EXPECT_EQ(vals(h), (std::vector<double>{1, 0, 1, 1, 3, 2, 3, 3, 5, 4, 5, 5}));
  EXPECT_EQ(vals(take(x.t(), from_vector(std::vector<int64_t>{1}, {1}), 0)), (std::vector<double>{1, 3, 5}));
  std::string m = message_of<ValueError>([&] { gather(x, from_vector(std::vector<int64_t>{0, 3}, {2}), 0); });
  EXPECT_NE(m.find("3"), std::string::npos) << m;
  EXPECT_THROW(gather(x, from_vector(std::vector<int64_t>{-4}, {1}), 0), ValueError);
  EXPECT_THROW(gather(x, zeros({1}), 0), DTypeError);
  EXPECT_THROW(gather(x, from_vector(std::vector<int64_t>{0}, {1}), 2), ValueError);
}

TEST(ShapeOps, OneHot) {
  Tensor idx = from_vector(std::vector<int64_t>{2, 0, 5, -1}, {4});
  Tensor o = one_hot(idx, 3);
  EXPECT_EQ(o.shape(), (Shape{4, 3}));
  EXPECT_EQ(o.dtype(), f32);
  EXPECT_EQ(vals(o), (std::vector<double>{0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0}));  // out of range: zero rows
  Tensor o2 = one_hot(from_vector(std::vector<int32_t>{1, 0}, {2}).reshape({2, 1}), 2, i64, 5, -1);
  EXPECT_EQ(o2.shape(), (Shape{2, 1, 2}));
  EXPECT_EQ(o2.to_vector<int64_t>(), (std::vector<int64_t>{-1, 5, 5, -1}));
  EXPECT_THROW(one_hot(idx, -1), ValueError);
  EXPECT_THROW(one_hot(zeros({2}), 3), DTypeError);
}

TEST(ShapeOps, Tile) {
  Tensor x = iota({2, 2});
  Tensor t = tile(x, {1, 2});
  EXPECT_EQ(vals(t), (std::vector<double>{0, 1, 0, 1, 2, 3, 2, 3}));
  Tensor u = tile(x, {2, 1, 1});
  EXPECT_EQ(u.shape(), (Shape{2, 2, 2}));
  EXPECT_EQ(vals(u), (std::vector<double>{0, 1, 2, 3, 0, 1, 2, 3}));
  Tensor v = tile(iota({3}), {2});
  EXPECT_EQ(vals(v), (std::vector<double>{0, 1, 2, 0, 1, 2}));
  EXPECT_EQ(tile(iota({3}), {0}).numel(), 0);
  EXPECT_THROW(tile(x, {-1}), ValueError);
}

TEST(ShapeOps, SliceExpandSqueezeBadCalls) {
  Tensor x = iota({2, 3});
  EXPECT_THROW(slice(x, 2, 0, 1), ValueError);
  EXPECT_THROW(slice(x, 0, 0, 1, -1), ValueError);
  std::string m = message_of<ShapeError>([&] { expand(x, {2, 4}); });
  EXPECT_NE(m.find("[2,3]"), std::string::npos) << m;
  EXPECT_NE(m.find("[2,4]"), std::string::npos) << m;
  EXPECT_THROW(squeeze(x, 0), ShapeError);
  EXPECT_THROW(squeeze(x, -3), ValueError);
  EXPECT_THROW(unsqueeze(x, 3), ValueError);
  EXPECT_EQ(unsqueeze(x, -1).shape(), (Shape{2, 3, 1}));
  EXPECT_EQ(unsqueeze(x, 2).shape(), (Shape{2, 3, 1}));
}
