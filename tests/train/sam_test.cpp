// Sharpness-aware minimization (CompileOptions::sam). The expected steps are computed here from the
// formulas: a linear model under mean squared error has the gradient (2/N) Xᵀ(Xw − y), so SAM's
// step is w − lr · grad(w + rho · g/‖g‖) with g = grad(w), in double precision.
#include <cmath>
#include <vector>

#include "ember/autograd/autograd.hpp"
#include "ember/nn/layers/core.hpp"
#include "ember/nn/layers/normalization.hpp"
#include "ember/nn/model.hpp"
#include "ember/optim/optim.hpp"
#include "ember/train/training.hpp"
#include "test_support.hpp"

using namespace ember;

namespace {

constexpr int64_t kRows = 4, kInputs = 3;
const std::vector<double> kX = {0.5, -1.0, 2.0, 1.5, 0.25, -0.75, -2.0, 1.0, 0.5, 0.3, 0.7, -1.2};
const std::vector<double> kY = {1.0, -0.5, 2.0, 0.25};
const std::vector<double> kW0 = {0.2, -0.4, 0.1};

// The MSE gradient of the linear model over the first `rows` rows.
std::vector<double> mse_gradient(const std::vector<double>& w, int64_t rows) {
  std::vector<double> g(kInputs, 0.0);
  for (int64_t i = 0; i < rows; ++i) {
    double r = -kY[i];
    for (int64_t j = 0; j < kInputs; ++j) r += kX[i * kInputs + j] * w[j];
    for (int64_t j = 0; j < kInputs; ++j) g[j] += 2.0 / static_cast<double>(rows) * r * kX[i * kInputs + j];
  }
  return g;
}

// One SAM step of plain SGD from kW0, the ascent taken over the first `ascent_rows` rows.
std::vector<double> expected_sam_step(double lr, double rho, int64_t ascent_rows) {
  std::vector<double> g = mse_gradient(kW0, ascent_rows);
  double norm = 0;
  for (double v : g) norm += v * v;
  norm = std::sqrt(norm);
  std::vector<double> moved = kW0;
  for (int64_t j = 0; j < kInputs; ++j) moved[j] += rho * g[j] / norm;
  std::vector<double> g2 = mse_gradient(moved, kRows);
  std::vector<double> out = kW0;
  for (int64_t j = 0; j < kInputs; ++j) out[j] -= lr * g2[j];
  return out;
}

std::shared_ptr<nn::Sequential> linear_model() {
  nn::reset_layer_names();
  auto m = std::make_shared<nn::Sequential>(std::initializer_list<nn::LayerRef>{
      nn::Input({kInputs}), nn::Dense({.units = 1, .use_bias = false, .name = "linear"})});
  std::vector<float> w(kW0.begin(), kW0.end());
  autograd::NoGradGuard no_grad;
  m->named_weights().at(0).weight->value().copy_(from_vector(w, {kInputs, 1}));
  return m;
}

Tensor x_tensor() { return from_vector(std::vector<float>(kX.begin(), kX.end()), {kRows, kInputs}); }
Tensor y_tensor() { return from_vector(std::vector<float>(kY.begin(), kY.end()), {kRows, 1}); }

void expect_weights(nn::Model& m, const std::vector<double>& expected) {
  std::vector<float> got = m.named_weights().at(0).weight->value().to_vector<float>();
  ASSERT_EQ(got.size(), expected.size());
  for (std::size_t j = 0; j < got.size(); ++j) EXPECT_NEAR(got[j], expected[j], 1e-6 * (1 + std::abs(expected[j]))) << j;
}

}  // namespace

TEST(Sam, StepTakesTheGradientAtTheSharpestNearbyPointAndStepsFromTheWeights) {
  auto m = linear_model();
  m->compile({.optimizer = optim::SGD({.learning_rate = 0.1}), .loss = "mse", .sam = train::SAMOptions{.rho = 0.3}});
  m->train_on_batch(x_tensor(), y_tensor());
  std::vector<double> want = expected_sam_step(0.1, 0.3, kRows);
  expect_weights(*m, want);
  // Not the plain step: the two differ by far more than the tolerance.
  std::vector<double> g = mse_gradient(kW0, kRows);
  double plain_gap = 0;
  for (int64_t j = 0; j < kInputs; ++j) plain_gap = std::max(plain_gap, std::abs((kW0[j] - 0.1 * g[j]) - want[j]));
  EXPECT_GT(plain_gap, 1e-3);
}

TEST(Sam, AscentFractionTakesThePointFromTheLeadingRowsOnly) {
  auto m = linear_model();
  m->compile({.optimizer = optim::SGD({.learning_rate = 0.1}),
              .loss = "mse",
              .sam = train::SAMOptions{.rho = 0.3, .ascent_fraction = 0.5}});
  m->train_on_batch(x_tensor(), y_tensor());
  expect_weights(*m, expected_sam_step(0.1, 0.3, 2));
}

TEST(Sam, FitWithSamTrainsAndItsLoggedLossIsTheSecondPasses) {
  // fit over one batch without shuffling is one SAM step; its loss is the batch's MSE at the moved
  // weights, which is above the loss at the weights themselves (the move goes uphill).
  auto m = linear_model();
  m->compile({.optimizer = optim::SGD({.learning_rate = 0.1}), .loss = "mse", .sam = train::SAMOptions{.rho = 0.3}});
  auto history = m->fit(x_tensor(), y_tensor(), {.batch_size = kRows, .epochs = 1, .verbose = 0, .shuffle = false});
  expect_weights(*m, expected_sam_step(0.1, 0.3, kRows));
  std::vector<double> g = mse_gradient(kW0, kRows);
  double norm = 0;
  for (double v : g) norm += v * v;
  std::vector<double> moved = kW0;
  for (int64_t j = 0; j < kInputs; ++j) moved[j] += 0.3 * g[j] / std::sqrt(norm);
  auto mse = [](const std::vector<double>& w) {
    double s = 0;
    for (int64_t i = 0; i < kRows; ++i) {
      double r = -kY[i];
      for (int64_t j = 0; j < kInputs; ++j) r += kX[i * kInputs + j] * w[j];
      s += r * r;
    }
    return s / kRows;
  };
  EXPECT_NEAR(history.history.at("loss").at(0), mse(moved), 1e-5 * mse(moved));
  EXPECT_GT(mse(moved), mse(kW0));
}

TEST(Sam, BatchNormMovingStatisticsAreUpdatedOncePerStep) {
  // Batch norm right after the input: its batch mean is the inputs' whatever the weights, so one
  // update gives (1 - momentum) * mean and two would give (1 - momentum²) * mean.
  nn::reset_layer_names();
  auto m = std::make_shared<nn::Sequential>(std::initializer_list<nn::LayerRef>{
      nn::Input({kInputs}), nn::BatchNormalization({.momentum = 0.5, .name = "bn"}), nn::Dense({.units = 1, .name = "out"})});
  m->compile({.optimizer = optim::SGD({.learning_rate = 0.1}), .loss = "mse", .sam = train::SAMOptions{.rho = 0.05}});
  m->train_on_batch(x_tensor(), y_tensor());
  std::vector<float> moving_mean;
  for (const auto& w : m->named_weights()) {
    if (w.name.find("moving_mean") != std::string::npos) moving_mean = w.weight->value().to_vector<float>();
  }
  ASSERT_EQ(moving_mean.size(), static_cast<std::size_t>(kInputs));
  for (int64_t j = 0; j < kInputs; ++j) {
    double mean = 0;
    for (int64_t i = 0; i < kRows; ++i) mean += kX[i * kInputs + j] / kRows;
    EXPECT_NEAR(moving_mean[j], 0.5 * mean, 1e-6) << j;
  }
}

TEST(Sam, BadOptionsAreValueErrors) {
  auto m = linear_model();
  for (train::SAMOptions bad : {train::SAMOptions{.rho = 0}, train::SAMOptions{.rho = -0.1},
                                train::SAMOptions{.rho = std::nan("")}, train::SAMOptions{.rho = 0.05, .ascent_fraction = 0},
                                train::SAMOptions{.rho = 0.05, .ascent_fraction = 1.5}}) {
    EXPECT_THROW(m->compile({.optimizer = "sgd", .loss = "mse", .sam = bad}), ValueError);
  }
  try {
    m->compile({.optimizer = "sgd", .loss = "mse", .sam = train::SAMOptions{.rho = 0.05, .ascent_fraction = 2}});
    FAIL() << "no error";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("ascent_fraction must be in (0, 1]"), std::string::npos) << e.what();
  }
}
