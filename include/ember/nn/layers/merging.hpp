#pragma once
// Merging layers (Keras Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot):
// called on a list of at least two tensors (fewer: ValueError; Subtract and Dot take exactly two).
// The elementwise merges need equal shapes, save that an axis of size 1 broadcasts (Keras 2: a
// squeeze-and-excitation block multiplies [N, H, W, C] by [N, 1, 1, C]; equal rank and batch axis),
// Concatenate equal shapes except along `axis`, Dot equal
// sizes of the two contracted axes; otherwise ShapeError naming the layer and the shapes. Unknown (-1) dimensions in
// symbolic calls match anything. Differentiable w.r.t. every input.
//
//   auto y = nn::Add()({x, nn::Conv2D({.filters = 8, .padding = Padding::Same})(x)});
#include <array>
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
  // Keras 2's merge mask: the AND of the inputs' masks (those that have one); none when no input
  // has one. Each mask must have the shape of the others (ShapeError naming the layer).
  Tensor compute_merged_mask(const std::vector<Tensor>& xs, const Tensor& y, const std::vector<Tensor>& masks) const override;

 protected:
  // The axis along which shapes may differ (Concatenate), or -1 for none.
  virtual int64_t free_axis(std::size_t rank) const { return -1; }
  // check_input_shapes on the shapes of `inputs`.
  void check_inputs(const std::vector<Tensor>& inputs) const;
  // inputs[0] op inputs[1] op ... after check_inputs.
  Tensor fold(const std::vector<Tensor>& inputs, Tensor (*op)(const Tensor&, const Tensor&)) const;
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

// inputs[0] - inputs[1]; exactly two inputs (else ValueError).
class Subtract : public Merge {
 public:
  explicit Subtract(std::string name = "");
  static LayerPtr from_config(const nlohmann::json& config);  // the base config: name, trainable
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  void check_input_shapes(const std::vector<Shape>& shapes) const override;
  LayerPtr move_into_shared() && override;
};

// Elementwise mean of the inputs.
class Average : public Merge {
 public:
  explicit Average(std::string name = "");
  static LayerPtr from_config(const nlohmann::json& config);  // the base config: name, trainable
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  LayerPtr move_into_shared() && override;
};

// Elementwise maximum of the inputs (on ties the gradient goes to the earlier input, as TensorFlow).
class Maximum : public Merge {
 public:
  explicit Maximum(std::string name = "");
  static LayerPtr from_config(const nlohmann::json& config);  // the base config: name, trainable
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  LayerPtr move_into_shared() && override;
};

// Elementwise minimum of the inputs (ties as Maximum).
class Minimum : public Merge {
 public:
  explicit Minimum(std::string name = "");
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
  // Keras 2's Concatenate mask: each input's mask broadcast over its last axis (an input without a
  // mask: all true), concatenated along `axis`, then ANDed over the last axis. So along the features
  // a step is kept when every input keeps it; along time the masks are joined.
  Tensor compute_merged_mask(const std::vector<Tensor>& xs, const Tensor& y, const std::vector<Tensor>& masks) const override;
  const ConcatenateOptions& options() const { return opt_; }

 protected:
  int64_t free_axis(std::size_t rank) const override;

 private:
  ConcatenateOptions opt_;
};

struct DotOptions {
  // The axis of each input to contract (Keras's `axes`: one int for both, or a pair). Negative
  // values count from the end; the batch axis 0 is not allowed (ValueError).
  std::array<int64_t, 2> axes{-1, -1};
  bool normalize = false;  // L2-normalise both inputs along their axis first (cosine proximity)
  std::string name = "";
};

// Keras Dot on two batched inputs (tf.keras batch_dot): for each sample, the sum over the
// contracted axes of x * y. Output: x's shape without its axis, then y's shape without the batch
// axis and its axis; when only the batch axis would remain the output is [N, 1] (as Keras).
// normalize divides each input by max(||v||_2, 1e-6) along its axis (tf.math.l2_normalize).
class Dot : public Merge {
 public:
  explicit Dot(DotOptions options = {});
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;
  void check_input_shapes(const std::vector<Shape>& shapes) const override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);  // beside get_config; see Dense
  LayerPtr move_into_shared() && override;
  // None (Keras's Dot drops masks).
  Tensor compute_merged_mask(const std::vector<Tensor>&, const Tensor&, const std::vector<Tensor>&) const override { return {}; }
  const DotOptions& options() const { return opt_; }

 private:
  // The two axes made non-negative for inputs of these ranks; ValueError for the batch axis or out of range.
  std::array<int64_t, 2> resolved_axes(std::size_t rank_x, std::size_t rank_y) const;
  DotOptions opt_;
};

}  // namespace ember::nn
