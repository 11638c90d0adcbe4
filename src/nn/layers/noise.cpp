#include "ember/nn/layers/noise.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "ember/nn/layer_fields.hpp"
#include "ember/nn/layers/conv.hpp"  // detail helpers
#include "ember/ops/elementwise.hpp"

namespace ember::nn {

namespace {

nlohmann::json seed_json(const std::optional<uint64_t>& seed) {
  return seed ? nlohmann::json(*seed) : nlohmann::json(nullptr);
}

// The noise is drawn in x's dtype: a floating one.
const Tensor& floating_input(const std::vector<Tensor>& inputs, const Layer& layer) {
  const Tensor& x = detail::single_input(inputs, layer);
  if (!is_floating(x.dtype())) {
    layer.fail<DTypeError>("expected a floating input, got " + std::string(dtype_name(x.dtype())));
  }
  return x;
}

}  // namespace

// ------------------------------------------------------------------ GaussianNoise

GaussianNoise::GaussianNoise(GaussianNoiseOptions options)
    : NoiseLayer("GaussianNoise", options.name, options.seed), opt_(std::move(options)) {
  if (!(opt_.stddev >= 0.0) || !std::isfinite(opt_.stddev)) {
    fail<ValueError>("stddev must be finite and >= 0, got " + std::to_string(opt_.stddev));
  }
}

Tensor GaussianNoise::call(const std::vector<Tensor>& inputs, bool training) {
  if (!training || opt_.stddev == 0.0) return detail::single_input(inputs, *this);
  const Tensor& x = floating_input(inputs, *this);
  return add(x, randn(x.shape(), {.stddev = opt_.stddev, .dtype = x.dtype(), .generator = &noise_generator()}));
}

nlohmann::json GaussianNoise::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["stddev"] = opt_.stddev;
  c["seed"] = seed_json(opt_.seed);
  return c;
}

LayerPtr GaussianNoise::from_config(const nlohmann::json& config) {
  LayerFields f(config, "GaussianNoise");
  return std::make_shared<GaussianNoise>(
      GaussianNoiseOptions{.stddev = f.number("stddev"), .seed = f.seed(), .name = f.name()});
}

// ------------------------------------------------------------------ GaussianDropout

GaussianDropout::GaussianDropout(GaussianDropoutOptions options)
    : NoiseLayer("GaussianDropout", options.name, options.seed), opt_(std::move(options)) {
  if (!(opt_.rate >= 0.0 && opt_.rate < 1.0)) {
    fail<ValueError>("rate must be in [0, 1), got " + std::to_string(opt_.rate));
  }
}

Tensor GaussianDropout::call(const std::vector<Tensor>& inputs, bool training) {
  if (!training || opt_.rate == 0.0) return detail::single_input(inputs, *this);
  const Tensor& x = floating_input(inputs, *this);
  const double stddev = std::sqrt(opt_.rate / (1.0 - opt_.rate));
  return mul(x, randn(x.shape(), {.mean = 1.0, .stddev = stddev, .dtype = x.dtype(), .generator = &noise_generator()}));
}

nlohmann::json GaussianDropout::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["rate"] = opt_.rate;
  c["seed"] = seed_json(opt_.seed);
  return c;
}

LayerPtr GaussianDropout::from_config(const nlohmann::json& config) {
  LayerFields f(config, "GaussianDropout");
  return std::make_shared<GaussianDropout>(
      GaussianDropoutOptions{.rate = f.number("rate"), .seed = f.seed(), .name = f.name()});
}

}  // namespace ember::nn
