// Variables, tf.gradients and the TF1 optimizers. Expected values are the TF1 update formulas
// computed here in double precision, or the eager gradients of the same function.
#include <gtest/gtest.h>

#include <cmath>

#include "ember/autograd/autograd.hpp"
#include "ember/graph/graph.hpp"
#include "ember/graph/ops.hpp"
#include "ember/graph/session.hpp"
#include "ember/graph/train.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/linalg.hpp"
#include "ember/ops/losses.hpp"
#include "ember/ops/reduce.hpp"
#include "test_support.hpp"

using namespace ember;
namespace g = ember::graph;
using ember::testing::message_of;

namespace {
Tensor vec(std::vector<float> v) {
  int64_t n = static_cast<int64_t>(v.size());
  return from_vector(v, {n});
}
}  // namespace

TEST(GraphVariables, InitializerAssignAndUninitializedError) {
  g::Graph graph;
  g::GraphScope scope(graph);
  g::Variable w(vec({1, 2}), {.name = "w"});
  g::Variable c(g::constant(5.0, i64), {.trainable = false, .name = "counter"});
  auto inc = c.assign_add(g::constant(1.0, i64));
  auto set = w.assign(g::constant(vec({7, 8})));
  auto dec = w.assign_sub(g::constant(vec({1, 1})));
  EXPECT_EQ(w.name(), "w");
  EXPECT_EQ(graph.get_operation_by_name("w/Assign").type(), "Assign");
  EXPECT_EQ(g::trainable_variables(graph).size(), 1u);
  EXPECT_EQ(g::global_variables(graph).size(), 2u);
  g::Session s(graph);
  std::string m = message_of<ValueError>([&] { s.run(w.value()); });
  EXPECT_NE(m.find("'w'"), std::string::npos) << m;
  s.run(g::global_variables_initializer(graph));
  EXPECT_EQ(s.run(w.value()).to_vector<float>(), (std::vector<float>{1, 2}));
  s.run(inc);
  EXPECT_EQ(s.run(inc).item<int64_t>(), 7);
  s.run(set);
  EXPECT_EQ(s.run(dec).to_vector<float>(), (std::vector<float>{6, 7}));
  EXPECT_EQ(s.run(w.value()).to_vector<float>(), (std::vector<float>{6, 7}));
  // TF1 dtype strictness on assignment too.
  EXPECT_THROW(w.assign(g::constant(1.0, i32)), DTypeError);
  // A second session has its own variable values.
  g::Session s2(graph);
  EXPECT_THROW(s2.run(w.value()), ValueError);
}

TEST(GraphGradients, SquareSumGradIsTwoX) {
  g::Graph graph;
  g::GraphScope scope(graph);
  g::Variable x(vec({1, -2, 3}), {.name = "x"});
  auto y = g::reduce_sum(g::square(x));
  auto other = g::placeholder(f32, {}, "other");
  auto grads = g::gradients({y}, {x, other});
  ASSERT_EQ(grads.size(), 2u);
  EXPECT_TRUE(grads[0].valid());
  EXPECT_FALSE(grads[1].valid());  // TF's None: y does not depend on `other`
  EXPECT_EQ(grads[0].shape().str(), "(3,)");
  g::Session s(graph);
  s.run(g::global_variables_initializer(graph));
  EXPECT_EQ(s.run(grads[0]).to_vector<float>(), (std::vector<float>{2, -4, 6}));
  // grad_ys scales the seed; two ys sum.
  auto y2 = g::reduce_sum(x * g::constant(vec({1, 1, 1})));
  auto gs = g::gradients({y, y2}, {x}, {g::constant(3.0), g::constant(1.0)});
  EXPECT_EQ(s.run(gs[0]).to_vector<float>(), (std::vector<float>{7, -11, 19}));
  // A fetch of a None gradient is an error.
  EXPECT_THROW(s.run(grads[1]), ValueError);
}

TEST(GraphGradients, WithRespectToAFedPlaceholder) {
  g::Graph graph;
  g::GraphScope scope(graph);
  auto x = g::placeholder(f32, {-1}, "x");
  auto y = g::reduce_sum(g::exp(x));
  auto dx = g::gradients({y}, {x})[0];
  g::Session s(graph);
  Tensor xv = vec({0, 1, -1});
  std::vector<float> got = s.run(dx, {{x, xv}}).to_vector<float>();
  std::vector<float> want = ember::exp(xv).to_vector<float>();
  EXPECT_EQ(got, want);
}

// The graph runs the eager forward and backward: gradients equal eager autograd's bit for bit.
TEST(GraphGradients, SoftmaxRegressionGradientsEqualEager) {
  Tensor xv = ember::testing::random_f64({8, 5}, 1).to(f32);
  Tensor wv = ember::testing::random_f64({5, 3}, 2).to(f32);
  Tensor bv = ember::testing::random_f64({3}, 3).to(f32);
  Tensor yv = ember::one_hot(from_vector(std::vector<int64_t>{0, 1, 2, 0, 1, 2, 0, 1}, {8}), 3);
  // Eager.
  Tensor w = wv.clone().requires_grad_(), b = bv.clone().requires_grad_();
  Tensor loss = ember::mean(ember::softmax_cross_entropy_with_logits(yv, ember::matmul(xv, w) + b));
  loss.backward();
  // Graph.
  g::Graph graph;
  g::GraphScope scope(graph);
  auto X = g::placeholder(f32, {-1, 5}, "X");
  auto Y = g::placeholder(f32, {-1, 3}, "Y");
  g::Variable W(wv, {.name = "W"}), B(bv, {.name = "b"});
  auto cost = g::reduce_mean(g::nn::softmax_cross_entropy_with_logits(Y, g::matmul(X, W) + B));
  auto grads = g::gradients({cost}, {W, B});
  g::Session s(graph);
  s.run(g::global_variables_initializer(graph));
  auto out = s.run({cost, grads[0], grads[1]}, {{X, xv}, {Y, yv}});
  EXPECT_EQ(g::as_tensor(out[0]).item<float>(), loss.item<float>());
  EXPECT_EQ(g::as_tensor(out[1]).to_vector<float>(), w.grad().to_vector<float>());
  EXPECT_EQ(g::as_tensor(out[2]).to_vector<float>(), b.grad().to_vector<float>());
}

// ---- optimizers: loss = sum(w^2), g = 2w, against the TF1 formulas in double --------------------

namespace {
struct Run {
  std::vector<std::vector<double>> steps;  // w after each step
};
Run run_optimizer(g::Optimizer& opt, std::vector<float> w0, int steps, bool with_global_step = false) {
  g::Graph graph;
  g::GraphScope scope(graph);
  g::Variable w(vec(w0), {.name = "w"});
  g::Variable gs(g::constant(0.0, i64), {.trainable = false, .name = "global_step"});
  auto loss = g::reduce_sum(g::square(w));
  g::Operation train = with_global_step ? opt.minimize(loss, gs) : opt.minimize(loss);
  g::Session s(graph);
  s.run(g::global_variables_initializer(graph));
  Run r;
  for (int i = 0; i < steps; ++i) {
    s.run(train);
    auto v = s.run(w.value()).to_vector<float>();
    r.steps.emplace_back(v.begin(), v.end());
  }
  if (with_global_step) {
    EXPECT_EQ(s.run(gs.value()).item<int64_t>(), steps);
  }
  return r;
}
void expect_close(const Run& r, const std::vector<std::vector<double>>& want, double tol = 1e-5) {
  ASSERT_EQ(r.steps.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i)
    for (size_t j = 0; j < want[i].size(); ++j) EXPECT_NEAR(r.steps[i][j], want[i][j], tol) << "step " << i << " [" << j << "]";
}
}  // namespace

TEST(GraphOptimizers, GradientDescent) {
  g::GradientDescentOptimizer opt(0.1);
  expect_close(run_optimizer(opt, {1, -2}, 2, true), {{0.8, -1.6}, {0.64, -1.28}});
}

TEST(GraphOptimizers, MomentumAndNesterovFollowTF1) {
  for (bool nesterov : {false, true}) {
    const double lr = 0.1, mu = 0.9;
    std::vector<double> w{1, -2}, acc{0, 0};
    std::vector<std::vector<double>> want;
    for (int t = 0; t < 4; ++t) {
      for (size_t j = 0; j < w.size(); ++j) {
        double gj = 2 * w[j];
        acc[j] = mu * acc[j] + gj;
        w[j] -= nesterov ? lr * gj + lr * mu * acc[j] : lr * acc[j];
      }
      want.push_back(w);
    }
    g::MomentumOptimizer opt({.learning_rate = lr, .momentum = mu, .use_nesterov = nesterov});
    expect_close(run_optimizer(opt, {1, -2}, 4), want);
  }
}

TEST(GraphOptimizers, AdamFollowsTF1WithEpsilon1e8) {
  const double lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  std::vector<double> w{1, -2, 1e-3}, m(3, 0), v(3, 0);
  std::vector<std::vector<double>> want;
  for (int t = 1; t <= 4; ++t) {
    double lr_t = lr * std::sqrt(1 - std::pow(b2, t)) / (1 - std::pow(b1, t));
    for (size_t j = 0; j < w.size(); ++j) {
      double gj = 2 * w[j];
      m[j] = b1 * m[j] + (1 - b1) * gj;
      v[j] = b2 * v[j] + (1 - b2) * gj * gj;
      w[j] -= lr_t * m[j] / (std::sqrt(v[j]) + eps);
    }
    want.push_back(w);
  }
  g::AdamOptimizer opt({.learning_rate = lr});
  expect_close(run_optimizer(opt, {1, -2, 1e-3f}, 4), want);
  EXPECT_EQ(g::AdamOptions{}.epsilon, 1e-8);
}

TEST(GraphOptimizers, AdagradFollowsTF1) {
  const double lr = 0.5;
  std::vector<double> w{1, -2}, acc(2, 0.1);
  std::vector<std::vector<double>> want;
  for (int t = 0; t < 3; ++t) {
    for (size_t j = 0; j < w.size(); ++j) {
      double gj = 2 * w[j];
      acc[j] += gj * gj;
      w[j] -= lr * gj / std::sqrt(acc[j]);
    }
    want.push_back(w);
  }
  g::AdagradOptimizer opt({.learning_rate = lr});
  expect_close(run_optimizer(opt, {1, -2}, 3), want);
}

TEST(GraphOptimizers, RMSPropFollowsTF1WithMeanSquareStartingAtOne) {
  for (double momentum : {0.0, 0.5}) {
    const double lr = 0.1, decay = 0.9, eps = 1e-10;
    std::vector<double> w{1, -2}, ms(2, 1.0), mom(2, 0.0);
    std::vector<std::vector<double>> want;
    for (int t = 0; t < 3; ++t) {
      for (size_t j = 0; j < w.size(); ++j) {
        double gj = 2 * w[j];
        ms[j] = decay * ms[j] + (1 - decay) * gj * gj;
        mom[j] = momentum * mom[j] + lr * gj / std::sqrt(ms[j] + eps);
        w[j] -= mom[j];
      }
      want.push_back(w);
    }
    g::RMSPropOptimizer opt({.learning_rate = lr, .momentum = momentum});
    expect_close(run_optimizer(opt, {1, -2}, 3), want);
  }
}

// The notes' recipe: compute_gradients, clip_by_global_norm, apply_gradients.
TEST(GraphOptimizers, ClipByGlobalNormBetweenComputeAndApply) {
  g::Graph graph;
  g::GraphScope scope(graph);
  g::Variable a(vec({3}), {.name = "a"}), b(vec({4}), {.name = "b"});
  auto loss = g::reduce_sum(g::square(a)) + g::reduce_sum(g::square(b));  // grads (6, 8): norm 10
  g::GradientDescentOptimizer opt(1.0);
  g::GradsAndVars gv = opt.compute_gradients(loss);
  auto [clipped, norm] = g::clip_by_global_norm({gv[0].first, gv[1].first}, 5.0);
  auto train = opt.apply_gradients({{clipped[0], gv[0].second}, {clipped[1], gv[1].second}});
  g::Session s(graph);
  s.run(g::global_variables_initializer(graph));
  auto out = s.run({train, norm});
  EXPECT_NEAR(g::as_tensor(out[1]).item<float>(), 10.0f, 1e-6);
  EXPECT_NEAR(s.run(a.value()).item<float>(), 3 - 3.0f, 1e-6);  // 6 * 5/10
  EXPECT_NEAR(s.run(b.value()).item<float>(), 4 - 4.0f, 1e-6);  // 8 * 5/10
}

// One run fetching [train_op, loss] evaluates the forward once: the loss is the pre-update value.
TEST(GraphOptimizers, TrainOpAndLossInOneRun) {
  g::Graph graph;
  g::GraphScope scope(graph);
  g::Variable w(vec({1, -2}), {.name = "w"});
  auto loss = g::reduce_sum(g::square(w));
  auto train = g::GradientDescentOptimizer(0.1).minimize(loss);
  g::Session s(graph);
  s.run(g::global_variables_initializer(graph));
  auto out = s.run({train, loss});
  EXPECT_EQ(g::as_tensor(out[1]).item<float>(), 5.0f);
  EXPECT_NEAR(s.run(loss).item<float>(), 0.64f * 5.0f, 1e-6);
}

// ---- variable_scope / get_variable ----------------------------------------------------------------

TEST(GraphVariableScope, GetVariableNamesReuseAndErrors) {
  g::Graph graph;
  g::GraphScope scope(graph);
  g::Variable w, w_again;
  g::Output h;
  {
    g::VariableScope vs("layer1");
    w = g::get_variable("w", {3, 2}, {.initializer = g::constant_initializer(0.5)});
    h = g::matmul(g::placeholder(f32, {-1, 3}, "x"), w);
    EXPECT_NE(message_of<ValueError>([&] { g::get_variable("w", {3, 2}); }).find("layer1/w already exists"), std::string::npos);
  }
  {
    g::VariableScope vs("layer1", {.reuse = true});
    w_again = g::get_variable("w", {3, 2});
    EXPECT_NE(message_of<ValueError>([&] { g::get_variable("v", {1}); }).find("layer1/v does not exist"), std::string::npos);
    EXPECT_THROW(g::get_variable("w", {2, 3}), ShapeError);
    g::Output op_inside = g::constant(1.0);
    EXPECT_EQ(op_inside.name(), "layer1_1/Const:0");  // ops get a fresh name scope
  }
  EXPECT_EQ(w.name(), "layer1/w");
  EXPECT_EQ(w_again.value(), w.value());
  EXPECT_EQ(h.name(), "layer1/MatMul:0");
  EXPECT_EQ(graph.get_tensor_by_name("layer1/w:0"), w.value());
  {
    g::VariableScope outer("a");
    g::VariableScope inner("b");
    EXPECT_EQ(g::get_variable("bias", {2}, {.initializer = g::constant_initializer(0)}).name(), "a/b/bias");
  }
  g::Session s(graph);
  s.run(g::global_variables_initializer(graph));
  EXPECT_EQ(s.run(w.value()).to_vector<float>(), std::vector<float>(6, 0.5f));
}

TEST(GraphVariableScope, GlorotUniformDefaultStaysWithinTheLimit) {
  g::Graph graph;
  g::GraphScope scope(graph);
  g::Variable w = g::get_variable("w", {784, 10});
  g::Session s(graph);
  s.run(g::global_variables_initializer(graph));
  const double limit = std::sqrt(6.0 / (784 + 10));
  Tensor v = s.run(w.value());
  EXPECT_LE(ember::max(ember::abs(v)).item<float>(), limit);
  EXPECT_GT(ember::max(ember::abs(v)).item<float>(), 0.9 * limit);  // spread over the range
}

// A schedule of optim/ sees global_step (TF1), not the number of updates this op has applied.
TEST(GraphOptimizers, LearningRateScheduleTakesGlobalStep) {
  g::Graph graph;
  g::GraphScope scope(graph);
  g::Variable w(vec({1}), {.name = "w"});
  g::Variable step(g::constant(10.0, i64), {.trainable = false, .name = "global_step"});
  auto loss = g::reduce_sum(w * w);  // g = 2w
  g::GradientDescentOptimizer opt(optim::LearningRate([](int64_t t) { return t == 10 ? 0.25 : 0.0; }));
  auto train = opt.minimize(loss, step);
  g::Session s(graph);
  s.run(g::global_variables_initializer(graph));
  s.run(train);  // lr(10) = 0.25: w = 1 - 0.25 * 2 = 0.5
  EXPECT_EQ(s.run(w.value()).item<float>(), 0.5f);
  s.run(train);  // lr(11) = 0
  EXPECT_EQ(s.run(w.value()).item<float>(), 0.5f);
  EXPECT_EQ(s.run(step.value()).item<int64_t>(), 12);
}
