// How to add a layer to Ember (and what to touch for an op)
// ----------------------------------------------------------
// A layer:
//   1. One file pair: include/ember/nn/layers/<family>.hpp (options struct, class, contract comment)
//      and src/nn/layers/<family>.cpp. Beside get_config() write
//      `static LayerPtr from_config(const nlohmann::json&)`, reading with nn::LayerFields so that
//      a bad field reads "field 'x' of layer 'name' (Class): expected ..., got ...". Report errors
//      with Layer::fail<ShapeError|ValueError>(message), which prefixes "layer 'name' (Class): ".
//   2. One table line in src/nn/layers/registry.cpp: {"KerasClassName", Class::from_config} (and
//      one per Keras alias).
//   3. A sample config in kLayerSamples below (this test fails for a registered class without one):
//      every registered class is then round-tripped (get_config -> from_config -> get_config) and
//      its re-created twin, given the same weights, must compute the same output.
//   4. Golden values: a case in tests/fixtures/gen/gen_layers.py (PyTorch, float64), regenerated with
//      /usr/bin/python3 tests/fixtures/gen/gen_layers.py, checked in tests/nn/layers_golden_test.cpp.
//   5. Gradients: a case in tests/nn/layers_gradcheck.cpp (f64, the notes' 1e-7 criterion).
//   6. If it reads Keras files: a fixture in tests/fixtures/keras/ and a case in tests/nn/config_test.cpp.
// An op (the functional API a layer calls): kernel in src/kernels/cpu/ (reference loop + fast path,
// tests/kernels/), the op with its backward rule in src/ops/ + include/ember/ops/, a gradcheck in
// tests/ops/*_gradcheck.cpp, golden values from a generator in tests/fixtures/gen/ (gen_all.sh runs
// them all).
// Initializers, regularizers, losses and metrics follow the same pattern: from_config beside
// get_config, one line in the table in their .cpp, a sample below. Optimizers: the same in
// src/optim/optimizer.cpp, tested by tests/optim/optimizer_config_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "ember/autograd/autograd.hpp"
#include "ember/nn/config.hpp"
#include "ember/nn/initializers.hpp"
#include "ember/nn/layer.hpp"
#include "ember/nn/layers/core.hpp"
#include "ember/nn/layers/rnn.hpp"
#include "ember/nn/losses.hpp"
#include "ember/nn/metrics.hpp"
#include "ember/nn/regularizers.hpp"
#include "test_support.hpp"

namespace ember {
namespace {

using nlohmann::json;

// ------------------------------------------------------------------ layers

struct LayerSample {
  json config;                // non-default values where the class has options, so a field that
                              // from_config forgot to read breaks the round trip
  std::vector<Shape> inputs;  // shapes of the inputs for the output comparison
};

const json kNormal = {{"class_name", "RandomNormal"}, {"config", {{"mean", 0.1}, {"stddev", 0.3}, {"seed", nullptr}}}};
const json kL2 = {{"class_name", "L2"}, {"config", {{"l2", 0.02}}}};

// Keyed by the canonical Keras class; aliases are listed in kLayerAliases.
const std::map<std::string, LayerSample>& layer_samples() {
  static const std::map<std::string, LayerSample> m = {
      {"Activation", {{{"name", "t"}, {"activation", "tanh"}}, {{2, 5}}}},
      {"Add", {{{"name", "t"}}, {{2, 3}, {2, 3}}}},
      {"AveragePooling2D",
       {{{"name", "t"}, {"pool_size", {2, 3}}, {"strides", {1, 2}}, {"padding", "same"}}, {{2, 5, 7, 3}}}},
      {"BatchNormalization",
       {{{"name", "t"},
         {"axis", -1},
         {"momentum", 0.9},
         {"epsilon", 0.01},
         {"center", true},
         {"scale", false},
         {"beta_initializer", kNormal},
         {"moving_mean_initializer", kNormal}},
        {{4, 3}}}},
      {"Concatenate", {{{"name", "t"}, {"axis", 1}}, {{2, 3, 4}, {2, 5, 4}}}},
      {"Conv1D",
       {{{"name", "t"},
         {"filters", 3},
         {"kernel_size", 2},
         {"strides", 2},
         {"padding", "same"},
         {"activation", "relu"},
         {"kernel_initializer", kNormal},
         {"bias_initializer", kNormal},
         {"kernel_regularizer", kL2}},
        {{2, 7, 2}}}},
      {"Conv2D",
       {{{"name", "t"},
         {"filters", 4},
         {"kernel_size", {3, 2}},
         {"dilation_rate", {2, 1}},
         {"padding", "valid"},
         {"activation", "sigmoid"},
         {"use_bias", true},
         {"bias_initializer", kNormal},
         {"activity_regularizer", kL2}},
        {{2, 8, 6, 3}}}},
      {"Dense",
       {{{"name", "t"},
         {"units", 3},
         {"activation", "elu"},
         {"use_bias", false},
         {"kernel_initializer", kNormal},
         {"bias_regularizer", kL2}},
        {{2, 4}}}},
      {"Dropout", {{{"name", "t"}, {"rate", 0.25}, {"seed", 7}}, {{3, 4}}}},
      {"Embedding",
       {{{"name", "t"}, {"input_dim", 5}, {"output_dim", 3}, {"embeddings_initializer", kNormal},
         {"embeddings_regularizer", kL2}, {"mask_zero", true}, {"input_length", 4}},
        {{2, 4}}}},
      {"Flatten", {{{"name", "t"}}, {{2, 3, 4}}}},
      {"GaussianDropout", {{{"name", "t"}, {"rate", 0.3}, {"seed", 5}}, {{3, 4}}}},
      {"GaussianNoise", {{{"name", "t"}, {"stddev", 0.2}, {"seed", 6}}, {{3, 4}}}},
      {"GRU",
       {{{"name", "t"}, {"units", 3}, {"reset_after", false}, {"go_backwards", true}, {"return_sequences", true},
         {"recurrent_activation", "hard_sigmoid"}, {"bias_initializer", kNormal}, {"recurrent_regularizer", kL2}},
        {{2, 4, 3}}}},
      {"LSTM",
       {{{"name", "t"}, {"units", 3}, {"unit_forget_bias", false}, {"activation", "relu"}, {"go_backwards", true},
         {"dropout", 0.25}, {"recurrent_initializer", kNormal}, {"use_bias", true}},
        {{2, 4, 3}}}},
      {"Bidirectional",
       {{{"name", "t"}, {"merge_mode", "ave"},
         // Nested configs as get_config writes them whole (the check compares each field as given).
         {"layer", {{"class_name", "LSTM"},
                    {"config", nn::LSTM({.units = 3, .recurrent_initializer = nn::initializers::get("he_normal"),
                                         .return_sequences = true, .name = "l"}).get_config()}}},
         {"backward_layer", {{"class_name", "LSTM"},
                             {"config", nn::LSTM({.units = 3, .return_sequences = true, .go_backwards = true,
                                                  .name = "b"}).get_config()}}}},
        {{2, 4, 3}}}},
      {"SimpleRNN",
       {{{"name", "t"}, {"units", 2}, {"use_bias", false}, {"return_state", true}, {"recurrent_dropout", 0.5},
         {"seed", 4}, {"kernel_regularizer", kL2}},
        {{2, 4, 3}}}},
      {"RandomContrast", {{{"name", "t"}, {"factor", {0.2, 0.5}}, {"seed", 3}}, {{2, 5, 6, 3}}}},
      {"RandomCrop", {{{"name", "t"}, {"height", 3}, {"width", 4}, {"seed", 3}}, {{2, 5, 6, 3}}}},
      {"RandomErasing",
       {{{"name", "t"}, {"factor", 0.7}, {"scale", {0.1, 0.4}}, {"ratio", {0.5, 2.0}}, {"fill_value", 0.5}, {"seed", 3}},
        {{2, 5, 6, 3}}}},
      {"RandomFlip", {{{"name", "t"}, {"mode", "horizontal"}, {"seed", 3}}, {{2, 5, 6, 3}}}},
      {"RandomRotation",
       {{{"name", "t"}, {"factor", {-0.1, 0.3}}, {"fill_mode", "wrap"}, {"interpolation", "nearest"},
         {"fill_value", 0.5}, {"seed", 3}},
        {{2, 5, 6, 3}}}},
      {"RandomTranslation",
       {{{"name", "t"}, {"height_factor", 0.2}, {"width_factor", {-0.1, 0.3}}, {"fill_mode", "constant"},
         {"interpolation", "bilinear"}, {"fill_value", 0.5}, {"seed", 3}},
        {{2, 5, 6, 3}}}},
      {"RandomZoom",
       {{{"name", "t"}, {"height_factor", {-0.2, 0.3}}, {"width_factor", 0.1}, {"fill_mode", "nearest"},
         {"interpolation", "nearest"}, {"fill_value", 0.25}, {"seed", 3}},
        {{2, 5, 6, 3}}}},
      {"GlobalAveragePooling2D", {{{"name", "t"}}, {{2, 3, 4, 5}}}},
      {"GlobalMaxPooling2D", {{{"name", "t"}}, {{2, 3, 4, 5}}}},
      {"LayerNormalization",
       {{{"name", "t"}, {"axis", {1, 2}}, {"epsilon", 0.01}, {"center", false}, {"gamma_initializer", kNormal}},
        {{2, 3, 4}}}},
      {"LeakyReLU", {{{"name", "t"}, {"alpha", 0.1}}, {{2, 5}}}},
      {"MaxPooling1D", {{{"name", "t"}, {"pool_size", 3}, {"strides", 1}, {"padding", "valid"}}, {{2, 6, 2}}}},
      {"MaxPooling2D",
       {{{"name", "t"}, {"pool_size", {3, 3}}, {"strides", {2, 2}}, {"padding", "same"}}, {{2, 7, 5, 2}}}},
      {"MultiHeadAttention",
       {{{"name", "t"},
         {"num_heads", 2},
         {"key_dim", 3},
         {"value_dim", 2},
         {"use_bias", false},
         {"output_shape", {5}},
         {"kernel_initializer", kNormal}},
        {{2, 3, 4}, {2, 5, 6}}}},
      {"Multiply", {{{"name", "t"}}, {{2, 3}, {2, 3}}}},
      {"Normalization",
       {{{"name", "t"}, {"axis", {1}}, {"mean", {0.5, -1.0, 2.0}}, {"variance", {4.0, 0.25, 1.0}}, {"invert", true}},
        {{2, 3, 2}}}},
      {"Reshape", {{{"name", "t"}, {"target_shape", {3, -1}}}, {{2, 12}}}},
      {"Rescaling", {{{"name", "t"}, {"scale", 0.5}, {"offset", -1.0}}, {{2, 5}}}},
      {"ZeroPadding2D", {{{"name", "t"}, {"padding", {{1, 2}, {0, 3}}}}, {{2, 3, 4, 1}}}},
      // Issue 16
      {"AveragePooling1D", {{{"name", "t"}, {"pool_size", 3}, {"strides", 2}, {"padding", "same"}}, {{2, 7, 2}}}},
      {"Average", {{{"name", "t"}}, {{2, 3}, {2, 3}, {2, 3}}}},
      {"Conv2DTranspose",
       {{{"name", "t"},
         {"filters", 3},
         {"kernel_size", {3, 2}},
         {"strides", {2, 2}},
         {"padding", "same"},
         {"output_padding", {1, 1}},
         {"activation", "relu"},
         {"kernel_initializer", kNormal},
         {"bias_regularizer", kL2}},
        {{2, 4, 5, 2}}}},
      {"Cropping2D", {{{"name", "t"}, {"cropping", {{1, 0}, {2, 1}}}}, {{2, 4, 5, 1}}}},
      {"DepthwiseConv2D",
       {{{"name", "t"},
         {"kernel_size", {3, 2}},
         {"strides", {2, 1}},
         {"padding", "same"},
         {"depth_multiplier", 2},
         {"activation", "relu"},
         {"depthwise_initializer", kNormal},
         {"bias_initializer", kNormal},
         {"depthwise_regularizer", kL2}},
        {{2, 6, 5, 3}}}},
      {"Dot", {{{"name", "t"}, {"axes", {2, 1}}, {"normalize", true}}, {{2, 3, 4}, {2, 4, 5}}}},
      {"GlobalAveragePooling1D", {{{"name", "t"}}, {{2, 4, 3}}}},
      {"GlobalMaxPooling1D", {{{"name", "t"}}, {{2, 4, 3}}}},
      {"Maximum", {{{"name", "t"}}, {{2, 3}, {2, 3}}}},
      {"Minimum", {{{"name", "t"}}, {{2, 3}, {2, 3}}}},
      {"ReLU", {{{"name", "t"}, {"max_value", 6.0}, {"negative_slope", 0.1}, {"threshold", 0.5}}, {{2, 5}}}},
      {"SeparableConv2D",
       {{{"name", "t"},
         {"filters", 4},
         {"kernel_size", {3, 3}},
         {"dilation_rate", {2, 2}},
         {"depth_multiplier", 2},
         {"activation", "tanh"},
         {"use_bias", true},
         {"pointwise_initializer", kNormal},
         {"pointwise_regularizer", kL2},
         {"bias_initializer", kNormal}},
        {{2, 7, 6, 2}}}},
      {"Softmax", {{{"name", "t"}, {"axis", 1}}, {{2, 3, 4}}}},
      {"Subtract", {{{"name", "t"}}, {{2, 3}, {2, 3}}}},
      {"UpSampling2D", {{{"name", "t"}, {"size", {3, 2}}, {"interpolation", "bilinear"}}, {{2, 3, 4, 2}}}},
      // Issue 15
      {"Masking", {{{"name", "t"}, {"mask_value", 0.5}}, {{2, 4, 3}}}},
      {"PositionEmbedding", {{{"name", "t"}, {"sequence_length", 6}, {"initializer", kNormal}}, {{2, 4, 3}}}},
      {"TimeDistributed",
       {{{"name", "t"},
         {"layer", {{"class_name", "Dense"},
                    {"config", nn::Dense({.units = 3, .activation = Activation::Tanh, .name = "d"}).get_config()}}}},
        {{2, 3, 4}}}},
      {"RNN",
       {{{"name", "t"}, {"return_sequences", true}, {"go_backwards", true}, {"stateful", false},
         {"cell", {{"class_name", "LSTMCell"},
                   {"config", nn::LSTMCell({.units = 3, .unit_forget_bias = false, .name = "c"}).get_config()}}}},
        {{2, 4, 3}}}},
      // Cells called alone take {x, states...}.
      {"SimpleRNNCell", {{{"name", "t"}, {"units", 2}, {"use_bias", false}, {"activation", "relu"},
                          {"kernel_regularizer", kL2}}, {{2, 4}, {2, 2}}}},
      {"LSTMCell", {{{"name", "t"}, {"units", 3}, {"unit_forget_bias", false}, {"recurrent_activation", "hard_sigmoid"},
                     {"kernel_initializer", kNormal}, {"bias_initializer", kNormal}}, {{2, 4}, {2, 3}, {2, 3}}}},
      {"GRUCell", {{{"name", "t"}, {"units", 3}, {"reset_after", false}, {"recurrent_initializer", kNormal},
                    {"bias_initializer", kNormal}}, {{2, 4}, {2, 3}}}},
      {"StackedRNNCells",
       {{{"name", "t"},
         {"cells", {{{"class_name", "SimpleRNNCell"}, {"config", nn::SimpleRNNCell({.units = 2, .name = "a"}).get_config()}},
                    {{"class_name", "GRUCell"}, {"config", nn::GRUCell({.units = 3, .name = "b"}).get_config()}}}}},
        {{2, 4}, {2, 2}, {2, 3}}}},
  };
  return m;
}

const std::map<std::string, std::string> kLayerAliases = {
    {"AvgPool1D", "AveragePooling1D"},
    {"AvgPool2D", "AveragePooling2D"},
    {"GlobalAvgPool1D", "GlobalAveragePooling1D"},
    {"GlobalMaxPool1D", "GlobalMaxPooling1D"},
    {"SeparableConvolution2D", "SeparableConv2D"},
    {"Convolution1D", "Conv1D"},
    {"Convolution2D", "Conv2D"},
    {"Convolution2DTranspose", "Conv2DTranspose"},
    {"GlobalAvgPool2D", "GlobalAveragePooling2D"},
    {"GlobalMaxPool2D", "GlobalMaxPooling2D"},
    {"MaxPool1D", "MaxPooling1D"},
    {"MaxPool2D", "MaxPooling2D"},
};

// `written` says what `given` said: equal, or the tuple Keras writes for a number (kernel_size 3 -> [3, 3]).
bool same_field(const json& given, const json& written) {
  if (given == written) return true;
  if (!given.is_number() || !written.is_array() || written.empty()) return false;
  for (const json& e : written) {
    if (e != given) return false;
  }
  return true;
}

class LayerRegistry : public ::testing::TestWithParam<std::string> {};

TEST_P(LayerRegistry, ConfigRoundTripAndTwinComputesTheSame) {
  const std::string& registered = GetParam();
  auto alias = kLayerAliases.find(registered);
  const std::string cls = alias == kLayerAliases.end() ? registered : alias->second;
  auto sample = layer_samples().find(cls);
  ASSERT_NE(sample, layer_samples().end())
      << "registered layer class '" << registered << "' has no sample in tests/nn/registry_test.cpp";
  nn::LayerFactory factory = nn::find_layer_factory(registered);
  ASSERT_TRUE(factory);

  nn::LayerPtr layer = factory(sample->second.config);
  ASSERT_TRUE(layer);
  EXPECT_EQ(layer->class_name(), cls);
  const json config = layer->get_config();
  // Every field of the sample was read: get_config gives back what the sample said.
  for (const auto& [key, value] : sample->second.config.items()) {
    EXPECT_TRUE(same_field(value, config.value(key, json())))
        << key << ": " << value << " vs " << config.value(key, json());
  }
  nn::LayerPtr twin = factory(config);
  EXPECT_EQ(twin->class_name(), layer->class_name());
  EXPECT_EQ(twin->get_config(), config) << "from_config(get_config()) of " << registered << " differs";

  // Same weights, same input: the same output.
  std::vector<Tensor> xs;
  uint64_t seed = 1;
  for (const Shape& s : sample->second.inputs) xs.push_back(testing::random_f64(s, seed++).to(f32));
  Tensor y = (*layer)(xs, false);
  (*twin)(xs, false);  // builds the twin, with its own random initial weights
  ASSERT_EQ(layer->named_weights().size(), twin->named_weights().size());
  {
    autograd::NoGradGuard no_grad;
    for (const auto& w : layer->named_weights()) {
      const std::string local = w.name.substr(w.name.find('/') + 1);
      nn::Weight* tw = twin->find_weight(local);
      // A wrapper's weights belong to its sublayers ("forward_l/kernel"): matched by the full name.
      for (const auto& t : twin->named_weights())
        if (!tw && t.name == w.name) tw = t.weight;
      ASSERT_NE(tw, nullptr) << "twin of " << registered << " has no weight '" << w.name << "'";
      tw->value().copy_(w.weight->value());
    }
  }
  Tensor y2 = (*twin)(xs, false);
  ASSERT_EQ(y.shape(), y2.shape());
  EXPECT_TRUE(testing::all_close(y2, y, 0, 0)) << registered;
}

INSTANTIATE_TEST_SUITE_P(EveryRegisteredClass, LayerRegistry, ::testing::ValuesIn(nn::registered_layer_classes()),
                         [](const auto& info) { return info.param; });

// InputLayer is read by the model loader, not the table; its config round-trips all the same.
TEST(LayerRegistry, InputLayerRoundTrip) {
  json config = {{"batch_input_shape", {nullptr, 3, 4}}, {"dtype", "float64"}, {"name", "in"}};
  nn::LayerPtr in = nn::InputLayer::from_config(config);
  const json written = in->get_config();
  for (const auto& [key, value] : config.items()) EXPECT_EQ(written.value(key, json()), value) << key;
  EXPECT_EQ(nn::InputLayer::from_config(written)->get_config(), written);
}

TEST(LayerRegistry, EverySampleIsRegistered) {
  // A sample for a class that left the table is a stale test.
  auto names = nn::registered_layer_classes();
  for (const auto& [cls, sample] : layer_samples()) {
    EXPECT_NE(std::find(names.begin(), names.end(), cls), names.end()) << cls;
  }
}

// ------------------------------------------------------------------ initializers, regularizers, losses, metrics

// Non-default configs per class (an empty object means "the class has no fields").
const std::map<std::string, json>& initializer_samples() {
  static const std::map<std::string, json> m = {
      {"Constant", {{"value", 0.25}}},
      {"GlorotNormal", {{"seed", 3}}},
      {"GlorotUniform", {{"seed", 4}}},
      {"HeNormal", {{"seed", 5}}},
      {"HeUniform", {{"seed", 6}}},
      {"Identity", {{"gain", 2.0}}},
      {"LecunNormal", {{"seed", 7}}},
      {"LecunUniform", {{"seed", 8}}},
      {"Ones", json::object()},
      {"Orthogonal", {{"gain", 0.5}, {"seed", 9}}},
      {"RandomNormal", {{"mean", 0.5}, {"stddev", 2.0}, {"seed", 10}}},
      {"RandomUniform", {{"minval", -2.0}, {"maxval", 3.0}, {"seed", 11}}},
      {"SmallRandomNormal", {{"stddev", 0.02}, {"seed", 12}}},
      {"StandardUniform", {{"seed", 13}}},
      {"TruncatedNormal", {{"mean", -1.0}, {"stddev", 0.5}, {"seed", 14}}},
      {"VarianceScaling", {{"scale", 3.0}, {"mode", "fan_out"}, {"distribution", "uniform"}, {"seed", 15}}},
      {"Zeros", json::object()},
  };
  return m;
}

class InitializerRegistry : public ::testing::TestWithParam<std::string> {};

TEST_P(InitializerRegistry, ConfigRoundTripAndSameValues) {
  auto sample = initializer_samples().find(GetParam());
  ASSERT_NE(sample, initializer_samples().end()) << "initializer '" << GetParam() << "' has no sample";
  auto init = nn::initializers::from_config({{"class_name", GetParam()}, {"config", sample->second}});
  const json j = init->get_config_json();
  EXPECT_EQ(j["config"], sample->second) << "get_config does not give back the sample's fields";
  auto twin = nn::initializers::from_config(j);
  EXPECT_EQ(twin->get_config_json(), j);
  Generator g1(42), g2(42);
  EXPECT_TRUE(testing::all_close((*twin)({4, 3}, f64, g2), (*init)({4, 3}, f64, g1), 0, 0));
}

INSTANTIATE_TEST_SUITE_P(EveryRegisteredClass, InitializerRegistry,
                         ::testing::ValuesIn(nn::initializers::registered_classes()),
                         [](const auto& info) { return info.param; });

class RegularizerRegistry : public ::testing::TestWithParam<std::string> {};

TEST_P(RegularizerRegistry, ConfigRoundTripAndSamePenalty) {
  static const std::map<std::string, json> samples = {
      {"L1", {{"l1", 0.3}}}, {"L2", {{"l2", 0.4}}}, {"L1L2", {{"l1", 0.1}, {"l2", 0.2}}},
      {"l1", {{"l1", 0.3}}}, {"l2", {{"l2", 0.4}}}, {"l1_l2", {{"l1", 0.1}, {"l2", 0.2}}},
  };
  auto sample = samples.find(GetParam());
  ASSERT_NE(sample, samples.end()) << "regularizer '" << GetParam() << "' has no sample";
  auto reg = nn::regularizers::from_config({{"class_name", GetParam()}, {"config", sample->second}});
  const json j = reg->get_config_json();
  EXPECT_EQ(j["config"], sample->second);
  auto twin = nn::regularizers::from_config(j);
  EXPECT_EQ(twin->get_config_json(), j);
  Tensor w = testing::random_f64({3, 4}, 5);
  EXPECT_TRUE(testing::all_close((*twin)(w), (*reg)(w), 0, 0));
}

INSTANTIATE_TEST_SUITE_P(EveryRegisteredClass, RegularizerRegistry,
                         ::testing::ValuesIn(nn::regularizers::registered_classes()),
                         [](const auto& info) { return info.param; });

class LossRegistry : public ::testing::TestWithParam<std::string> {};

TEST_P(LossRegistry, ConfigRoundTripAndSameLoss) {
  // y_true [4, 3] in {0, 1} (one-hot rows) fits every dense loss; sparse ones take labels [4].
  static const std::map<std::string, json> samples = {
      {"BinaryCrossentropy", {{"from_logits", true}, {"label_smoothing", 0.1}, {"reduction", "sum"}, {"name", "b"}}},
      {"CategoricalCrossentropy",
       {{"from_logits", true}, {"label_smoothing", 0.2}, {"reduction", "sum"}, {"name", "c"}}},
      {"CategoricalHinge", {{"reduction", "sum"}, {"name", "ch"}}},
      {"Hinge", {{"reduction", "sum"}, {"name", "h"}}},
      {"Huber", {{"delta", 0.5}, {"reduction", "sum"}, {"name", "hu"}}},
      {"MeanAbsoluteError", {{"reduction", "sum"}, {"name", "mae"}}},
      {"MeanSquaredError", {{"reduction", "sum"}, {"name", "mse"}}},
      {"MulticlassSvm", {{"margin", 2.0}, {"reduction", "sum"}, {"name", "svm"}}},
      {"SparseCategoricalCrossentropy", {{"from_logits", true}, {"reduction", "sum"}, {"name", "s"}}},
      {"SquaredHinge", {{"reduction", "sum"}, {"name", "sh"}}},
  };
  auto sample = samples.find(GetParam());
  ASSERT_NE(sample, samples.end()) << "loss '" << GetParam() << "' has no sample";
  auto loss = losses::from_config({{"class_name", GetParam()}, {"config", sample->second}});
  const json j = loss->get_config_json();
  for (const auto& [key, value] : sample->second.items()) EXPECT_EQ(j["config"].value(key, json()), value) << key;
  auto twin = losses::from_config(j);
  EXPECT_EQ(twin->get_config_json(), j);
  const bool sparse = GetParam() == "SparseCategoricalCrossentropy" || GetParam() == "MulticlassSvm";
  Tensor y_pred = testing::random_f64({4, 3}, 8);
  Tensor y_true = sparse ? from_vector(std::vector<int64_t>{0, 2, 1, 2}, {4})
                         : from_vector(std::vector<double>{1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1}, {4, 3}, f64);
  EXPECT_TRUE(testing::all_close((*twin)(y_true, y_pred), (*loss)(y_true, y_pred), 0, 0));
}

INSTANTIATE_TEST_SUITE_P(EveryRegisteredClass, LossRegistry, ::testing::ValuesIn(losses::registered_classes()),
                         [](const auto& info) { return info.param; });

class MetricRegistry : public ::testing::TestWithParam<std::string> {};

TEST_P(MetricRegistry, ConfigRoundTrip) {
  static const std::map<std::string, json> samples = {
      {"Accuracy", {{"name", "acc"}}},
      {"BinaryAccuracy", {{"name", "ba"}, {"threshold", 0.25}}},
      {"CategoricalAccuracy", {{"name", "ca"}}},
      {"Mean", {{"name", "m"}}},
      {"MeanAbsoluteError", {{"name", "mae"}}},
      {"MeanSquaredError", {{"name", "mse"}}},
      {"Precision", {{"name", "p"}, {"thresholds", 0.3}}},
      {"Recall", {{"name", "r"}, {"thresholds", 0.7}}},
      {"SparseCategoricalAccuracy", {{"name", "sca"}}},
      {"SparseTopKCategoricalAccuracy", {{"name", "stk"}, {"k", 2}}},
      {"TopKCategoricalAccuracy", {{"name", "tk"}, {"k", 3}}},
  };
  auto sample = samples.find(GetParam());
  ASSERT_NE(sample, samples.end()) << "metric '" << GetParam() << "' has no sample";
  auto metric = metrics::from_config({{"class_name", GetParam()}, {"config", sample->second}});
  EXPECT_EQ(metric->class_name(), GetParam());
  const json j = metric->get_config_json();
  for (const auto& [key, value] : sample->second.items()) EXPECT_EQ(j["config"].value(key, json()), value) << key;
  auto twin = metrics::from_config(j);
  EXPECT_EQ(twin->get_config_json(), j);
  EXPECT_EQ(twin->name(), metric->name());
}

INSTANTIATE_TEST_SUITE_P(EveryRegisteredClass, MetricRegistry, ::testing::ValuesIn(metrics::registered_classes()),
                         [](const auto& info) { return info.param; });

// ------------------------------------------------------------------ the one wording

TEST(ConfigFieldWording, EveryKindReportsTheFieldTheSameWay) {
  auto msg = [](auto&& f) { return testing::message_of<FormatError>(f); };
  EXPECT_EQ(msg([] {
              nn::find_layer_factory("Conv2D")({{"name", "conv2d"}, {"filters", 2}, {"kernel_size", "x"}});
            }),
            "field 'kernel_size' of layer 'conv2d' (Conv2D): expected a positive integer below 2147483648 or a list of "
            "2 of them, got \"x\"");
  EXPECT_EQ(msg([] {
              nn::regularizers::from_config({{"class_name", "L1L2"}, {"config", {{"l2", "big"}}}});
            }),
            "field 'l2' of regularizer 'L1L2': expected a finite number, got \"big\"");
  EXPECT_EQ(msg([] {
              nn::initializers::from_config({{"class_name", "RandomNormal"}, {"config", {{"mean", nullptr}}}});
            }),
            "field 'mean' of initializer 'RandomNormal': expected a finite number, got null");
  EXPECT_EQ(msg([] {
              losses::from_config({{"class_name", "Huber"}, {"config", {{"delta", true}}}});
            }),
            "field 'delta' of loss 'Huber': expected a finite number, got true");
  EXPECT_EQ(msg([] {
              metrics::from_config({{"class_name", "TopKCategoricalAccuracy"}, {"config", {{"k", 0}}}});
            }),
            "field 'k' of metric 'TopKCategoricalAccuracy': expected a positive integer below 2147483648, got 0");
  EXPECT_EQ(msg([] {
              nn::find_layer_factory("Dense")({{"name", "d"}});
            }),
            "field 'units' of layer 'd' (Dense): expected a positive integer below 2147483648, got nothing");
}

}  // namespace
}  // namespace ember
