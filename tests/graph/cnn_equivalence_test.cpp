// The notes' TF-tutorial CNN (002: conv 5x5 SAME + ReLU, max-pool 2 SAME, twice; dense + ReLU;
// dropout with a fed keep_prob; dense) in graph mode against the same network written with the
// eager ops: 50 Adam steps with keep_prob 0.5 on the same initial weights and batches give
// bit-identical losses, dropout masks included (both draw them from the default generator, seeded
// alike), and the same weights. Scaled down here (12x12 inputs, few channels) to stay fast; the
// notes' sizes run in tests/graph/cnn_full_equivalence.cpp (label slow), which includes this file.
#include <gtest/gtest.h>

#include "ember/autograd/autograd.hpp"
#include "ember/core/threads.hpp"
#include "ember/graph/graph.hpp"
#include "ember/graph/ops.hpp"
#include "ember/graph/session.hpp"
#include "ember/graph/train.hpp"
#include "ember/ops/activation.hpp"
#include "ember/ops/conv.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/linalg.hpp"
#include "ember/ops/losses.hpp"
#include "ember/ops/normalization.hpp"
#include "ember/ops/pool.hpp"
#include "ember/ops/reduce.hpp"
#include "ember/ops/shape.hpp"
#include "ember/optim/optimizer.hpp"
#include "test_support.hpp"

using namespace ember;
namespace g = ember::graph;

namespace {
Tensor rnd(const Shape& s, uint64_t seed, double lo, double hi) { return ember::testing::random_f64(s, seed, lo, hi).to(f32); }

struct CnnSizes {
  int64_t batch, size, c1, c2, dense;
};
constexpr int64_t kClasses = 10;
constexpr int kSteps = 50;
const Conv2dOptions kConv{.strides = {1, 1}, .padding = Padding::Same};
const Pool2dOptions kPool{.pool_size = {2, 2}, .strides = std::array<int64_t, 2>{2, 2}, .padding = Padding::Same};
void check_cnn_equivalence(CnnSizes sz) {
  const int64_t kBatch = sz.batch, kSize = sz.size, kC1 = sz.c1, kC2 = sz.c2, kDense = sz.dense;
  const int64_t flat = (kSize / 4) * (kSize / 4) * kC2;
  const std::vector<Tensor> init{rnd({5, 5, 1, kC1}, 1, -0.3, 0.3), rnd({kC1}, 2, -0.1, 0.1),
                                 rnd({5, 5, kC1, kC2}, 3, -0.2, 0.2), rnd({kC2}, 4, -0.1, 0.1),
                                 rnd({flat, kDense}, 5, -0.2, 0.2), rnd({kDense}, 6, -0.1, 0.1),
                                 rnd({kDense, kClasses}, 7, -0.3, 0.3), rnd({kClasses}, 8, -0.1, 0.1)};
  std::vector<Tensor> xs, ys;
  for (int step = 0; step < kSteps; ++step) {
    xs.push_back(rnd({kBatch, kSize, kSize, 1}, 100 + step, 0, 1));
    // A learnable task: the class is the brightest of the first ten pixels of the top row.
    ys.push_back(ember::one_hot(ember::argmax(ember::slice(ember::reshape(xs.back(), {kBatch, kSize * kSize}), 1, 0, kClasses), 1), kClasses));
  }

  // Eager.
  std::vector<Tensor> p;
  for (const Tensor& t : init) p.push_back(t.clone().requires_grad_());
  optim::Adam adam({.learning_rate = 1e-3, .epsilon = 1e-8});  // TF1's epsilon
  optim::NamedParams params;
  for (size_t i = 0; i < p.size(); ++i) params.push_back({"p" + std::to_string(i), p[i]});
  std::vector<float> eager_losses;
  manual_seed(7);
  for (int step = 0; step < kSteps; ++step) {
    Tensor c1 = ember::max_pool2d(ember::relu(ember::bias_add(ember::conv2d(xs[step], p[0], kConv), p[1])), kPool);
    Tensor c2 = ember::max_pool2d(ember::relu(ember::bias_add(ember::conv2d(c1, p[2], kConv), p[3])), kPool);
    Tensor dense = ember::relu(ember::add(ember::matmul(ember::reshape(c2, {-1, flat}), p[4]), p[5]));
    dense = ember::dropout(dense, 1.0 - 0.5, true);
    Tensor logits = ember::add(ember::matmul(dense, p[6]), p[7]);
    Tensor loss = ember::mean(ember::softmax_cross_entropy_with_logits(ys[step], logits));
    loss.backward();
    adam.step(params);
    for (auto& [name, t] : params) t.zero_grad();
    eager_losses.push_back(loss.item<float>());
  }

  // Graph, as the notes write it.
  g::Graph graph;
  g::GraphScope scope(graph);
  auto x = g::placeholder(f32, {-1, kSize, kSize, 1}, "x");
  auto y = g::placeholder(f32, {-1, kClasses}, "y");
  auto kp = g::placeholder(f32, {}, "kp");
  std::vector<g::Variable> v;
  for (const Tensor& t : init) v.emplace_back(t);
  auto conv = [](const g::Output& in, const g::Variable& w, const g::Variable& b) {
    return g::nn::relu(g::nn::bias_add(g::nn::conv2d(in, w, kConv), b));
  };
  auto conv1 = g::nn::max_pool(conv(x, v[0], v[1]), kPool);
  auto conv2 = g::nn::max_pool(conv(conv1, v[2], v[3]), kPool);
  auto dense = g::nn::relu(g::add(g::matmul(g::reshape(conv2, {-1, flat}), v[4]), v[5]));
  dense = g::nn::dropout(dense, kp);
  auto logits = g::add(g::matmul(dense, v[6]), v[7]);
  auto cost = g::reduce_mean(g::nn::softmax_cross_entropy_with_logits(y, logits));
  auto train = g::AdamOptimizer({.learning_rate = 1e-3}).minimize(cost);
  g::Session s(graph);
  s.run(g::global_variables_initializer());
  manual_seed(7);
  for (int step = 0; step < kSteps; ++step) {
    auto out = s.run({train, cost}, {{x, xs[step]}, {y, ys[step]}, {kp, 0.5}});
    ASSERT_EQ(g::as_tensor(out[1]).item<float>(), eager_losses[step]) << "step " << step;
  }
  for (size_t i = 0; i < p.size(); ++i) EXPECT_EQ(s.run(v[i].value()).to_vector<float>(), p[i].to_vector<float>()) << i;
  EXPECT_LT(eager_losses.back(), eager_losses.front());  // it trained

  // keep_prob 1.0 (testing): no draw, the graph's logits are the eager network's without dropout.
  Tensor e1 = ember::max_pool2d(ember::relu(ember::bias_add(ember::conv2d(xs[0], p[0], kConv), p[1])), kPool);
  Tensor e2 = ember::max_pool2d(ember::relu(ember::bias_add(ember::conv2d(e1, p[2], kConv), p[3])), kPool);
  Tensor ed = ember::relu(ember::add(ember::matmul(ember::reshape(e2, {-1, flat}), p[4]), p[5]));
  Tensor el = ember::add(ember::matmul(ed, p[6]), p[7]);
  EXPECT_EQ(s.run(logits, {{x, xs[0]}, {kp, 1.0}}).to_vector<float>(), el.to_vector<float>());
}
}  // namespace

#ifndef EMBER_CNN_FULL_SIZE
TEST(GraphEquivalence, TutorialCnnWithDropoutBitIdenticalToEagerOver50Steps) {
  check_cnn_equivalence({.batch = 8, .size = 12, .c1 = 4, .c2 = 8, .dense = 16});
}
#endif
