#pragma once
// Convolution layers (Keras Conv2D / Conv1D), TensorFlow semantics: channels-last inputs, HWIO
// kernels, cross-correlation, TensorFlow SAME padding (out = ceil(in/stride), the odd extra padding
// bottom/right — PyTorch's padding='same' differs for even kernels).
//
//   nn::Conv2D({.filters = 32, .kernel_size = {5, 5}, .padding = Padding::Same, .activation = Activation::ReLU})
//
// Shapes: Conv2D takes [N, H, W, Cin] and fixes rank 4 and Cin when built; H and W may change
// between calls (and may be unknown, -1, in symbolic calls). Conv1D takes [N, W, Cin].
// Bad options (filters, kernel sizes, strides or dilations < 1; strides > 1 together with a
// dilation > 1, which Keras rejects) throw ValueError from the constructor.
#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "ember/nn/activations.hpp"
#include "ember/nn/layer.hpp"
#include "ember/ops/conv.hpp"

namespace ember::nn {

struct Conv2DOptions {
  int64_t filters = 0;                          // output channels, >= 1
  std::array<int64_t, 2> kernel_size{3, 3};     // (height, width)
  std::array<int64_t, 2> strides{1, 1};
  Padding padding = Padding::Valid;             // Keras default
  std::array<int64_t, 2> dilation_rate{1, 1};
  Activation activation = Activation::Linear;
  bool use_bias = true;
  InitializerPtr kernel_initializer = initializers::get("glorot_uniform");
  InitializerPtr bias_initializer = initializers::get("zeros");
  RegularizerPtr kernel_regularizer = nullptr;
  RegularizerPtr bias_regularizer = nullptr;
  RegularizerPtr activity_regularizer = nullptr;
  std::string name = "";
};

// y = activation(conv2d(x, kernel) + bias); weights "kernel" [kh, kw, Cin, filters] (HWIO) and,
// with use_bias, "bias" [filters].
class Conv2D : public LayerBase<Conv2D> {
 public:
  explicit Conv2D(Conv2DOptions options);
  void build(const std::vector<Shape>& input_shapes) override;
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;
  void check_input_shapes(const std::vector<Shape>& shapes) const override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);  // beside get_config; see Dense
  const Conv2DOptions& options() const { return opt_; }

 private:
  Conv2DOptions opt_;
};

struct Conv1DOptions {
  int64_t filters = 0;
  int64_t kernel_size = 3;
  int64_t strides = 1;
  Padding padding = Padding::Valid;
  int64_t dilation_rate = 1;
  Activation activation = Activation::Linear;
  bool use_bias = true;
  InitializerPtr kernel_initializer = initializers::get("glorot_uniform");
  InitializerPtr bias_initializer = initializers::get("zeros");
  RegularizerPtr kernel_regularizer = nullptr;
  RegularizerPtr bias_regularizer = nullptr;
  RegularizerPtr activity_regularizer = nullptr;
  std::string name = "";
};

// Temporal convolution on [N, W, Cin]; weights "kernel" [k, Cin, filters] and "bias" [filters].
class Conv1D : public LayerBase<Conv1D> {
 public:
  explicit Conv1D(Conv1DOptions options);
  void build(const std::vector<Shape>& input_shapes) override;
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;
  void check_input_shapes(const std::vector<Shape>& shapes) const override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);  // beside get_config; see Dense
  // None: Keras's convolutions do not support masking (a mask ends here).
  Tensor compute_output_mask(const Tensor&, const Tensor&, const Tensor&) const override { return {}; }
  const Conv1DOptions& options() const { return opt_; }

 private:
  Conv1DOptions opt_;
};

struct DepthwiseConv2DOptions {
  std::array<int64_t, 2> kernel_size{3, 3};     // (height, width)
  std::array<int64_t, 2> strides{1, 1};
  Padding padding = Padding::Valid;
  int64_t depth_multiplier = 1;                 // output channels per input channel, >= 1
  std::array<int64_t, 2> dilation_rate{1, 1};
  Activation activation = Activation::Linear;
  bool use_bias = true;
  InitializerPtr depthwise_initializer = initializers::get("glorot_uniform");
  InitializerPtr bias_initializer = initializers::get("zeros");
  RegularizerPtr depthwise_regularizer = nullptr;
  RegularizerPtr bias_regularizer = nullptr;
  RegularizerPtr activity_regularizer = nullptr;
  std::string name = "";
};

// Keras DepthwiseConv2D: each input channel convolved with its own depth_multiplier filters,
// y = activation(depthwise_conv2d(x, depthwise_kernel) + bias) (ops/conv.hpp); weights
// "depthwise_kernel" [kh, kw, Cin, depth_multiplier] and "bias" [Cin * depth_multiplier]; output
// channel c * depth_multiplier + j comes from input channel c. Options as Conv2D's (ValueError).
class DepthwiseConv2D : public LayerBase<DepthwiseConv2D> {
 public:
  explicit DepthwiseConv2D(DepthwiseConv2DOptions options = {});
  void build(const std::vector<Shape>& input_shapes) override;
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;
  void check_input_shapes(const std::vector<Shape>& shapes) const override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);  // beside get_config; see Dense
  const DepthwiseConv2DOptions& options() const { return opt_; }

 private:
  DepthwiseConv2DOptions opt_;
};

struct SeparableConv2DOptions {
  int64_t filters = 0;                          // output channels, >= 1
  std::array<int64_t, 2> kernel_size{3, 3};
  std::array<int64_t, 2> strides{1, 1};
  Padding padding = Padding::Valid;
  int64_t depth_multiplier = 1;
  std::array<int64_t, 2> dilation_rate{1, 1};
  Activation activation = Activation::Linear;
  bool use_bias = true;
  InitializerPtr depthwise_initializer = initializers::get("glorot_uniform");
  InitializerPtr pointwise_initializer = initializers::get("glorot_uniform");
  InitializerPtr bias_initializer = initializers::get("zeros");
  RegularizerPtr depthwise_regularizer = nullptr;
  RegularizerPtr pointwise_regularizer = nullptr;
  RegularizerPtr bias_regularizer = nullptr;
  RegularizerPtr activity_regularizer = nullptr;
  std::string name = "";
};

// Keras SeparableConv2D: a depthwise convolution, then a 1x1 convolution to `filters` channels,
// then bias and activation (tf.nn.separable_conv2d). Weights "depthwise_kernel"
// [kh, kw, Cin, depth_multiplier], "pointwise_kernel" [1, 1, Cin * depth_multiplier, filters] and
// "bias" [filters].
class SeparableConv2D : public LayerBase<SeparableConv2D> {
 public:
  explicit SeparableConv2D(SeparableConv2DOptions options);
  void build(const std::vector<Shape>& input_shapes) override;
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;
  void check_input_shapes(const std::vector<Shape>& shapes) const override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);  // beside get_config; see Dense
  const SeparableConv2DOptions& options() const { return opt_; }

 private:
  SeparableConv2DOptions opt_;
};

struct Conv2DTransposeOptions {
  int64_t filters = 0;                          // output channels, >= 1
  std::array<int64_t, 2> kernel_size{3, 3};
  std::array<int64_t, 2> strides{1, 1};
  Padding padding = Padding::Valid;
  // Extra rows / columns at the bottom / right of the output, each in [0, stride) (ValueError);
  // none: Keras's default output size (below).
  std::optional<std::array<int64_t, 2>> output_padding;
  std::array<int64_t, 2> dilation_rate{1, 1};
  Activation activation = Activation::Linear;
  bool use_bias = true;
  InitializerPtr kernel_initializer = initializers::get("glorot_uniform");
  InitializerPtr bias_initializer = initializers::get("zeros");
  RegularizerPtr kernel_regularizer = nullptr;
  RegularizerPtr bias_regularizer = nullptr;
  RegularizerPtr activity_regularizer = nullptr;
  std::string name = "";
};

// Keras Conv2DTranspose (the "deconvolution"), y = activation(conv2d_transpose(x, kernel) + bias),
// weights "kernel" [kh, kw, filters, Cin] (Keras's order: output channels before input channels)
// and "bias" [filters]. Output size per spatial axis (Keras deconv_output_length, k the dilated
// kernel): without output_padding VALID in * s + max(k - s, 0), SAME in * s; with it
// (in - 1) * s + k - 2 * pad + output_padding, pad = k / 2 for SAME, 0 for VALID. An output size
// that the matching convolution cannot map back to the input throws ShapeError naming the layer.
class Conv2DTranspose : public LayerBase<Conv2DTranspose> {
 public:
  explicit Conv2DTranspose(Conv2DTransposeOptions options);
  void build(const std::vector<Shape>& input_shapes) override;
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;
  void check_input_shapes(const std::vector<Shape>& shapes) const override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);  // beside get_config; see Dense
  const Conv2DTransposeOptions& options() const { return opt_; }

 private:
  int64_t output_length(int axis, int64_t in) const;  // -1 for an unknown input length
  Conv2DTransposeOptions opt_;
};

namespace detail {
// Output length of a window op along one axis (TensorFlow rules); -1 stays -1 (unknown).
// Returns 0 or less when a VALID window does not fit; callers report that as a ShapeError.
// Never overflows: a window whose span does not fit in 64 bits does not fit the input.
int64_t window_output_length(int64_t in, int64_t window, int64_t stride, int64_t dilation, Padding padding);
// (window - 1) * dilation + 1, the extent a dilated window covers, saturating at INT64_MAX.
int64_t window_span(int64_t window, int64_t dilation);
// ValueError "layer 'x' (Class): <what> must be >= 1, got <v>" (window, stride and filter options).
void check_positive(const Layer& layer, const char* what, int64_t v);
// "valid" / "same", Keras spelling.
const char* padding_name(Padding p);
// The Keras {class_name, config} object of an initializer / regularizer (null for no regularizer).
nlohmann::json initializer_json(const InitializerPtr& init);
nlohmann::json regularizer_json(const RegularizerPtr& reg);
// The single input of a one-input layer, or ValueError naming the layer.
const Tensor& single_input(const std::vector<Tensor>& inputs, const Layer& layer);
// ShapeError "layer 'name' (Class): expected input shape <want>, got <got>".
[[noreturn]] void throw_input_shape(const Layer& layer, const std::string& want, const Shape& got);
}  // namespace detail

}  // namespace ember::nn
