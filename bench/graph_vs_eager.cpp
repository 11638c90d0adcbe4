// Graph mode against eager mode (issue 14: "the graph-mode CNN step is at least as fast as the eager
// step"): the notes' TF-tutorial CNN (002: conv 5x5x32 SAME + ReLU, max-pool 2; conv 5x5x64, pool;
// dense 1024 + ReLU; dropout 0.5; dense 10; softmax cross-entropy; Adam) and the two-layer MLP
// (784-256-10), each written twice over the same op library — as eager ops with optim::Adam, and as a
// TF1 graph run by a Session (`sess.run([train_op, cost], feed_dict)` through run_into) — trained on
// the same random batches of 128 from the same initial weights, in one process.
//
// The two modes are interleaved: each round times `steps` steps of one mode, then of the other (the
// order alternates from round to round), so that both see the same machine load. Reported: the median
// step of each mode over all rounds, their ratio, and the median of the per-round ratios.
//
//   build-r/bench/bench_graph_vs_eager [--model cnn|mlp|both] [--rounds 9] [--steps 15] [--threads T]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "ember/ember.hpp"
#include "ember/graph/graph.hpp"
#include "ember/graph/ops.hpp"
#include "ember/graph/session.hpp"
#include "ember/graph/train.hpp"

using namespace ember;
namespace g = ember::graph;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int64_t kBatch = 128;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The network's weights, drawn once and copied into both modes.
std::vector<Tensor> initial_weights(bool cnn) {
  Generator gen(3);
  auto w = [&](Shape s, double scale) { return ember::mul(randn(s, {.generator = &gen}), full({}, scale, f32)); };
  if (cnn)
    return {w({5, 5, 1, 32}, 0.1), w({32}, 0.1),     w({5, 5, 32, 64}, 0.1), w({64}, 0.1),
            w({7 * 7 * 64, 1024}, 0.01), w({1024}, 0.1), w({1024, 10}, 0.1), w({10}, 0.1)};
  return {w({784, 256}, 0.05), w({256}, 0.1), w({256, 10}, 0.1), w({10}, 0.1)};
}

const Conv2dOptions kSame{.strides = {1, 1}, .padding = Padding::Same};
const Pool2dOptions kPool{.pool_size = {2, 2}, .strides = std::array<int64_t, 2>{2, 2}, .padding = Padding::Same};

// One training step of each mode; step(i) trains on batch i % batches.
struct Trainer {
  std::function<float(int)> step;
};

Trainer eager_trainer(bool cnn, const std::vector<Tensor>& init, const std::vector<Tensor>& xs, const std::vector<Tensor>& ys) {
  auto p = std::make_shared<std::vector<Tensor>>();
  auto params = std::make_shared<optim::NamedParams>();
  for (size_t i = 0; i < init.size(); ++i) {
    p->push_back(init[i].clone().requires_grad_());
    params->push_back({"p" + std::to_string(i), p->back()});
  }
  auto adam = std::make_shared<optim::Adam>(optim::AdamOptions{.learning_rate = 1e-3, .epsilon = 1e-8});
  return {[=, &xs, &ys](int i) {
    const std::vector<Tensor>& w = *p;
    const Tensor& x = xs[static_cast<size_t>(i) % xs.size()];
    Tensor logits;
    if (cnn) {
      Tensor h1 = max_pool2d(relu(bias_add(conv2d(x, w[0], kSame), w[1])), kPool);
      Tensor h2 = max_pool2d(relu(bias_add(conv2d(h1, w[2], kSame), w[3])), kPool);
      Tensor h3 = relu(add(matmul(reshape(h2, {-1, 7 * 7 * 64}), w[4]), w[5]));
      logits = add(matmul(dropout(h3, 0.5, true), w[6]), w[7]);
    } else {
      Tensor h = relu(add(matmul(reshape(x, {-1, 784}), w[0]), w[1]));
      logits = add(matmul(dropout(h, 0.5, true), w[2]), w[3]);
    }
    Tensor loss = mean(softmax_cross_entropy_with_logits(ys[static_cast<size_t>(i) % ys.size()], logits));
    loss.backward();
    adam->step(*params);
    for (auto& [name, t] : *params) t.zero_grad();
    return loss.item<float>();
  }};
}

Trainer graph_trainer(bool cnn, const std::vector<Tensor>& init, const std::vector<Tensor>& xs, const std::vector<Tensor>& ys) {
  struct State {
    g::Graph graph;
    std::unique_ptr<g::Session> sess;
    std::vector<g::Fetch> fetches;
    g::FeedDict feeds;
    std::vector<g::Value> results;
  };
  auto st = std::make_shared<State>();
  g::GraphScope scope(st->graph);
  g::Output x = g::placeholder(f32, {-1, 28, 28, 1}, "x");
  g::Output y = g::placeholder(f32, {-1, 10}, "y");
  g::Output kp = g::placeholder(f32, {}, "keep_prob");
  std::vector<g::Variable> v;
  for (const Tensor& t : init) v.emplace_back(t);
  g::Output logits;
  if (cnn) {
    g::Output h1 = g::nn::max_pool(g::nn::relu(g::nn::bias_add(g::nn::conv2d(x, v[0], kSame), v[1])), kPool);
    g::Output h2 = g::nn::max_pool(g::nn::relu(g::nn::bias_add(g::nn::conv2d(h1, v[2], kSame), v[3])), kPool);
    g::Output h3 = g::nn::relu(g::add(g::matmul(g::reshape(h2, {-1, 7 * 7 * 64}), v[4]), v[5]));
    logits = g::add(g::matmul(g::nn::dropout(h3, kp), v[6]), v[7]);
  } else {
    g::Output h = g::nn::relu(g::add(g::matmul(g::reshape(x, {-1, 784}), v[0]), v[1]));
    logits = g::add(g::matmul(g::nn::dropout(h, kp), v[2]), v[3]);
  }
  g::Output cost = g::reduce_mean(g::nn::softmax_cross_entropy_with_logits(y, logits));
  g::Operation train = g::AdamOptimizer({.learning_rate = 1e-3}).minimize(cost);
  st->sess = std::make_unique<g::Session>(st->graph);
  st->sess->run(g::global_variables_initializer());
  st->fetches = {train, cost};
  st->feeds = {{x, xs[0]}, {y, ys[0]}, {kp, 0.5}};
  return {[st, &xs, &ys](int i) {
    st->feeds[0].second = g::FeedValue(xs[static_cast<size_t>(i) % xs.size()]);
    st->feeds[1].second = g::FeedValue(ys[static_cast<size_t>(i) % ys.size()]);
    st->sess->run_into(st->fetches, st->feeds, st->results);
    return g::as_tensor(st->results[1]).item<float>();
  }};
}

void compare(bool cnn, int rounds, int steps) {
  const std::vector<Tensor> init = initial_weights(cnn);
  std::vector<Tensor> xs, ys;
  Generator data(11);
  for (int b = 0; b < 8; ++b) {
    xs.push_back(rand({kBatch, 28, 28, 1}, {.generator = &data}));
    ys.push_back(one_hot(rand({kBatch}, {.low = 0, .high = 10, .generator = &data}).to(i64), 10));
  }
  Trainer eager = eager_trainer(cnn, init, xs, ys), graph = graph_trainer(cnn, init, xs, ys);
  // Same weights, batches and dropout draws: the first losses must agree bit for bit (a check that
  // the two sides do the same work, not only a timing).
  manual_seed(5);
  const float le = eager.step(0);
  manual_seed(5);
  const float lg = graph.step(0);
  if (le != lg) {
    std::fprintf(stderr, "graph_vs_eager: first losses differ (eager %.9g, graph %.9g)\n", le, lg);
    std::exit(1);
  }
  for (int i = 1; i < 3; ++i) eager.step(i), graph.step(i);  // warm-up

  std::vector<double> te, tg, ratios;
  int k = 3;
  for (int r = 0; r < rounds; ++r) {
    std::vector<double> re, rg;
    auto time_mode = [&](Trainer& t, std::vector<double>& out) {
      for (int s = 0; s < steps; ++s) {
        auto t0 = Clock::now();
        t.step(k++);
        out.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
      }
    };
    if (r % 2 == 0) {
      time_mode(eager, re);
      time_mode(graph, rg);
    } else {
      time_mode(graph, rg);
      time_mode(eager, re);
    }
    ratios.push_back(median(re) / median(rg));
    te.insert(te.end(), re.begin(), re.end());
    tg.insert(tg.end(), rg.begin(), rg.end());
  }
  const double me = median(te), mg = median(tg);
  std::printf("%-4s  eager %8.2f ms/step   graph %8.2f ms/step   eager/graph %.3f   median of %d round ratios %.3f  "
              "(%d steps per round and mode, %d threads)\n",
              cnn ? "cnn" : "mlp", me * 1e3, mg * 1e3, me / mg, rounds, median(ratios), steps, get_num_threads());
}

}  // namespace

int main(int argc, char** argv) {
  std::string model = "both";
  int rounds = 9, steps = 15, threads = 0;
  for (int i = 1; i < argc; ++i) {
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "graph_vs_eager: %s needs a value\n", argv[i]);
        std::exit(2);
      }
      return argv[++i];
    };
    if (!std::strcmp(argv[i], "--model")) model = value();
    else if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoi(value());
    else if (!std::strcmp(argv[i], "--steps")) steps = std::atoi(value());
    else if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(value());
    else {
      std::fprintf(stderr, "usage: bench_graph_vs_eager [--model cnn|mlp|both] [--rounds N] [--steps N] [--threads T]\n");
      return 2;
    }
  }
  if (rounds < 1 || steps < 1 || (model != "cnn" && model != "mlp" && model != "both")) {
    std::fprintf(stderr, "graph_vs_eager: --rounds and --steps must be >= 1 and --model cnn|mlp|both\n");
    return 2;
  }
  if (threads > 0) set_num_threads(threads);
  if (model != "cnn") compare(false, rounds, steps);
  if (model != "mlp") compare(true, rounds, steps);
  return 0;
}
