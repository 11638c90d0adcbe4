// Golden values from PyTorch (tests/fixtures/layers.json, made by tests/fixtures/gen/gen_layers.py):
// the Keras layers with their weights set from the fixture, forward and backward (seeded with the
// fixture's dy), in float32 (weights copied into the layer's own f32 tensors: the fast kernels) and
// float64 (weights replaced by f64 tensors: the reference kernels).
#include "ember/nn/layers/conv.hpp"
#include "ember/nn/layers/core.hpp"
#include "ember/nn/layers/normalization.hpp"
#include "ember/nn/layers/pooling.hpp"
#include "test_support.hpp"

using namespace ember;
using ember::testing::all_close;
using ember::testing::FixtureCase;
using ember::testing::load_fixture;

namespace {

struct Tol {
  double rtol, atol;
};
// float32: a few dozen rounded products summed, rtol 1e-5, and atol 1e-5 for elements that cancel
// to near zero. float64: the fixtures are float64 PyTorch results.
constexpr Tol kF32{1e-5, 1e-5};
constexpr Tol kF64{1e-10, 1e-10};

Padding padding_of(const FixtureCase& c) { return c.attrs.at("padding") == "same" ? Padding::Same : Padding::Valid; }
std::array<int64_t, 2> pair_of(const FixtureCase& c, const char* key) {
  return {c.attrs.at(key)[0].get<int64_t>(), c.attrs.at(key)[1].get<int64_t>()};
}

// The layer a fixture case describes, with Keras options from its attrs.
nn::LayerPtr make_layer(const FixtureCase& c) {
  const std::string kind = c.attrs.at("layer");
  if (kind == "Conv2D") {
    return std::make_shared<nn::Conv2D>(nn::Conv2DOptions{
        .filters = c.attrs.at("filters"), .kernel_size = pair_of(c, "kernel_size"), .strides = pair_of(c, "strides"),
        .padding = padding_of(c), .dilation_rate = pair_of(c, "dilation_rate"),
        .activation = nn::activation_from_name(c.attrs.at("activation"))});
  }
  if (kind == "Conv1D") {
    return std::make_shared<nn::Conv1D>(nn::Conv1DOptions{
        .filters = c.attrs.at("filters"), .kernel_size = c.attrs.at("kernel_size")[0],
        .strides = c.attrs.at("strides")[0], .padding = padding_of(c), .dilation_rate = c.attrs.at("dilation_rate")[0],
        .activation = nn::activation_from_name(c.attrs.at("activation"))});
  }
  if (kind == "MaxPooling2D") {
    return std::make_shared<nn::MaxPooling2D>(nn::Pooling2DOptions{
        .pool_size = pair_of(c, "pool_size"), .strides = pair_of(c, "strides"), .padding = padding_of(c)});
  }
  if (kind == "AveragePooling2D") {
    return std::make_shared<nn::AveragePooling2D>(nn::Pooling2DOptions{
        .pool_size = pair_of(c, "pool_size"), .strides = pair_of(c, "strides"), .padding = padding_of(c)});
  }
  if (kind == "BatchNormalization") {
    return std::make_shared<nn::BatchNormalization>(nn::BatchNormalizationOptions{
        .axis = c.attrs.at("axis"), .momentum = c.attrs.at("momentum"), .epsilon = c.attrs.at("epsilon")});
  }
  if (kind == "Dense") {
    return std::make_shared<nn::Dense>(
        nn::DenseOptions{.units = c.attrs.at("units"), .activation = nn::activation_from_name(c.attrs.at("activation"))});
  }
  throw ValueError("fixture " + c.name + ": unknown layer " + kind);
}

#define EXPECT_CLOSE(actual, key, tol) \
  EXPECT_TRUE(all_close(actual, c.at(key), tol.rtol, tol.atol)) << c.name << " (" << dtype_label(dt) << "): " << key

const char* dtype_label(DType dt) { return dt == f64 ? "f64" : "f32"; }

void run_case(const FixtureCase& c, DType dt, Tol tol) {
  nn::LayerPtr layer = make_layer(c);
  {
    // Build (weights are created as f32) without touching any statistics.
    autograd::NoGradGuard no_grad;
    (*layer)(zeros(c.at("x").shape()), false);
  }
  for (const auto& nw : layer->named_weights()) {
    nn::Weight* w = nw.weight;
    ASSERT_TRUE(c.tensors.count(w->name)) << c.name << ": fixture lacks weight " << w->name;
    if (dt == f32) {
      autograd::NoGradGuard no_grad;
      w->value.copy_(c.at(w->name));
    } else {
      w->value = c.at(w->name).to(f64).detach().clone();
      if (w->trainable) w->value.requires_grad_();
    }
  }
  Tensor x = c.at("x").to(dt).detach().clone().requires_grad_();
  bool training = c.attrs.value("training", false);
  Tensor y = (*layer)(x, training);
  EXPECT_EQ(y.dtype(), dt);
  EXPECT_CLOSE(y, "y", tol);
  y.backward(c.at("dy").to(dt));
  EXPECT_CLOSE(x.grad(), "dx", tol);
  for (const auto& nw : layer->named_weights()) {
    nn::Weight* w = nw.weight;
    if (w->trainable) {
      ASSERT_TRUE(w->value.grad().defined()) << c.name << ": no gradient for " << w->name;
      EXPECT_CLOSE(w->value.grad(), "d" + w->name, tol);
    } else {
      // Moving statistics: updated once in training, unchanged in inference.
      EXPECT_CLOSE(w->value, w->name + "_after", tol);
    }
  }
}

// Runs every case of one layer class in both dtypes; the fixture must hold at least one.
void run_layer(const std::string& kind) {
  int n = 0;
  for (const FixtureCase& c : load_fixture("layers.json")) {
    if (c.attrs.at("layer") != kind) continue;
    ++n;
    SCOPED_TRACE(c.name);
    run_case(c, f32, kF32);
    run_case(c, f64, kF64);
  }
  EXPECT_GT(n, 0) << "no " << kind << " case in layers.json";
}

}  // namespace

TEST(LayersGolden, Conv2D) { run_layer("Conv2D"); }
TEST(LayersGolden, Conv1D) { run_layer("Conv1D"); }
TEST(LayersGolden, MaxPooling2D) { run_layer("MaxPooling2D"); }
TEST(LayersGolden, AveragePooling2D) { run_layer("AveragePooling2D"); }
TEST(LayersGolden, BatchNormalization) { run_layer("BatchNormalization"); }
TEST(LayersGolden, Dense) { run_layer("Dense"); }

TEST(LayersGolden, BatchNormalizationTrainingThenInferenceUsesUpdatedStatistics) {
  // After the training step the layer's inference output uses the fixture's updated statistics.
  for (const FixtureCase& c : load_fixture("layers.json")) {
    if (c.name != "batch_normalization_training") continue;
    nn::BatchNormalization bn({.momentum = c.attrs.at("momentum"), .epsilon = c.attrs.at("epsilon")});
    Tensor x = c.at("x").to(f32);
    {
      autograd::NoGradGuard no_grad;
      bn(x, false);
      for (const char* n : {"gamma", "beta", "moving_mean", "moving_variance"}) bn.find_weight(n)->value.copy_(c.at(n));
    }
    bn(x, true);
    Tensor y = bn(x, false);
    Tensor mean = c.at("moving_mean_after").reshape({1, 1, 1, -1});
    Tensor var = c.at("moving_variance_after").reshape({1, 1, 1, -1});
    Tensor gamma = c.at("gamma").reshape({1, 1, 1, -1}), beta = c.at("beta").reshape({1, 1, 1, -1});
    Tensor expect = gamma * (c.at("x") - mean) / sqrt(var + c.attrs.at("epsilon").get<double>()) + beta;
    EXPECT_TRUE(all_close(y, expect, 1e-5, 1e-5));
    return;
  }
  FAIL() << "layers.json lacks batch_normalization_training";
}
