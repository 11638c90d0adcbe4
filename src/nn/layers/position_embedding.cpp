// PositionEmbedding (see the header): the first T rows of a learned table, broadcast to the input.
#include "ember/nn/layers/position_embedding.hpp"

#include <nlohmann/json.hpp>

#include "ember/nn/layer_fields.hpp"
#include "ember/nn/layers/conv.hpp"  // detail::initializer_json, detail::single_input
#include "ember/ops/shape.hpp"

namespace ember::nn {

PositionEmbedding::PositionEmbedding(PositionEmbeddingOptions options)
    : LayerBase("PositionEmbedding", options.name), opt_(std::move(options)) {
  if (opt_.sequence_length < 1) fail<ValueError>("sequence_length must be >= 1, got " + std::to_string(opt_.sequence_length));
  if (!opt_.initializer) fail<ValueError>("initializer must be set");
}

void PositionEmbedding::check_input_shapes(const std::vector<Shape>& shapes) const {
  if (shapes.size() != 1) fail<ShapeError>("expected one input, got " + std::to_string(shapes.size()));
  const Shape& s = shapes[0];
  if (s.size() < 2) fail<ShapeError>("expected an input of rank >= 2 (..., sequence, feature), got " + to_string(s));
  const int64_t t = s[s.size() - 2], feature = s.back();
  if (t > opt_.sequence_length) {
    fail<ShapeError>("expected a sequence of at most sequence_length = " + std::to_string(opt_.sequence_length) +
                     " positions (axis -2), got " + std::to_string(t) + " in input shape " + to_string(s));
  }
  if (built() && feature != weights_[0].shape[1]) {
    fail<ShapeError>("expected " + std::to_string(weights_[0].shape[1]) + " features (axis -1, as built), got " +
                     std::to_string(feature) + " in input shape " + to_string(s));
  }
}

void PositionEmbedding::build(const std::vector<Shape>& shapes) {
  check_input_shapes(shapes);
  const int64_t feature = shapes[0].back();
  if (feature < 1) fail<ShapeError>("the feature axis (-1) must be known and >= 1, got " + to_string(shapes[0]));
  add_weight("embeddings", {opt_.sequence_length, feature}, opt_.initializer);
  mark_built(shapes);
}

Shape PositionEmbedding::compute_output_shape(const std::vector<Shape>& shapes) {
  check_input_shapes(shapes);
  return shapes[0];
}

Tensor PositionEmbedding::call(const std::vector<Tensor>& inputs, bool) {
  const Tensor& x = detail::single_input(inputs, *this);
  check_input_shapes({x.shape()});
  const int64_t t = x.size(x.dim() - 2);
  return expand(slice(weights_[0].value(), 0, 0, t), x.shape());
}

Tensor PositionEmbedding::compute_output_mask(const Tensor&, const Tensor&, const Tensor&) const {
  return Tensor();  // keras_nlp: supports_masking is false, so no mask leaves this layer
}

nlohmann::json PositionEmbedding::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["sequence_length"] = opt_.sequence_length;
  c["initializer"] = detail::initializer_json(opt_.initializer);
  return c;
}

LayerPtr PositionEmbedding::from_config(const nlohmann::json& config) {
  LayerFields f(config, "PositionEmbedding");
  f.ignore({"hierarchical_alpha"});  // keras_hub: only used beyond sequence_length, which Ember refuses
  PositionEmbeddingOptions o{.sequence_length = f.positive("sequence_length")};
  o.initializer = f.initializer("initializer", "glorot_uniform");
  o.name = f.name();
  return std::make_shared<PositionEmbedding>(std::move(o));
}

}  // namespace ember::nn
