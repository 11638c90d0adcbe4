// Stochastic weight averaging (callbacks::SWA) and the batch-norm pass it ends with (train::update_bn).
// Expected values are computed here from the data and the recorded snapshots: the mean of the
// epoch-end weights, and per-batch means / unbiased variances averaged over the batches.
#include <cmath>

#include "ember/nn/layers/core.hpp"
#include "ember/nn/layers/normalization.hpp"
#include "ember/nn/model.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/optim/optim.hpp"
#include "ember/train/callbacks.hpp"
#include "ember/train/training.hpp"
#include "test_support.hpp"

using namespace ember;
using namespace ember::testing;

namespace {

std::shared_ptr<nn::Sequential> classifier_with_batch_norm() {
  nn::reset_layer_names();
  return std::make_shared<nn::Sequential>(std::initializer_list<nn::LayerRef>{
      nn::Input({3}), nn::Dense({.units = 4, .activation = Activation::Tanh}),
      nn::BatchNormalization({.momentum = 0.9, .name = "bn"}), nn::Dense({.units = 2})});
}

// The classifier compiled with SGD 0.1, and n random rows labelled by the sign of their sum.
struct Setup {
  std::shared_ptr<nn::Sequential> model;
  Tensor x, y;
};
Setup compiled_setup(int64_t n) {
  auto m = classifier_with_batch_norm();
  m->compile({.optimizer = optim::SGD({.learning_rate = 0.1}),
              .loss = losses::SparseCategoricalCrossentropy({.from_logits = true})});
  Tensor x = randn({n, 3});
  return {m, x, greater(x.sum({1}), zeros({n})).to(i64)};
}

std::map<std::string, std::vector<float>> trainable_values(nn::Model& m) {
  std::map<std::string, std::vector<float>> out;
  for (const auto& w : m.trainable_weights()) out[w.name] = w.weight->value().to_vector<float>();
  return out;
}

// Column means and unbiased variances of rows [begin, end) of a row-major [n, c] array.
void column_stats(const std::vector<double>& x, int64_t c, int64_t begin, int64_t end, std::vector<double>& mean,
                  std::vector<double>& var) {
  mean.assign(static_cast<std::size_t>(c), 0.0);
  var.assign(static_cast<std::size_t>(c), 0.0);
  const double n = static_cast<double>(end - begin);
  for (int64_t j = 0; j < c; ++j) {
    double s = 0;
    for (int64_t i = begin; i < end; ++i) s += x[static_cast<std::size_t>(i * c + j)];
    const double mu = s / n;
    double ss = 0;
    for (int64_t i = begin; i < end; ++i) ss += std::pow(x[static_cast<std::size_t>(i * c + j)] - mu, 2);
    mean[static_cast<std::size_t>(j)] = mu;
    var[static_cast<std::size_t>(j)] = ss / (n - 1);
  }
}

// The E that f() throws, its message containing every one of `parts`.
template <typename E, typename F>
void expect_error(F&& f, const std::vector<std::string>& parts) {
  const std::string msg = message_of<E>(std::forward<F>(f));
  for (const std::string& p : parts) EXPECT_TRUE(contains(msg, p)) << "'" << p << "' not in: " << msg;
}

}  // namespace

TEST(UpdateBn, MovingStatisticsBecomeTheMeanOfTheBatchStatistics) {
  nn::reset_layer_names();
  auto m = std::make_shared<nn::Sequential>(
      std::initializer_list<nn::LayerRef>{nn::Input({3}), nn::BatchNormalization({.momentum = 0.9, .name = "bn"})});
  manual_seed(5);
  Tensor x = randn({10, 3}) * 2.0 + 1.0;
  m->predict(x, {});  // build
  train::update_bn(*m, x, 4);  // batches of 4, 4 and 2 rows
  const std::vector<double> xs = x.to(f64).to_vector<double>();
  std::vector<double> mean(3, 0.0), var(3, 0.0), bm, bv;
  const int64_t bounds[][2] = {{0, 4}, {4, 8}, {8, 10}};
  for (const auto& b : bounds) {
    column_stats(xs, 3, b[0], b[1], bm, bv);
    const double w = static_cast<double>(b[1] - b[0]) / 10.0;  // each batch weighted by its rows
    for (int j = 0; j < 3; ++j) mean[j] += w * bm[j], var[j] += w * bv[j];
  }
  auto bn = m->get_layer("bn");
  const std::vector<float> got_mean = bn->find_weight("moving_mean")->value().to_vector<float>();
  const std::vector<float> got_var = bn->find_weight("moving_variance")->value().to_vector<float>();
  for (int j = 0; j < 3; ++j) {
    EXPECT_NEAR(got_mean[j], mean[j], 1e-5) << j;
    EXPECT_NEAR(got_var[j], var[j], 1e-5 * var[j]) << j;
    EXPECT_GT(std::abs(got_var[j] - 1.0), 0.05) << j;  // not the initial variance
  }
}

TEST(UpdateBn, FrozenLayersKeepTheirStatisticsAndBadArgumentsThrow) {
  auto m = classifier_with_batch_norm();
  Tensor x = randn({8, 3});
  m->predict(x, {});
  auto bn = m->get_layer("bn");
  bn->set_trainable(false);
  const std::vector<float> before = bn->find_weight("moving_variance")->value().to_vector<float>();
  train::update_bn(*m, x, 3);
  EXPECT_EQ(bn->find_weight("moving_variance")->value().to_vector<float>(), before);
  expect_error<ValueError>([&] { train::update_bn(*m, x, 0); }, {"batch_size", "0"});
  expect_error<ValueError>([&] { train::update_bn(*m, zeros({0, 3}), 4); }, {"at least one row"});
  // Inputs the model refuses: the error, and the statistics of a trainable layer as they were.
  bn->set_trainable(true);
  const std::vector<float> mean_before = bn->find_weight("moving_mean")->value().to_vector<float>();
  expect_error<ShapeError>([&] { train::update_bn(*m, zeros({8, 5}), 4); }, {"dense", "(None, 3)"});
  EXPECT_EQ(bn->find_weight("moving_mean")->value().to_vector<float>(), mean_before);
  EXPECT_EQ(bn->find_weight("moving_variance")->value().to_vector<float>(), before);
}

TEST(SWA, TheModelEndsWithTheMeanOfTheEpochEndWeights) {
  manual_seed(3);
  auto [m, x, y] = compiled_setup(64);
  std::vector<std::map<std::string, std::vector<float>>> ends;
  auto recorder = std::make_shared<callbacks::LambdaCallback>(
      callbacks::LambdaCallbackOptions{.on_epoch_end = [&](int, callbacks::Logs&) { ends.push_back(trainable_values(*m)); }});
  auto swa = std::make_shared<callbacks::SWA>(callbacks::SWAOptions{.start_epoch = 2});
  ::testing::internal::CaptureStdout();
  m->fit(x, y, {.batch_size = 16, .epochs = 5, .verbose = 0, .callbacks = {recorder, swa}});
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("mean of 3 epoch-end weights (from epoch 3)"), std::string::npos) << out;
  ASSERT_EQ(ends.size(), 5u);
  EXPECT_EQ(swa->averaged(), 3);
  int checked = 0;
  for (const auto& [name, got] : trainable_values(*m)) {
    for (std::size_t i = 0; i < got.size(); ++i) {
      const double want = (static_cast<double>(ends[2].at(name)[i]) + ends[3].at(name)[i] + ends[4].at(name)[i]) / 3.0;
      EXPECT_NEAR(got[i], want, 1e-6) << name << "[" << i << "]";
    }
    EXPECT_NE(got, ends[4].at(name)) << name;  // not the last weights
    ++checked;
  }
  EXPECT_EQ(checked, 6);  // two Dense kernels and biases, gamma and beta
}

TEST(SWA, WithDataItRecomputesBatchNormAndAShortRunChangesNothing) {
  manual_seed(4);
  auto [m, x, y] = compiled_setup(48);
  // Starts after the last epoch: the weights stay the last ones.
  auto late = std::make_shared<callbacks::SWA>(callbacks::SWAOptions{.start_epoch = 9});
  std::map<std::string, std::vector<float>> last;
  auto recorder = std::make_shared<callbacks::LambdaCallback>(
      callbacks::LambdaCallbackOptions{.on_epoch_end = [&](int, callbacks::Logs&) { last = trainable_values(*m); }});
  m->fit(x, y, {.batch_size = 16, .epochs = 2, .verbose = 0, .callbacks = {recorder, late}});
  EXPECT_EQ(late->averaged(), 0);
  EXPECT_EQ(trainable_values(*m), last);

  // With bn_data the statistics are those update_bn gives the averaged model.
  auto swa = std::make_shared<callbacks::SWA>(callbacks::SWAOptions{.start_epoch = 0, .bn_data = x, .batch_size = 16});
  ::testing::internal::CaptureStdout();
  m->fit(x, y, {.batch_size = 16, .epochs = 2, .verbose = 0, .callbacks = {swa}});
  EXPECT_NE(::testing::internal::GetCapturedStdout().find("batch-norm statistics recomputed"), std::string::npos);
  auto bn = m->get_layer("bn");
  const std::vector<float> after_fit = bn->find_weight("moving_mean")->value().to_vector<float>();
  train::update_bn(*m, x, 16);
  const std::vector<float> again = bn->find_weight("moving_mean")->value().to_vector<float>();
  for (std::size_t i = 0; i < again.size(); ++i) EXPECT_NEAR(after_fit[i], again[i], 1e-6) << i;
}

TEST(SWA, StateRoundTripsAndBadStateOrOptionsThrow) {
  auto [m, x, y] = compiled_setup(32);
  callbacks::SWA swa({.start_epoch = 1});
  swa.set_model(m.get());
  m->fit(x, y, {.batch_size = 16, .epochs = 1, .verbose = 0});
  callbacks::Logs logs;
  swa.on_train_begin({});
  swa.on_epoch_end(0, logs);  // before the start: nothing
  EXPECT_EQ(swa.averaged(), 0);
  swa.on_epoch_end(1, logs);
  swa.on_epoch_end(2, logs);
  EXPECT_EQ(swa.averaged(), 2);
  callbacks::CallbackState state = swa.get_state();
  callbacks::SWA restored(callbacks::SWAOptions{});
  restored.set_state(state);
  EXPECT_EQ(restored.averaged(), 2);
  EXPECT_EQ(restored.start_epoch(), 1);
  EXPECT_EQ(restored.get_state().tensors.size(), state.tensors.size());

  callbacks::CallbackState broken = state;
  broken.tensors.clear();
  expect_error<FormatError>([&] { callbacks::SWA(callbacks::SWAOptions{}).set_state(broken); }, {"SWA", "2 snapshots"});
  expect_error<ValueError>([] { callbacks::SWA({.start_epoch = -1}); }, {"start_epoch", "-1"});
  expect_error<ValueError>([] { callbacks::SWA({.batch_size = 0}); }, {"batch_size", "0"});
}
