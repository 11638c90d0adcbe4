#pragma once
// Keras's Masking layer: marks the padding steps of a sequence so that later layers skip them.
//
//   nn::Sequential model{nn::Input({20, 8}), nn::Masking({.mask_value = 0.0}), nn::LSTM({.units = 16})};
//
// A step of x [batch, time, features] is masked when ALL its features (the last axis) equal
// mask_value. The output is x with the masked steps set to zero (Keras multiplies by the mask); the
// output mask (compute_mask) is [batch, time] bool, true for the steps that are kept (for inputs of
// higher rank, as Keras, x's shape without the last axis). Models pass it on to the
// layers after it (Layer::compute_output_mask): recurrent layers then carry their state over masked
// steps, and a compiled model's loss and metrics leave them out. The gradient w.r.t. x is the mask.
#include <string>

#include "ember/nn/layer.hpp"

namespace ember::nn {

struct MaskingOptions {
  double mask_value = 0.0;
  std::string name = "";
};

class Masking : public LayerBase<Masking> {
 public:
  explicit Masking(MaskingOptions options = {});
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  // One input of rank >= 3 (batch, time, features); else ShapeError naming the layer and the shape.
  void check_input_shapes(const std::vector<Shape>& shapes) const override;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);  // beside get_config; see Dense
  // [batch, time] bool: true where some feature of the step differs from mask_value.
  Tensor compute_mask(const Tensor& x) const;
  // The mask of the input (whatever came in; Keras's Masking ignores an earlier mask).
  Tensor compute_output_mask(const Tensor& x, const Tensor& y, const Tensor& mask) const override;
  const MaskingOptions& options() const { return opt_; }

 private:
  MaskingOptions opt_;
};

}  // namespace ember::nn
