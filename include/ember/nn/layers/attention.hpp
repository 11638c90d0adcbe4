#pragma once
// Keras's LayerNormalization and MultiHeadAttention, the blocks of a transformer encoder.
//
//   nn::MultiHeadAttention mha({.num_heads = 4, .key_dim = 16});
//   Tensor y = mha.attend(x, x, {.use_causal_mask = true}, /*training=*/true);  // self-attention
//
// Both are composed of differentiable ops (matmul, softmax, mean/var, ...), so their gradients
// are autograd's and every dtype the ops take (f32, f64) works.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ember/core/generator.hpp"
#include "ember/nn/layer.hpp"

namespace ember::nn {

struct LayerNormalizationOptions {
  Axes axis = {-1};        // the normalised axes (negative count from the end); not the batch axis
  double epsilon = 1e-3;   // Keras's default (PyTorch's nn.LayerNorm uses 1e-5)
  bool center = true;      // learn beta
  bool scale = true;       // learn gamma
  InitializerPtr beta_initializer = initializers::get("zeros");
  InitializerPtr gamma_initializer = initializers::get("ones");
  RegularizerPtr beta_regularizer;
  RegularizerPtr gamma_regularizer;
  std::string name = "";
};

// y = (x - mean) / sqrt(var + epsilon) * gamma + beta, with the mean and the biased variance taken
// per example over `axis` (Keras LayerNormalization; the same in training and inference). Weights
// "gamma" and "beta" have the input's sizes along `axis` (one axis: shape [d]). The rank and those
// sizes are fixed when built (ShapeError otherwise); the batch axis, a repeated axis or one outside
// the rank is a ValueError when built; epsilon <= 0 a ValueError.
class LayerNormalization : public LayerBase<LayerNormalization> {
 public:
  explicit LayerNormalization(LayerNormalizationOptions options = {});
  void build(const std::vector<Shape>& input_shapes) override;
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;
  void check_input_shapes(const std::vector<Shape>& shapes) const override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);  // beside get_config; see Dense
  const LayerNormalizationOptions& options() const { return opt_; }

 private:
  LayerNormalizationOptions opt_;
  Axes axes_;  // normalised, sorted, when built
};

struct MultiHeadAttentionOptions {
  int64_t num_heads = 0;               // required, >= 1
  int64_t key_dim = 0;                 // size of each head for query and key; required, >= 1
  std::optional<int64_t> value_dim;    // size of each head for value; default key_dim
  double dropout = 0.0;                // on the attention probabilities, in training; [0, 1)
  bool use_bias = true;
  std::optional<Shape> output_shape;   // the output's last dims; default: the query's last dim
  std::optional<Axes> attention_axes;  // axes attended over; default: every axis but the batch and last
  InitializerPtr kernel_initializer = initializers::get("glorot_uniform");
  InitializerPtr bias_initializer = initializers::get("zeros");
  RegularizerPtr kernel_regularizer;
  RegularizerPtr bias_regularizer;
  std::optional<uint64_t> seed;        // the dropout's own generator; default_generator() when unset
  // Keras's call argument use_causal_mask for the calls made through call() (functional models):
  // Keras JSON keeps it in the node's kwargs, not the layer config, and so does nn::to_json.
  bool use_causal_mask = false;
  std::string name = "";
};

// What Keras passes to MultiHeadAttention's call besides query and value.
struct AttentionCallArgs {
  Tensor key;                    // default: value
  Tensor attention_mask;         // [B, T, S] (bool or 0/1): 1 = the query position may attend there
  bool use_causal_mask = false;  // query position t attends only to key positions <= t
  Tensor* attention_scores = nullptr;  // if set, receives the probabilities [B, num_heads, T, S]
};

// Keras MultiHeadAttention. Inputs query [B, T..., dq], value [B, S..., dv], key [B, S..., dk]
// (default value). Weights, in Keras order and layout (EinsumDense sublayers in Keras, so .h5 names
// "<layer>/query/kernel:0"): "query/kernel" [dq, H, key_dim], "query/bias" [H, key_dim], "key/kernel"
// [dk, H, key_dim], "key/bias", "value/kernel" [dv, H, value_dim], "value/bias" [H, value_dim],
// "attention_output/kernel" [H, value_dim, out...], "attention_output/bias" [out...].
//   scores = softmax(q k^T / sqrt(key_dim) + (1 - mask) * -1e9), per head; output = (scores v) W_o + b_o.
// PyTorch's nn.MultiheadAttention(E, H, kdim, vdim, batch_first=True) is the case key_dim = value_dim
// = E / H with out = E: in_proj_weight rows [0, E) = query/kernel.reshape(dq, E)^T (then key, value),
// out_proj.weight = attention_output/kernel.reshape(E, E)^T; its attn_mask is True where NOT allowed.
// A query row whose keys are all masked attends uniformly (Keras), where PyTorch gives NaN.
//
// call() takes {query, value}, {query, value, key} or {query, value, key, attention_mask} (the
// functional API; causal when options().use_causal_mask); attend() takes the causal flag per call
// and can return the scores.
// Keras masks (functional models; Keras's _compute_attention_mask): when the query, value or key
// carries a mask ([B, T], [B, S], [B, S]: Embedding(mask_zero), Masking, ...), the attention mask
// is query_mask[:, :, None] & value_mask[:, None, :] & key_mask[:, None, :] (the masks present),
// AND-ed with an attention_mask input and the causal mask. A masked query row then has no key
// left and attends uniformly (above); its output is still computed, and the output carries the
// query's mask (undefined when the query has none), so the next layer skips those positions.
// Masks are taken for one attention axis (rank-3 inputs); other ranks with a mask are a ValueError.
// Errors (ShapeError /
// ValueError naming the layer): ranks that differ, a mask whose shape is not [B, T..., S...] (or
// broadcastable to it), feature sizes other than the built ones, bad options.
class MultiHeadAttention : public LayerBase<MultiHeadAttention> {
 public:
  explicit MultiHeadAttention(MultiHeadAttentionOptions options);
  void build(const std::vector<Shape>& input_shapes) override;
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  Tensor attend(const Tensor& query, const Tensor& value, const AttentionCallArgs& args = {}, bool training = false);
  Tensor call_masked_inputs(const std::vector<Tensor>& xs, const std::vector<Tensor>& masks, bool training) override;
  // The query's mask (Keras sets it on the output).
  Tensor compute_merged_mask(const std::vector<Tensor>& xs, const Tensor& y, const std::vector<Tensor>& masks) const override;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;
  void check_input_shapes(const std::vector<Shape>& shapes) const override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);  // beside get_config; see Dense
  const MultiHeadAttentionOptions& options() const { return opt_; }
  void set_use_causal_mask(bool on) { opt_.use_causal_mask = on; }  // the JSON reader sets it from the nodes
  Generator* own_generator() override { return dropout_gen_ ? &*dropout_gen_ : nullptr; }

 private:
  int64_t value_dim() const { return opt_.value_dim.value_or(opt_.key_dim); }
  Axes attention_axes_for(int64_t rank) const;  // normalised, sorted; ValueError when invalid
  Tensor project(const Tensor& x, const char* sublayer, int64_t head_size);  // [..., d] -> [..., H, head]

  MultiHeadAttentionOptions opt_;
  std::optional<Generator> dropout_gen_;
};

}  // namespace ember::nn
