#pragma once
// Merging layers (Keras Add, Multiply, Concatenate): called on a list of at least two tensors
// (fewer: ValueError). Add and Multiply need equal shapes, Concatenate equal shapes except along
// `axis`; otherwise ShapeError naming the layer and the shapes. Unknown (-1) dimensions in
// symbolic calls match anything. Differentiable w.r.t. every input.
//
//   auto y = nn::Add()({x, nn::Conv2D({.filters = 8, .padding = Padding::Same})(x)});
#include <cstdint>
#include <string>

#include "ember/nn/layer.hpp"

namespace ember::nn {

// Shared behaviour of the merging layers.
class Merge : public Layer {
 public:
  using Layer::Layer;
  void build(const std::vector<Shape>& input_shapes) override;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;
  void check_input_shapes(const std::vector<Shape>& shapes) const override;

 protected:
  // The axis along which shapes may differ (Concatenate), or -1 for none.
  virtual int64_t free_axis(std::size_t rank) const { return -1; }
};

// Elementwise sum of the inputs.
class Add : public Merge {
 public:
  explicit Add(std::string name = "");
  static LayerPtr from_config(const nlohmann::json& config);  // the base config: name, trainable
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  LayerPtr move_into_shared() && override;
};

// Elementwise product of the inputs.
class Multiply : public Merge {
 public:
  explicit Multiply(std::string name = "");
  static LayerPtr from_config(const nlohmann::json& config);  // the base config: name, trainable
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  LayerPtr move_into_shared() && override;
};

struct ConcatenateOptions {
  int64_t axis = -1;  // negative counts from the end; the batch axis is not allowed (ValueError)
  std::string name = "";
};

// Joins the inputs along `axis`.
class Concatenate : public Merge {
 public:
  explicit Concatenate(ConcatenateOptions options = {});
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);  // beside get_config; see Dense
  LayerPtr move_into_shared() && override;
  const ConcatenateOptions& options() const { return opt_; }

 protected:
  int64_t free_axis(std::size_t rank) const override;

 private:
  ConcatenateOptions opt_;
};

}  // namespace ember::nn
