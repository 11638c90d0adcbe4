// Graph mode against eager mode: the same computations give the same bits, because a graph node
// calls the eager op and gradients run the eager backward engine.
#include <gtest/gtest.h>

#include <functional>

#include "ember/autograd/autograd.hpp"
#include "ember/graph/graph.hpp"
#include "ember/graph/ops.hpp"
#include "ember/graph/session.hpp"
#include "ember/graph/train.hpp"
#include "ember/ops/activation.hpp"
#include "ember/ops/conv.hpp"
#include "ember/ops/pool.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/linalg.hpp"
#include "ember/ops/losses.hpp"
#include "ember/ops/reduce.hpp"
#include "ember/ops/shape.hpp"
#include "ember/ops/softmax.hpp"
#include "ember/optim/optimizer.hpp"
#include "test_support.hpp"

using namespace ember;
namespace g = ember::graph;

namespace {
Tensor rnd(const Shape& s, uint64_t seed, double lo = -1, double hi = 1) {
  return ember::testing::random_f64(s, seed, lo, hi).to(f32);
}
}  // namespace

// The MLP of the notes (two dense layers, relu, softmax cross-entropy, gradient descent): 50 steps
// on the same initial weights and batches give bit-identical losses and weights.
TEST(GraphEquivalence, MlpLossesBitIdenticalToEagerOver50Steps) {
  const int64_t batch = 16, n_in = 20, n_hidden = 12, n_out = 5;
  const double lr = 0.3;
  Tensor w1 = rnd({n_in, n_hidden}, 1, -0.3, 0.3), b1 = rnd({n_hidden}, 2, -0.1, 0.1);
  Tensor w2 = rnd({n_hidden, n_out}, 3, -0.3, 0.3), b2 = rnd({n_out}, 4, -0.1, 0.1);
  std::vector<Tensor> xs, ys;
  for (int step = 0; step < 50; ++step) {
    xs.push_back(rnd({batch, n_in}, 100 + step));
    // A learnable task: the class is the largest of the first n_out features.
    ys.push_back(ember::one_hot(ember::argmax(ember::slice(xs.back(), 1, 0, n_out), 1), n_out));
  }
  // Eager, with the optimizer's update rule (optim::SGD).
  std::vector<float> eager_losses;
  Tensor ew1 = w1.clone().requires_grad_(), eb1 = b1.clone().requires_grad_();
  Tensor ew2 = w2.clone().requires_grad_(), eb2 = b2.clone().requires_grad_();
  optim::SGD sgd({.learning_rate = lr});
  optim::NamedParams params{{"w1", ew1}, {"b1", eb1}, {"w2", ew2}, {"b2", eb2}};
  for (int step = 0; step < 50; ++step) {
    Tensor hidden = ember::relu(ember::matmul(xs[step], ew1) + eb1);
    Tensor logits = ember::matmul(hidden, ew2) + eb2;
    Tensor loss = ember::mean(ember::softmax_cross_entropy_with_logits(ys[step], logits));
    loss.backward();
    sgd.step(params);
    for (auto& [name, p] : params) p.zero_grad();
    eager_losses.push_back(loss.item<float>());
  }
  // Graph.
  g::Graph graph;
  g::GraphScope scope(graph);
  auto x = g::placeholder(f32, {-1, n_in}, "x");
  auto y = g::placeholder(f32, {-1, n_out}, "y");
  g::Variable W1(w1, {.name = "W1"}), B1(b1, {.name = "b1"}), W2(w2, {.name = "W2"}), B2(b2, {.name = "b2"});
  auto hidden = g::nn::relu(g::add(g::matmul(x, W1), B1));
  auto logits = g::add(g::matmul(hidden, W2), B2);
  auto cost = g::reduce_mean(g::nn::softmax_cross_entropy_with_logits(y, logits));
  auto train = g::GradientDescentOptimizer(lr).minimize(cost);
  g::Session s(graph);
  s.run(g::global_variables_initializer());
  for (int step = 0; step < 50; ++step) {
    auto out = s.run({train, cost}, {{x, xs[step]}, {y, ys[step]}});
    ASSERT_EQ(g::as_tensor(out[1]).item<float>(), eager_losses[step]) << "step " << step;
  }
  EXPECT_EQ(s.run(W1.value()).to_vector<float>(), ew1.to_vector<float>());
  EXPECT_EQ(s.run(B2.value()).to_vector<float>(), eb2.to_vector<float>());
  EXPECT_LT(eager_losses.back(), eager_losses.front());  // it trained
}

// ---- the wrapped op list: each symbolic op against its eager function on the same inputs --------

struct OpCase {
  const char* name;
  std::vector<Shape> shapes;  // inputs (f32 in [-1, 1) unless `positive`)
  std::function<g::Output(const std::vector<g::Output>&)> symbolic;
  std::function<Tensor(const std::vector<Tensor>&)> eager;
  bool positive = false;
};

// Test names carry the op name, not the bytes of the struct (CTest lists them).
void PrintTo(const OpCase& c, std::ostream* os) { *os << c.name; }

class GraphOpList : public ::testing::TestWithParam<OpCase> {};

TEST_P(GraphOpList, SymbolicEqualsEagerAndStaticShapeIsRight) {
  const OpCase& c = GetParam();
  std::vector<Tensor> values;
  for (size_t i = 0; i < c.shapes.size(); ++i)
    values.push_back(rnd(c.shapes[i], 10 + i, c.positive ? 0.1 : -1, c.positive ? 2 : 1));
  Tensor want = c.eager(values);
  g::Graph graph;
  g::GraphScope scope(graph);
  std::vector<g::Output> ins;
  g::FeedDict feeds;
  for (size_t i = 0; i < values.size(); ++i) {
    // The first dimension unknown, as a batch placeholder.
    std::vector<int64_t> dims(values[i].shape().begin(), values[i].shape().end());
    if (!dims.empty()) dims[0] = -1;
    ins.push_back(g::placeholder(f32, g::PartialShape(dims)));
    feeds.emplace_back(ins.back(), values[i]);
  }
  g::Output out = c.symbolic(ins);
  g::Session s(graph);
  Tensor got = s.run(out, feeds);
  ASSERT_EQ(got.dtype(), want.dtype());
  ASSERT_EQ(got.shape(), want.shape());
  EXPECT_TRUE(out.shape().compatible_with(got.shape())) << out.shape().str();
  EXPECT_EQ(out.dtype(), want.dtype());
  EXPECT_EQ(cast(got, f64).to_vector<double>(), cast(want, f64).to_vector<double>());
}

using V = std::vector<g::Output>;
using T = std::vector<Tensor>;
INSTANTIATE_TEST_SUITE_P(
    Ops, GraphOpList,
    ::testing::Values(
        OpCase{"add", {{4, 3}, {3}}, [](V i) { return g::add(i[0], i[1]); }, [](T t) { return ember::add(t[0], t[1]); }},
        OpCase{"subtract", {{4, 3}, {4, 3}}, [](V i) { return i[0] - i[1]; }, [](T t) { return ember::sub(t[0], t[1]); }},
        OpCase{"multiply", {{4, 3}, {4, 1}}, [](V i) { return i[0] * i[1]; }, [](T t) { return ember::mul(t[0], t[1]); }},
        OpCase{"divide", {{4, 3}, {4, 3}}, [](V i) { return i[0] / i[1]; }, [](T t) { return ember::div(t[0], t[1]); }, true},
        OpCase{"maximum", {{4, 3}, {4, 3}}, [](V i) { return g::maximum(i[0], i[1]); }, [](T t) { return ember::maximum(t[0], t[1]); }},
        OpCase{"minimum", {{4, 3}, {4, 3}}, [](V i) { return g::minimum(i[0], i[1]); }, [](T t) { return ember::minimum(t[0], t[1]); }},
        OpCase{"pow", {{4, 3}, {4, 3}}, [](V i) { return g::pow(i[0], i[1]); }, [](T t) { return ember::pow(t[0], t[1]); }, true},
        OpCase{"equal", {{4, 3}, {4, 3}}, [](V i) { return g::equal(i[0], i[0]); }, [](T t) { return ember::equal(t[0], t[0]); }},
        OpCase{"not_equal", {{4, 3}, {4, 3}}, [](V i) { return g::not_equal(i[0], i[1]); }, [](T t) { return ember::not_equal(t[0], t[1]); }},
        OpCase{"less", {{4, 3}, {4, 3}}, [](V i) { return g::less(i[0], i[1]); }, [](T t) { return ember::less(t[0], t[1]); }},
        OpCase{"greater", {{4, 3}, {4, 3}}, [](V i) { return g::greater(i[0], i[1]); }, [](T t) { return ember::greater(t[0], t[1]); }},
        OpCase{"matmul", {{4, 3}, {3, 2}}, [](V i) { return g::matmul(i[0], i[1]); }, [](T t) { return ember::matmul(t[0], t[1]); }},
        OpCase{"negative", {{4, 3}}, [](V i) { return -i[0]; }, [](T t) { return ember::neg(t[0]); }},
        OpCase{"exp", {{4, 3}}, [](V i) { return g::exp(i[0]); }, [](T t) { return ember::exp(t[0]); }},
        OpCase{"log", {{4, 3}}, [](V i) { return g::log(i[0]); }, [](T t) { return ember::log(t[0]); }, true},
        OpCase{"sqrt", {{4, 3}}, [](V i) { return g::sqrt(i[0]); }, [](T t) { return ember::sqrt(t[0]); }, true},
        OpCase{"square", {{4, 3}}, [](V i) { return g::square(i[0]); }, [](T t) { return ember::square(t[0]); }},
        OpCase{"abs", {{4, 3}}, [](V i) { return g::abs(i[0]); }, [](T t) { return ember::abs(t[0]); }},
        OpCase{"cast", {{4, 3}}, [](V i) { return g::cast(i[0], i32); }, [](T t) { return ember::cast(t[0], i32); }},
        OpCase{"reduce_sum", {{4, 3}}, [](V i) { return g::reduce_sum(i[0], {1}); }, [](T t) { return ember::sum(t[0], {1}); }},
        OpCase{"reduce_mean", {{4, 3}}, [](V i) { return g::reduce_mean(i[0]); }, [](T t) { return ember::mean(t[0]); }},
        OpCase{"reduce_max", {{4, 3}}, [](V i) { return g::reduce_max(i[0], {0}, true); }, [](T t) { return ember::max(t[0], {0}, true); }},
        OpCase{"argmax", {{4, 3}}, [](V i) { return g::argmax(i[0], 1); }, [](T t) { return ember::argmax(t[0], 1); }},
        OpCase{"reshape", {{4, 3}}, [](V i) { return g::reshape(i[0], {-1, 2}); }, [](T t) { return ember::reshape(t[0], {-1, 2}); }},
        OpCase{"one_hot", {{4}}, [](V i) { return g::one_hot(g::cast(g::abs(i[0] * i[0]), i64), 3); },
               [](T t) { return ember::one_hot(ember::cast(ember::abs(t[0] * t[0]), i64), 3); }},
        OpCase{"relu", {{4, 3}}, [](V i) { return g::nn::relu(i[0]); }, [](T t) { return ember::relu(t[0]); }},
        OpCase{"sigmoid", {{4, 3}}, [](V i) { return g::nn::sigmoid(i[0]); }, [](T t) { return ember::sigmoid(t[0]); }},
        OpCase{"tanh", {{4, 3}}, [](V i) { return g::nn::tanh(i[0]); }, [](T t) { return ember::tanh(t[0]); }},
        OpCase{"softmax", {{4, 3}}, [](V i) { return g::nn::softmax(i[0]); }, [](T t) { return ember::softmax(t[0]); }},
        OpCase{"softmax_cross_entropy_with_logits", {{4, 3}, {4, 3}},
               [](V i) { return g::nn::softmax_cross_entropy_with_logits(g::nn::softmax(i[0]), i[1]); },
               [](T t) { return ember::softmax_cross_entropy_with_logits(ember::softmax(t[0]), t[1]); }},
        OpCase{"sparse_softmax_cross_entropy_with_logits", {{4}, {4, 3}},
               [](V i) { return g::nn::sparse_softmax_cross_entropy_with_logits(g::cast(g::abs(i[0] * i[0]), i64), i[1]); },
               [](T t) { return ember::sparse_softmax_cross_entropy_with_logits(ember::cast(ember::abs(t[0] * t[0]), i64), t[1]); }},
        OpCase{"greater_equal", {{4, 3}, {4, 3}}, [](V i) { return g::greater_equal(i[0], i[1]); }, [](T t) { return ember::greater_equal(t[0], t[1]); }},
        OpCase{"less_equal", {{4, 3}, {4, 3}}, [](V i) { return g::less_equal(i[0], i[1]); }, [](T t) { return ember::less_equal(t[0], t[1]); }},
        OpCase{"logical_ops", {{4, 3}, {4, 3}},
               [](V i) { auto a = g::less(i[0], i[1]), b = g::greater(i[0], i[1] * i[1]); return g::logical_or(g::logical_and(a, b), g::logical_not(b)); },
               [](T t) { auto a = ember::less(t[0], t[1]), b = ember::greater(t[0], t[1] * t[1]); return ember::logical_or(ember::logical_and(a, b), ember::logical_not(b)); }},
        OpCase{"where", {{4, 3}, {4, 3}}, [](V i) { return g::where(g::less(i[0], i[1]), i[0], i[1]); },
               [](T t) { return ember::where(ember::less(t[0], t[1]), t[0], t[1]); }},
        OpCase{"rsqrt", {{4, 3}}, [](V i) { return g::rsqrt(i[0]); }, [](T t) { return ember::rsqrt(t[0]); }, true},
        OpCase{"sign", {{4, 3}}, [](V i) { return g::sign(i[0]); }, [](T t) { return ember::sign(t[0]); }},
        OpCase{"clip_by_value", {{4, 3}}, [](V i) { return g::clip_by_value(i[0], -0.5, 0.25); }, [](T t) { return ember::clip(t[0], -0.5, 0.25); }},
        OpCase{"reduce_min", {{4, 3}}, [](V i) { return g::reduce_min(i[0], {1}); }, [](T t) { return ember::min(t[0], {1}); }},
        OpCase{"reduce_prod", {{4, 3}}, [](V i) { return g::reduce_prod(i[0], {0}); }, [](T t) { return ember::prod(t[0], {0}); }},
        OpCase{"argmin", {{4, 3}}, [](V i) { return g::argmin(i[0], 0); }, [](T t) { return ember::argmin(t[0], 0); }},
        OpCase{"transpose", {{4, 3, 2}}, [](V i) { return g::transpose(i[0], {2, 0, 1}); }, [](T t) { return ember::permute(t[0], {2, 0, 1}); }},
        OpCase{"squeeze", {{4, 1, 3}}, [](V i) { return g::squeeze(i[0], 1); }, [](T t) { return ember::squeeze(t[0], 1); }},
        OpCase{"expand_dims", {{4, 3}}, [](V i) { return g::expand_dims(i[0], 1); }, [](T t) { return ember::unsqueeze(t[0], 1); }},
        OpCase{"concat", {{4, 3}, {2, 3}}, [](V i) { return g::concat({i[0], i[1]}, 0); }, [](T t) { return ember::concat({t[0], t[1]}, 0); }},
        OpCase{"elu", {{4, 3}}, [](V i) { return g::nn::elu(i[0]); }, [](T t) { return ember::elu(t[0]); }},
        OpCase{"leaky_relu", {{4, 3}}, [](V i) { return g::nn::leaky_relu(i[0], 0.1); }, [](T t) { return ember::leaky_relu(t[0], 0.1); }},
        OpCase{"softplus", {{4, 3}}, [](V i) { return g::nn::softplus(i[0]); }, [](T t) { return ember::softplus(t[0]); }},
        OpCase{"swish", {{4, 3}}, [](V i) { return g::nn::swish(i[0]); }, [](T t) { return ember::swish(t[0]); }},
        OpCase{"log_softmax", {{4, 3}}, [](V i) { return g::nn::log_softmax(i[0]); }, [](T t) { return ember::log_softmax(t[0]); }},
        OpCase{"sigmoid_cross_entropy_with_logits", {{4, 3}, {4, 3}},
               [](V i) { return g::nn::sigmoid_cross_entropy_with_logits(g::nn::sigmoid(i[0]), i[1]); },
               [](T t) { return ember::sigmoid_cross_entropy_with_logits(ember::sigmoid(t[0]), t[1]); }},
        OpCase{"conv2d", {{2, 6, 6, 3}, {3, 3, 3, 4}},
               [](V i) { return g::nn::conv2d(i[0], g::constant(ember::testing::random_f64({3, 3, 3, 4}, 7).to(f32)), {.strides = {1, 1}, .padding = Padding::Same}); },
               [](T t) { return ember::conv2d(t[0], ember::testing::random_f64({3, 3, 3, 4}, 7).to(f32), {.strides = {1, 1}, .padding = Padding::Same}); }},
        OpCase{"bias_add", {{2, 5, 3}, {3}}, [](V i) { return g::nn::bias_add(i[0], i[1]); }, [](T t) { return ember::bias_add(t[0], t[1]); }},
        OpCase{"max_pool", {{2, 6, 6, 3}}, [](V i) { return g::nn::max_pool(i[0], {.pool_size = {2, 2}}); }, [](T t) { return ember::max_pool2d(t[0], {.pool_size = {2, 2}}); }},
        OpCase{"avg_pool", {{2, 6, 6, 3}}, [](V i) { return g::nn::avg_pool(i[0], {.pool_size = {2, 2}}); }, [](T t) { return ember::avg_pool2d(t[0], {.pool_size = {2, 2}}); }},
        OpCase{"dropout_keep_1", {{4, 3}}, [](V i) { return g::nn::dropout(i[0], g::constant(1.0)); }, [](T t) { return t[0]; }}),
    [](const ::testing::TestParamInfo<OpCase>& info) { return std::string(info.param.name); });
