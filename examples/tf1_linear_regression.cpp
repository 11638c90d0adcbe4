// The notes' TF1 linear regression (notes 000), ported line by line to graph mode:
//   X_train = linspace(0, 12, 20).reshape(-1, 1); y_train = linspace(3, 6, 20) + randn(20)*0.4
//   w = tf.Variable(tf.random_normal([1, 1])); b = tf.Variable(tf.random_normal([1, 1]))
//   pred = tf.matmul(X, w) + b; cost = tf.reduce_mean((pred - tf.reshape(y, [20, 1]))**2)
//   optimizer = tf.train.GradientDescentOptimizer(0.01).minimize(cost)
//   1000 epochs of s.run(optimizer, feed_dict=...), then w_, b_ = s.run([w, b])
// The notes compare with sklearn's LinearRegression; here with the closed-form least-squares line
// (computed in double below). On the raw inputs the intercept converges slowly (the cost is badly
// conditioned: x spans 0..12), so after the notes' 1000 epochs training continues to 20000 and the
// example exits 1 unless w and b are then within 1e-3 of the closed form.
#include <cmath>
#include <cstdio>

#include "ember/ember.hpp"

using namespace ember;
namespace tf = ember::graph;

int main() try {
  manual_seed(1);
  const int64_t n = 20;
  Tensor X_train = linspace(0, 12, n).reshape({-1, 1});
  Tensor y_train = linspace(3, 6, n) + randn({n}) * 0.4;

  tf::Graph graph;
  tf::GraphScope as_default(graph);
  auto X = tf::placeholder(f32, {20, 1});
  auto y = tf::placeholder(f32, {20});
  tf::Variable w(tf::random_normal({1, 1}));
  tf::Variable b(tf::random_normal({1, 1}));
  auto pred = tf::matmul(X, w) + b;
  auto cost = tf::reduce_mean(tf::square(pred - tf::reshape(y, {20, 1})));
  tf::GradientDescentOptimizer gd(0.01);
  auto optimizer = gd.minimize(cost);

  // Closed form: w = cov(x, y) / var(x), b = mean(y) - w mean(x).
  auto xv = X_train.to_vector<float>(), yv = y_train.to_vector<float>();
  double mx = 0, my = 0;
  for (int64_t i = 0; i < n; ++i) mx += xv[i] / double(n), my += yv[i] / double(n);
  double sxy = 0, sxx = 0;
  for (int64_t i = 0; i < n; ++i) sxy += (xv[i] - mx) * (yv[i] - my), sxx += (xv[i] - mx) * (xv[i] - mx);
  const double w_star = sxy / sxx, b_star = my - w_star * mx;

  tf::Session s(graph);
  s.run(tf::global_variables_initializer());
  double w_ = 0, b_ = 0;
  for (int epoch = 1; epoch <= 20000; ++epoch) {
    s.run(optimizer, {{X, X_train}, {y, y_train}});
    if (epoch == 1000 || epoch == 20000) {
      auto wb = s.run({w, b});
      w_ = tf::as_tensor(wb[0]).item<float>();
      b_ = tf::as_tensor(wb[1]).item<float>();
      std::printf("epoch %d: w=%.5f b=%.5f cost=%.5f   closed form: w=%.5f b=%.5f\n", epoch, w_, b_,
                  s.run(cost, {{X, X_train}, {y, y_train}}).item<float>(), w_star, b_star);
    }
  }
  if (std::abs(w_ - w_star) > 1e-3 || std::abs(b_ - b_star) > 1e-3) {
    std::fprintf(stderr, "tf1 linear regression FAILED: not within 1e-3 of the closed form\n");
    return 1;
  }
  std::printf("tf1 linear regression example passed\n");
  return 0;
} catch (const ember::Error& e) {
  std::fprintf(stderr, "example_tf1_linear_regression: %s\n", e.what());
  return 1;
}
