#pragma once
// Noise regularization layers (the notes' "noise on the inputs as a regularizer"): Keras
// GaussianNoise and GaussianDropout. Both are the identity at inference and draw fresh noise on
// every training call, from a per-layer Generator seeded with `seed` (the layer's generator —
// default_generator() unless set — when unset), as Dropout does; a seeded layer's draws are saved
// and restored with checkpoints (own_generator). Both accept any shape.
#include <cstdint>
#include <optional>
#include <string>

#include "ember/core/generator.hpp"
#include "ember/nn/layer.hpp"

namespace ember::nn {

namespace detail {

// What the two noise layers share: one input of any shape, the output of the same shape, and the
// Generator that a seed gives the layer (saved with checkpoints through own_generator()).
template <typename Derived>
class NoiseLayer : public LayerBase<Derived> {
 public:
  NoiseLayer(std::string class_name, std::string name, std::optional<uint64_t> seed)
      : LayerBase<Derived>(std::move(class_name), std::move(name)) {
    if (seed) gen_.emplace(*seed);
  }
  void check_input_shapes(const std::vector<Shape>& shapes) const override {
    if (shapes.size() != 1) this->template fail<ShapeError>("expected one input, got " + std::to_string(shapes.size()));
  }
  Shape compute_output_shape(const std::vector<Shape>& shapes) override {
    check_input_shapes(shapes);
    return shapes[0];
  }
  Generator* own_generator() override { return gen_ ? &*gen_ : nullptr; }

 protected:
  Generator& noise_generator() { return gen_ ? *gen_ : this->generator(); }

 private:
  std::optional<Generator> gen_;  // set when a seed is
};

}  // namespace detail

struct GaussianNoiseOptions {
  double stddev = 0.0;            // required in Keras; >= 0, else ValueError
  std::optional<uint64_t> seed;
  std::string name = "";
};

// training: y = x + n, n ~ N(0, stddev^2) per element; the gradient w.r.t. x is 1.
class GaussianNoise : public detail::NoiseLayer<GaussianNoise> {
 public:
  explicit GaussianNoise(GaussianNoiseOptions options = {});
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);  // beside get_config; see Dense
  const GaussianNoiseOptions& options() const { return opt_; }

 private:
  GaussianNoiseOptions opt_;
};

struct GaussianDropoutOptions {
  double rate = 0.0;  // Keras's drop probability, in [0, 1); else ValueError
  std::optional<uint64_t> seed;
  std::string name = "";
};

// training: y = x * m, m ~ N(1, rate / (1 - rate)) per element (multiplicative noise with the
// mean and variance of inverted dropout's mask); the gradient w.r.t. x is m. rate 0: identity.
class GaussianDropout : public detail::NoiseLayer<GaussianDropout> {
 public:
  explicit GaussianDropout(GaussianDropoutOptions options = {});
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);  // beside get_config; see Dense
  const GaussianDropoutOptions& options() const { return opt_; }

 private:
  GaussianDropoutOptions opt_;
};

}  // namespace ember::nn
