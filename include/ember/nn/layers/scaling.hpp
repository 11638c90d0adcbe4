#pragma once
// Feature-scaling preprocessing layers: Keras Normalization (with adapt) and Rescaling.
#include <cstdint>
#include <string>
#include <vector>

#include "ember/nn/layer.hpp"

namespace ember::nn {

struct NormalizationOptions {
  // The axes that keep their own mean and variance (Keras `axis`; negative counts from the end).
  // Empty is Keras's axis=None: one mean and variance over everything. The batch axis is refused.
  std::vector<int64_t> axis = {-1};
  // Fixed statistics (Keras `mean=`, `variance=`): both or neither; one value (broadcast) or one per
  // kept position (the kept axes' sizes, row-major). Unset: the layer has weights set by adapt().
  std::vector<double> mean;
  std::vector<double> variance;
  bool invert = false;  // y = mean + x * std: undoes the normalization
  std::string name = "";
};

// y = (x - mean) / max(sqrt(variance), 1e-7) (Keras's epsilon), broadcast over the axes not in
// `axis`; with invert, x = mean + y * max(sqrt(variance), 1e-7). Without fixed statistics the layer
// has three non-trainable weights, named as Keras names them so .h5 and .safetensors saves carry
// them: "mean" and "variance" (f32, the kept axes' sizes) and "count" (i64 scalar, rows seen);
// before adapt() they are 0, 1 and 0, and the layer passes x through unchanged.
// The kept axes' sizes are fixed when built (ShapeError otherwise).
class Normalization : public LayerBase<Normalization> {
 public:
  explicit Normalization(NormalizationOptions options = {});
  void build(const std::vector<Shape>& input_shapes) override;
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;
  void check_input_shapes(const std::vector<Shape>& shapes) const override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);  // beside get_config; see Dense
  const NormalizationOptions& options() const { return opt_; }

  // Keras's adapt(data): sets mean and population variance (divided by the count, as NumPy's var)
  // over every axis of `data` but the kept ones, computed in float64, and count = the number of
  // values per kept position. Builds the layer from data's shape (batch axis first) if needed.
  // Call it on the training split only. ValueError when the layer has fixed statistics or `data`
  // is empty; ShapeError when data does not fit the built layer.
  void adapt(const Tensor& data);

 private:
  NormalizationOptions opt_;
  std::vector<int64_t> keep_;  // kept axes, normalised and sorted when built
  Shape stats_shape_;          // the weights' shape: the kept axes' sizes
  Shape broadcast_shape_;      // rank of the input, 1 on the reduced axes
  Tensor fixed_mean_, fixed_variance_;  // from the options, shaped broadcast_shape_ when built
};

struct RescalingOptions {
  double scale = 1.0;
  double offset = 0.0;
  std::string name = "";
};

// y = x * scale + offset (Keras Rescaling), e.g. {.scale = 1.0 / 255} for images. Integer inputs
// are cast to float32 first, as Keras casts to its compute dtype. Accepts any shape.
class Rescaling : public LayerBase<Rescaling> {
 public:
  explicit Rescaling(RescalingOptions options = {});
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;
  void check_input_shapes(const std::vector<Shape>& shapes) const override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);  // beside get_config; see Dense
  const RescalingOptions& options() const { return opt_; }

 private:
  RescalingOptions opt_;
};

}  // namespace ember::nn
