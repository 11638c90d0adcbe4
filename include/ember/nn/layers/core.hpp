#pragma once
// Core layers: Input, Dense, Activation, Flatten, and the activation layers ReLU and Softmax.
#include <optional>

#include "ember/nn/activations.hpp"
#include "ember/nn/layer.hpp"

namespace ember::nn {

// The layer behind nn::Input: passes its input through.
class InputLayer : public LayerBase<InputLayer> {
 public:
  InputLayer(const Shape& shape_with_batch, std::string name = "", DType dtype = f32);
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;
  nlohmann::json get_config() const override;
  // Read by the model loader (an InputLayer entry starts a model; it is not in the layer table).
  static LayerPtr from_config(const nlohmann::json& config);
  // The symbolic tensor this layer stands for.
  SymbolicTensor output();

 private:
  Shape shape_;
  DType dtype_;
};

// A symbolic input of shape `shape` (without the batch axis), like keras.Input. A dimension of -1
// is unknown (Keras's None): `Input({-1, 8})` takes sequences of any length, and each batch fixes it.
// Layers whose weights would be sized by an unknown dimension refuse it when built (ShapeError).
SymbolicTensor Input(const Shape& shape, std::string name = "", DType dtype = f32);

struct DenseOptions {
  int64_t units = 0;
  Activation activation = Activation::Linear;
  bool use_bias = true;
  InitializerPtr kernel_initializer = initializers::get("glorot_uniform");
  InitializerPtr bias_initializer = initializers::get("zeros");
  RegularizerPtr kernel_regularizer = nullptr;
  RegularizerPtr bias_regularizer = nullptr;
  RegularizerPtr activity_regularizer = nullptr;
  std::string name = "";
};

// y = activation(x · kernel + bias) on the last axis; kernel [in, units], bias [units].
class Dense : public LayerBase<Dense> {
 public:
  explicit Dense(DenseOptions options);
  void build(const std::vector<Shape>& input_shapes) override;
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  void check_input_shapes(const std::vector<Shape>& shapes) const override;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;
  nlohmann::json get_config() const override;
  // The layer its Keras config describes (the registry's factory); FormatError naming the field.
  static LayerPtr from_config(const nlohmann::json& config);
  const DenseOptions& options() const { return opt_; }

 private:
  DenseOptions opt_;
};

// Applies an activation function (Keras class "Activation").
class ActivationLayer : public LayerBase<ActivationLayer> {
 public:
  explicit ActivationLayer(Activation activation, std::string name = "");
  explicit ActivationLayer(const std::string& activation, std::string name = "");
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  Activation activation() const { return activation_; }
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);  // beside get_config; see Dense

 private:
  Activation activation_;
};

// Flattens every axis but the batch one: [N, d1, d2, ...] -> [N, d1*d2*...].
class Flatten : public LayerBase<Flatten> {
 public:
  explicit Flatten(std::string name = "");
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  // Checked: ShapeError naming the layer when the per-sample element count overflows int64.
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);
};

struct ReLUOptions {
  std::optional<double> max_value;  // none: unbounded; else >= 0 (6 makes ReLU6)
  double negative_slope = 0.0;      // >= 0
  double threshold = 0.0;           // >= 0
  std::string name = "";
};

// Keras ReLU: f(x) = max_value where x >= max_value, x where threshold <= x < max_value,
// negative_slope * (x - threshold) below the threshold. Gradient 1 between threshold and max_value,
// negative_slope below the threshold, 0 above max_value.
// A negative or non-finite option throws ValueError (as Keras).
class ReLU : public LayerBase<ReLU> {
 public:
  explicit ReLU(ReLUOptions options = {});
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;
  void check_input_shapes(const std::vector<Shape>& shapes) const override;  // one input, any shape
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);  // beside get_config; see Dense
  const ReLUOptions& options() const { return opt_; }

 private:
  ReLUOptions opt_;
};

struct SoftmaxOptions {
  int64_t axis = -1;  // negative counts from the end; the batch axis 0 is a ValueError
  std::string name = "";
};

// Keras Softmax layer: softmax along `axis` (no mask argument).
class Softmax : public LayerBase<Softmax> {
 public:
  explicit Softmax(SoftmaxOptions options = {});
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;
  void check_input_shapes(const std::vector<Shape>& shapes) const override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);  // beside get_config; see Dense
  const SoftmaxOptions& options() const { return opt_; }

 private:
  SoftmaxOptions opt_;
};

}  // namespace ember::nn
