// Golden values from PyTorch (tests/fixtures/layers.json, made by tests/fixtures/gen/gen_layers.py):
// the Keras layers with their weights set from the fixture, forward and backward (seeded with the
// fixture's dy), in float32 (weights copied into the layer's own f32 tensors: the fast kernels) and
// float64 (weights replaced by f64 tensors: the reference kernels).
#include "ember/nn/layers/conv.hpp"
#include "ember/nn/layers/core.hpp"
#include "ember/nn/layers/merging.hpp"
#include "ember/nn/layers/normalization.hpp"
#include "ember/nn/layers/pooling.hpp"
#include "ember/nn/layers/reshaping.hpp"
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
  if (kind == "Activation") return std::make_shared<nn::ActivationLayer>(c.attrs.at("activation").get<std::string>());
  if (kind == "LeakyReLU") return std::make_shared<nn::LeakyReLU>(nn::LeakyReLUOptions{.alpha = c.attrs.at("alpha")});
  if (kind == "GlobalAveragePooling2D") return std::make_shared<nn::GlobalAveragePooling2D>();
  if (kind == "GlobalMaxPooling2D") return std::make_shared<nn::GlobalMaxPooling2D>();
  if (kind == "MaxPooling1D") {
    return std::make_shared<nn::MaxPooling1D>(nn::Pooling1DOptions{
        .pool_size = c.attrs.at("pool_size"), .strides = c.attrs.at("strides").get<int64_t>(), .padding = padding_of(c)});
  }
  if (kind == "Flatten") return std::make_shared<nn::Flatten>();
  if (kind == "Reshape") return std::make_shared<nn::Reshape>(c.attrs.at("target_shape").get<Shape>());
  if (kind == "ZeroPadding2D") {
    const auto& p = c.attrs.at("padding");
    return std::make_shared<nn::ZeroPadding2D>(nn::ZeroPadding2DOptions{
        .padding = {{{p[0][0].get<int64_t>(), p[0][1].get<int64_t>()}, {p[1][0].get<int64_t>(), p[1][1].get<int64_t>()}}}});
  }
  if (kind == "Dropout") return std::make_shared<nn::Dropout>(nn::DropoutOptions{.rate = c.attrs.at("rate")});
  if (kind == "Add") return std::make_shared<nn::Add>();
  if (kind == "Multiply") return std::make_shared<nn::Multiply>();
  if (kind == "Concatenate") return std::make_shared<nn::Concatenate>(nn::ConcatenateOptions{.axis = c.attrs.at("axis")});
  // cnn_layers.json (gen_cnn_layers.py)
  if (kind == "ReLU") {
    nn::ReLUOptions o{.negative_slope = c.attrs.value("negative_slope", 0.0), .threshold = c.attrs.value("threshold", 0.0)};
    if (c.attrs.contains("max_value")) o.max_value = c.attrs.at("max_value").get<double>();
    return std::make_shared<nn::ReLU>(o);
  }
  if (kind == "Softmax") return std::make_shared<nn::Softmax>(nn::SoftmaxOptions{.axis = c.attrs.at("axis")});
  if (kind == "Cropping2D") {
    const auto& p = c.attrs.at("cropping");
    return std::make_shared<nn::Cropping2D>(nn::Cropping2DOptions{
        .cropping = {{{p[0][0].get<int64_t>(), p[0][1].get<int64_t>()}, {p[1][0].get<int64_t>(), p[1][1].get<int64_t>()}}}});
  }
  if (kind == "AveragePooling1D") {
    return std::make_shared<nn::AveragePooling1D>(nn::Pooling1DOptions{
        .pool_size = c.attrs.at("pool_size"), .strides = c.attrs.at("strides").get<int64_t>(), .padding = padding_of(c)});
  }
  if (kind == "GlobalAveragePooling1D") return std::make_shared<nn::GlobalAveragePooling1D>();
  if (kind == "GlobalMaxPooling1D") return std::make_shared<nn::GlobalMaxPooling1D>();
  if (kind == "Subtract") return std::make_shared<nn::Subtract>();
  if (kind == "Average") return std::make_shared<nn::Average>();
  if (kind == "Maximum") return std::make_shared<nn::Maximum>();
  if (kind == "Minimum") return std::make_shared<nn::Minimum>();
  if (kind == "Dot") {
    return std::make_shared<nn::Dot>(nn::DotOptions{.axes = pair_of(c, "axes"), .normalize = c.attrs.at("normalize")});
  }
  if (kind == "DepthwiseConv2D") {
    return std::make_shared<nn::DepthwiseConv2D>(nn::DepthwiseConv2DOptions{
        .kernel_size = pair_of(c, "kernel_size"), .strides = pair_of(c, "strides"), .padding = padding_of(c),
        .depth_multiplier = c.attrs.at("depth_multiplier"), .dilation_rate = pair_of(c, "dilation_rate"),
        .activation = nn::activation_from_name(c.attrs.at("activation"))});
  }
  if (kind == "SeparableConv2D") {
    return std::make_shared<nn::SeparableConv2D>(nn::SeparableConv2DOptions{
        .filters = c.attrs.at("filters"), .kernel_size = pair_of(c, "kernel_size"), .strides = pair_of(c, "strides"),
        .padding = padding_of(c), .depth_multiplier = c.attrs.at("depth_multiplier"),
        .dilation_rate = pair_of(c, "dilation_rate"), .activation = nn::activation_from_name(c.attrs.at("activation"))});
  }
  if (kind == "Conv2DTranspose") {
    nn::Conv2DTransposeOptions o{
        .filters = c.attrs.at("filters"), .kernel_size = pair_of(c, "kernel_size"), .strides = pair_of(c, "strides"),
        .padding = padding_of(c), .dilation_rate = pair_of(c, "dilation_rate"),
        .activation = nn::activation_from_name(c.attrs.at("activation"))};
    if (c.attrs.contains("output_padding")) o.output_padding = pair_of(c, "output_padding");
    return std::make_shared<nn::Conv2DTranspose>(o);
  }
  if (kind == "UpSampling2D") {
    return std::make_shared<nn::UpSampling2D>(nn::UpSampling2DOptions{
        .size = pair_of(c, "size"),
        .interpolation = c.attrs.at("interpolation") == "bilinear" ? nn::UpSamplingInterpolation::Bilinear
                                                                   : nn::UpSamplingInterpolation::Nearest});
  }
  throw ValueError("fixture " + c.name + ": unknown layer " + kind);
}

// The fixture keys of a case's inputs: "x", or "x0", "x1", ... for the merging layers.
std::vector<std::string> input_keys(const FixtureCase& c) {
  if (c.tensors.count("x")) return {"x"};
  std::vector<std::string> keys;
  for (int i = 0; c.tensors.count("x" + std::to_string(i)); ++i) keys.push_back("x" + std::to_string(i));
  return keys;
}

#define EXPECT_CLOSE(actual, key, tol) \
  EXPECT_TRUE(all_close(actual, c.at(key), tol.rtol, tol.atol)) << c.name << " (" << dtype_label(dt) << "): " << key

const char* dtype_label(DType dt) { return dt == f64 ? "f64" : "f32"; }

void run_case(const FixtureCase& c, DType dt, Tol tol) {
  nn::LayerPtr layer = make_layer(c);
  const std::vector<std::string> keys = input_keys(c);
  ASSERT_FALSE(keys.empty()) << c.name << ": no input in the fixture";
  {
    // Build (weights are created as f32) without touching any statistics.
    autograd::NoGradGuard no_grad;
    std::vector<Tensor> blanks;
    for (const auto& k : keys) blanks.push_back(zeros(c.at(k).shape()));
    (*layer)(blanks, false);
  }
  for (const auto& nw : layer->named_weights()) {
    nn::Weight* w = nw.weight;
    ASSERT_TRUE(c.tensors.count(w->name)) << c.name << ": fixture lacks weight " << w->name;
    if (dt == f32) {
      autograd::NoGradGuard no_grad;
      w->value().copy_(c.at(w->name));
    } else {
      w->value() = c.at(w->name).to(f64).detach().clone();
      if (w->trainable) w->value().requires_grad_();
    }
  }
  std::vector<Tensor> xs;
  for (const auto& k : keys) xs.push_back(c.at(k).to(dt).detach().clone().requires_grad_());
  bool training = c.attrs.value("training", false);
  Tensor y = (*layer)(xs, training);
  EXPECT_EQ(y.dtype(), dt);
  EXPECT_CLOSE(y, "y", tol);
  y.backward(c.at("dy").to(dt));
  for (std::size_t i = 0; i < keys.size(); ++i) {
    ASSERT_TRUE(xs[i].grad().defined()) << c.name << ": no gradient for " << keys[i];
    EXPECT_CLOSE(xs[i].grad(), "d" + keys[i], tol);
  }
  for (const auto& nw : layer->named_weights()) {
    nn::Weight* w = nw.weight;
    if (w->trainable) {
      ASSERT_TRUE(w->value().grad().defined()) << c.name << ": no gradient for " << w->name;
      EXPECT_CLOSE(w->value().grad(), "d" + w->name, tol);
    } else {
      // Moving statistics: updated once in training, unchanged in inference.
      EXPECT_CLOSE(w->value(), w->name + "_after", tol);
    }
  }
}

// Runs every case of one layer class in both dtypes; the fixture must hold at least one.
void run_layer(const std::string& kind, const char* fixture = "layers.json") {
  int n = 0;
  for (const FixtureCase& c : load_fixture(fixture)) {
    if (c.attrs.at("layer") != kind) continue;
    ++n;
    SCOPED_TRACE(c.name);
    run_case(c, f32, kF32);
    run_case(c, f64, kF64);
  }
  EXPECT_GT(n, 0) << "no " << kind << " case in " << fixture;
}

}  // namespace

TEST(LayersGolden, Conv2D) { run_layer("Conv2D"); }
TEST(LayersGolden, Conv1D) { run_layer("Conv1D"); }
TEST(LayersGolden, MaxPooling2D) { run_layer("MaxPooling2D"); }
TEST(LayersGolden, AveragePooling2D) { run_layer("AveragePooling2D"); }
TEST(LayersGolden, BatchNormalization) { run_layer("BatchNormalization"); }
TEST(LayersGolden, Dense) { run_layer("Dense"); }
TEST(LayersGolden, ActivationEveryNamedFunction) { run_layer("Activation"); }
TEST(LayersGolden, LeakyReLU) { run_layer("LeakyReLU"); }
TEST(LayersGolden, GlobalAveragePooling2D) { run_layer("GlobalAveragePooling2D"); }
TEST(LayersGolden, GlobalMaxPooling2D) { run_layer("GlobalMaxPooling2D"); }
TEST(LayersGolden, MaxPooling1D) { run_layer("MaxPooling1D"); }
TEST(LayersGolden, Flatten) { run_layer("Flatten"); }
TEST(LayersGolden, Reshape) { run_layer("Reshape"); }
TEST(LayersGolden, ZeroPadding2D) { run_layer("ZeroPadding2D"); }
TEST(LayersGolden, DropoutInference) { run_layer("Dropout"); }
TEST(LayersGolden, Add) { run_layer("Add"); }
TEST(LayersGolden, Multiply) { run_layer("Multiply"); }
TEST(LayersGolden, Concatenate) { run_layer("Concatenate"); }

// Issue 16, tests/fixtures/cnn_layers.json (gen_cnn_layers.py).
TEST(LayersGolden, ReLUMaxValueSlopeThreshold) { run_layer("ReLU", "cnn_layers.json"); }
TEST(LayersGolden, Softmax) { run_layer("Softmax", "cnn_layers.json"); }
TEST(LayersGolden, Cropping2D) { run_layer("Cropping2D", "cnn_layers.json"); }
TEST(LayersGolden, AveragePooling1D) { run_layer("AveragePooling1D", "cnn_layers.json"); }
TEST(LayersGolden, GlobalAveragePooling1D) { run_layer("GlobalAveragePooling1D", "cnn_layers.json"); }
TEST(LayersGolden, GlobalMaxPooling1D) { run_layer("GlobalMaxPooling1D", "cnn_layers.json"); }
TEST(LayersGolden, Subtract) { run_layer("Subtract", "cnn_layers.json"); }
TEST(LayersGolden, Average) { run_layer("Average", "cnn_layers.json"); }
TEST(LayersGolden, Maximum) { run_layer("Maximum", "cnn_layers.json"); }
TEST(LayersGolden, Minimum) { run_layer("Minimum", "cnn_layers.json"); }
TEST(LayersGolden, Dot) { run_layer("Dot", "cnn_layers.json"); }
TEST(LayersGolden, DepthwiseConv2D) { run_layer("DepthwiseConv2D", "cnn_layers.json"); }
TEST(LayersGolden, SeparableConv2D) { run_layer("SeparableConv2D", "cnn_layers.json"); }
TEST(LayersGolden, Conv2DTranspose) { run_layer("Conv2DTranspose", "cnn_layers.json"); }
TEST(LayersGolden, UpSampling2DNearestAndBilinear) { run_layer("UpSampling2D", "cnn_layers.json"); }

TEST(LayersGolden, BatchNormalizationTrainingThenInferenceUsesUpdatedStatistics) {
  // After the training step the layer's inference output uses the fixture's updated statistics.
  for (const FixtureCase& c : load_fixture("layers.json")) {
    if (c.name != "batch_normalization_training") continue;
    nn::BatchNormalization bn({.momentum = c.attrs.at("momentum"), .epsilon = c.attrs.at("epsilon")});
    Tensor x = c.at("x").to(f32);
    {
      autograd::NoGradGuard no_grad;
      bn(x, false);
      for (const char* n : {"gamma", "beta", "moving_mean", "moving_variance"}) bn.find_weight(n)->value().copy_(c.at(n));
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
