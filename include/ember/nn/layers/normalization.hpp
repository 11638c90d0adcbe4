#pragma once
// Regularisation and normalisation layers: Keras Dropout, BatchNormalization, and the
// elementwise LeakyReLU activation layer.
#include <cstdint>
#include <optional>
#include <string>

#include "ember/core/generator.hpp"
#include "ember/nn/layer.hpp"

namespace ember::nn {

struct DropoutOptions {
  double rate = 0.5;              // drop probability (Keras), in [0, 1); else ValueError
  std::optional<uint64_t> seed;   // a per-layer Generator seeded with it; default_generator() when unset
  std::string name = "";
};

// Inverted dropout: in training each element is kept with probability 1 - rate and scaled by
// 1/(1 - rate); in inference (and with rate 0) the input itself is returned. Accepts any shape.
// With a seed, a freshly constructed layer draws the same masks in the same order.
class Dropout : public LayerBase<Dropout> {
 public:
  explicit Dropout(DropoutOptions options = {});
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;
  void check_input_shapes(const std::vector<Shape>& shapes) const override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);  // beside get_config; see Dense
  const DropoutOptions& options() const { return opt_; }
  Generator* own_generator() override { return mask_gen_ ? &*mask_gen_ : nullptr; }

 private:
  DropoutOptions opt_;
  std::optional<Generator> mask_gen_;  // set when opt_.seed is
};

struct BatchNormalizationOptions {
  int64_t axis = -1;        // the feature axis (negative counts from the end); not the batch axis
  double momentum = 0.99;   // moving = moving*momentum + batch*(1 - momentum)
  double epsilon = 1e-3;
  bool center = true;       // learn beta
  bool scale = true;        // learn gamma
  InitializerPtr beta_initializer = initializers::get("zeros");
  InitializerPtr gamma_initializer = initializers::get("ones");
  InitializerPtr moving_mean_initializer = initializers::get("zeros");
  InitializerPtr moving_variance_initializer = initializers::get("ones");
  std::string name = "";
};

// Batch normalisation over every axis but `axis`. Weights, in Keras order: "gamma" (scale) and
// "beta" (center), trainable, [C]; "moving_mean" and "moving_variance", non-trainable, [C].
// training: normalises with the batch statistics (biased variance) and updates the moving ones
// (moving_variance with the unbiased batch variance, as TensorFlow's fused kernel); inference:
// uses the moving statistics and changes nothing. As in TF2 Keras, a frozen layer
// (set_trainable(false)) always runs in inference mode, so fine-tuning leaves its statistics alone.
// The rank and the channel count are fixed when built (ShapeError otherwise). An axis other than
// the last is handled by moving it last and back; the batch axis, or one outside the rank, throws
// ValueError when built. momentum outside [0, 1] or epsilon <= 0 throw ValueError.
class BatchNormalization : public LayerBase<BatchNormalization> {
 public:
  explicit BatchNormalization(BatchNormalizationOptions options = {});
  void build(const std::vector<Shape>& input_shapes) override;
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;
  void check_input_shapes(const std::vector<Shape>& shapes) const override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);  // beside get_config; see Dense
  const BatchNormalizationOptions& options() const { return opt_; }
  // This layer's call on x followed by ReLU, as one op (batch_norm_relu): what a model runs for a
  // BatchNormalization whose only consumer is Activation("relu"). As operator()(x, training)
  // otherwise (build, shape checks).
  Tensor call_then_relu(const Tensor& x, bool training);

 private:
  BatchNormalizationOptions opt_;
  int64_t axis_ = -1;  // normalised when built
  bool relu_after_ = false;  // set during call_then_relu
};

struct LeakyReLUOptions {
  double alpha = 0.3;  // the Keras layer's default (tf.nn.leaky_relu's is 0.2)
  std::string name = "";
};

// x where x > 0, alpha*x elsewhere (Keras advanced activation "LeakyReLU"). Accepts any shape.
class LeakyReLU : public LayerBase<LeakyReLU> {
 public:
  explicit LeakyReLU(LeakyReLUOptions options = {});
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;
  void check_input_shapes(const std::vector<Shape>& shapes) const override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);  // beside get_config; see Dense
  const LeakyReLUOptions& options() const { return opt_; }

 private:
  LeakyReLUOptions opt_;
};

}  // namespace ember::nn
