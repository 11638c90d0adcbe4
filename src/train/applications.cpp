#include "ember/nn/applications.hpp"

#include <algorithm>
#include <functional>
#include <map>

#include "ember/core/error.hpp"
#include "ember/nn/layers/conv.hpp"
#include "ember/nn/layers/core.hpp"
#include "ember/nn/layers/merging.hpp"
#include "ember/nn/layers/normalization.hpp"
#include "ember/nn/layers/pooling.hpp"
#include "ember/nn/layers/reshaping.hpp"

namespace ember::nn::applications {

namespace {

using Arch = std::vector<std::pair<int, int64_t>>;

// The input shape after the checks every constructor makes: rank 3, channels known, height and
// width at least `min_hw`, classes >= 1, a known pooling.
Shape checked_input(const std::string& model, const ApplicationOptions& o, const Shape& fallback, int64_t min_hw) {
  Shape s = o.input_shape.value_or(fallback);
  auto shape_str = [&] { return keras_shape(Shape{-1, s.size() > 0 ? s[0] : 0, s.size() > 1 ? s[1] : 0, s.size() > 2 ? s[2] : 0}); };
  if (s.size() != 3 || s[2] < 1) {
    throw ValueError(model + ": input_shape must be (height, width, channels) with channels >= 1, got " +
                     std::to_string(s.size()) + " dimension(s)");
  }
  if (s[0] < min_hw || s[1] < min_hw) {
    throw ValueError(model + ": input_shape " + shape_str() + " is smaller than the minimum " +
                     std::to_string(min_hw) + "x" + std::to_string(min_hw) + " this network's strides and pools need");
  }
  if (o.classes < 1) throw ValueError(model + ": classes must be >= 1, got " + std::to_string(o.classes));
  if (o.pooling != "" && o.pooling != "avg" && o.pooling != "max") {
    throw ValueError(model + ": pooling must be \"\", \"avg\" or \"max\", got \"" + o.pooling + "\"");
  }
  if (o.classifier_activation != "softmax" && o.classifier_activation != "linear") {
    throw ValueError(model + ": classifier_activation must be \"softmax\" or \"linear\", got \"" +
                     o.classifier_activation + "\"");
  }
  return s;
}

Activation classifier(const ApplicationOptions& o) {
  return o.classifier_activation == "softmax" ? Activation::Softmax : Activation::Linear;
}

// Pooling after a base without its top, as Keras's `pooling` argument.
SymbolicTensor base_pooling(const ApplicationOptions& o, SymbolicTensor x) {
  if (o.pooling == "avg") return GlobalAveragePooling2D("avg_pool")(x);
  if (o.pooling == "max") return GlobalMaxPooling2D("max_pool")(x);
  return x;
}

void add_base_pooling(Sequential& m, const ApplicationOptions& o) {
  if (o.pooling == "avg") m.add(GlobalAveragePooling2D("avg_pool"));
  if (o.pooling == "max") m.add(GlobalMaxPooling2D("max_pool"));
}

std::shared_ptr<Model> finish(std::shared_ptr<Model> m, const ApplicationOptions& o) {
  if (!o.weights.empty()) m->load_weights(o.weights);
  return m;
}

// ---- ResNet pieces (functional) ----

SymbolicTensor conv_bn(SymbolicTensor x, int64_t filters, int64_t k, int64_t stride, bool bias, bool relu,
                       const std::string& name, Padding padding = Padding::Same) {
  x = Conv2D({.filters = filters, .kernel_size = {k, k}, .strides = {stride, stride}, .padding = padding,
              .use_bias = bias, .name = name + "_conv"})(x);
  x = BatchNormalization({.epsilon = 1.001e-5, .name = name + "_bn"})(x);
  if (relu) x = ActivationLayer(Activation::ReLU, name + "_relu")(x);
  return x;
}

// He et al.'s basic block (two 3×3 convolutions), with a 1×1 projection when the shape changes.
SymbolicTensor basic_block(SymbolicTensor x, int64_t filters, int64_t stride, bool project, const std::string& name) {
  SymbolicTensor shortcut = x;
  if (project) shortcut = conv_bn(x, filters, 1, stride, false, false, name + "_0");
  SymbolicTensor y = conv_bn(x, filters, 3, stride, false, true, name + "_1");
  y = conv_bn(y, filters, 3, 1, false, false, name + "_2");
  y = Add(name + "_add")({shortcut, y});
  return ActivationLayer(Activation::ReLU, name + "_out")(y);
}

// Keras ResNet50's bottleneck (1×1 with the stride, 3×3, 1×1 to 4·filters), conv bias on.
SymbolicTensor bottleneck(SymbolicTensor x, int64_t filters, int64_t stride, bool project, const std::string& name) {
  SymbolicTensor shortcut = x;
  if (project) shortcut = conv_bn(x, 4 * filters, 1, stride, true, false, name + "_0", Padding::Valid);
  SymbolicTensor y = conv_bn(x, filters, 1, stride, true, true, name + "_1", Padding::Valid);
  y = conv_bn(y, filters, 3, 1, true, true, name + "_2");
  y = conv_bn(y, 4 * filters, 1, 1, true, false, name + "_3", Padding::Valid);
  y = Add(name + "_add")({shortcut, y});
  return ActivationLayer(Activation::ReLU, name + "_out")(y);
}

std::shared_ptr<Model> resnet(const std::string& model, const std::vector<int>& blocks, bool bottlenecks,
                              const ApplicationOptions& o) {
  Shape in = checked_input(model, o, {224, 224, 3}, o.small_input ? 8 : 32);
  SymbolicTensor input = Input(in, "input_1");
  SymbolicTensor x = input;
  const bool stem_bias = bottlenecks;  // Keras's ResNet50 convolutions have biases; torchvision's don't
  if (o.small_input) {
    x = conv_bn(x, 64, 3, 1, stem_bias, true, "conv1");
  } else {
    x = ZeroPadding2D({.padding = {{{3, 3}, {3, 3}}}, .name = "conv1_pad"})(x);
    x = conv_bn(x, 64, 7, 2, stem_bias, true, "conv1", Padding::Valid);
    x = ZeroPadding2D({.padding = {{{1, 1}, {1, 1}}}, .name = "pool1_pad"})(x);
    x = MaxPooling2D({.pool_size = {3, 3}, .strides = {{2, 2}}, .name = "pool1_pool"})(x);
  }
  int64_t filters = 64;
  for (std::size_t stage = 0; stage < blocks.size(); ++stage, filters *= 2) {
    for (int b = 0; b < blocks[stage]; ++b) {
      const std::string name = "conv" + std::to_string(stage + 2) + "_block" + std::to_string(b + 1);
      const int64_t stride = (b == 0 && stage > 0) ? 2 : 1;
      if (bottlenecks) {
        x = bottleneck(x, filters, stride, b == 0, name);
      } else {
        x = basic_block(x, filters, stride, b == 0 && stage > 0, name);
      }
    }
  }
  if (o.include_top) {
    x = GlobalAveragePooling2D("avg_pool")(x);
    x = Dense({.units = o.classes, .activation = classifier(o), .name = "predictions"})(x);
  } else {
    x = base_pooling(o, x);
  }
  return finish(std::make_shared<Model>(input, x, o.name.empty() ? model : o.name), o);
}

// ---- GoogLeNet ----

SymbolicTensor conv_relu(SymbolicTensor x, int64_t filters, int64_t k, int64_t stride, const std::string& name) {
  return Conv2D({.filters = filters, .kernel_size = {k, k}, .strides = {stride, stride}, .padding = Padding::Same,
                 .activation = Activation::ReLU, .name = name})(x);
}

// The notes' inception block: 1×1 | 1×1 → 3×3 | 1×1 → 5×5 | 3×3 max-pool → 1×1, concatenated on channels.
SymbolicTensor inception(SymbolicTensor x, int64_t c1, std::pair<int64_t, int64_t> c2, std::pair<int64_t, int64_t> c3,
                         int64_t c4, const std::string& name) {
  SymbolicTensor p1 = conv_relu(x, c1, 1, 1, name + "_1x1");
  SymbolicTensor p2 = conv_relu(conv_relu(x, c2.first, 1, 1, name + "_3x3_reduce"), c2.second, 3, 1, name + "_3x3");
  SymbolicTensor p3 = conv_relu(conv_relu(x, c3.first, 1, 1, name + "_5x5_reduce"), c3.second, 5, 1, name + "_5x5");
  SymbolicTensor p4 = MaxPooling2D({.pool_size = {3, 3}, .strides = {{1, 1}}, .padding = Padding::Same,
                                    .name = name + "_pool"})(x);
  p4 = conv_relu(p4, c4, 1, 1, name + "_pool_proj");
  return Concatenate({.axis = -1, .name = name + "_concat"})({p1, p2, p3, p4});
}

SymbolicTensor max_pool_3x3_s2(SymbolicTensor x, const std::string& name) {
  return MaxPooling2D({.pool_size = {3, 3}, .strides = {{2, 2}}, .padding = Padding::Same, .name = name})(x);
}

}  // namespace

// ------------------------------------------------------------------ LeNet, AlexNet, VGG

std::shared_ptr<Model> LeNet5(const ApplicationOptions& o) {
  ApplicationOptions opt = o;
  if (!o.input_shape) opt.classes = o.classes == 1000 ? 10 : o.classes;  // MNIST-sized by default
  Shape in = checked_input("lenet5", opt, {28, 28, 1}, 12);
  auto m = std::make_shared<Sequential>(std::initializer_list<LayerRef>{}, o.name.empty() ? "lenet5" : o.name);
  m->add(Input(in, "input_1"));
  m->add(Conv2D({.filters = 6, .kernel_size = {5, 5}, .padding = Padding::Same, .activation = Activation::Tanh,
                 .name = "conv1"}));
  m->add(AveragePooling2D({.pool_size = {2, 2}, .name = "pool1"}));
  m->add(Conv2D({.filters = 16, .kernel_size = {5, 5}, .activation = Activation::Tanh, .name = "conv2"}));
  m->add(AveragePooling2D({.pool_size = {2, 2}, .name = "pool2"}));
  if (opt.include_top) {
    m->add(Flatten("flatten"));
    m->add(Dense({.units = 120, .activation = Activation::Tanh, .name = "fc1"}));
    m->add(Dense({.units = 84, .activation = Activation::Tanh, .name = "fc2"}));
    m->add(Dense({.units = opt.classes, .activation = classifier(opt), .name = "predictions"}));
  } else {
    add_base_pooling(*m, opt);
  }
  return finish(m, opt);
}

std::shared_ptr<Model> AlexNet(const ApplicationOptions& o) {
  // 67 is the smallest side for which the three 3×3 stride-2 max-pools still have a window.
  Shape in = checked_input("alexnet", o, {227, 227, 3}, 67);
  auto m = std::make_shared<Sequential>(std::initializer_list<LayerRef>{}, o.name.empty() ? "alexnet" : o.name);
  m->add(Input(in, "input_1"));
  m->add(Conv2D({.filters = 96, .kernel_size = {11, 11}, .strides = {4, 4}, .activation = Activation::ReLU,
                 .name = "conv1"}));
  m->add(MaxPooling2D({.pool_size = {3, 3}, .strides = {{2, 2}}, .name = "pool1"}));
  m->add(Conv2D({.filters = 256, .kernel_size = {5, 5}, .padding = Padding::Same, .activation = Activation::ReLU,
                 .name = "conv2"}));
  m->add(MaxPooling2D({.pool_size = {3, 3}, .strides = {{2, 2}}, .name = "pool2"}));
  m->add(Conv2D({.filters = 384, .kernel_size = {3, 3}, .padding = Padding::Same, .activation = Activation::ReLU,
                 .name = "conv3"}));
  m->add(Conv2D({.filters = 384, .kernel_size = {3, 3}, .padding = Padding::Same, .activation = Activation::ReLU,
                 .name = "conv4"}));
  m->add(Conv2D({.filters = 256, .kernel_size = {3, 3}, .padding = Padding::Same, .activation = Activation::ReLU,
                 .name = "conv5"}));
  m->add(MaxPooling2D({.pool_size = {3, 3}, .strides = {{2, 2}}, .name = "pool5"}));
  if (o.include_top) {
    m->add(Flatten("flatten"));
    m->add(Dense({.units = 4096, .activation = Activation::ReLU, .name = "fc6"}));
    m->add(Dropout({.rate = 0.5, .name = "dropout6"}));
    m->add(Dense({.units = 4096, .activation = Activation::ReLU, .name = "fc7"}));
    m->add(Dropout({.rate = 0.5, .name = "dropout7"}));
    m->add(Dense({.units = o.classes, .activation = classifier(o), .name = "predictions"}));
  } else {
    add_base_pooling(*m, o);
  }
  return finish(m, o);
}

std::shared_ptr<Model> vgg_block(int num_convs, int64_t num_filters, const std::string& name) {
  if (num_convs < 1 || num_filters < 1) {
    throw ValueError("vgg_block: num_convs and num_filters must be >= 1, got " + std::to_string(num_convs) + " and " +
                     std::to_string(num_filters));
  }
  auto block = std::make_shared<Sequential>(std::initializer_list<LayerRef>{}, name);
  for (int i = 0; i < num_convs; ++i) {
    block->add(Conv2D({.filters = num_filters, .kernel_size = {3, 3}, .padding = Padding::Same,
                       .activation = Activation::ReLU}));
  }
  block->add(MaxPooling2D({.pool_size = {2, 2}, .strides = {{2, 2}}}));
  return block;
}

std::shared_ptr<Model> vgg(const Arch& conv_arch, const ApplicationOptions& o) {
  const std::string model = o.name.empty() ? "vgg" : o.name;
  if (conv_arch.empty() || conv_arch.size() > 30) {
    throw ValueError(model + ": conv_arch must list 1 to 30 (num_convs, num_filters) blocks, got " +
                     std::to_string(conv_arch.size()));
  }
  // Each block halves the side: 2^blocks is the smallest input (32 for VGG's five blocks, as Keras).
  Shape in = checked_input(model, o, {224, 224, 3}, int64_t{1} << conv_arch.size());
  auto net = std::make_shared<Sequential>(std::initializer_list<LayerRef>{}, model);
  net->add(Input(in, "input_1"));
  for (const auto& [num_convs, num_filters] : conv_arch) net->add(LayerRef(vgg_block(num_convs, num_filters)));
  if (o.include_top) {
    auto top = std::make_shared<Sequential>(std::initializer_list<LayerRef>{}, "classifier");
    top->add(Flatten());
    top->add(Dense({.units = 4096, .activation = Activation::ReLU}));
    top->add(Dropout({.rate = 0.5}));
    top->add(Dense({.units = 4096, .activation = Activation::ReLU}));
    top->add(Dropout({.rate = 0.5}));
    top->add(Dense({.units = o.classes, .activation = classifier(o)}));
    net->add(LayerRef(top));
  } else {
    add_base_pooling(*net, o);
  }
  return finish(net, o);
}

namespace {
std::shared_ptr<Model> named_vgg(const char* name, const Arch& arch, const ApplicationOptions& o) {
  ApplicationOptions opt = o;
  if (opt.name.empty()) opt.name = name;
  return vgg(arch, opt);
}
}  // namespace

std::shared_ptr<Model> VGG11(const ApplicationOptions& o) {
  return named_vgg("vgg11", {{1, 64}, {1, 128}, {2, 256}, {2, 512}, {2, 512}}, o);
}
std::shared_ptr<Model> VGG13(const ApplicationOptions& o) {
  return named_vgg("vgg13", {{2, 64}, {2, 128}, {2, 256}, {2, 512}, {2, 512}}, o);
}
std::shared_ptr<Model> VGG16(const ApplicationOptions& o) {
  return named_vgg("vgg16", {{2, 64}, {2, 128}, {3, 256}, {3, 512}, {3, 512}}, o);
}
std::shared_ptr<Model> VGG19(const ApplicationOptions& o) {
  return named_vgg("vgg19", {{2, 64}, {2, 128}, {4, 256}, {4, 512}, {4, 512}}, o);
}

// ------------------------------------------------------------------ ResNet, GoogLeNet

std::shared_ptr<Model> ResNet18(const ApplicationOptions& o) { return resnet("resnet18", {2, 2, 2, 2}, false, o); }
std::shared_ptr<Model> ResNet34(const ApplicationOptions& o) { return resnet("resnet34", {3, 4, 6, 3}, false, o); }
std::shared_ptr<Model> ResNet50(const ApplicationOptions& o) { return resnet("resnet50", {3, 4, 6, 3}, true, o); }

std::shared_ptr<Model> GoogLeNet(const ApplicationOptions& o) {
  // Five stride-2 stages with SAME padding: 32 keeps the last feature map at 1×1 or more.
  Shape in = checked_input("googlenet", o, {224, 224, 3}, 32);
  SymbolicTensor input = Input(in, "input_1");
  SymbolicTensor x = conv_relu(input, 64, 7, 2, "conv1_7x7");
  x = max_pool_3x3_s2(x, "pool1");
  x = conv_relu(x, 64, 1, 1, "conv2_3x3_reduce");
  x = conv_relu(x, 192, 3, 1, "conv2_3x3");
  x = max_pool_3x3_s2(x, "pool2");
  x = inception(x, 64, {96, 128}, {16, 32}, 32, "inception_3a");
  x = inception(x, 128, {128, 192}, {32, 96}, 64, "inception_3b");
  x = max_pool_3x3_s2(x, "pool3");
  x = inception(x, 192, {96, 208}, {16, 48}, 64, "inception_4a");
  x = inception(x, 160, {112, 224}, {24, 64}, 64, "inception_4b");
  x = inception(x, 128, {128, 256}, {24, 64}, 64, "inception_4c");
  x = inception(x, 112, {144, 288}, {32, 64}, 64, "inception_4d");
  x = inception(x, 256, {160, 320}, {32, 128}, 128, "inception_4e");
  x = max_pool_3x3_s2(x, "pool4");
  x = inception(x, 256, {160, 320}, {32, 128}, 128, "inception_5a");
  x = inception(x, 384, {192, 384}, {48, 128}, 128, "inception_5b");
  if (o.include_top) {
    x = GlobalAveragePooling2D("avg_pool")(x);
    x = Dropout({.rate = 0.4, .name = "dropout"})(x);
    x = Dense({.units = o.classes, .activation = classifier(o), .name = "predictions"})(x);
  } else {
    x = base_pooling(o, x);
  }
  return finish(std::make_shared<Model>(input, x, o.name.empty() ? "googlenet" : o.name), o);
}

// ------------------------------------------------------------------ MobileNetV2

namespace {

// Keras's _make_divisible: v rounded to the nearest multiple of `divisor` (at least divisor), never
// more than 10 % below v.
int64_t make_divisible(double v, int64_t divisor = 8) {
  int64_t rounded = std::max<int64_t>(divisor, static_cast<int64_t>(v + divisor / 2.0) / divisor * divisor);
  if (static_cast<double>(rounded) < 0.9 * v) rounded += divisor;
  return rounded;
}

SymbolicTensor bn_relu6(SymbolicTensor x, const std::string& name, bool relu = true) {
  x = BatchNormalization({.momentum = 0.999, .epsilon = 1e-3, .name = name + "_BN"})(x);
  if (relu) x = ReLU({.max_value = 6.0, .name = name + "_relu"})(x);
  return x;
}

// Keras's inverted residual block: 1×1 expansion (not in block 0), 3×3 depthwise with the stride,
// 1×1 linear projection; a residual Add when the shape is kept.
SymbolicTensor inverted_residual(SymbolicTensor x, int64_t in_channels, int64_t filters, double alpha, int64_t stride,
                                 int64_t expansion, int block_id) {
  const int64_t out = make_divisible(static_cast<double>(static_cast<int64_t>(filters * alpha)));
  const std::string prefix = block_id ? "block_" + std::to_string(block_id) : "expanded_conv";
  SymbolicTensor y = x;
  if (block_id) {
    y = Conv2D({.filters = expansion * in_channels, .kernel_size = {1, 1}, .padding = Padding::Same,
                .use_bias = false, .name = prefix + "_expand"})(y);
    y = bn_relu6(y, prefix + "_expand");
  }
  // SAME padding gives Keras's correct_pad zero-padding at stride 2 (one extra row/column at the end
  // for even sizes), so no explicit ZeroPadding2D is needed.
  y = DepthwiseConv2D({.kernel_size = {3, 3}, .strides = {stride, stride}, .padding = Padding::Same, .use_bias = false,
                       .name = prefix + "_depthwise"})(y);
  y = bn_relu6(y, prefix + "_depthwise");
  y = Conv2D({.filters = out, .kernel_size = {1, 1}, .padding = Padding::Same, .use_bias = false,
              .name = prefix + "_project"})(y);
  y = bn_relu6(y, prefix + "_project", /*relu=*/false);
  if (in_channels == out && stride == 1) y = Add(prefix + "_add")({x, y});
  return y;
}

}  // namespace

std::shared_ptr<Model> MobileNetV2(const ApplicationOptions& o) {
  if (!(o.alpha > 0.0) || o.alpha > 4.0) {
    throw ValueError("mobilenetv2: alpha must be in (0, 4], got " + std::to_string(o.alpha));
  }
  Shape in = checked_input("mobilenetv2", o, {224, 224, 3}, 32);
  SymbolicTensor input = Input(in, "input_1");
  int64_t channels = make_divisible(32 * o.alpha);
  SymbolicTensor x = Conv2D({.filters = channels, .kernel_size = {3, 3}, .strides = {2, 2}, .padding = Padding::Same,
                             .use_bias = false, .name = "Conv1"})(input);
  x = bn_relu6(x, "bn_Conv1");
  struct Block {
    int64_t filters, stride, expansion;
  };
  const Block blocks[] = {{16, 1, 1},  {24, 2, 6},  {24, 1, 6},  {32, 2, 6},  {32, 1, 6},  {32, 1, 6},
                          {64, 2, 6},  {64, 1, 6},  {64, 1, 6},  {64, 1, 6},  {96, 1, 6},  {96, 1, 6},
                          {96, 1, 6},  {160, 2, 6}, {160, 1, 6}, {160, 1, 6}, {320, 1, 6}};
  int id = 0;
  for (const Block& b : blocks) {
    x = inverted_residual(x, channels, b.filters, o.alpha, b.stride, b.expansion, id++);
    channels = make_divisible(static_cast<double>(static_cast<int64_t>(b.filters * o.alpha)));
  }
  const int64_t last = o.alpha > 1.0 ? make_divisible(1280 * o.alpha) : 1280;
  x = Conv2D({.filters = last, .kernel_size = {1, 1}, .use_bias = false, .name = "Conv_1"})(x);
  x = bn_relu6(x, "Conv_1");
  if (o.include_top) {
    x = GlobalAveragePooling2D("global_average_pooling2d")(x);
    x = Dense({.units = o.classes, .activation = classifier(o), .name = "predictions"})(x);
  } else {
    x = base_pooling(o, x);
  }
  return finish(std::make_shared<Model>(input, x, o.name.empty() ? "mobilenetv2" : o.name), o);
}

// ------------------------------------------------------------------ by name

namespace {
using Factory = std::shared_ptr<Model> (*)(const ApplicationOptions&);
const std::vector<std::pair<std::string, Factory>>& factories() {
  static const std::vector<std::pair<std::string, Factory>> table = {
      {"lenet5", LeNet5},   {"alexnet", AlexNet},   {"vgg11", VGG11},       {"vgg13", VGG13},
      {"vgg16", VGG16},     {"vgg19", VGG19},       {"resnet18", ResNet18}, {"resnet34", ResNet34},
      {"resnet50", ResNet50}, {"googlenet", GoogLeNet}, {"mobilenetv2", MobileNetV2},
  };
  return table;
}
}  // namespace

std::vector<std::string> application_names() {
  std::vector<std::string> names;
  for (const auto& [n, f] : factories()) names.push_back(n);
  return names;
}

std::shared_ptr<Model> application(const std::string& name, const ApplicationOptions& options) {
  for (const auto& [n, f] : factories()) {
    if (n == name) return f(options);
  }
  std::string names;
  for (const auto& [n, f] : factories()) names += (names.empty() ? "" : ", ") + n;
  throw ValueError("unknown application '" + name + "' (known: " + names + ")");
}

}  // namespace ember::nn::applications
