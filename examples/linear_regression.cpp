// The notes' linear regression: 20 points along a noisy line y = 3 + x/4 (x in [0, 12]), fitted by
// full-batch gradient descent at learning rate 0.01 with the mean squared error, compared with the
// closed-form least-squares solution.
//
// Usage: example_linear_regression [steps]   (default 1000, as in the notes)
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "ember/ember.hpp"

using namespace ember;

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::atoi(argv[1]) : 1000;
  Generator gen(2024);
  Tensor x = linspace(0, 12, 20, f64).reshape({20, 1});
  Tensor y = linspace(3, 6, 20, f64).reshape({20, 1}) + randn({20, 1}, f64, &gen, 0, 0.4);

  // Closed form: w = cov(x, y) / var(x), b = mean(y) - w mean(x).
  Tensor xc = x - mean(x), yc = y - mean(y);
  double w_ls = sum(xc * yc).item<double>() / sum(xc * xc).item<double>();
  double b_ls = mean(y).item<double>() - w_ls * mean(x).item<double>();

  // Gradient descent on cost = mean((x w + b - y)^2), as the notes' TensorFlow version.
  Tensor w = randn({1, 1}, f64, &gen).requires_grad_();
  Tensor b = randn({1, 1}, f64, &gen).requires_grad_();
  for (int i = 0; i < steps; ++i) {
    Tensor cost = mean(square(matmul(x, w) + b - y));
    cost.backward();
    autograd::NoGradGuard no_grad;
    w.add_(w.grad(), -0.01);
    b.add_(b.grad(), -0.01);
    w.zero_grad();
    b.zero_grad();
  }
  double w_gd = w.item<double>(), b_gd = b.item<double>();
  std::printf("gradient descent (%d steps): w=%.6f b=%.6f\n", steps, w_gd, b_gd);
  std::printf("least squares:               w=%.6f b=%.6f\n", w_ls, b_ls);
  std::printf("max_abs_difference=%.6g\n", std::max(std::abs(w_gd - w_ls), std::abs(b_gd - b_ls)));
  return 0;
}
