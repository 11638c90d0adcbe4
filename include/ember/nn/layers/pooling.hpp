#pragma once
// Pooling layers (Keras MaxPooling2D, AveragePooling2D, MaxPooling1D, AveragePooling1D,
// GlobalAveragePooling2D, GlobalMaxPooling2D, GlobalAveragePooling1D, GlobalMaxPooling1D), TensorFlow semantics: channels-last, strides default to pool_size, padded
// positions never take part (never win a max; an average divides by the number of real elements in
// its window, as TensorFlow — PyTorch's count_include_pad=True differs at SAME borders).
//
//   nn::MaxPool2D({.pool_size = {2, 2}})
//
// The layers have no weights and accept any input of the right rank (2-D: [N, H, W, C]; 1-D:
// [N, W, C]); a wrong rank, or a VALID window larger than the input, throws ShapeError naming the
// layer and the shapes. Sizes or strides < 1 throw ValueError from the constructor.
#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "ember/nn/layer.hpp"
#include "ember/nn/layers/conv.hpp"  // Padding and the shared window helpers
#include "ember/ops/pool.hpp"

namespace ember::nn {

struct Pooling2DOptions {
  std::array<int64_t, 2> pool_size{2, 2};          // (height, width)
  std::optional<std::array<int64_t, 2>> strides;   // default: pool_size (Keras)
  Padding padding = Padding::Valid;
  std::string name = "";
};

// Shared behaviour of the 2-D window pooling layers.
class Pooling2D : public Layer {
 public:
  Pooling2D(std::string class_name, Pooling2DOptions options);
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;
  void check_input_shapes(const std::vector<Shape>& shapes) const override;
  nlohmann::json get_config() const override;
  // What MaxPooling2D::from_config and AveragePooling2D::from_config share.
  static Pooling2DOptions options_from_config(const nlohmann::json& config, const std::string& class_name);
  const Pooling2DOptions& options() const { return opt_; }
  std::array<int64_t, 2> strides() const { return opt_.strides.value_or(opt_.pool_size); }

 protected:
  Pool2dOptions pool_options() const { return {opt_.pool_size, strides(), opt_.padding}; }
  Pooling2DOptions opt_;
};

class MaxPooling2D : public Pooling2D {
 public:
  explicit MaxPooling2D(Pooling2DOptions options = {});
  static LayerPtr from_config(const nlohmann::json& config);  // beside get_config; see Dense
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  LayerPtr move_into_shared() && override;
};
using MaxPool2D = MaxPooling2D;

class AveragePooling2D : public Pooling2D {
 public:
  explicit AveragePooling2D(Pooling2DOptions options = {});
  static LayerPtr from_config(const nlohmann::json& config);  // beside get_config; see Dense
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  LayerPtr move_into_shared() && override;
};
using AvgPool2D = AveragePooling2D;

struct Pooling1DOptions {
  int64_t pool_size = 2;
  std::optional<int64_t> strides;  // default: pool_size
  Padding padding = Padding::Valid;
  std::string name = "";
};

// Shared behaviour of the 1-D window pooling layers on [N, W, C] (windows along W).
class Pooling1D : public Layer {
 public:
  Pooling1D(std::string class_name, Pooling1DOptions options);
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;
  void check_input_shapes(const std::vector<Shape>& shapes) const override;
  nlohmann::json get_config() const override;
  // What MaxPooling1D::from_config and AveragePooling1D::from_config share.
  static Pooling1DOptions options_from_config(const nlohmann::json& config, const std::string& class_name);
  // None: Keras's window poolings do not support masking (a mask ends here).
  Tensor compute_output_mask(const Tensor&, const Tensor&, const Tensor&) const override { return {}; }
  const Pooling1DOptions& options() const { return opt_; }
  int64_t strides() const { return opt_.strides.value_or(opt_.pool_size); }

 protected:
  Pooling1DOptions opt_;
};

// Max over windows of [N, W, C] along W.
class MaxPooling1D : public Pooling1D {
 public:
  explicit MaxPooling1D(Pooling1DOptions options = {});
  static LayerPtr from_config(const nlohmann::json& config);  // beside get_config; see Dense
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  LayerPtr move_into_shared() && override;
};
using MaxPool1D = MaxPooling1D;

// Mean over windows of [N, W, C] along W (SAME borders divide by the real elements, as TensorFlow).
class AveragePooling1D : public Pooling1D {
 public:
  explicit AveragePooling1D(Pooling1DOptions options = {});
  static LayerPtr from_config(const nlohmann::json& config);  // beside get_config; see Dense
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  LayerPtr move_into_shared() && override;
};
using AvgPool1D = AveragePooling1D;

// Shared behaviour of the global poolings: [N, spatial..., C] -> [N, C] (rank 4 for the 2-D
// layers, 3 for the 1-D ones); Keras's keepdims=True is not supported (FormatError in from_config).
class GlobalPooling : public Layer {
 public:
  using Op = Tensor (*)(const Tensor&);
  GlobalPooling(std::string class_name, std::string name, std::size_t rank, Op op);
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;
  void check_input_shapes(const std::vector<Shape>& shapes) const override;
  nlohmann::json get_config() const override;
  // The name of a global pooling config (channels_last, keepdims false).
  static std::string name_from_config(const nlohmann::json& config, const std::string& class_name);

 private:
  std::size_t rank_;
  Op op_;
};

// [N, H, W, C] -> [N, C]: mean over H and W.
class GlobalAveragePooling2D : public GlobalPooling {
 public:
  explicit GlobalAveragePooling2D(std::string name = "");
  static LayerPtr from_config(const nlohmann::json& config);  // beside get_config; see Dense
  LayerPtr move_into_shared() && override;
};

// [N, H, W, C] -> [N, C]: max over H and W (the gradient is split among ties).
class GlobalMaxPooling2D : public GlobalPooling {
 public:
  explicit GlobalMaxPooling2D(std::string name = "");
  static LayerPtr from_config(const nlohmann::json& config);  // beside get_config; see Dense
  LayerPtr move_into_shared() && override;
};

// [N, steps, C] -> [N, C]: mean over the steps. With a mask [N, steps] (call_masked, as a model
// passes it), the mean over the unmasked steps only, as Keras: Σ x·m / Σ m (a sequence masked
// everywhere gives 0/0 = NaN there, as in Keras); a mask of another shape is a ShapeError naming
// the layer and both shapes. The output carries no mask.
class GlobalAveragePooling1D : public GlobalPooling {
 public:
  explicit GlobalAveragePooling1D(std::string name = "");
  static LayerPtr from_config(const nlohmann::json& config);  // beside get_config; see Dense
  LayerPtr move_into_shared() && override;
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  Tensor call_masked(const Tensor& x, const Tensor& mask, bool training) override;

 private:
  Tensor call_mask_;  // the mask of the call_masked in progress
};

// [N, steps, C] -> [N, C]: max over the steps (the gradient is split among ties).
class GlobalMaxPooling1D : public GlobalPooling {
 public:
  explicit GlobalMaxPooling1D(std::string name = "");
  static LayerPtr from_config(const nlohmann::json& config);  // beside get_config; see Dense
  LayerPtr move_into_shared() && override;
};

}  // namespace ember::nn
