#include "ember/nn/layers/normalization.hpp"

#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>

#include "ember/nn/layer_fields.hpp"
#include "ember/nn/layers/conv.hpp"  // detail helpers
#include "ember/ops/activation.hpp"
#include "ember/ops/normalization.hpp"
#include "ember/ops/shape.hpp"

namespace ember::nn {

using detail::throw_input_shape;

namespace {

void check_one_input(const Layer& layer, const std::vector<Shape>& shapes) {
  if (shapes.size() != 1) {
    layer.fail<ShapeError>("expected one input, got " + std::to_string(shapes.size()));
  }
}

}  // namespace

// ------------------------------------------------------------------ Dropout

Dropout::Dropout(DropoutOptions options) : LayerBase("Dropout", options.name), opt_(std::move(options)) {
  if (!(opt_.rate >= 0.0 && opt_.rate < 1.0)) {
    fail<ValueError>("rate must be in [0, 1), got " + std::to_string(opt_.rate));
  }
  if (opt_.seed) mask_gen_.emplace(*opt_.seed);
}

void Dropout::check_input_shapes(const std::vector<Shape>& shapes) const { check_one_input(*this, shapes); }

Shape Dropout::compute_output_shape(const std::vector<Shape>& shapes) {
  check_one_input(*this, shapes);
  return shapes[0];
}

Tensor Dropout::call(const std::vector<Tensor>& inputs, bool training) {
  const Tensor& x = detail::single_input(inputs, *this);
  if (!training || opt_.rate == 0.0) return x;
  return dropout(x, opt_.rate, true, mask_gen_ ? &*mask_gen_ : &generator());
}

nlohmann::json Dropout::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["rate"] = opt_.rate;
  c["noise_shape"] = nullptr;
  c["seed"] = opt_.seed ? nlohmann::json(*opt_.seed) : nlohmann::json(nullptr);
  return c;
}

LayerPtr Dropout::from_config(const nlohmann::json& config) {
  LayerFields f(config, "Dropout");
  f.require_null("noise_shape");
  return std::make_shared<Dropout>(DropoutOptions{.rate = f.number("rate", 0.5), .seed = f.seed(), .name = f.name()});
}

// ------------------------------------------------------------------ BatchNormalization

BatchNormalization::BatchNormalization(BatchNormalizationOptions options)
    : LayerBase("BatchNormalization", options.name), opt_(std::move(options)) {
  if (!(opt_.momentum >= 0.0 && opt_.momentum <= 1.0)) {
    fail<ValueError>("momentum must be in [0, 1], got " + std::to_string(opt_.momentum));
  }
  if (!(opt_.epsilon > 0.0) || !std::isfinite(opt_.epsilon)) {
    fail<ValueError>("epsilon must be positive, got " + std::to_string(opt_.epsilon));
  }
  if ((opt_.scale && !opt_.gamma_initializer) || (opt_.center && !opt_.beta_initializer) ||
      !opt_.moving_mean_initializer || !opt_.moving_variance_initializer) {
    fail<ValueError>("every used initializer must be set");
  }
}

void BatchNormalization::build(const std::vector<Shape>& shapes) {
  check_one_input(*this, shapes);
  const Shape& in = shapes[0];
  int64_t rank = static_cast<int64_t>(in.size());
  int64_t a = opt_.axis < 0 ? opt_.axis + rank : opt_.axis;
  if (rank < 2 || a < 1 || a >= rank) {
    fail<ValueError>("axis " + std::to_string(opt_.axis) + " is not a feature axis of input " + keras_shape(in) +
                     " (it must name an axis other than the batch axis 0)");
  }
  if (in[a] <= 0) {
    throw_input_shape(*this, "with a known size along axis " + std::to_string(a), in);
  }
  axis_ = a;
  int64_t c = in[a];
  if (opt_.scale) add_weight("gamma", {c}, opt_.gamma_initializer, true);
  if (opt_.center) add_weight("beta", {c}, opt_.beta_initializer, true);
  add_weight("moving_mean", {c}, opt_.moving_mean_initializer, false);
  add_weight("moving_variance", {c}, opt_.moving_variance_initializer, false);
  mark_built(shapes);
}

void BatchNormalization::check_input_shapes(const std::vector<Shape>& shapes) const {
  check_one_input(*this, shapes);
  const Shape& want = built_input_shapes()[0];
  const Shape& got = shapes[0];
  if (got.size() != want.size() || (got[axis_] >= 0 && got[axis_] != want[axis_])) {
    Shape spec(want.size(), -1);
    spec[axis_] = want[axis_];
    throw_input_shape(*this, keras_shape(spec), got);
  }
}

Shape BatchNormalization::compute_output_shape(const std::vector<Shape>& shapes) {
  check_input_shapes(shapes);
  return shapes[0];
}

Tensor BatchNormalization::call(const std::vector<Tensor>& inputs, bool training) {
  Tensor x = detail::single_input(inputs, *this);
  auto value = [&](const char* n) {
    Weight* w = find_weight(n);
    return w ? w->value() : Tensor();
  };
  // TF2 Keras: a frozen BatchNormalization runs in inference mode.
  bool use_batch_stats = training && trainable();
  int64_t rank = x.dim();
  Axes perm, inverse;
  if (axis_ != rank - 1) {
    // Move the feature axis last for the channels-last op, and back afterwards.
    for (int64_t i = 0; i < rank; ++i) {
      if (i != axis_) perm.push_back(i);
    }
    perm.push_back(axis_);
    inverse.resize(perm.size());
    for (std::size_t i = 0; i < perm.size(); ++i) inverse[perm[i]] = static_cast<int64_t>(i);
    x = contiguous(permute(x, perm));
  }
  Tensor y = (relu_after_ ? batch_norm_relu : batch_norm)(x, value("gamma"), value("beta"), value("moving_mean"),
                                                         value("moving_variance"), use_batch_stats,
                                                         {.momentum = opt_.momentum, .epsilon = opt_.epsilon});
  if (!inverse.empty()) y = contiguous(permute(y, inverse));
  return y;
}

Tensor BatchNormalization::call_then_relu(const Tensor& x, bool training) {
  struct Reset {
    bool& flag;
    ~Reset() { flag = false; }  // also when the call throws
  } reset{relu_after_};
  relu_after_ = true;
  return (*this)(x, training);
}

nlohmann::json BatchNormalization::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["axis"] = opt_.axis;
  c["momentum"] = opt_.momentum;
  c["epsilon"] = opt_.epsilon;
  c["center"] = opt_.center;
  c["scale"] = opt_.scale;
  c["beta_initializer"] = detail::initializer_json(opt_.beta_initializer);
  c["gamma_initializer"] = detail::initializer_json(opt_.gamma_initializer);
  c["moving_mean_initializer"] = detail::initializer_json(opt_.moving_mean_initializer);
  c["moving_variance_initializer"] = detail::initializer_json(opt_.moving_variance_initializer);
  c["beta_regularizer"] = nullptr;
  c["gamma_regularizer"] = nullptr;
  c["beta_constraint"] = nullptr;
  c["gamma_constraint"] = nullptr;
  return c;
}

LayerPtr BatchNormalization::from_config(const nlohmann::json& config) {
  LayerFields f(config, "BatchNormalization");
  f.no_constraints({"beta_constraint", "gamma_constraint", "beta_regularizer", "gamma_regularizer",
                    "virtual_batch_size", "adjustment"});
  f.require_false("renorm");
  int64_t axis = -1;
  if (const nlohmann::json* a = f.find("axis")) {
    // TF2 Keras writes the axis as a list ([3]); one axis only.
    const nlohmann::json& v = a->is_array() && a->size() == 1 ? (*a)[0] : *a;
    if (!v.is_number_integer() || std::abs(v.get<int64_t>()) >= ConfigFields::kMaxInt) {
      f.fail("axis", "an integer or a list of one integer");
    }
    axis = v.get<int64_t>();
  }
  return std::make_shared<BatchNormalization>(
      BatchNormalizationOptions{.axis = axis,
                                .momentum = f.number("momentum", 0.99),
                                .epsilon = f.number("epsilon", 1e-3),
                                .center = f.boolean("center", true),
                                .scale = f.boolean("scale", true),
                                .beta_initializer = f.initializer("beta_initializer", "zeros"),
                                .gamma_initializer = f.initializer("gamma_initializer", "ones"),
                                .moving_mean_initializer = f.initializer("moving_mean_initializer", "zeros"),
                                .moving_variance_initializer = f.initializer("moving_variance_initializer", "ones"),
                                .name = f.name()});
}

// ------------------------------------------------------------------ LeakyReLU

LeakyReLU::LeakyReLU(LeakyReLUOptions options) : LayerBase("LeakyReLU", options.name), opt_(std::move(options)) {
  if (!std::isfinite(opt_.alpha)) {
    fail<ValueError>("alpha must be finite, got " + std::to_string(opt_.alpha));
  }
}

void LeakyReLU::check_input_shapes(const std::vector<Shape>& shapes) const { check_one_input(*this, shapes); }

Shape LeakyReLU::compute_output_shape(const std::vector<Shape>& shapes) {
  check_one_input(*this, shapes);
  return shapes[0];
}

Tensor LeakyReLU::call(const std::vector<Tensor>& inputs, bool) {
  return leaky_relu(detail::single_input(inputs, *this), opt_.alpha);
}

nlohmann::json LeakyReLU::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["alpha"] = opt_.alpha;
  return c;
}

LayerPtr LeakyReLU::from_config(const nlohmann::json& config) {
  LayerFields f(config, "LeakyReLU");
  // Keras 2 calls the slope "alpha", Keras 3 "negative_slope".
  double alpha = f.find("negative_slope") ? f.number("negative_slope") : f.number("alpha", 0.3);
  return std::make_shared<LeakyReLU>(LeakyReLUOptions{.alpha = alpha, .name = f.name()});
}

}  // namespace ember::nn
