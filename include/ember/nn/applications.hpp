#pragma once
// The classic convolutional networks, keras.applications style: each constructor returns a freshly
// initialised model (weights materialise on first use, so summary() and count_params() of VGG16's
// 138 M parameters allocate nothing).
//
//   auto base = nn::applications::ResNet50({.include_top = false, .input_shape = Shape{96, 96, 3}, .pooling = "avg"});
//   auto vgg = nn::applications::vgg({{2, 64}, {2, 128}, {3, 256}, {3, 512}, {3, 512}}, {.classes = 10});
//
// | name        | built as                                                      | params (with top, 1000 classes) |
// |-------------|---------------------------------------------------------------|---------------------------------|
// | lenet5      | LeNet-5 on 28×28×1: conv 6@5×5 SAME, avg-pool, conv 16@5×5, avg-pool, 120, 84 (tanh) | 61,706 (10 classes) |
// | alexnet     | the notes' AlexNet: 227×227×3 → 55×55×96 → 27 → 27×27×256 → 13 → 13×13×384 ×2 → 13×13×256 → 6×6×256 = 9,216 → 4096 → 4096 | 62,378,344 |
// | vgg11 … vgg19 | the notes' vgg(conv_arch) of vgg_block(num_convs, num_filters) Sequentials + Flatten, 4096, Dropout 0.5, 4096, Dropout 0.5 | vgg16: 138,357,544 |
// | resnet18/34 | torchvision's basic-block ResNets (no conv bias, BN), Keras's stem (ZeroPadding 3, conv 7×7/2, BN, ReLU, ZeroPadding 1, max-pool 3×3/2) | trainable = torchvision's 11,689,512 / 21,797,672 |
// | resnet50    | Keras's ResNet50 (bottlenecks, conv bias, BN epsilon 1.001e-5) | 25,636,712 |
// | googlenet   | Inception v1 (the paper's channel table, ReLU convs with bias, no BN; auxiliary heads not built) | 6,998,552 |
// | mobilenetv2 | Keras's MobileNetV2 (alpha 1.0)                                | 3,538,984 |
//
// Options follow Keras: include_top (the classifier), input_shape (HWC; each model has a default and
// a minimum size), classes, pooling ("avg" / "max" / "" after the base when include_top is false),
// classifier_activation ("softmax" as Keras, or "linear" for logits), and weights: "" (random) or a
// path to a .h5 (Keras layout) or .safetensors file, loaded after building.
// small_input (ResNets): the CIFAR stem — a 3×3 stride-1 convolution and no max-pool — for 28×28 and
// 32×32 images.
// Defined in src/train/applications.cpp, above io/ (the `weights` option reads files); declared here,
// beside the layers they are made of, as Keras's keras.applications.
// Errors (ValueError naming the model): an input smaller than the model's minimum or with the wrong
// rank, classes < 1, an unknown pooling or name.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ember/nn/model.hpp"

namespace ember::nn::applications {

struct ApplicationOptions {
  bool include_top = true;
  std::optional<Shape> input_shape;    // (height, width, channels); default per model
  int64_t classes = 1000;
  std::string pooling = "";            // without the top: "", "avg" or "max"
  std::string classifier_activation = "softmax";
  std::string weights = "";            // "" or a .h5 / .safetensors path
  bool small_input = false;            // ResNets: the CIFAR stem (3×3 stride 1, no max-pool)
  double alpha = 1.0;                  // MobileNetV2's width multiplier, in (0, 4]
  std::string name = "";               // default: the model's own ("vgg16", "resnet50", ...)
};

std::shared_ptr<Model> LeNet5(const ApplicationOptions& options = {});
std::shared_ptr<Model> AlexNet(const ApplicationOptions& options = {});
// The notes' vgg(conv_arch): one vgg_block Sequential per (num_convs, num_filters), then the classifier.
std::shared_ptr<Model> vgg(const std::vector<std::pair<int, int64_t>>& conv_arch, const ApplicationOptions& options = {});
// The notes' vgg_block: num_convs 3×3 SAME ReLU convolutions of num_filters, then a 2×2 stride-2 max-pool.
std::shared_ptr<Model> vgg_block(int num_convs, int64_t num_filters, const std::string& name = "");
std::shared_ptr<Model> VGG11(const ApplicationOptions& options = {});
std::shared_ptr<Model> VGG13(const ApplicationOptions& options = {});
std::shared_ptr<Model> VGG16(const ApplicationOptions& options = {});
std::shared_ptr<Model> VGG19(const ApplicationOptions& options = {});
std::shared_ptr<Model> ResNet18(const ApplicationOptions& options = {});
std::shared_ptr<Model> ResNet34(const ApplicationOptions& options = {});
std::shared_ptr<Model> ResNet50(const ApplicationOptions& options = {});
std::shared_ptr<Model> GoogLeNet(const ApplicationOptions& options = {});
// Keras's MobileNetV2: inverted residuals, ReLU6, depthwise convolutions; `alpha` scales the widths.
std::shared_ptr<Model> MobileNetV2(const ApplicationOptions& options = {});

// By lower-case name ("vgg16", "resnet50", ...); ValueError listing the names for another.
std::shared_ptr<Model> application(const std::string& name, const ApplicationOptions& options = {});
std::vector<std::string> application_names();

}  // namespace ember::nn::applications
