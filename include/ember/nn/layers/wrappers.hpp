#pragma once
// Keras's TimeDistributed wrapper: one layer applied to every time step of a sequence.
//
//   nn::TimeDistributed(nn::Dense({.units = 8}))              // [batch, time, 16] -> [batch, time, 8]
//   nn::TimeDistributed(nn::Conv2D({.filters = 4, .kernel_size = {3, 3}}))  // video frames
//
// The input [batch, time, ...] is reshaped to [batch·time, ...], the wrapped layer runs once on
// that, and its output [batch·time, out...] is reshaped back to [batch, time, out...] — Keras's
// implementation, so a step's result never depends on the others (Dropout draws one mask per
// step). The weights are the wrapped layer's, under its own name ("dense/kernel"); the parameter
// count is its count. A mask passes through unchanged (the output keeps the time axis); the
// wrapped layer does not see it.
//
// Errors: an input of rank < 3 → ShapeError naming the wrapper and the shape; shapes the wrapped
// layer rejects → its own error; a wrapped layer that takes several inputs → ValueError.
#include <string>

#include "ember/nn/layer.hpp"

namespace ember::nn {

struct TimeDistributedOptions {
  std::string name = "";
};

class TimeDistributed final : public LayerBase<TimeDistributed> {
 public:
  explicit TimeDistributed(LayerPtr layer, TimeDistributedOptions options = {});
  // From a layer temporary: nn::TimeDistributed(nn::Dense({.units = 8})).
  template <typename L>
    requires(!std::same_as<std::remove_cvref_t<L>, TimeDistributed>) && (!std::is_lvalue_reference_v<L>) && LayerClass<L>
  explicit TimeDistributed(L&& layer, TimeDistributedOptions options = {})
      : TimeDistributed(LayerPtr(std::make_shared<L>(std::move(layer))), std::move(options)) {}
  void build(const std::vector<Shape>& input_shapes) override;
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  void check_input_shapes(const std::vector<Shape>& shapes) const override;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;
  // {"layer": {"class_name", "config"}} beside the base fields, as Keras writes it.
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);
  const std::vector<LayerPtr>& sublayers() const override { return layers_; }
  Layer& layer() const { return *layers_[0]; }

 private:
  // The input shape of one step: [batch·time (or -1), ...] from [batch, time, ...].
  Shape step_shape(const Shape& s) const;

  std::vector<LayerPtr> layers_;  // {the wrapped layer}
};

}  // namespace ember::nn
