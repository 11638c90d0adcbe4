// The Keras layers: output-shape inference (symbolic calls), parameter counts, values from maths,
// training vs inference behaviour, frozen layers, validation messages, configs, a residual model.
#include <cmath>

#include "ember/nn/layers/conv.hpp"
#include "ember/nn/layers/core.hpp"
#include "ember/nn/layers/merging.hpp"
#include "ember/nn/layers/normalization.hpp"
#include "ember/nn/layers/pooling.hpp"
#include "ember/nn/layers/reshaping.hpp"
#include "ember/nn/config.hpp"
#include "ember/nn/model.hpp"
#include "test_support.hpp"

using namespace ember;
using ember::testing::all_close;

namespace {

struct Layers : ::testing::Test {
  void SetUp() override {
    nn::reset_layer_names();
    manual_seed(3);
  }
};

// Output shape of `layer` called symbolically on an Input of `shape` (batch axis excluded).
template <typename L>
Shape symbolic_shape(L&& layer, const Shape& shape) {
  return std::forward<L>(layer)(nn::Input(shape)).shape();
}

int64_t trainable_count(nn::Layer& l) {
  int64_t n = 0;
  for (const auto& w : l.trainable_weights()) n += w.weight->value().numel();
  return n;
}

// Runs f, expecting an exception of type E whose message contains every one of `parts`.
template <typename E, typename F>
void expect_error(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "expected an exception";
  } catch (const E& e) {
    std::string msg = e.what();
    for (const std::string& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

std::vector<float> values(const Tensor& t) { return t.to(f32).contiguous().to_vector<float>(); }

}  // namespace

// ---------------------------------------------------------------- shapes and parameter counts

TEST_F(Layers, NotesConvAndPoolShapes) {
  nn::LayerRef conv = nn::Conv2D({.filters = 16, .kernel_size = {2, 2}, .strides = {2, 2}, .activation = Activation::ReLU});
  EXPECT_EQ(symbolic_shape(conv, {200, 200, 1}), (Shape{-1, 100, 100, 16}));
  EXPECT_EQ(conv->count_params(), 80);  // 2*2*1*16 + 16
  EXPECT_EQ(symbolic_shape(nn::MaxPooling2D({.pool_size = {2, 2}, .strides = std::array<int64_t, 2>{2, 2}}), {100, 100, 15}),
            (Shape{-1, 50, 50, 15}));
  nn::LayerRef same = nn::Conv2D({.filters = 32, .kernel_size = {5, 5}, .padding = Padding::Same});
  EXPECT_EQ(symbolic_shape(same, {28, 28, 1}), (Shape{-1, 28, 28, 32}));
  EXPECT_EQ(same->count_params(), 832);  // 5*5*1*32 + 32
}

TEST_F(Layers, ConvOutputShapesAcrossPaddingsAndStrides) {
  EXPECT_EQ(symbolic_shape(nn::Conv2D({.filters = 2, .strides = {2, 2}}), {7, 7, 3}), (Shape{-1, 3, 3, 2}));
  EXPECT_EQ(symbolic_shape(nn::Conv2D({.filters = 2, .strides = {2, 2}, .padding = Padding::Same}), {7, 7, 3}),
            (Shape{-1, 4, 4, 2}));
  EXPECT_EQ(symbolic_shape(nn::Conv2D({.filters = 2, .kernel_size = {3, 2}, .strides = {2, 3}, .padding = Padding::Same}),
                           {8, 7, 1}),
            (Shape{-1, 4, 3, 2}));
  EXPECT_EQ(symbolic_shape(nn::Conv2D({.filters = 1, .dilation_rate = {2, 2}}), {9, 8, 1}), (Shape{-1, 5, 4, 1}));
  EXPECT_EQ(symbolic_shape(nn::Conv1D({.filters = 4, .kernel_size = 3, .strides = 2}), {10, 3}), (Shape{-1, 4, 4}));
  EXPECT_EQ(symbolic_shape(nn::Conv1D({.filters = 4, .strides = 2, .padding = Padding::Same}), {11, 3}),
            (Shape{-1, 6, 4}));
}

TEST_F(Layers, PoolingOutputShapesOddSizes) {
  EXPECT_EQ(symbolic_shape(nn::MaxPooling2D(), {7, 5, 3}), (Shape{-1, 3, 2, 3}));
  EXPECT_EQ(symbolic_shape(nn::MaxPooling2D({.padding = Padding::Same}), {7, 5, 3}), (Shape{-1, 4, 3, 3}));
  EXPECT_EQ(symbolic_shape(nn::AveragePooling2D({.pool_size = {3, 3}, .strides = std::array<int64_t, 2>{2, 2},
                                                 .padding = Padding::Same}),
                           {7, 5, 2}),
            (Shape{-1, 4, 3, 2}));
  EXPECT_EQ(symbolic_shape(nn::AveragePooling2D({.pool_size = {3, 3}, .strides = std::array<int64_t, 2>{1, 1}}), {7, 5, 2}),
            (Shape{-1, 5, 3, 2}));
  EXPECT_EQ(symbolic_shape(nn::MaxPooling1D({.pool_size = 3, .padding = Padding::Same}), {10, 4}), (Shape{-1, 4, 4}));
  EXPECT_EQ(symbolic_shape(nn::MaxPooling1D(), {9, 4}), (Shape{-1, 4, 4}));
  EXPECT_EQ(symbolic_shape(nn::GlobalAveragePooling2D(), {7, 5, 6}), (Shape{-1, 6}));
  EXPECT_EQ(symbolic_shape(nn::GlobalMaxPooling2D(), {7, 5, 6}), (Shape{-1, 6}));
}

TEST_F(Layers, SymbolicShapesMatchEagerOutputs) {
  // The analytic compute_output_shape overrides against what the ops really produce.
  auto check = [](nn::LayerRef layer, const Shape& in) {
    Shape sym = layer(nn::Input(in)).shape();
    Shape batch{2};
    batch.insert(batch.end(), in.begin(), in.end());
    Shape eager = layer(zeros(batch)).shape();
    sym[0] = 2;
    EXPECT_EQ(sym, eager) << layer->name() << " on " << to_string(in);
  };
  for (Padding p : {Padding::Valid, Padding::Same}) {
    for (int64_t s : {1, 2, 3}) {
      for (int64_t n : {5, 6, 7, 8}) {
        check(nn::Conv2D({.filters = 2, .kernel_size = {3, 2}, .strides = {s, s}, .padding = p}), {n, n + 1, 2});
        check(nn::Conv1D({.filters = 2, .kernel_size = 3, .strides = s, .padding = p}), {n, 2});
        check(nn::MaxPooling2D({.pool_size = {3, 2}, .strides = std::array<int64_t, 2>{s, s}, .padding = p}), {n, n + 1, 2});
        check(nn::AveragePooling2D({.pool_size = {2, 3}, .strides = std::array<int64_t, 2>{s, s}, .padding = p}),
              {n, n + 1, 2});
        check(nn::MaxPooling1D({.pool_size = 3, .strides = s, .padding = p}), {n, 2});
      }
    }
  }
  check(nn::Conv2D({.filters = 2, .padding = Padding::Same, .dilation_rate = {2, 3}}), {7, 8, 1});
  check(nn::Reshape({-1, 2}), {3, 4});
  check(nn::ZeroPadding2D({.padding = {{{1, 2}, {3, 0}}}}), {3, 4, 2});
  check(nn::BatchNormalization(), {3, 4});
  check(nn::Dropout(), {3, 4});
  check(nn::LeakyReLU(), {3, 4});
}

TEST_F(Layers, ParameterCounts) {
  nn::LayerRef conv1d = nn::Conv1D({.filters = 8, .kernel_size = 3});
  conv1d(nn::Input({10, 4}));
  EXPECT_EQ(conv1d->count_params(), 3 * 4 * 8 + 8);
  nn::LayerRef nobias = nn::Conv2D({.filters = 8, .use_bias = false});
  nobias(nn::Input({6, 6, 3}));
  EXPECT_EQ(nobias->count_params(), 3 * 3 * 3 * 8);
  EXPECT_EQ(nobias->named_weights().size(), 1u);

  nn::Sequential model{nn::Input({64}), nn::BatchNormalization()};
  EXPECT_EQ(model.count_params(), 256);
  EXPECT_EQ(trainable_count(model), 128);
  std::string s = model.summary_string();
  EXPECT_NE(s.find("Total params: 256"), std::string::npos) << s;
  EXPECT_NE(s.find("Trainable params: 128"), std::string::npos) << s;
  EXPECT_NE(s.find("Non-trainable params: 128"), std::string::npos) << s;
  auto names = model.named_weights();
  ASSERT_EQ(names.size(), 4u);
  EXPECT_EQ(names[0].name, "batch_normalization/gamma");
  EXPECT_EQ(names[1].name, "batch_normalization/beta");
  EXPECT_EQ(names[2].name, "batch_normalization/moving_mean");
  EXPECT_EQ(names[3].name, "batch_normalization/moving_variance");

  nn::LayerRef plain = nn::BatchNormalization({.center = false, .scale = false});
  plain(nn::Input({5, 7}));
  EXPECT_EQ(plain->count_params(), 14);
  EXPECT_EQ(trainable_count(*plain), 0);
}

TEST_F(Layers, NotesMlpWithDropoutSummary) {
  nn::Sequential model{nn::Input({28, 28}),
                       nn::Flatten(),
                       nn::Dense({.units = 512, .activation = Activation::ReLU}),
                       nn::Dropout({.rate = 0.2}),
                       nn::Dense({.units = 512, .activation = Activation::ReLU}),
                       nn::Dropout({.rate = 0.2}),
                       nn::Dense({.units = 10, .activation = Activation::Softmax})};
  std::string s = model.summary_string();
  EXPECT_NE(s.find("Total params: 669,706"), std::string::npos) << s;
  EXPECT_NE(s.find("Trainable params: 669,706"), std::string::npos) << s;
  EXPECT_NE(s.find("dropout (Dropout)"), std::string::npos) << s;
  EXPECT_NE(s.find("dropout_1 (Dropout)"), std::string::npos) << s;
  EXPECT_EQ(model(zeros({3, 28, 28}), true).shape(), (Shape{3, 10}));
}

// ---------------------------------------------------------------- values from maths

TEST_F(Layers, Conv2DComputesCrossCorrelationPlusBias) {
  nn::Conv2D conv({.filters = 1, .kernel_size = {2, 2}, .padding = Padding::Same});
  Tensor x = arange(0, 9, 1, f32).reshape({1, 3, 3, 1});
  conv(x);
  {
    autograd::NoGradGuard g;
    conv.find_weight("kernel")->value().copy_(from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2, 1, 1}));
    conv.find_weight("bias")->value().fill_(0.5);
  }
  // TF SAME with k = 2: the extra row/column of zeros goes bottom/right.
  // out[i][j] = x[i][j] + 2 x[i][j+1] + 3 x[i+1][j] + 4 x[i+1][j+1] + 0.5
  Tensor y = conv(x);
  std::vector<float> expect = {0 + 2 + 9 + 16, 1 + 4 + 12 + 20, 2 + 15, 3 + 8 + 18 + 28, 4 + 10 + 21 + 32, 5 + 24,
                               6 + 14, 7 + 16, 8};
  for (float& e : expect) e += 0.5f;
  EXPECT_EQ(values(y), expect);
}

TEST_F(Layers, PoolingValues) {
  Tensor x = arange(0, 9, 1, f32).reshape({1, 3, 3, 1});
  // SAME 2x2 stride 2 on 3x3: windows {0,1,3,4}, {2,5}, {6,7}, {8}; the average divides by the real count.
  EXPECT_EQ(values(nn::AveragePooling2D({.padding = Padding::Same})(x)), (std::vector<float>{2, 3.5f, 6.5f, 8}));
  EXPECT_EQ(values(nn::MaxPooling2D({.padding = Padding::Same})(x)), (std::vector<float>{4, 5, 7, 8}));
  EXPECT_EQ(values(nn::MaxPooling2D()(x)), (std::vector<float>{4}));
  Tensor neg = x * -1.0;  // padded positions never win a max, even against negatives
  EXPECT_EQ(values(nn::MaxPooling2D({.padding = Padding::Same})(neg)), (std::vector<float>{0, -2, -6, -8}));
  EXPECT_EQ(values(nn::GlobalAveragePooling2D()(x)), (std::vector<float>{4}));
  EXPECT_EQ(values(nn::GlobalMaxPooling2D()(x)), (std::vector<float>{8}));
  Tensor s = from_vector(std::vector<float>{3, 1, 4, 1, 5, 9, 2}, {1, 7, 1});
  EXPECT_EQ(values(nn::MaxPooling1D()(s)), (std::vector<float>{3, 4, 9}));
  EXPECT_EQ(values(nn::MaxPooling1D({.pool_size = 3, .strides = 2, .padding = Padding::Same})(s)),
            (std::vector<float>{3, 4, 9, 9}));  // windows {3,1} {1,4,1} {1,5,9} {9,2}
}

TEST_F(Layers, ReshapePaddingMergingLeakyReluValues) {
  Tensor x = arange(0, 12, 1, f32).reshape({2, 6});
  Tensor r = nn::Reshape({-1, 2})(x);
  EXPECT_EQ(r.shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(values(r), values(x));

  Tensor img = ones({1, 2, 2, 1});
  Tensor p = nn::ZeroPadding2D({.padding = {{{1, 0}, {0, 2}}}})(img);
  EXPECT_EQ(p.shape(), (Shape{1, 3, 4, 1}));
  EXPECT_EQ(values(p), (std::vector<float>{0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0}));

  Tensor a = from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2});
  Tensor b = from_vector(std::vector<float>{10, 20, 30, 40}, {2, 2});
  EXPECT_EQ(values(nn::Add()({a, b, a})), (std::vector<float>{12, 24, 36, 48}));
  EXPECT_EQ(values(nn::Multiply()({a, b})), (std::vector<float>{10, 40, 90, 160}));
  // Keras 2 broadcasts an axis of size 1: each row of `a` times its own scalar, in either order.
  Tensor col = from_vector(std::vector<float>{10, 100}, {2, 1});
  EXPECT_EQ(values(nn::Multiply()({a, col})), (std::vector<float>{10, 20, 300, 400}));
  EXPECT_EQ(values(nn::Add()({col, a})), (std::vector<float>{11, 12, 103, 104}));
  EXPECT_EQ(nn::Multiply()({nn::Input({5, 5, 8}), nn::Input({1, 1, 8})}).shape(), (Shape{-1, 5, 5, 8}));
  EXPECT_EQ(nn::Add()({nn::Input({1, 8}), nn::Input({-1, 8})}).shape(), (Shape{-1, -1, 8}));
  Tensor c = nn::Concatenate()({a, b});
  EXPECT_EQ(c.shape(), (Shape{2, 4}));
  EXPECT_EQ(values(c), (std::vector<float>{1, 2, 10, 20, 3, 4, 30, 40}));
  Tensor c1 = nn::Concatenate({.axis = 1})({a.reshape({2, 2, 1}), b.reshape({2, 2, 1})});
  EXPECT_EQ(c1.shape(), (Shape{2, 4, 1}));
  EXPECT_EQ(values(c1), (std::vector<float>{1, 2, 10, 20, 3, 4, 30, 40}));

  Tensor l = from_vector(std::vector<float>{-2, -0.5f, 0, 3}, {1, 4});
  EXPECT_EQ(values(nn::LeakyReLU()(l)), (std::vector<float>{-0.6f, -0.15f, 0, 3}));  // Keras default alpha 0.3
  EXPECT_EQ(values(nn::LeakyReLU({.alpha = 0.1})(l)), (std::vector<float>{-0.2f, -0.05f, 0, 3}));
}

// ---------------------------------------------------------------- training vs inference

TEST_F(Layers, DropoutIsIdentityInInferenceAndInvertedInTraining) {
  Tensor x = rand({50, 40}, {.low = 1, .high = 2});
  nn::Dropout drop({.rate = 0.5});
  EXPECT_EQ(values(drop(x, false)), values(x));
  EXPECT_EQ(values(nn::Dropout({.rate = 0.0})(x, true)), values(x));
  std::vector<float> in = values(x), out = values(drop(x, true));
  int64_t dropped = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (out[i] == 0) {
      ++dropped;
    } else {
      EXPECT_FLOAT_EQ(out[i], 2 * in[i]);  // kept elements scaled by 1/(1 - rate)
    }
  }
  // 2000 draws at p = 0.5: mean 1000, sd ~22.
  EXPECT_GT(dropped, 880);
  EXPECT_LT(dropped, 1120);
  // A seed fixes the masks: two layers with the same seed agree call by call; the next call differs.
  nn::Dropout s1({.rate = 0.3, .seed = 11}), s2({.rate = 0.3, .seed = 11});
  std::vector<float> first = values(s1(x, true));
  EXPECT_EQ(first, values(s2(x, true)));
  EXPECT_EQ(values(s1(x, true)), values(s2(x, true)));
  EXPECT_NE(first, values(s1(x, true)));
}

TEST_F(Layers, BatchNormalizationUpdatesMovingStatisticsInTrainingOnly) {
  nn::BatchNormalization bn;  // momentum 0.99
  Tensor x = rand({16, 3}, {.low = 2, .high = 4});
  Tensor y = bn(x, false);
  Tensor mean = bn.find_weight("moving_mean")->value(), var = bn.find_weight("moving_variance")->value();
  EXPECT_EQ(values(mean), (std::vector<float>{0, 0, 0}));
  EXPECT_EQ(values(var), (std::vector<float>{1, 1, 1}));
  // Inference: (x - 0) / sqrt(1 + 1e-3).
  EXPECT_TRUE(all_close(y, x / std::sqrt(1.001), 1e-6, 1e-6));
  bn(x, true);
  // moving = 0.99 * moving + 0.01 * batch (unbiased variance).
  Tensor batch_mean = x.mean({0});
  Tensor batch_var = ember::var(x, {0}, false, 1);
  EXPECT_TRUE(all_close(mean, batch_mean * 0.01, 1e-5, 1e-7));
  EXPECT_TRUE(all_close(var, batch_var * 0.01 + 0.99, 1e-5, 1e-7));
  std::vector<float> after = values(mean);
  bn(x, false);
  EXPECT_EQ(values(mean), after);
  // Training output uses the batch statistics: each channel has mean 0 and (biased) variance ~1.
  Tensor t = bn(x, true);
  EXPECT_TRUE(all_close(t.mean({0}), zeros({3}), 0, 1e-5));
  // A frozen BatchNormalization runs in inference mode (TF2 Keras): the statistics stay.
  after = values(mean);
  bn.set_trainable(false);
  Tensor frozen = bn(x, true);
  EXPECT_EQ(values(mean), after);
  EXPECT_TRUE(all_close(frozen, bn(x, false), 0, 0));
}

TEST_F(Layers, BatchNormalizationOnAnotherAxisMatchesTheLastAxis) {
  Tensor x = rand({4, 3, 5}, {.low = -1, .high = 3});
  nn::BatchNormalization a({.axis = 1}), last;
  Tensor ya = a(x, true);
  Tensor yl = last(x.permute({0, 2, 1}).contiguous(), true);
  EXPECT_TRUE(all_close(ya, yl.permute({0, 2, 1}), 1e-5, 1e-5));
  EXPECT_TRUE(all_close(a.find_weight("moving_variance")->value(), last.find_weight("moving_variance")->value(), 1e-6, 1e-7));
  EXPECT_EQ(a.find_weight("gamma")->value().shape(), (Shape{3}));
}

TEST_F(Layers, FrozenLayerIsBitIdenticalAfterATrainingStep) {
  nn::LayerRef conv = nn::Conv2D({.filters = 3, .activation = Activation::ReLU});
  nn::LayerRef bn = nn::BatchNormalization();
  nn::LayerRef dense = nn::Dense({.units = 2});
  nn::Sequential model{nn::Input({6, 6, 2}), conv, bn, nn::Flatten(), dense};
  conv->set_trainable(false);
  bn->set_trainable(false);
  std::vector<std::vector<float>> frozen_before;
  for (const auto& w : conv->named_weights()) frozen_before.push_back(values(w.weight->value()));
  for (const auto& w : bn->named_weights()) frozen_before.push_back(values(w.weight->value()));
  std::vector<float> dense_before = values(dense->find_weight("kernel")->value());
  for (const auto& w : model.trainable_weights()) EXPECT_EQ(w.name.rfind("dense", 0), 0u) << w.name;
  EXPECT_EQ(model.trainable_weights().size(), 2u);

  Tensor x = rand({4, 6, 6, 2}, {.low = -1, .high = 1});
  Tensor loss = sum(square(model(x, true)));
  loss.backward();
  {
    autograd::NoGradGuard g;
    for (const auto& w : model.trainable_weights()) w.weight->value().add_(w.weight->value().grad(), -0.1);
  }
  std::vector<std::vector<float>> frozen_after;
  for (const auto& w : conv->named_weights()) frozen_after.push_back(values(w.weight->value()));
  for (const auto& w : bn->named_weights()) frozen_after.push_back(values(w.weight->value()));
  EXPECT_EQ(frozen_after, frozen_before);
  EXPECT_NE(values(dense->find_weight("kernel")->value()), dense_before);
}

// ---------------------------------------------------------------- validation

TEST_F(Layers, IncompatibleShapesNameTheLayerAndBothShapes) {
  nn::Conv2D conv({.filters = 2});
  conv(zeros({1, 5, 5, 3}));
  EXPECT_EQ(conv(zeros({2, 7, 9, 3})).shape(), (Shape{2, 5, 7, 2}));  // spatial sizes are free
  expect_error<ShapeError>([&] { conv(zeros({2, 5, 5, 4})); }, {"conv2d", "(None, None, None, 3)", "(2, 5, 5, 4)"});
  expect_error<ShapeError>([&] { conv(zeros({5, 5, 3})); }, {"conv2d", "(5, 5, 3)"});
  expect_error<ShapeError>([&] { conv(zeros({1, 2, 2, 3})); }, {"conv2d", "(1, 2, 2, 3)"});  // 3x3 VALID does not fit
  expect_error<ShapeError>([] { nn::Conv1D({.filters = 2})(zeros({2, 5, 5, 1})); }, {"conv1d", "(2, 5, 5, 1)"});

  nn::BatchNormalization bn;
  bn(zeros({2, 4, 4, 6}));
  expect_error<ShapeError>([&] { bn(zeros({2, 4, 4, 5})); }, {"batch_normalization", "(None, None, None, 6)", "(2, 4, 4, 5)"});

  expect_error<ShapeError>([] { nn::MaxPooling2D()(zeros({2, 4, 4})); }, {"max_pooling2d", "(2, 4, 4)"});
  expect_error<ShapeError>([] { nn::AveragePooling2D({.pool_size = {3, 3}})(zeros({1, 2, 5, 1})); },
                           {"average_pooling2d", "(1, 2, 5, 1)"});
  expect_error<ShapeError>([] { nn::Reshape({4, 4})(zeros({2, 3, 5})); }, {"reshape", "(2, 3, 5)", "target_shape (4, 4)"});
  expect_error<ShapeError>([] { nn::Reshape({-1, 4})(zeros({2, 6})); }, {"reshape", "(2, 6)", "target_shape (-1, 4)"});
  expect_error<ShapeError>([] { nn::Add()({zeros({2, 3}), zeros({2, 4})}); }, {"add", "(2, 3)", "(2, 4)"});
  expect_error<ShapeError>([] { nn::Multiply()({zeros({2, 3}), zeros({2, 3, 1})}); }, {"multiply", "(2, 3)", "(2, 3, 1)"});
  expect_error<ShapeError>([] { nn::Multiply()({zeros({2, 3, 2}), zeros({2, 1, 3})}); }, {"multiply", "(2, 3, 2)", "(2, 1, 3)"});
  expect_error<ShapeError>([] { nn::Concatenate()({zeros({2, 3, 1}), zeros({2, 2, 4})}); },
                           {"concatenate", "(2, 3, 1)", "(2, 2, 4)", "axis 2"});
  expect_error<ShapeError>([] { nn::Concatenate()({zeros({2, 3, 4}), zeros({2, 2, 4})}); },
                           {"concatenate", "(2, 3, 4)", "(2, 2, 4)", "axis 2"});
  expect_error<ValueError>([] { nn::Add()({zeros({2, 3})}); }, {"add", "at least 2"});
  // Symbolic calls fail the same way, before any model exists.
  expect_error<ShapeError>([] { nn::Add()({nn::Input({4}), nn::Input({5})}); }, {"add", "(None, 4)", "(None, 5)"});
  expect_error<ShapeError>([] { nn::Conv2D({.filters = 1})(nn::Input({2, 8, 1})); }, {"conv2d", "(None, 2, 8, 1)"});
}

TEST_F(Layers, BadOptionsThrowValueError) {
  EXPECT_THROW(nn::Conv2D({.filters = 0}), ValueError);
  EXPECT_THROW(nn::Conv2D({.filters = 2, .kernel_size = {0, 3}}), ValueError);
  EXPECT_THROW(nn::Conv2D({.filters = 2, .strides = {1, 0}}), ValueError);
  EXPECT_THROW(nn::Conv2D({.filters = 2, .strides = {2, 2}, .dilation_rate = {2, 2}}), ValueError);
  EXPECT_THROW(nn::Conv1D({.filters = 2, .kernel_size = 0}), ValueError);
  EXPECT_THROW(nn::Conv1D({.filters = -1}), ValueError);
  EXPECT_THROW(nn::MaxPooling2D({.pool_size = {0, 2}}), ValueError);
  EXPECT_THROW(nn::AveragePooling2D({.strides = std::array<int64_t, 2>{1, 0}}), ValueError);
  EXPECT_THROW(nn::MaxPooling1D({.pool_size = 0}), ValueError);
  EXPECT_THROW(nn::Dropout({.rate = 1.0}), ValueError);
  EXPECT_THROW(nn::Dropout({.rate = -0.1}), ValueError);
  EXPECT_THROW(nn::Dropout({.rate = std::nan("")}), ValueError);
  EXPECT_THROW(nn::Reshape({-1, -1}), ValueError);
  EXPECT_THROW(nn::Reshape({2, 0}), ValueError);
  EXPECT_THROW(nn::ZeroPadding2D({.padding = {{{1, -1}, {0, 0}}}}), ValueError);
  EXPECT_THROW(nn::BatchNormalization({.momentum = 1.5}), ValueError);
  EXPECT_THROW(nn::BatchNormalization({.epsilon = 0}), ValueError);
  EXPECT_THROW(nn::Concatenate({.axis = 0}), ValueError);
  EXPECT_THROW(nn::LeakyReLU({.alpha = INFINITY}), ValueError);
  expect_error<ValueError>([] { nn::BatchNormalization({.axis = 0})(zeros({2, 3})); }, {"batch_normalization", "axis 0"});
  expect_error<ValueError>([] { nn::BatchNormalization({.axis = 3})(zeros({2, 3})); }, {"axis 3"});
}

// ---------------------------------------------------------------- configs and names

TEST_F(Layers, KerasNamesAndConfigs) {
  nn::Conv2D conv({.filters = 32, .kernel_size = {5, 5}, .padding = Padding::Same, .activation = Activation::ReLU,
                   .kernel_regularizer = nn::regularizers::get("l2")});
  EXPECT_EQ(conv.name(), "conv2d");
  EXPECT_EQ(conv.class_name(), "Conv2D");
  auto c = conv.get_config();
  EXPECT_EQ(c["filters"], 32);
  EXPECT_EQ(c["kernel_size"], nlohmann::json::array({5, 5}));
  EXPECT_EQ(c["strides"], nlohmann::json::array({1, 1}));
  EXPECT_EQ(c["padding"], "same");
  EXPECT_EQ(c["data_format"], "channels_last");
  EXPECT_EQ(c["dilation_rate"], nlohmann::json::array({1, 1}));
  EXPECT_EQ(c["activation"], "relu");
  EXPECT_EQ(c["use_bias"], true);
  EXPECT_EQ(c["kernel_initializer"]["class_name"], "GlorotUniform");
  EXPECT_EQ(c["bias_initializer"]["class_name"], "Zeros");
  EXPECT_EQ(c["kernel_regularizer"]["class_name"], "L2");
  EXPECT_TRUE(c["bias_regularizer"].is_null());
  EXPECT_TRUE(c["activity_regularizer"].is_null());
  EXPECT_EQ(c["name"], "conv2d");

  auto c1 = nn::Conv1D({.filters = 4, .kernel_size = 5, .strides = 2}).get_config();
  EXPECT_EQ(c1["kernel_size"], nlohmann::json::array({5}));
  EXPECT_EQ(c1["strides"], nlohmann::json::array({2}));
  EXPECT_EQ(c1["padding"], "valid");

  nn::MaxPooling2D pool({.pool_size = {3, 3}});
  EXPECT_EQ(pool.name(), "max_pooling2d");
  EXPECT_EQ(pool.get_config()["pool_size"], nlohmann::json::array({3, 3}));
  EXPECT_EQ(pool.get_config()["strides"], nlohmann::json::array({3, 3}));  // defaults to pool_size
  EXPECT_EQ(nn::AveragePooling2D().name(), "average_pooling2d");
  EXPECT_EQ(nn::MaxPooling1D().get_config()["pool_size"], nlohmann::json::array({2}));
  EXPECT_EQ(nn::GlobalAveragePooling2D().name(), "global_average_pooling2d");
  EXPECT_EQ(nn::GlobalMaxPooling2D().class_name(), "GlobalMaxPooling2D");

  auto r = nn::Reshape({7, -1}).get_config();
  EXPECT_EQ(r["target_shape"], nlohmann::json::array({7, -1}));
  auto d = nn::Dropout({.rate = 0.2, .seed = 5}).get_config();
  EXPECT_EQ(d["rate"], 0.2);
  EXPECT_EQ(d["seed"], 5);
  EXPECT_TRUE(d["noise_shape"].is_null());
  EXPECT_TRUE(nn::Dropout().get_config()["seed"].is_null());

  nn::BatchNormalization bn;
  auto b = bn.get_config();
  EXPECT_EQ(bn.name(), "batch_normalization");
  EXPECT_EQ(b["axis"], -1);
  EXPECT_DOUBLE_EQ(b["momentum"].get<double>(), 0.99);
  EXPECT_DOUBLE_EQ(b["epsilon"].get<double>(), 1e-3);
  EXPECT_EQ(b["center"], true);
  EXPECT_EQ(b["scale"], true);
  EXPECT_EQ(b["gamma_initializer"]["class_name"], "Ones");
  EXPECT_EQ(b["moving_variance_initializer"]["class_name"], "Ones");
  EXPECT_EQ(b["beta_initializer"]["class_name"], "Zeros");

  nn::ZeroPadding2D zp({.padding = {{{1, 2}, {3, 4}}}});
  EXPECT_EQ(zp.name(), "zero_padding2d");
  EXPECT_EQ(zp.get_config()["padding"], nlohmann::json::parse("[[1, 2], [3, 4]]"));
  nn::LeakyReLU lr;
  EXPECT_EQ(lr.name(), "leaky_re_lu");  // Keras's snake case of "LeakyReLU"
  EXPECT_DOUBLE_EQ(lr.get_config()["alpha"].get<double>(), 0.3);
  EXPECT_EQ(nn::Concatenate({.axis = 2}).get_config()["axis"], 2);
  EXPECT_EQ(nn::Add().class_name(), "Add");
  EXPECT_EQ(nn::Multiply().name(), "multiply");
}

// ---------------------------------------------------------------- functional models

TEST_F(Layers, ResidualFunctionalModel) {
  auto in = nn::Input({8, 8, 4});
  nn::LayerRef conv = nn::Conv2D({.filters = 4, .padding = Padding::Same, .activation = Activation::ReLU});
  auto h = conv(in);
  auto out = nn::Add()({in, h});
  nn::Model model(in, out, "residual");
  EXPECT_EQ(out.shape(), (Shape{-1, 8, 8, 4}));
  EXPECT_EQ(model.count_params(), 3 * 3 * 4 * 4 + 4);
  Tensor x = rand({2, 8, 8, 4}, {.low = -1, .high = 1});
  Tensor y = model(x);
  EXPECT_TRUE(all_close(y, x + (*conv)(x), 1e-6, 1e-6));
  // Gradients flow through both branches.
  sum(y).backward();
  EXPECT_TRUE(conv->find_weight("kernel")->value().grad().defined());
  std::string s = model.summary_string();
  EXPECT_NE(s.find("Connected to"), std::string::npos) << s;
  EXPECT_NE(s.find("add (Add)"), std::string::npos) << s;
  EXPECT_NE(s.find("input_1[0][0]"), std::string::npos) << s;
  EXPECT_NE(s.find("conv2d[0][0]"), std::string::npos) << s;
  EXPECT_NE(s.find("(None, 8, 8, 4)"), std::string::npos) << s;
}

TEST_F(Layers, InceptionStyleConcatenateModel) {
  auto in = nn::Input({9, 9, 3});
  auto a = nn::Conv2D({.filters = 4, .kernel_size = {1, 1}})(in);
  auto b = nn::Conv2D({.filters = 6, .padding = Padding::Same})(in);
  auto p = nn::MaxPooling2D({.pool_size = {3, 3}, .strides = std::array<int64_t, 2>{1, 1}, .padding = Padding::Same})(in);
  auto cat = nn::Concatenate()({a, b, p});
  EXPECT_EQ(cat.shape(), (Shape{-1, 9, 9, 13}));
  auto pooled = nn::GlobalAveragePooling2D()(cat);
  auto logits = nn::Dense({.units = 3})(pooled);
  nn::Model model(in, logits);
  EXPECT_EQ(model(zeros({2, 9, 9, 3})).shape(), (Shape{2, 3}));
  EXPECT_EQ(model.count_params(), (3 * 4 + 4) + (27 * 6 + 6) + (13 * 3 + 3));
}

// ---------------------------------------------------------------- issue 16: the classic CNNs' layers

TEST_F(Layers, CnnLayersParameterCountsAsKeras) {
  // MobileNet's first depthwise block (no bias): 3*3*32 = 288; with bias and multiplier 2: 3*3*32*2 + 64.
  nn::LayerRef dw = nn::DepthwiseConv2D({.padding = Padding::Same, .use_bias = false});
  EXPECT_EQ(dw(nn::Input({112, 112, 32})).shape(), (Shape{-1, 112, 112, 32}));
  EXPECT_EQ(dw->count_params(), 288);
  nn::LayerRef dw2 = nn::DepthwiseConv2D({.strides = {2, 2}, .depth_multiplier = 2});
  EXPECT_EQ(dw2(nn::Input({9, 9, 32})).shape(), (Shape{-1, 4, 4, 64}));
  EXPECT_EQ(dw2->count_params(), 3 * 3 * 32 * 2 + 64);
  // SeparableConv2D(64, 3x3) on 32 channels: depthwise 288 + pointwise 32*64 + bias 64 = 2400.
  nn::LayerRef sep = nn::SeparableConv2D({.filters = 64, .padding = Padding::Same});
  EXPECT_EQ(sep(nn::Input({10, 10, 32})).shape(), (Shape{-1, 10, 10, 64}));
  EXPECT_EQ(sep->count_params(), 2400);
  auto names = sep->named_weights();
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names[0].name, "separable_conv2d/depthwise_kernel");
  EXPECT_EQ(names[1].name, "separable_conv2d/pointwise_kernel");
  EXPECT_EQ(names[2].name, "separable_conv2d/bias");

  nn::Sequential model{nn::Input({8, 8, 3}),
                       nn::DepthwiseConv2D({.kernel_size = {3, 3}, .depth_multiplier = 2}),
                       nn::ReLU({.max_value = 6.0}),
                       nn::Cropping2D({.cropping = {{{1, 1}, {0, 2}}}}),
                       nn::GlobalAveragePooling2D(),
                       nn::Softmax()};
  std::string s = model.summary_string();
  EXPECT_NE(s.find("Total params: 60"), std::string::npos) << s;  // 3*3*3*2 + 6
  EXPECT_NE(s.find("re_lu (ReLU)"), std::string::npos) << s;      // Keras's snake case of "ReLU"
  EXPECT_NE(s.find("(None, 4, 4, 6)"), std::string::npos) << s;   // 6x6 cropped by (1, 1) rows, (0, 2) columns
}

TEST_F(Layers, CnnLayersValuesFromMaths) {
  // ReLU6 and Keras's full form: x >= max -> max; threshold <= x < max -> x; below: slope * (x - threshold).
  Tensor x = from_vector(std::vector<double>{-2, 0.25, 0.75, 1.5, 7}, {1, 5}, f64);
  EXPECT_TRUE(all_close(nn::ReLU({.max_value = 6.0})(x), from_vector(std::vector<double>{0, 0.25, 0.75, 1.5, 6}, {1, 5}, f64)));
  EXPECT_TRUE(all_close(nn::ReLU({.max_value = 1.0, .negative_slope = 0.5, .threshold = 0.5})(x),
                        from_vector(std::vector<double>{-1.25, -0.125, 0.75, 1, 1}, {1, 5}, f64)));
  // Dot of 2-D inputs is [N, 1]; normalize gives the cosine.
  Tensor a = from_vector(std::vector<double>{3, 4, 1, 0}, {2, 2}, f64), b = from_vector(std::vector<double>{4, 3, 0, 2}, {2, 2}, f64);
  EXPECT_TRUE(all_close(nn::Dot({.axes = {1, 1}})({a, b}), from_vector(std::vector<double>{24, 0}, {2, 1}, f64)));
  EXPECT_TRUE(all_close(nn::Dot({.axes = {1, 1}, .normalize = true})({a, b}),
                        from_vector(std::vector<double>{24.0 / 25.0, 0}, {2, 1}, f64)));
  // A depthwise kernel of ones, 1x1, multiplier 2: every input channel copied twice, in order c*m + j.
  nn::DepthwiseConv2D dw({.kernel_size = {1, 1}, .depth_multiplier = 2, .depthwise_initializer = nn::initializers::get("ones")});
  Tensor img = from_vector(std::vector<double>{1, 2, 3}, {1, 1, 1, 3}, f32);
  EXPECT_TRUE(all_close(dw(img), from_vector(std::vector<double>{1, 1, 2, 2, 3, 3}, {1, 1, 1, 6}, f32)));
}

TEST_F(Layers, CnnLayersBadInputNameTheLayer) {
  expect_error<ValueError>([] { nn::DepthwiseConv2D({.depth_multiplier = 0}); }, {"depthwise_conv2d", "depth_multiplier", "0"});
  expect_error<ValueError>([] { nn::SeparableConv2D({.filters = 4, .depth_multiplier = 0}); }, {"separable_conv2d", "depth_multiplier"});
  expect_error<ValueError>([] { nn::SeparableConv2D({.filters = 0}); }, {"separable_conv2d", "filters"});
  expect_error<ValueError>([] { nn::DepthwiseConv2D({.strides = {2, 2}, .dilation_rate = {2, 2}}); }, {"depthwise_conv2d", "dilation"});
  expect_error<ValueError>([] { nn::ReLU({.max_value = -1.0}); }, {"re_lu", "max_value"});
  expect_error<ValueError>([] { nn::ReLU({.negative_slope = -0.1}); }, {"re_lu", "negative_slope"});
  expect_error<ValueError>([] { nn::Softmax({.axis = 0}); }, {"softmax", "axis 0"});
  expect_error<ShapeError>([] { nn::Softmax({.axis = 3})(zeros({2, 3})); }, {"softmax", "axis 3", "(2, 3)"});
  expect_error<ValueError>([] { nn::Cropping2D({.cropping = {{{0, -1}, {0, 0}}}}); }, {"cropping2d", "cropping"});
  expect_error<ShapeError>([] { nn::Cropping2D({.cropping = {{{2, 2}, {0, 0}}}})(zeros({1, 4, 5, 1})); },
                           {"cropping2d", "(1, 4, 5, 1)", "axis 1"});
  expect_error<ShapeError>([] { nn::AveragePooling1D({.pool_size = 4})(zeros({2, 3, 1})); }, {"average_pooling1d", "(2, 3, 1)"});
  expect_error<ShapeError>([] { nn::GlobalMaxPooling1D()(zeros({2, 3, 4, 1})); }, {"global_max_pooling1d", "(2, 3, 4, 1)"});
  expect_error<ValueError>([] { nn::Subtract()({zeros({2, 3}), zeros({2, 3}), zeros({2, 3})}); }, {"subtract", "exactly 2"});
  expect_error<ShapeError>([] { nn::Maximum()({zeros({2, 3}), zeros({2, 4})}); }, {"maximum", "(2, 3)", "(2, 4)"});
  expect_error<ShapeError>([] { nn::Dot({.axes = {1, 1}})({zeros({2, 3}), zeros({2, 4})}); }, {"dot", "3", "4"});
  expect_error<ValueError>([] { nn::Dot({.axes = {0, 1}}); }, {"dot", "batch axis"});
  expect_error<ValueError>([] { nn::Dot({.axes = {3, 1}})({zeros({2, 3}), zeros({2, 3})}); }, {"dot", "axis 3"});
  // The depthwise layer is built for 3 channels; 4 is a shape error naming it.
  nn::DepthwiseConv2D dw;
  dw(zeros({1, 5, 5, 3}));
  expect_error<ShapeError>([&] { dw(zeros({1, 5, 5, 4})); }, {"depthwise_conv2d", "(1, 5, 5, 4)"});
  expect_error<ShapeError>([&] { dw(zeros({1, 2, 5, 3})); }, {"depthwise_conv2d", "(1, 2, 5, 3)"});
  // Conv2DTranspose: output_padding must be below the stride (Keras); an even SAME kernel with
  // output_padding 0 asks for in - 1 rows, which a SAME convolution maps to in - 1, not in.
  expect_error<ValueError>([] { nn::Conv2DTranspose({.filters = 2, .strides = {2, 2}, .output_padding = std::array<int64_t, 2>{2, 0}}); },
                           {"conv2d_transpose", "output_padding", "stride"});
  expect_error<ValueError>([] { nn::Conv2DTranspose({.filters = 0}); }, {"conv2d_transpose", "filters"});
  expect_error<ShapeError>([] {
    nn::Conv2DTranspose({.filters = 2, .kernel_size = {2, 2}, .padding = Padding::Same, .output_padding = std::array<int64_t, 2>{0, 0}})(
        zeros({1, 4, 4, 3}));
  }, {"conv2d_transpose", "(1, 4, 4, 3)", "cannot be met"});
  EXPECT_EQ(nn::Conv2DTranspose({.filters = 2, .strides = {2, 2}, .padding = Padding::Same})(zeros({1, 4, 5, 3})).shape(),
            (Shape{1, 8, 10, 2}));
  EXPECT_EQ(symbolic_shape(nn::Conv2DTranspose({.filters = 2, .kernel_size = {3, 3}, .strides = {2, 2}}), {4, 5, 3}),
            (Shape{-1, 9, 11, 2}));  // VALID: in * s + max(k - s, 0)
  expect_error<ShapeError>([] { conv2d_transpose(zeros({1, 4, 4, 3}), zeros({3, 3, 2, 3}), {5, 8}, {.strides = {2, 2}, .padding = Padding::Same}); },
                           {"conv2d_transpose", "cannot be met", "[5,8]"});
  expect_error<ValueError>([] { nn::UpSampling2D({.size = {0, 2}}); }, {"up_sampling2d", "size"});
  // The ops name themselves.
  expect_error<ShapeError>([] { depthwise_conv2d(zeros({1, 5, 5, 3}), zeros({3, 3, 2, 1})); }, {"depthwise_conv2d", "3 channels"});
  expect_error<ShapeError>([] { conv2d(zeros({1, 5, 5, 4}), zeros({3, 3, 3, 4}), {.groups = 2}); }, {"conv2d", "groups"});
  expect_error<ShapeError>([] { conv2d(zeros({1, 5, 5, 4}), zeros({3, 3, 2, 3}), {.groups = 2}); }, {"conv2d", "groups"});
}

TEST_F(Layers, CnnLayersConfigsFromKeras) {
  // Keras 2 DepthwiseConv2D / SeparableConv2D / ReLU configs as model.to_json() writes them.
  auto dw = nn::find_layer_factory("DepthwiseConv2D")(nlohmann::json::parse(R"({
      "name": "conv_dw_1", "trainable": true, "dtype": "float32", "kernel_size": [3, 3], "strides": [1, 1],
      "padding": "same", "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1,
      "activation": "linear", "use_bias": false,
      "bias_initializer": {"class_name": "Zeros", "config": {}}, "bias_regularizer": null,
      "activity_regularizer": null, "bias_constraint": null, "depth_multiplier": 1,
      "depthwise_initializer": {"class_name": "GlorotUniform", "config": {"seed": null}},
      "depthwise_regularizer": null, "depthwise_constraint": null})"));
  EXPECT_EQ(dw->name(), "conv_dw_1");
  (*dw)(nn::Input({4, 4, 8}));
  EXPECT_EQ(dw->count_params(), 72);
  auto relu6 = nn::find_layer_factory("ReLU")(nlohmann::json::parse(
      R"({"name": "conv1_relu", "trainable": true, "dtype": "float32", "max_value": 6.0, "negative_slope": 0.0, "threshold": 0.0})"));
  EXPECT_EQ(relu6->get_config().at("max_value"), 6.0);
  expect_error<FormatError>([] {
    nn::find_layer_factory("DepthwiseConv2D")(nlohmann::json::parse(R"({"name": "d", "kernel_size": 3, "depth_multiplier": 0})"));
  }, {"depth_multiplier", "'d'", "DepthwiseConv2D"});
  expect_error<FormatError>([] {
    nn::find_layer_factory("Dot")(nlohmann::json::parse(R"({"name": "d", "axes": "x"})"));
  }, {"axes", "'d'"});
}
