// NumPy broadcasting and type promotion for every binary op family, checked against naive loops.
#include <cmath>
#include <functional>

#include "test_support.hpp"

using namespace ember;

namespace {

// Values of a [2,1,3] and a [4,1] operand and their broadcast [2,4,3] result computed by hand.
Tensor lhs() { return from_vector(std::vector<double>{1, -2, 3, 0.5, 5, -6}, {2, 1, 3}, f64); }
Tensor rhs() { return from_vector(std::vector<double>{2, -1, 0.25, 3}, {4, 1}, f64); }

std::vector<double> naive(const std::function<double(double, double)>& f) {
  std::vector<double> a = lhs().to_vector<double>(), b = rhs().to_vector<double>(), out;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j)
      for (int k = 0; k < 3; ++k) out.push_back(f(a[i * 3 + k], b[j]));
  return out;
}

void expect_matches(const Tensor& got, const std::function<double(double, double)>& f) {
  ASSERT_EQ(got.shape(), (Shape{2, 4, 3}));
  std::vector<double> g = got.to_vector<double>(), e = naive(f);
  for (std::size_t i = 0; i < e.size(); ++i) EXPECT_DOUBLE_EQ(g[i], e[i]) << "element " << i;
}

}  // namespace

TEST(Broadcast, Arithmetic) {
  expect_matches(add(lhs(), rhs()), [](double x, double y) { return x + y; });
  expect_matches(sub(lhs(), rhs()), [](double x, double y) { return x - y; });
  expect_matches(mul(lhs(), rhs()), [](double x, double y) { return x * y; });
  expect_matches(div(lhs(), rhs()), [](double x, double y) { return x / y; });
  expect_matches(maximum(lhs(), rhs()), [](double x, double y) { return std::max(x, y); });
  expect_matches(minimum(lhs(), rhs()), [](double x, double y) { return std::min(x, y); });
  expect_matches(lhs() + rhs(), [](double x, double y) { return x + y; });
  expect_matches(lhs() - rhs(), [](double x, double y) { return x - y; });
  expect_matches(lhs() * rhs(), [](double x, double y) { return x * y; });
  expect_matches(lhs() / rhs(), [](double x, double y) { return x / y; });
  // Operand order must not matter for the shape: rhs op lhs.
  Tensor r = sub(rhs(), lhs());
  ASSERT_EQ(r.shape(), (Shape{2, 4, 3}));
  EXPECT_DOUBLE_EQ(r.at<double>({1, 3, 2}), 3 - (-6));
}

TEST(Broadcast, Pow) {
  Tensor base = from_vector(std::vector<double>{1, 2, 3}, {3}, f64);
  Tensor ex = from_vector(std::vector<double>{0, 2, 0.5}, {3, 1}, f64);
  Tensor p = pow(base, ex);
  ASSERT_EQ(p.shape(), (Shape{3, 3}));
  std::vector<double> e = {1, 1, 1, 1, 4, 9, 1, std::sqrt(2.0), std::sqrt(3.0)};
  std::vector<double> g = p.to_vector<double>();
  for (std::size_t i = 0; i < e.size(); ++i) EXPECT_DOUBLE_EQ(g[i], e[i]);
}

TEST(Broadcast, ComparisonsGiveBool) {
  struct Case {
    Tensor (*op)(const Tensor&, const Tensor&);
    std::function<double(double, double)> f;
  };
  std::vector<Case> cases = {
      {equal, [](double x, double y) { return double(x == y); }},
      {not_equal, [](double x, double y) { return double(x != y); }},
      {less, [](double x, double y) { return double(x < y); }},
      {less_equal, [](double x, double y) { return double(x <= y); }},
      {greater, [](double x, double y) { return double(x > y); }},
      {greater_equal, [](double x, double y) { return double(x >= y); }},
  };
  // Make some elements equal: lhs has 3 and 0.5, rhs 3 and 0.25; use lhs vs rhs and lhs vs lhs-like.
  for (auto& c : cases) {
    Tensor r = c.op(lhs(), rhs());
    EXPECT_EQ(r.dtype(), boolean);
    expect_matches(r, c.f);
  }
  Tensor eq = equal(from_vector(std::vector<double>{3, 1}, {2}, f64), from_vector(std::vector<int64_t>{3}, {1}));
  EXPECT_EQ(eq.dtype(), boolean);
  EXPECT_EQ(eq.to_vector<bool>(), (std::vector<bool>{true, false}));
}

TEST(Broadcast, LogicalOps) {
  Tensor a = from_vector(std::vector<double>{1, 0}, {2, 1}, boolean);
  Tensor b = from_vector(std::vector<double>{1, 0, 1}, {3}, boolean);
  Tensor andr = logical_and(a, b), orr = logical_or(a, b);
  EXPECT_EQ(andr.dtype(), boolean);
  EXPECT_EQ(andr.shape(), (Shape{2, 3}));
  EXPECT_EQ(andr.to_vector<bool>(), (std::vector<bool>{true, false, true, false, false, false}));
  EXPECT_EQ(orr.to_vector<bool>(), (std::vector<bool>{true, true, true, true, false, true}));
  // Numbers are truthy when non-zero.
  Tensor n = from_vector(std::vector<double>{0.0, -2.5}, {2}, f32);
  EXPECT_EQ(logical_not(n).to_vector<bool>(), (std::vector<bool>{true, false}));
  EXPECT_EQ(logical_and(n, ones({1}, i32)).to_vector<bool>(), (std::vector<bool>{false, true}));
  EXPECT_THROW(logical_or(zeros({2}), zeros({3})), ShapeError);
}

TEST(Broadcast, WhereBroadcastsAllThree) {
  Tensor cond = from_vector(std::vector<double>{1, 0, 1}, {3}, boolean);   // [3]
  Tensor a = from_vector(std::vector<double>{10, 20}, {2, 1}, f64);         // [2,1]
  Tensor b = scalar_tensor(-1, f32);                                         // []
  Tensor w = where(cond, a, b);
  EXPECT_EQ(w.shape(), (Shape{2, 3}));
  EXPECT_EQ(w.dtype(), f64);
  EXPECT_EQ(w.to_vector<double>(), (std::vector<double>{10, -1, 10, 20, -1, 20}));
  Tensor wi = where(from_vector(std::vector<double>{0, 1}, {2, 1}, boolean), ones({3}, i32), zeros({3}, i64));
  EXPECT_EQ(wi.dtype(), i64);
  EXPECT_EQ(wi.to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 0, 1, 1, 1}));
  EXPECT_THROW(where(cond, zeros({4}), zeros({3})), ShapeError);
}

TEST(Broadcast, TypePromotion) {
  Tensor i = from_vector(std::vector<int32_t>{1, 2}, {2});
  Tensor f = from_vector(std::vector<float>{0.5f, 0.25f}, {2});
  Tensor s = add(i, f);
  EXPECT_EQ(s.dtype(), f32);
  EXPECT_EQ(s.to_vector<float>(), (std::vector<float>{1.5f, 2.25f}));
  Tensor b = from_vector(std::vector<double>{1, 0}, {2}, boolean);
  Tensor l = from_vector(std::vector<int64_t>{10, 20}, {2});
  Tensor bl = add(b, l);
  EXPECT_EQ(bl.dtype(), i64);
  EXPECT_EQ(bl.to_vector<int64_t>(), (std::vector<int64_t>{11, 20}));
  EXPECT_EQ(add(from_vector(std::vector<uint8_t>{200}, {1}), from_vector(std::vector<int32_t>{100}, {1})).dtype(), i32);
  EXPECT_EQ(add(from_vector(std::vector<uint8_t>{200}, {1}), from_vector(std::vector<int32_t>{100}, {1})).item<int32_t>(), 300);
  EXPECT_EQ(mul(f, zeros({2}, f64)).dtype(), f64);
  EXPECT_EQ(add(zeros({1}, i64), zeros({1}, f32)).dtype(), f32);
  EXPECT_EQ(promote_types(boolean, u8), u8);
  EXPECT_EQ(promote_types(i32, i64), i64);
  EXPECT_EQ(promote_types(f64, i64), f64);
}

TEST(Broadcast, ScalarsTakeTheTensorsDType) {
  Tensor i = from_vector(std::vector<int32_t>{1, 2}, {2});
  Tensor h = i * 0.5;  // a floating scalar with an integer tensor gives float32
  EXPECT_EQ(h.dtype(), f32);
  EXPECT_EQ(h.to_vector<float>(), (std::vector<float>{0.5f, 1.0f}));
  EXPECT_EQ((0.5 + i).dtype(), f32);
  Tensor k = i + 3;  // an integer scalar keeps int32
  EXPECT_EQ(k.dtype(), i32);
  EXPECT_EQ(k.to_vector<int32_t>(), (std::vector<int32_t>{4, 5}));
  Tensor f = from_vector(std::vector<float>{1.0f}, {1});
  EXPECT_EQ((f * 2.0).dtype(), f32);  // a double scalar does not widen a float32 tensor
  EXPECT_EQ((f + 1).dtype(), f32);
  Tensor b = from_vector(std::vector<double>{1, 0}, {2}, boolean);
  EXPECT_EQ((b + 1).dtype(), i64);
  EXPECT_EQ((b + 1).to_vector<int64_t>(), (std::vector<int64_t>{2, 1}));
  EXPECT_EQ((10 - i).to_vector<int32_t>(), (std::vector<int32_t>{9, 8}));
  EXPECT_EQ((3.0 / from_vector(std::vector<double>{2}, {1}, f64)).item<double>(), 1.5);
}

TEST(Broadcast, IntegerDivisionGivesFloat) {
  Tensor a = from_vector(std::vector<int32_t>{7, -7, 1}, {3});
  Tensor b = from_vector(std::vector<int32_t>{2}, {1});
  Tensor q = div(a, b);
  EXPECT_TRUE(is_floating(q.dtype()));
  EXPECT_EQ(q.to_vector<double>(), (std::vector<double>{3.5, -3.5, 0.5}));
  Tensor q2 = from_vector(std::vector<int64_t>{1}, {1}) / 4;
  EXPECT_TRUE(is_floating(q2.dtype()));
  EXPECT_EQ(q2.item<double>(), 0.25);
}

TEST(Broadcast, StridedOperandsBroadcastToo) {
  Tensor m = arange(0, 6, 1, f64).reshape({2, 3}).t();  // [3,2] strided
  Tensor r = from_vector(std::vector<double>{100, 200}, {2}, f64);
  EXPECT_EQ(add(m, r).to_vector<double>(), (std::vector<double>{100, 203, 101, 204, 102, 205}));
  Tensor c = m.slice(0, 0, 3, 2);  // rows 0, 2
  EXPECT_EQ(mul(c, r).to_vector<double>(), (std::vector<double>{0, 600, 200, 1000}));
}

TEST(Broadcast, BadBroadcastNamesBothShapes) {
  auto check = [](const std::function<void()>& f) {
    try {
      f();
      ADD_FAILURE() << "no exception";
    } catch (const ShapeError& e) {
      std::string m = e.what();
      EXPECT_NE(m.find("[2,3]"), std::string::npos) << m;
      EXPECT_NE(m.find("[4]"), std::string::npos) << m;
    }
  };
  Tensor a = zeros({2, 3}), b = zeros({4});
  check([&] { add(a, b); });
  check([&] { sub(a, b); });
  check([&] { mul(a, b); });
  check([&] { div(a, b); });
  check([&] { pow(a, b); });
  check([&] { maximum(a, b); });
  check([&] { minimum(a, b); });
  check([&] { less(a, b); });
  check([&] { equal(a, b); });
  check([&] { logical_and(a, b); });
  check([&] { where(a, a, b); });
  EXPECT_THROW(broadcast_shapes({3, 2}, {2, 3}, "test"), ShapeError);
  EXPECT_EQ(broadcast_shapes({5, 1, 4}, {3, 1}, "test"), (Shape{5, 3, 4}));
  EXPECT_EQ(broadcast_shapes({}, {2, 0}, "test"), (Shape{2, 0}));
}
