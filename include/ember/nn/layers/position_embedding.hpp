#pragma once
// PositionEmbedding: a learned table of position vectors, keras_nlp / keras_hub's layer of that name.
#include <cstdint>
#include <string>
#include <vector>

#include "ember/nn/layer.hpp"

namespace ember::nn {

struct PositionEmbeddingOptions {
  int64_t sequence_length = 0;  // required, >= 1: the number of positions the table holds
  InitializerPtr initializer = initializers::get("glorot_uniform");  // keras_nlp's default
  std::string name = "";
};

// Weight "embeddings" [sequence_length, feature] (feature = the input's last axis, fixed when
// built). Called on x [..., T, feature] (rank >= 2, T <= sequence_length) it returns the table's
// first T rows broadcast to x's shape: only x's shape is read, never its values, so the result is
// the position embeddings alone, not x + table (keras_nlp: add them yourself, e.g. nn::Add).
// T > sequence_length or another feature size → ShapeError naming the layer, expected vs got.
// Like keras_nlp's layer it does not support masking: its output carries no mask (an Add with the
// token embeddings still carries theirs). keras_nlp's call argument start_index (cached decoding)
// is not offered: the rows always start at position 0.
class PositionEmbedding : public LayerBase<PositionEmbedding> {
 public:
  explicit PositionEmbedding(PositionEmbeddingOptions options);
  void build(const std::vector<Shape>& input_shapes) override;
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  void check_input_shapes(const std::vector<Shape>& shapes) const override;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;
  Tensor compute_output_mask(const Tensor& x, const Tensor& y, const Tensor& mask) const override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);  // beside get_config; see Dense
  const PositionEmbeddingOptions& options() const { return opt_; }

 private:
  PositionEmbeddingOptions opt_;
};

}  // namespace ember::nn
