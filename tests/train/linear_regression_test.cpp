// The notes' linear regression (000_*.txt, "tf 线性回归"): 20 points along a noisy line
// y = 3 + x/4 with x = linspace(0, 12, 20), full-batch gradient descent at learning rate 0.01 on
// the mean squared error, trained through the Keras API (Dense(1), SGD, fit).
//
// The expected values do not come from Ember: the least-squares solution is the closed form
// w = cov(x, y)/var(x), b = mean(y) - w mean(x), and the gradient-descent iterates are replayed in
// plain double arithmetic from the same starting point:
//   w <- w - 0.01 * mean(2 (w x + b - y) x),   b <- b - 0.01 * mean(2 (w x + b - y)).
//
// How far 1000 steps get: the Hessian 2 [[E x², E x], [E x, 1]] has eigenvalues 98.3 and 0.53, so
// each step removes only 0.53 % of the error along the slow direction (mostly the intercept):
// after 1000 steps about e^-5.3 ≈ 0.5 % of the starting error remains (≈ 0.01 here). Reaching the
// least-squares solution within 1e-3 takes about 1,600 steps from a zero start; 2,500 are used.
// With the inputs standardized (the notes' input normalization) the Hessian is 2·I and the same
// 1000 steps at 0.01 reach it: the second test.
#include <cmath>

#include "ember/nn/layers/core.hpp"
#include "ember/nn/model.hpp"
#include "ember/optim/optim.hpp"
#include "ember/train/training.hpp"
#include "test_support.hpp"

using namespace ember;

namespace {

struct Line {
  std::vector<double> x, y;
  double w_ls, b_ls;
};

Line noisy_line() {
  Generator g(2024);
  Line d;
  for (int i = 0; i < 20; ++i) {
    d.x.push_back(12.0 * i / 19.0);
    d.y.push_back(3.0 + 3.0 * i / 19.0 + 0.4 * g.normal());
  }
  double mx = 0, my = 0;
  for (int i = 0; i < 20; ++i) { mx += d.x[i] / 20; my += d.y[i] / 20; }
  double sxy = 0, sxx = 0;
  for (int i = 0; i < 20; ++i) { sxy += (d.x[i] - mx) * (d.y[i] - my); sxx += (d.x[i] - mx) * (d.x[i] - mx); }
  d.w_ls = sxy / sxx;
  d.b_ls = my - d.w_ls * mx;
  return d;
}

// The gradient-descent recurrence in plain doubles.
std::pair<double, double> replay(const Line& d, double w, double b, int steps) {
  for (int s = 0; s < steps; ++s) {
    double gw = 0, gb = 0;
    for (int i = 0; i < 20; ++i) {
      double r = w * d.x[i] + b - d.y[i];
      gw += 2 * r * d.x[i] / 20;
      gb += 2 * r / 20;
    }
    w -= 0.01 * gw;
    b -= 0.01 * gb;
  }
  return {w, b};
}

}  // namespace

TEST(LinearRegression, GradientDescentFollowsTheExactIteratesAndReachesLeastSquares) {
  Line d = noisy_line();
  Tensor x = from_vector(d.x, {20, 1}), y = from_vector(d.y, {20, 1});
  nn::reset_layer_names();
  nn::Sequential model{nn::Input({1}), nn::Dense({.units = 1})};
  model.compile({.optimizer = optim::SGD({.learning_rate = 0.01}), .loss = "mse"});
  double w0 = model.layers()[0]->find_weight("kernel")->value().item<double>();
  double b0 = model.layers()[0]->find_weight("bias")->value().item<double>();

  model.fit(x, y, {.batch_size = 20, .epochs = 1000, .verbose = 0, .shuffle = false});
  double w1000 = model.layers()[0]->find_weight("kernel")->value().item<double>();
  double b1000 = model.layers()[0]->find_weight("bias")->value().item<double>();
  auto [w_ref, b_ref] = replay(d, w0, b0, 1000);
  EXPECT_NEAR(w1000, w_ref, 1e-4);  // float32 weights against the float64 replay
  EXPECT_NEAR(b1000, b_ref, 1e-4);
  // Still on its way after 1000 steps, as the eigenvalue estimate in the header says.
  EXPECT_LT(std::abs(b1000 - d.b_ls), 0.05);

  model.fit(x, y, {.batch_size = 20, .epochs = 1500, .verbose = 0, .shuffle = false});
  double w = model.layers()[0]->find_weight("kernel")->value().item<double>();
  double b = model.layers()[0]->find_weight("bias")->value().item<double>();
  EXPECT_NEAR(w, d.w_ls, 1e-3);
  EXPECT_NEAR(b, d.b_ls, 1e-3);
}

TEST(LinearRegression, StandardizedInputsReachLeastSquaresIn1000Steps) {
  Line d = noisy_line();
  double mx = 0, sx = 0;
  for (double v : d.x) mx += v / 20;
  for (double v : d.x) sx += (v - mx) * (v - mx) / 20;
  sx = std::sqrt(sx);
  std::vector<double> xs;
  for (double v : d.x) xs.push_back((v - mx) / sx);
  Tensor x = from_vector(xs, {20, 1}), y = from_vector(d.y, {20, 1});
  nn::reset_layer_names();
  nn::Sequential model{nn::Input({1}), nn::Dense({.units = 1})};
  model.compile({.optimizer = optim::SGD({.learning_rate = 0.01}), .loss = "mse"});
  model.fit(x, y, {.batch_size = 20, .epochs = 1000, .verbose = 0, .shuffle = false});
  const double ws = model.layers()[0]->find_weight("kernel")->value().item<double>();
  const double bs = model.layers()[0]->find_weight("bias")->value().item<double>();
  // Back to the units of x: y = ws (x - mx)/sx + bs.
  EXPECT_NEAR(ws / sx, d.w_ls, 1e-3);
  EXPECT_NEAR(bs - ws * mx / sx, d.b_ls, 1e-3);
}
