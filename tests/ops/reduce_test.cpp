// Values of the reductions on small hand-computed examples, strided inputs, and bad calls.
#include <cmath>

#include "test_support.hpp"

using namespace ember;

namespace {
Tensor iota(const Shape& shape, DType dt = f64) {
  return arange(0, static_cast<double>(numel(shape)), 1, dt).reshape(shape);
}
std::vector<double> vals(const Tensor& t) { return t.to_vector<double>(); }
}  // namespace

TEST(Reduce, SumOverAxes) {
  Tensor x = iota({2, 3, 4});  // x[i,j,k] = 12i + 4j + k
  EXPECT_EQ(sum(x).item<double>(), 276.0);  // 0 + ... + 23
  EXPECT_EQ(sum(x).dim(), 0);
  Tensor s0 = sum(x, {0});
  EXPECT_EQ(s0.shape(), (Shape{3, 4}));
  EXPECT_EQ(vals(s0), (std::vector<double>{12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34}));
  Tensor s1 = sum(x, {1});  // middle axis: 3*(12i + k) + 12
  EXPECT_EQ(vals(s1), (std::vector<double>{12, 15, 18, 21, 48, 51, 54, 57}));
  Tensor s1k = sum(x, {1}, true);
  EXPECT_EQ(s1k.shape(), (Shape{2, 1, 4}));
  EXPECT_EQ(vals(s1k), vals(s1));
  Tensor s02 = sum(x, {0, -1});  // sum_i sum_k = 2*(4*4j + 6) + 48 = 32j + 60
  EXPECT_EQ(vals(s02), (std::vector<double>{60, 92, 124}));
  EXPECT_EQ(sum(x, {2, 0}, true).shape(), (Shape{1, 3, 1}));
  EXPECT_EQ(vals(x.sum({2})), (std::vector<double>{6, 22, 38, 54, 70, 86}));
  EXPECT_EQ(sum(zeros({0, 3}), {0}).to_vector<float>(), (std::vector<float>{0, 0, 0}));
}

TEST(Reduce, NonContiguousInputs) {
  Tensor x = iota({3, 4});
  Tensor t = x.t();  // [4,3], t[i,j] = 4j + i
  EXPECT_EQ(vals(sum(t, {0})), (std::vector<double>{6, 22, 38}));
  EXPECT_EQ(vals(sum(t, {1})), (std::vector<double>{12, 15, 18, 21}));
  EXPECT_EQ(vals(max(t, {1})), (std::vector<double>{8, 9, 10, 11}));
  EXPECT_EQ(vals(min(t, {0})), (std::vector<double>{0, 4, 8}));
  EXPECT_EQ(vals(prod(t.slice(0, 1, 3), {0})), (std::vector<double>{2, 30, 90}));
  Tensor s = x.slice(1, 0, 4, 2);  // columns 0 and 2
  EXPECT_EQ(vals(sum(s, {1})), (std::vector<double>{2, 10, 18}));
  EXPECT_EQ(vals(mean(s, {0})), (std::vector<double>{4, 6}));
  Tensor p = iota({2, 3, 4}).permute({2, 0, 1});  // [4,2,3]; reduce the middle axis
  Tensor pm = sum(p, {1});  // p[k,i,j] = 12i + 4j + k summed over i: 24j... = 8j + 2k + 12
  EXPECT_EQ(pm.shape(), (Shape{4, 3}));
  EXPECT_EQ(vals(pm), (std::vector<double>{12, 20, 28, 14, 22, 30, 16, 24, 32, 18, 26, 34}));
  Tensor e = from_vector(std::vector<double>{1, 2, 3}, {3, 1}, f64).expand({3, 4});  // broadcast view
  EXPECT_EQ(vals(sum(e, {1})), (std::vector<double>{4, 8, 12}));
  EXPECT_EQ(sum(e).item<double>(), 24.0);
}

TEST(Reduce, IntegerSumGivesInt64) {
  Tensor i = from_vector(std::vector<int32_t>{2000000000, 2000000000, 1}, {3});
  Tensor s = sum(i);
  EXPECT_EQ(s.dtype(), i64);
  EXPECT_EQ(s.item<int64_t>(), 4000000001);  // no int32 overflow
  Tensor b = from_vector(std::vector<double>{1, 1, 0, 1}, {2, 2}, boolean);
  EXPECT_EQ(sum(b).dtype(), i64);
  EXPECT_EQ(vals(sum(b, {1})), (std::vector<double>{2, 1}));
  Tensor u = full({300}, 255, u8);
  EXPECT_EQ(sum(u).item<int64_t>(), 76500);
  EXPECT_EQ(prod(from_vector(std::vector<int32_t>{100000, 100000}, {2})).item<int64_t>(), 10000000000);
  EXPECT_EQ(max(from_vector(std::vector<int32_t>{-5, 7, 3}, {3})).dtype(), i32);
  EXPECT_EQ(max(from_vector(std::vector<int32_t>{-5, 7, 3}, {3})).item<int32_t>(), 7);
  EXPECT_EQ(mean(from_vector(std::vector<int32_t>{1, 2}, {2})).item<double>(), 1.5);
}

TEST(Reduce, MeanMaxMinProd) {
  Tensor x = from_vector(std::vector<double>{3, -1, 4, 1, -5, 9}, {2, 3}, f64);
  EXPECT_EQ(mean(x).item<double>(), 11.0 / 6.0);
  EXPECT_EQ(vals(mean(x, {0})), (std::vector<double>{2, -3, 6.5}));
  EXPECT_EQ(vals(max(x, {1})), (std::vector<double>{4, 9}));
  EXPECT_EQ(vals(min(x, {1})), (std::vector<double>{-1, -5}));
  EXPECT_EQ(max(x).item<double>(), 9.0);
  EXPECT_EQ(min(x).item<double>(), -5.0);
  EXPECT_EQ(vals(prod(x, {1})), (std::vector<double>{-12, -45}));
  EXPECT_EQ(prod(x).item<double>(), 540.0);
  EXPECT_EQ(max(x, {0}, true).shape(), (Shape{1, 3}));
  Tensor n = from_vector(std::vector<double>{1, NAN, 3}, {3}, f64);
  EXPECT_TRUE(std::isnan(max(n).item<double>()));
  EXPECT_TRUE(std::isnan(min(n).item<double>()));
  EXPECT_THROW(max(zeros({0})), ValueError);
}

TEST(Reduce, ArgmaxArgminFirstOnTies) {
  Tensor x = from_vector(std::vector<double>{1, 5, 5, 0, 2, 2, 2, 0}, {2, 4}, f64);
  Tensor am = argmax(x, 1);
  EXPECT_EQ(am.dtype(), i64);
  EXPECT_EQ(am.to_vector<int64_t>(), (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(argmin(x, 1).to_vector<int64_t>(), (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(argmax(x, 0).to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 0, 0}));
  EXPECT_EQ(argmin(x, -2).to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 1, 0}));
  EXPECT_EQ(argmax(x, 1, true).shape(), (Shape{2, 1}));
  EXPECT_EQ(argmax(x.t(), 0).to_vector<int64_t>(), (std::vector<int64_t>{1, 0}));  // strided
  EXPECT_EQ(x.argmax(1).to_vector<int64_t>(), (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(argmax(from_vector(std::vector<int32_t>{-3, -1, -1}, {3}), 0).item<int64_t>(), 1);
  EXPECT_THROW(argmax(x, 2), ValueError);
  EXPECT_THROW(argmin(zeros({2, 0}), 1), ValueError);
}

TEST(Reduce, VarAndStd) {
  Tensor x = from_vector(std::vector<double>{1, 2, 3, 4, 2, 4, 6, 8}, {2, 4}, f64);
  EXPECT_DOUBLE_EQ(var(x, {1}).at<double>({0}), 1.25);  // population
  EXPECT_DOUBLE_EQ(var(x, {1}).at<double>({1}), 5.0);
  EXPECT_DOUBLE_EQ(var(x, {1}, false, 1).at<double>({0}), 5.0 / 3.0);  // unbiased
  EXPECT_DOUBLE_EQ(var(x, {1}, false, 1).at<double>({1}), 20.0 / 3.0);
  EXPECT_DOUBLE_EQ(ember::std(x, {1}, false, 1).at<double>({1}), std::sqrt(20.0 / 3.0));
  EXPECT_DOUBLE_EQ(ember::std(x).item<double>(), std::sqrt(37.5 / 8));  // mean 3.75, sum of squared deviations 37.5
  EXPECT_EQ(var(x, {0}, true).shape(), (Shape{1, 4}));
  EXPECT_EQ(vals(var(x, {0})), (std::vector<double>{0.25, 1, 2.25, 4}));
  EXPECT_THROW(var(x, {1}, false, 4), ValueError);
  EXPECT_THROW(var(x, {3}), ValueError);
}

TEST(Reduce, LogsumexpIsStableForHugeValues) {
  Tensor x = from_vector(std::vector<double>{1000, 1000, -1000, 0}, {2, 2}, f64);
  Tensor l = logsumexp(x, {1});
  EXPECT_TRUE(std::isfinite(l.at<double>({0})));
  EXPECT_DOUBLE_EQ(l.at<double>({0}), 1000 + std::log(2.0));
  EXPECT_DOUBLE_EQ(l.at<double>({1}), std::log1p(std::exp(-1000.0)));
  Tensor f = from_vector(std::vector<float>{1000.0f, 999.0f}, {2});
  EXPECT_NEAR(logsumexp(f).item<float>(), 1000.0 + std::log1p(std::exp(-1.0)), 1e-3);
  Tensor small = from_vector(std::vector<double>{-1000, -1000}, {2}, f64);
  EXPECT_DOUBLE_EQ(logsumexp(small).item<double>(), -1000 + std::log(2.0));
  EXPECT_EQ(logsumexp(x, {0}, true).shape(), (Shape{1, 2}));
  Tensor ninf = from_vector(std::vector<double>{-INFINITY, -INFINITY}, {2}, f64);
  EXPECT_EQ(logsumexp(ninf).item<double>(), -INFINITY);
  EXPECT_THROW(logsumexp(x, {2}), ValueError);
}

TEST(Reduce, Norms) {
  Tensor x = from_vector(std::vector<double>{3, -4, 0, 12}, {2, 2}, f64);
  EXPECT_DOUBLE_EQ(norm(x, 1).item<double>(), 19.0);
  EXPECT_DOUBLE_EQ(norm(x, 2).item<double>(), 13.0);
  EXPECT_EQ(vals(norm(x, 2, {1})), (std::vector<double>{5, 12}));
  EXPECT_EQ(vals(norm(x, 1, {0})), (std::vector<double>{3, 16}));
  EXPECT_DOUBLE_EQ(frobenius_norm(x).item<double>(), 13.0);
  EXPECT_THROW(norm(x, 3), ValueError);
  EXPECT_THROW(norm(x, 2, {5}), ValueError);
}

TEST(Reduce, BadAxes) {
  Tensor x = iota({2, 3});
  EXPECT_THROW(sum(x, {2}), ValueError);
  EXPECT_THROW(sum(x, {-3}), ValueError);
  EXPECT_THROW(sum(x, {0, 0}), ValueError);
  EXPECT_THROW(sum(x, {1, -1}), ValueError);
  EXPECT_THROW(mean(x, {2}), ValueError);
  EXPECT_THROW(max(x, {2}), ValueError);
  EXPECT_THROW(min(x, {-5}), ValueError);
  EXPECT_THROW(prod(x, {2}), ValueError);
  EXPECT_THROW(argmin(x, -3), ValueError);
}

TEST(Reduce, ZeroDimInputs) {
  Tensor s = scalar_tensor(2.5, f64);
  EXPECT_EQ(sum(s).item<double>(), 2.5);
  EXPECT_EQ(sum(s, {0}).item<double>(), 2.5);
  EXPECT_EQ(max(s).item<double>(), 2.5);
  EXPECT_EQ(argmax(s, 0).item<int64_t>(), 0);
  EXPECT_THROW(sum(s, {1}), ValueError);
}

TEST(Reduce, ProdGradientWithZeros) {
  // d/dx_i prod(x) = product of the other elements, also where x_i (or another element) is 0.
  Tensor x = from_vector(std::vector<double>{2, 0, 3, 0, 2, 0, 4, 5, 1}, {3, 3}, f64);
  x.requires_grad_();
  prod(x, {1}).sum().backward();
  // row 0: one zero -> [0, 6, 0]; row 1: two zeros -> all 0; row 2: no zero -> [5, 4, 20]
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{0, 6, 0, 0, 0, 0, 5, 4, 20}));
  Tensor y = from_vector(std::vector<float>{0.0f, -2.0f}, {2});
  y.requires_grad_();
  prod(y).backward();
  EXPECT_EQ(y.grad().to_vector<float>(), (std::vector<float>{-2.0f, 0.0f}));
}
