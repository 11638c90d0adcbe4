#include "ember/nn/builtin_models.hpp"

#include "ember/nn/layers/conv.hpp"
#include "ember/nn/layers/core.hpp"
#include "ember/nn/layers/normalization.hpp"
#include "ember/nn/layers/pooling.hpp"

namespace ember::nn {

namespace {

std::shared_ptr<Model> mlp() {
  auto m = std::make_shared<Sequential>(std::initializer_list<LayerRef>{}, "mlp");
  m->add(Input({28, 28, 1}, "input_1"));
  m->add(Flatten("flatten"));
  m->add(Dense({.units = 256, .activation = Activation::ReLU, .name = "dense"}));
  m->add(Dense({.units = 128, .activation = Activation::ReLU, .name = "dense_1"}));
  m->add(Dense({.units = 10, .name = "dense_2"}));
  return m;
}

std::shared_ptr<Model> cnn() {
  auto m = std::make_shared<Sequential>(std::initializer_list<LayerRef>{}, "cnn");
  m->add(Input({28, 28, 1}, "input_1"));
  m->add(Conv2D({.filters = 32, .kernel_size = {5, 5}, .padding = Padding::Same, .activation = Activation::ReLU,
                 .name = "conv2d"}));
  m->add(MaxPooling2D({.pool_size = {2, 2}, .strides = {{2, 2}}, .name = "max_pooling2d"}));
  m->add(Conv2D({.filters = 64, .kernel_size = {5, 5}, .padding = Padding::Same, .activation = Activation::ReLU,
                 .name = "conv2d_1"}));
  m->add(MaxPooling2D({.pool_size = {2, 2}, .strides = {{2, 2}}, .name = "max_pooling2d_1"}));
  m->add(Flatten("flatten"));
  m->add(Dense({.units = 1024, .activation = Activation::ReLU, .name = "dense"}));
  m->add(Dropout({.rate = 0.4, .seed = std::nullopt, .name = "dropout"}));
  m->add(Dense({.units = 10, .name = "dense_1"}));
  return m;
}

}  // namespace

std::vector<std::string> builtin_model_names() { return {"mlp", "cnn"}; }

std::shared_ptr<Model> builtin_model(const std::string& name) {
  if (name == "mlp") return mlp();
  if (name == "cnn") return cnn();
  std::string known;
  for (const std::string& n : builtin_model_names()) known += (known.empty() ? "" : ", ") + n;
  throw ValueError("unknown built-in model '" + name + "' (known: " + known + ")");
}

}  // namespace ember::nn
