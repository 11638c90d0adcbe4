// The notes' linear regression: 20 points along a noisy line (x = linspace(0, 12, 20),
// y = linspace(3, 6, 20) + 0.4·noise), fitted by full-batch gradient descent at learning rate 0.01
// on the mean squared error, and compared with the closed-form least-squares solution.
//
// Two runs of the same 1000 steps:
//  1. on x as it is, exactly as the notes' TensorFlow code. The cost's Hessian
//     2·[[E x², E x], [E x, 1]] has eigenvalues ≈ 98 and ≈ 0.53 here, so each step at 0.01 removes
//     only ~0.53 % of the error along the slow direction (mostly the intercept): after 1000 steps
//     about e^-5.3 ≈ 0.5 % of the starting error is left, typically 1e-2 — not 1e-3. Printed, with
//     that prediction, not checked.
//  2. on standardized x' = (x − mean)/std (the notes' input normalization), which makes the Hessian
//     2·I: the error shrinks by 0.98 a step and 1000 steps land on the least-squares line. The
//     weights are mapped back, w = w'/std and b = b' − w'·mean/std, and must agree with the closed
//     form within 1e-3; the program exits with status 1 if they do not (CTest runs it).
//
// Usage: example_linear_regression [steps]   (default 1000, as in the notes)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "ember/ember.hpp"

using namespace ember;

namespace {

struct Fit {
  double w, b;
};

// `steps` steps of gradient descent on mean((x w + b − y)²) from the given start, through autograd.
Fit gradient_descent(const Tensor& x, const Tensor& y, double w0, double b0, int steps) {
  Tensor w = full({1, 1}, w0, f64).requires_grad_();
  Tensor b = full({1, 1}, b0, f64).requires_grad_();
  for (int i = 0; i < steps; ++i) {
    Tensor cost = mean(square(matmul(x, w) + b - y));
    cost.backward();
    autograd::NoGradGuard no_grad;
    w.add_(w.grad(), -0.01);
    b.add_(b.grad(), -0.01);
    w.zero_grad();
    b.zero_grad();
  }
  return {w.item<double>(), b.item<double>()};
}

}  // namespace

int main(int argc, char** argv) try {
  int steps = 1000;
  if (argc > 1) {
    char* end = nullptr;
    long v = std::strtol(argv[1], &end, 10);
    if (end == argv[1] || *end != '\0' || v < 0 || v > 10000000) {
      std::fprintf(stderr, "usage: example_linear_regression [steps: 0 to 10000000], got '%s'\n", argv[1]);
      return 2;
    }
    steps = static_cast<int>(v);
  }
  Generator gen(2024);
  Tensor x = linspace(0, 12, 20, f64).reshape({20, 1});
  Tensor y = linspace(3, 6, 20, f64).reshape({20, 1}) + randn({20, 1}, {.mean = 0, .stddev = 0.4, .dtype = f64, .generator = &gen});
  // The notes start from tf.random_normal for both parameters.
  const double w0 = randn({1}, {.dtype = f64, .generator = &gen}).item<double>(), b0 = randn({1}, {.dtype = f64, .generator = &gen}).item<double>();

  // Closed form: w = cov(x, y) / var(x), b = mean(y) - w mean(x).
  const double mx = mean(x).item<double>(), sx = ember::std(x).item<double>();
  Tensor xc = x - mx, yc = y - mean(y);
  const double w_ls = sum(xc * yc).item<double>() / sum(xc * xc).item<double>();
  const double b_ls = mean(y).item<double>() - w_ls * mx;
  std::printf("least squares:                 w=%.6f b=%.6f\n", w_ls, b_ls);

  // 1. Raw inputs, the notes' setting. Error left along the slow direction: (1 - 0.01 λ_min)^steps.
  const Fit raw = gradient_descent(x, y, w0, b0, steps);
  const double ex2 = mean(square(x)).item<double>();
  const double tr = 2 * (ex2 + 1), det = 4 * (ex2 - mx * mx);
  const double lambda_min = (tr - std::sqrt(tr * tr - 4 * det)) / 2;
  std::printf("raw x (%d steps):            w=%.6f b=%.6f max_abs_difference=%.3g "
              "(slow eigenvalue %.3f: %.2g of the starting error left)\n",
              steps, raw.w, raw.b, std::max(std::abs(raw.w - w_ls), std::abs(raw.b - b_ls)), lambda_min,
              std::pow(1 - 0.01 * lambda_min, steps));

  // 2. Standardized inputs, same learning rate and step count, weights mapped back to x's units.
  // The start is the same line, expressed in the standardized coordinates.
  const Fit st = gradient_descent((x - mx) / sx, y, w0 * sx, b0 + w0 * mx, steps);
  const double w_st = st.w / sx, b_st = st.b - st.w * mx / sx;
  const double diff = std::max(std::abs(w_st - w_ls), std::abs(b_st - b_ls));
  std::printf("standardized x (%d steps):   w=%.6f b=%.6f max_abs_difference=%.3g\n", steps, w_st, b_st, diff);
  if (!(diff < 1e-3)) {
    std::fprintf(stderr, "standardized gradient descent is %.3g from least squares (expected < 1e-3)\n", diff);
    return 1;
  }
  return 0;
} catch (const ember::Error& e) {
  std::fprintf(stderr, "example_linear_regression: %s\n", e.what());
  return 1;
}
