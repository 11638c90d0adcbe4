// f64 gradient checks of the Keras layers (the notes' criterion, relative error < 1e-7): layers with
// weights w.r.t. the input and every trainable weight (the weights are replaced by f64 tensors after
// building), weightless layers w.r.t. their inputs.
#include <gtest/gtest.h>

#include "ember/nn/layers/conv.hpp"
#include "ember/nn/layers/core.hpp"
#include "ember/nn/layers/merging.hpp"
#include "ember/nn/layers/normalization.hpp"
#include "ember/nn/layers/pooling.hpp"
#include "ember/nn/layers/reshaping.hpp"
#include "test_support.hpp"

namespace ember {
namespace {

using testing::gradcheck_ok;
using testing::random_f64;
using Inputs = std::vector<Tensor>;

Tensor leaf(const Shape& shape, uint64_t seed, double low = -1, double high = 1) {
  return random_f64(shape, seed, low, high).requires_grad_();
}

// Builds `layer` on an f32 input of `shape`, then replaces every weight by a random f64 tensor
// (moving variances positive). Returns the input followed by the trainable weights, the
// gradcheck's inputs; the layer reads the weights itself, which gradcheck perturbs in place.
Inputs with_f64_weights(nn::Layer& layer, const Shape& shape, uint64_t seed) {
  {
    autograd::NoGradGuard no_grad;
    layer(zeros(shape), false);
  }
  Inputs inputs{leaf(shape, seed)};
  for (const auto& nw : layer.named_weights()) {
    nn::Weight* w = nw.weight;
    bool positive = w->name == "moving_variance";
    w->value() = random_f64(w->value().shape(), ++seed, positive ? 0.5 : -1.0, positive ? 1.5 : 1.0);
    if (w->trainable) inputs.push_back(w->value().requires_grad_());
  }
  EXPECT_GT(inputs.size(), 1u) << layer.name() << " has no trainable weight";
  return inputs;
}

// ---------------------------------------------------------------- layers with weights

TEST(LayersGradcheck, Conv2DSameStride2BiasTanh) {
  nn::Conv2D conv({.filters = 3, .kernel_size = {3, 3}, .strides = {2, 2}, .padding = Padding::Same,
                   .activation = Activation::Tanh});
  Inputs in = with_f64_weights(conv, {2, 5, 6, 2}, 10);
  ASSERT_EQ(in.size(), 3u);  // x, kernel, bias
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return conv(x[0]); }, in));
}

TEST(LayersGradcheck, Conv2DValidDilation2) {
  nn::Conv2D conv({.filters = 2, .kernel_size = {2, 3}, .dilation_rate = {2, 2}});
  Inputs in = with_f64_weights(conv, {2, 6, 7, 3}, 20);
  ASSERT_EQ(in.size(), 3u);
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return conv(x[0]); }, in));
}

TEST(LayersGradcheck, Conv1DSameStride2) {
  nn::Conv1D conv({.filters = 3, .kernel_size = 3, .strides = 2, .padding = Padding::Same,
                   .activation = Activation::Sigmoid});
  Inputs in = with_f64_weights(conv, {2, 9, 2}, 30);
  ASSERT_EQ(in.size(), 3u);
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return conv(x[0]); }, in));
}

TEST(LayersGradcheck, BatchNormalizationTraining) {
  nn::BatchNormalization bn({.momentum = 0.9});
  Inputs in = with_f64_weights(bn, {4, 3, 2, 5}, 40);
  ASSERT_EQ(in.size(), 3u);  // x, gamma, beta
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return bn(x[0], true); }, in));
}

TEST(LayersGradcheck, BatchNormalizationInference) {
  nn::BatchNormalization bn;
  Inputs in = with_f64_weights(bn, {4, 3, 2, 5}, 50);
  ASSERT_EQ(in.size(), 3u);
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return bn(x[0], false); }, in));
}

TEST(LayersGradcheck, BatchNormalizationAxis1Training) {
  // A feature axis other than the last goes through the permute path.
  nn::BatchNormalization bn({.axis = 1});
  Inputs in = with_f64_weights(bn, {3, 4, 5}, 60);
  ASSERT_EQ(in.size(), 3u);
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return bn(x[0], true); }, in));
}

// ---------------------------------------------------------------- weightless layers

TEST(LayersGradcheck, MaxPooling2DSameOdd) {
  nn::MaxPooling2D pool({.pool_size = {3, 3}, .strides = std::array<int64_t, 2>{2, 2}, .padding = Padding::Same});
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return pool(x[0]); }, {leaf({2, 7, 5, 3}, 70)}));
}

TEST(LayersGradcheck, AveragePooling2DSameOdd) {
  nn::AveragePooling2D pool({.padding = Padding::Same});
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return pool(x[0]); }, {leaf({2, 5, 7, 2}, 71)}));
}

TEST(LayersGradcheck, MaxPooling1D) {
  nn::MaxPooling1D pool({.pool_size = 3, .strides = 2, .padding = Padding::Same});
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return pool(x[0]); }, {leaf({2, 9, 3}, 72)}));
}

TEST(LayersGradcheck, GlobalAveragePooling2D) {
  nn::GlobalAveragePooling2D pool;
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return pool(x[0]); }, {leaf({2, 3, 4, 5}, 73)}));
}

TEST(LayersGradcheck, GlobalMaxPooling2D) {
  nn::GlobalMaxPooling2D pool;
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return pool(x[0]); }, {leaf({2, 3, 4, 5}, 74)}));
}

TEST(LayersGradcheck, Reshape) {
  nn::Reshape reshape({3, -1});
  // Followed by a non-linear op so that the element order matters to the check.
  EXPECT_TRUE(gradcheck_ok(
      [&](const Inputs& x) { return reshape(x[0]) * x[1]; }, {leaf({2, 4, 3}, 75), leaf({2, 3, 4}, 76)}));
}

TEST(LayersGradcheck, ZeroPadding2D) {
  nn::ZeroPadding2D pad({.padding = {{{1, 2}, {0, 3}}}});
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return pad(x[0]); }, {leaf({2, 3, 4, 2}, 77)}));
}

TEST(LayersGradcheck, Add) {
  nn::Add add;
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return add({x[0], x[1], x[2]}); },
                           {leaf({2, 3, 4}, 78), leaf({2, 3, 4}, 79), leaf({2, 3, 4}, 80)}));
}

TEST(LayersGradcheck, Multiply) {
  nn::Multiply mul;
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return mul({x[0], x[1], x[2]}); },
                           {leaf({2, 3, 4}, 81), leaf({2, 3, 4}, 82), leaf({2, 3, 4}, 83)}));
}

// A squeeze-and-excitation scale: [N, 1, 1, C] broadcast over the spatial axes (gradient summed back).
TEST(LayersGradcheck, MultiplyBroadcastsAxesOfSizeOne) {
  nn::Multiply mul;
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return mul({x[0], x[1]}); }, {leaf({2, 3, 3, 4}, 86), leaf({2, 1, 1, 4}, 87)}));
}

TEST(LayersGradcheck, Concatenate) {
  nn::Concatenate cat({.axis = 2});
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return cat({x[0], x[1]}); },
                           {leaf({2, 3, 4, 2}, 84), leaf({2, 3, 1, 2}, 85)}));
}

TEST(LayersGradcheck, LeakyReLU) {
  nn::LeakyReLU act;  // alpha 0.3
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return act(x[0]); }, {leaf({3, 7}, 86)}));
}

TEST(LayersGradcheck, DropoutTrainingFixedSeed) {
  // A fresh layer per evaluation: the same seed gives the same mask every time.
  EXPECT_TRUE(gradcheck_ok(
      [](const Inputs& x) {
        nn::Dropout drop({.rate = 0.4, .seed = 7});
        return drop(x[0], true);
      },
      {leaf({4, 6}, 87)}));
}

// ---------------------------------------------------------------- issue 16: the classic CNNs' layers

TEST(LayersGradcheck, DepthwiseConv2DSameStride2Multiplier2Tanh) {
  nn::DepthwiseConv2D conv({.kernel_size = {3, 3}, .strides = {2, 2}, .padding = Padding::Same, .depth_multiplier = 2,
                            .activation = Activation::Tanh});
  Inputs in = with_f64_weights(conv, {2, 5, 6, 3}, 100);
  ASSERT_EQ(in.size(), 3u);  // x, depthwise_kernel, bias
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return conv(x[0]); }, in));
}

TEST(LayersGradcheck, DepthwiseConv2DValidDilation2) {
  nn::DepthwiseConv2D conv({.kernel_size = {2, 3}, .dilation_rate = {2, 2}});
  Inputs in = with_f64_weights(conv, {2, 6, 7, 2}, 110);
  ASSERT_EQ(in.size(), 3u);
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return conv(x[0]); }, in));
}

TEST(LayersGradcheck, SeparableConv2DSameMultiplier2Sigmoid) {
  nn::SeparableConv2D conv({.filters = 3, .kernel_size = {3, 3}, .padding = Padding::Same, .depth_multiplier = 2,
                            .activation = Activation::Sigmoid});
  Inputs in = with_f64_weights(conv, {2, 5, 4, 2}, 120);
  ASSERT_EQ(in.size(), 4u);  // x, depthwise_kernel, pointwise_kernel, bias
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return conv(x[0]); }, in));
}

TEST(LayersGradcheck, Conv2DTransposeSameStride2OutputPaddingTanh) {
  nn::Conv2DTranspose conv({.filters = 2, .kernel_size = {3, 3}, .strides = {2, 2}, .padding = Padding::Same,
                            .output_padding = std::array<int64_t, 2>{1, 0}, .activation = Activation::Tanh});
  Inputs in = with_f64_weights(conv, {2, 3, 4, 3}, 150);
  ASSERT_EQ(in.size(), 3u);  // x, kernel, bias
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return conv(x[0]); }, in));
}

TEST(LayersGradcheck, Conv2DTransposeValidDilation2) {
  nn::Conv2DTranspose conv({.filters = 3, .kernel_size = {2, 3}, .dilation_rate = {2, 1}});
  Inputs in = with_f64_weights(conv, {2, 3, 3, 2}, 160);
  ASSERT_EQ(in.size(), 3u);
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return conv(x[0]); }, in));
}

TEST(LayersGradcheck, UpSampling2DNearestAndBilinear) {
  nn::UpSampling2D nearest({.size = {2, 3}});
  nn::UpSampling2D bilinear({.size = {3, 2}, .interpolation = nn::UpSamplingInterpolation::Bilinear});
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return nearest(x[0]) * bilinear(x[1]); },
                           {leaf({2, 3, 2, 2}, 170), leaf({2, 2, 3, 2}, 171)}));
}

TEST(LayersGradcheck, ReLUMaxValueSlopeThreshold) {
  nn::ReLU act({.max_value = 0.6, .negative_slope = 0.1, .threshold = 0.2});
  // Inputs in [-1, 1] a fixed draw away from the kinks at 0.2 and 0.6 (differences of 1e-6 cannot cross them).
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return act(x[0]); }, {leaf({4, 7}, 130)}));
}

TEST(LayersGradcheck, Softmax) {
  nn::Softmax softmax({.axis = 1});
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return softmax(x[0]); }, {leaf({2, 4, 3}, 131)}));
}

TEST(LayersGradcheck, Cropping2D) {
  nn::Cropping2D crop({.cropping = {{{1, 0}, {2, 1}}}});
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return crop(x[0]) * crop(x[0]); }, {leaf({2, 4, 5, 2}, 132)}));
}

TEST(LayersGradcheck, AveragePooling1DSame) {
  nn::AveragePooling1D pool({.pool_size = 3, .strides = 2, .padding = Padding::Same});
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return pool(x[0]); }, {leaf({2, 8, 3}, 133)}));
}

TEST(LayersGradcheck, GlobalPooling1D) {
  nn::GlobalAveragePooling1D avg;
  nn::GlobalMaxPooling1D max;
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return avg(x[0]) * max(x[0]); }, {leaf({2, 5, 3}, 134)}));
}

TEST(LayersGradcheck, SubtractAverageMaximumMinimum) {
  nn::Subtract subtract;
  nn::Average average;
  nn::Maximum maximum;
  nn::Minimum minimum;
  EXPECT_TRUE(gradcheck_ok(
      [&](const Inputs& x) {
        return subtract({x[0], x[1]}) * average({x[0], x[1], x[2]}) + maximum({x[0], x[1], x[2]}) * minimum({x[1], x[2]});
      },
      {leaf({2, 3, 4}, 135), leaf({2, 3, 4}, 136), leaf({2, 3, 4}, 137)}));
}

TEST(LayersGradcheck, DotNormalized) {
  nn::Dot dot({.axes = {1, 2}, .normalize = true});
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return dot({x[0], x[1]}); }, {leaf({2, 4, 3}, 138), leaf({2, 5, 4}, 139)}));
}

TEST(LayersGradcheck, Dot2D) {
  nn::Dot dot({.axes = {-1, -1}});
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return dot({x[0], x[1]}); }, {leaf({3, 5}, 140), leaf({3, 5}, 141)}));
}

}  // namespace
}  // namespace ember
