// The backward engine: deep graphs, accumulation, retain_graph, grad mode, detach, and gradcheck
// itself catching a wrong derivative.
#include <cmath>

#include "test_support.hpp"

using namespace ember;

namespace {
Tensor leaf(std::vector<double> v, const Shape& shape) {
  Tensor t = from_vector(v, shape, f64);
  t.requires_grad_();
  return t;
}
std::vector<double> grad_of(const Tensor& t) { return t.grad().to_vector<double>(); }
}  // namespace

TEST(Autograd, LongChainBackwardAndDestruction) {
  Tensor x0 = leaf({1.0}, {1});
  Tensor x = x0;
  for (int i = 0; i < 10000; ++i) x = x * 1.0001 + 0.0;
  Tensor y = x.sum();
  y.backward();
  ASSERT_TRUE(x0.grad().defined());
  EXPECT_NEAR(x0.grad().item<double>(), std::pow(1.0001, 10000), 1e-9 * std::pow(1.0001, 10000));
  EXPECT_NEAR(y.item<double>(), std::pow(1.0001, 10000), 1e-9 * std::pow(1.0001, 10000));
  // Destroying y, then x, frees the whole chain without recursion.
  y = Tensor();
  x = Tensor();
  SUCCEED();
}

TEST(Autograd, HundredThousandOpChainIsDestroyedWithoutStackOverflow) {
  Tensor x0 = leaf({2.0}, {1});
  {
    Tensor x = x0;
    for (int i = 0; i < 100000; ++i) x = x * 1.0;
    EXPECT_FALSE(x.is_leaf());
  }  // chain destroyed here
  // A graph that is still referenced from a captured saved tensor is fine too.
  Tensor x = x0;
  for (int i = 0; i < 100000; ++i) x = x + 1.0;
  EXPECT_EQ(x.item<double>(), 100002.0);
  x.backward();
  EXPECT_EQ(x0.grad().item<double>(), 1.0);
}

TEST(Autograd, GradientsAccumulateAndZeroGradClears) {
  Tensor x = leaf({1, 2, 3}, {3});
  Tensor y = (x * x).sum();  // dy/dx = 2x
  y.backward(Tensor(), /*retain_graph=*/true);
  EXPECT_EQ(grad_of(x), (std::vector<double>{2, 4, 6}));
  y.backward();
  EXPECT_EQ(grad_of(x), (std::vector<double>{4, 8, 12}));
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
  Tensor z = (x * 3.0).sum();
  z.backward();
  EXPECT_EQ(grad_of(x), (std::vector<double>{3, 3, 3}));
}

TEST(Autograd, SecondBackwardThroughAFreedGraphIsAValueError) {
  Tensor x = leaf({1, 2}, {2});
  Tensor y = (x.exp() * 2.0).sum();
  y.backward();
  try {
    y.backward();
    FAIL() << "no exception";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("retain_graph"), std::string::npos) << e.what();
  }
}

TEST(Autograd, NoGradGuard) {
  Tensor x = leaf({1, 2}, {2});
  {
    autograd::NoGradGuard guard;
    EXPECT_FALSE(autograd::grad_enabled());
    Tensor y = x * 2.0 + x.exp();
    EXPECT_FALSE(y.requires_grad());
    EXPECT_TRUE(y.is_leaf());
    {
      autograd::NoGradGuard nested;
    }
    EXPECT_FALSE(autograd::grad_enabled());  // the inner guard restores "off"
  }
  EXPECT_TRUE(autograd::grad_enabled());
  EXPECT_TRUE((x * 2.0).requires_grad());
}

TEST(Autograd, DetachStopsGradients) {
  Tensor x = leaf({1, 2}, {2});
  Tensor d = x.detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_TRUE(d.shares_storage(x));
  Tensor y = (x * d).sum();  // gradient only through the first factor: d
  y.backward();
  EXPECT_EQ(grad_of(x), (std::vector<double>{1, 2}));
  Tensor z = (x * 2.0).detach();
  EXPECT_FALSE(z.requires_grad());
  EXPECT_THROW(z.sum().backward(), ValueError);
}

TEST(Autograd, TensorUsedTwiceGetsBothContributions) {
  Tensor x = leaf({3, -1}, {2});
  (x * x).sum().backward();
  EXPECT_EQ(grad_of(x), (std::vector<double>{6, -2}));
  Tensor w = leaf({2}, {1});
  Tensor h = w * 5.0;                // an interior node used by two consumers
  Tensor y = (h * h + h).sum();      // dy/dw = (2h + 1) * 5 = 105
  y.backward();
  EXPECT_EQ(w.grad().item<double>(), 105.0);
}

TEST(Autograd, NodeThatReceivesNoGradientDoesNotBlockItsInputs) {
  // `c` reaches `where` only as the condition, which carries no gradient; `h` feeds both `c` and
  // the selected value. h must still receive its gradient from the value path.
  Tensor x = leaf({1, -2, 3}, {3});
  Tensor h = x * 2.0;
  Tensor c = h * 1.0;  // float condition: non-zero is true
  Tensor y = where(c, h, zeros({}, f64)).sum();
  y.backward();
  ASSERT_TRUE(x.grad().defined());
  EXPECT_EQ(grad_of(x), (std::vector<double>{2, 2, 2}));
}

TEST(Autograd, LeafGradientsAreIndependentCompactTensors) {
  // The gradient stored on a leaf must not alias the seed, another leaf's gradient, or be a
  // broadcast (stride 0) view: optimizers and clipping update gradients in place.
  Tensor a = leaf({1, 2, 3}, {3}), b = leaf({4, 5, 6}, {3});
  Tensor y = a + b;
  Tensor seed = from_vector(std::vector<double>{1, 1, 1}, {3}, f64);
  y.backward(seed);
  a.grad().mul_(2.0);
  EXPECT_EQ(grad_of(b), (std::vector<double>{1, 1, 1}));
  EXPECT_EQ(seed.to_vector<double>(), (std::vector<double>{1, 1, 1}));
  Tensor x = leaf({1, 2, 3, 4}, {2, 2});
  x.sum().backward();
  EXPECT_TRUE(x.grad().is_contiguous());
  x.grad().mul_(0.5);
  EXPECT_EQ(grad_of(x), (std::vector<double>{0.5, 0.5, 0.5, 0.5}));
}

TEST(Autograd, RequiresGradOnIntegerTensorIsADTypeError) {
  Tensor i = zeros({2}, i32);
  EXPECT_THROW(i.requires_grad_(), DTypeError);
  EXPECT_THROW(zeros({2}, boolean).requires_grad_(), DTypeError);
  EXPECT_NO_THROW(i.requires_grad_(false));
  Tensor x = leaf({1}, {1});
  Tensor y = x * 2.0;
  EXPECT_THROW(y.requires_grad_(false), ValueError);
}

TEST(Autograd, BackwardOnNonScalarNeedsASeed) {
  Tensor x = leaf({1, 2}, {2});
  Tensor y = x * 2.0;
  try {
    y.backward();
    FAIL() << "no exception";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("[2]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(y.backward(ones({3}, f64)), ShapeError);
  y.backward(from_vector(std::vector<double>{1, 10}, {2}, f64));
  EXPECT_EQ(grad_of(x), (std::vector<double>{2, 20}));
}

TEST(Autograd, BroadcastGradientsAreReducedToTheInputShape) {
  Tensor a = leaf({1, 2, 3}, {3, 1}), b = leaf({10, 20}, {2});
  (a * b).sum().backward();
  EXPECT_EQ(a.grad().shape(), (Shape{3, 1}));
  EXPECT_EQ(grad_of(a), (std::vector<double>{30, 30, 30}));
  EXPECT_EQ(grad_of(b), (std::vector<double>{6, 6}));
  Tensor f = from_vector(std::vector<float>{1.0f, 2.0f}, {2});
  f.requires_grad_();
  Tensor y = (f.to(f64) * 3.0).sum();
  y.backward();
  EXPECT_EQ(f.grad().dtype(), f32);  // cast back to the input's dtype
  EXPECT_EQ(f.grad().to_vector<float>(), (std::vector<float>{3, 3}));
}

TEST(Autograd, InPlaceOnATensorThatRequiresGradIsRefused) {
  Tensor x = leaf({1}, {1});
  EXPECT_THROW(x.mul_(2), ValueError);
  {
    autograd::NoGradGuard g;
    x.mul_(2);
  }
  EXPECT_EQ(x.item<double>(), 2.0);
}

namespace {
// Identity whose backward is deliberately wrong (2g instead of g).
Tensor bad_identity(const Tensor& x) {
  Tensor out = x.detach().clone();
  return autograd::record("bad_identity", {x}, out, [] {
    return [](const Tensor& g) { return std::vector<Tensor>{g * 2.0}; };
  });
}
// x² with a correct backward, except element 2 of the gradient is off by 1.
Tensor bad_square(const Tensor& x) {
  Tensor out = (x * x).detach();
  return autograd::record("bad_square", {x}, out, [sx = autograd::saved(x)] {
    return [sx](const Tensor& g) {
      Tensor d = (g * sx * 2.0).contiguous().clone();
      d.data<double>()[2] += 1.0;
      return std::vector<Tensor>{d};
    };
  });
}
}  // namespace

TEST(Autograd, GradcheckDetectsAWrongGradient) {
  Tensor x = ember::testing::random_f64({4}, 301);
  GradcheckResult r = gradcheck([](const std::vector<Tensor>& v) { return bad_identity(v[0]); }, {x});
  EXPECT_FALSE(r.passed);
  EXPECT_GT(r.relative_error, 0.3);  // |2g - g| / (|2g| + |g|) = 1/3
  EXPECT_NE(r.message.find("FAILED"), std::string::npos) << r.message;
  EXPECT_FALSE(ember::testing::gradcheck_ok([](const auto& v) { return bad_identity(v[0]); }, {x}));
  // The correct op passes, and the inputs are left as they were.
  std::vector<double> before = x.to_vector<double>();
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& v) { return v[0] * 1.0; }, {x}).passed);
  EXPECT_EQ(x.to_vector<double>(), before);
  EXPECT_FALSE(x.requires_grad());
}

TEST(Autograd, GradcheckReportsTheWorstElement) {
  Tensor a = ember::testing::random_f64({3}, 302), b = ember::testing::random_f64({5}, 303);
  GradcheckResult r = gradcheck(
      [](const std::vector<Tensor>& v) { return concat({v[0] * 1.0, bad_square(v[1])}, 0); }, {a, b});
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.worst_input, 1u);
  EXPECT_EQ(r.worst_index, 2);
  EXPECT_NEAR(r.worst_analytic - r.worst_numeric, 1.0, 1e-4);  // the planted error
  EXPECT_THROW(gradcheck([](const std::vector<Tensor>& v) { return v[0]; }, {zeros({2})}), DTypeError);
}
