// The layer registry: Keras class name -> factory. Adding a layer class is one line here (plus
// its file); tests/nn/registry_test.cpp walks this table and round-trips every entry.
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "ember/core/error.hpp"
#include "ember/nn/config.hpp"
#include "ember/nn/layers/attention.hpp"
#include "ember/nn/layers/conv.hpp"
#include "ember/nn/layers/core.hpp"
#include "ember/nn/layers/masking.hpp"
#include "ember/nn/layers/merging.hpp"
#include "ember/nn/layers/noise.hpp"
#include "ember/nn/layers/normalization.hpp"
#include "ember/nn/layers/pooling.hpp"
#include "ember/nn/layers/position_embedding.hpp"
#include "ember/nn/layers/preprocessing.hpp"
#include "ember/nn/layers/recurrent.hpp"
#include "ember/nn/layers/reshaping.hpp"
#include "ember/nn/layers/rnn.hpp"
#include "ember/nn/layers/scaling.hpp"
#include "ember/nn/layers/wrappers.hpp"

namespace ember::nn {

namespace {

struct Registry {
  std::mutex mu;
  std::map<std::string, LayerFactory> factories;
};

// Keras class names and the aliases Keras accepts for them.
std::map<std::string, LayerFactory> builtin_layers() {
  return {
      {"Activation", ActivationLayer::from_config},
      {"Add", Add::from_config},
      {"AveragePooling2D", AveragePooling2D::from_config},
      {"AvgPool2D", AveragePooling2D::from_config},
      {"BatchNormalization", BatchNormalization::from_config},
      {"Concatenate", Concatenate::from_config},
      {"Conv1D", Conv1D::from_config},
      {"Convolution1D", Conv1D::from_config},
      {"Conv2D", Conv2D::from_config},
      {"Convolution2D", Conv2D::from_config},
      {"Dense", Dense::from_config},
      {"Dropout", Dropout::from_config},
      {"Embedding", Embedding::from_config},
      {"Flatten", Flatten::from_config},
      {"GRU", GRU::from_config},
      {"GaussianDropout", GaussianDropout::from_config},
      {"GaussianNoise", GaussianNoise::from_config},
      {"GlobalAveragePooling2D", GlobalAveragePooling2D::from_config},
      {"GlobalAvgPool2D", GlobalAveragePooling2D::from_config},
      {"GlobalMaxPooling2D", GlobalMaxPooling2D::from_config},
      {"GlobalMaxPool2D", GlobalMaxPooling2D::from_config},
      {"LayerNormalization", LayerNormalization::from_config},
      {"LeakyReLU", LeakyReLU::from_config},
      {"LSTM", LSTM::from_config},
      {"Bidirectional", Bidirectional::from_config},
      {"MaxPooling1D", MaxPooling1D::from_config},
      {"MaxPool1D", MaxPooling1D::from_config},
      {"MaxPooling2D", MaxPooling2D::from_config},
      {"MaxPool2D", MaxPooling2D::from_config},
      {"MultiHeadAttention", MultiHeadAttention::from_config},
      {"Multiply", Multiply::from_config},
      {"Normalization", Normalization::from_config},
      {"RandomContrast", RandomContrast::from_config},
      {"RandomCrop", RandomCrop::from_config},
      {"RandomErasing", RandomErasing::from_config},
      {"RandomFlip", RandomFlip::from_config},
      {"RandomRotation", RandomRotation::from_config},
      {"RandomTranslation", RandomTranslation::from_config},
      {"RandomZoom", RandomZoom::from_config},
      {"Reshape", Reshape::from_config},
      {"Rescaling", Rescaling::from_config},
      {"SimpleRNN", SimpleRNN::from_config},
      {"ZeroPadding2D", ZeroPadding2D::from_config},
      // Issue 16: the layers of the classic CNNs.
      {"AveragePooling1D", AveragePooling1D::from_config},
      {"AvgPool1D", AveragePooling1D::from_config},
      {"Average", Average::from_config},
      {"Conv2DTranspose", Conv2DTranspose::from_config},
      {"Convolution2DTranspose", Conv2DTranspose::from_config},
      {"Cropping2D", Cropping2D::from_config},
      {"DepthwiseConv2D", DepthwiseConv2D::from_config},
      {"Dot", Dot::from_config},
      {"GlobalAveragePooling1D", GlobalAveragePooling1D::from_config},
      {"GlobalAvgPool1D", GlobalAveragePooling1D::from_config},
      {"GlobalMaxPooling1D", GlobalMaxPooling1D::from_config},
      {"GlobalMaxPool1D", GlobalMaxPooling1D::from_config},
      {"Maximum", Maximum::from_config},
      {"Minimum", Minimum::from_config},
      {"ReLU", ReLU::from_config},
      {"SeparableConv2D", SeparableConv2D::from_config},
      {"SeparableConvolution2D", SeparableConv2D::from_config},
      {"Softmax", Softmax::from_config},
      {"Subtract", Subtract::from_config},
      {"UpSampling2D", UpSampling2D::from_config},
      // Issue 15: masks and sequence wrappers.
      {"Masking", Masking::from_config},
      {"TimeDistributed", TimeDistributed::from_config},
      {"RNN", RNN::from_config},
      {"SimpleRNNCell", SimpleRNNCell::from_config},
      {"LSTMCell", LSTMCell::from_config},
      {"GRUCell", GRUCell::from_config},
      {"StackedRNNCells", StackedRNNCells::from_config},
      {"PositionEmbedding", PositionEmbedding::from_config},  // keras_nlp / keras_hub
  };
}

Registry& registry() {
  static Registry* r = new Registry{{}, builtin_layers()};  // never destroyed: usable during static teardown
  return *r;
}

bool read_by_model_loader(const std::string& c) {
  return c == "Sequential" || c == "Functional" || c == "Model" || c == "InputLayer";
}

}  // namespace

void register_layer(const std::string& class_name, LayerFactory factory) {
  if (class_name.empty() || !factory) throw ValueError("register_layer: needs a class name and a factory");
  if (read_by_model_loader(class_name)) {
    throw ValueError("register_layer: '" + class_name + "' is read by the model loader itself");
  }
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.factories[class_name] = std::move(factory);
}

std::vector<std::string> registered_layer_classes() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::vector<std::string> names;
  for (const auto& [name, f] : r.factories) names.push_back(name);
  return names;
}

LayerFactory find_layer_factory(const std::string& class_name) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.factories.find(class_name);
  return it == r.factories.end() ? LayerFactory() : it->second;
}

}  // namespace ember::nn
