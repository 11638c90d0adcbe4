#include "ember/nn/layers/scaling.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "ember/autograd/autograd.hpp"
#include "ember/nn/layer_fields.hpp"
#include "ember/nn/layers/conv.hpp"  // detail helpers
#include "ember/ops/elementwise.hpp"
#include "ember/ops/reduce.hpp"
#include "ember/ops/shape.hpp"

namespace ember::nn {

using detail::throw_input_shape;

namespace {

constexpr double kKerasEpsilon = 1e-7;  // keras.backend.epsilon()

void check_one_input(const Layer& layer, const std::vector<Shape>& shapes) {
  if (shapes.size() != 1) {
    layer.fail<ShapeError>("expected one input, got " + std::to_string(shapes.size()));
  }
}

// A config's mean / variance: absent or null, a number, or a (nested) list of numbers, flattened.
std::vector<double> read_values(const LayerFields& f, const std::string& key) {
  const nlohmann::json* v = f.find(key);
  std::vector<double> out;
  if (!v) return out;
  auto walk = [&](auto&& self, const nlohmann::json& j) -> void {
    if (j.is_number() && std::isfinite(j.get<double>())) {
      out.push_back(j.get<double>());
    } else if (j.is_array()) {
      for (const auto& e : j) self(self, e);
    } else {
      f.fail(key, "null, a finite number or a list of them");
    }
  };
  walk(walk, *v);
  if (out.empty()) f.fail(key, "null, a finite number or a list of them");
  return out;
}

// Zeros of any dtype: Keras's "count" weight is int64, and the library's initializers are floating
// only (their contract). Internal: it never appears in a config.
class IntegerZeros final : public initializers::Initializer {
 public:
  Tensor operator()(const Shape& shape, DType dtype, Generator&) const override { return zeros(shape, dtype); }
  std::string class_name() const override { return "Zeros"; }
  nlohmann::json get_config() const override { return nlohmann::json::object(); }
};

}  // namespace

// ------------------------------------------------------------------ Normalization

Normalization::Normalization(NormalizationOptions options)
    : LayerBase("Normalization", options.name), opt_(std::move(options)) {
  if (opt_.mean.empty() != opt_.variance.empty()) {
    fail<ValueError>("mean and variance must be given together (or neither, and adapt() sets them)");
  }
  for (double v : opt_.variance) {
    if (!(v >= 0.0) || !std::isfinite(v)) fail<ValueError>("variance must be finite and >= 0, got " + std::to_string(v));
  }
  for (double m : opt_.mean) {
    if (!std::isfinite(m)) fail<ValueError>("mean must be finite, got " + std::to_string(m));
  }
  std::vector<int64_t> sorted = opt_.axis;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) fail<ValueError>("axis lists an axis twice");
}

void Normalization::build(const std::vector<Shape>& shapes) {
  check_one_input(*this, shapes);
  const Shape& in = shapes[0];
  const int64_t rank = static_cast<int64_t>(in.size());
  keep_.clear();
  for (int64_t a : opt_.axis) {
    int64_t k = a < 0 ? a + rank : a;
    if (k < 1 || k >= rank) {
      fail<ValueError>("axis " + std::to_string(a) + " is not a feature axis of input " + keras_shape(in) +
                       " (the batch axis 0 cannot keep its own statistics)");
    }
    if (std::find(keep_.begin(), keep_.end(), k) != keep_.end()) fail<ValueError>("axis names axis " + std::to_string(k) + " twice");
    keep_.push_back(k);
  }
  std::sort(keep_.begin(), keep_.end());
  stats_shape_.clear();
  broadcast_shape_.assign(static_cast<std::size_t>(rank), 1);
  for (int64_t k : keep_) {
    if (in[k] <= 0) throw_input_shape(*this, "with a known size along axis " + std::to_string(k), in);
    stats_shape_.push_back(in[k]);
    broadcast_shape_[k] = in[k];
  }
  if (!opt_.mean.empty()) {
    int64_t want = checked_product(*this, stats_shape_, "the kept axes");
    auto as_tensor = [&](const std::vector<double>& v, const char* what) {
      auto n = static_cast<int64_t>(v.size());
      if (n != 1 && n != want) {
        fail<ValueError>(std::string(what) + " has " + std::to_string(n) + " values; expected 1 or " +
                         std::to_string(want) + " (the sizes " + to_string(stats_shape_) + " of the kept axes)");
      }
      return n == 1 ? full(broadcast_shape_, v[0], f32) : from_vector(v, broadcast_shape_, f32);
    };
    fixed_mean_ = as_tensor(opt_.mean, "mean");
    fixed_variance_ = as_tensor(opt_.variance, "variance");
  } else {
    add_weight("mean", stats_shape_, initializers::get("zeros"), false);
    add_weight("variance", stats_shape_, initializers::get("ones"), false);
    add_weight("count", {}, std::make_shared<IntegerZeros>(), false, nullptr, i64);
  }
  mark_built(shapes);
}

void Normalization::check_input_shapes(const std::vector<Shape>& shapes) const {
  check_one_input(*this, shapes);
  const Shape& want = built_input_shapes()[0];
  const Shape& got = shapes[0];
  bool fits = got.size() == want.size();
  for (int64_t k : keep_) fits = fits && (got[k] < 0 || got[k] == want[k]);
  if (!fits) {
    Shape spec(want.size(), -1);
    for (int64_t k : keep_) spec[k] = want[k];
    throw_input_shape(*this, keras_shape(spec), got);
  }
}

Shape Normalization::compute_output_shape(const std::vector<Shape>& shapes) {
  check_input_shapes(shapes);
  return shapes[0];
}

Tensor Normalization::call(const std::vector<Tensor>& inputs, bool) {
  Tensor x = detail::single_input(inputs, *this);
  if (!is_floating(x.dtype())) x = x.to(f32);
  Tensor mean = fixed_mean_, variance = fixed_variance_;
  if (!mean.defined()) {
    mean = reshape(find_weight("mean")->value(), broadcast_shape_);
    variance = reshape(find_weight("variance")->value(), broadcast_shape_);
  }
  // Keras: the standard deviation is floored at its epsilon, so a constant feature maps to 0, not NaN.
  Tensor stddev = maximum(sqrt(variance), scalar_like(kKerasEpsilon, variance));
  if (opt_.invert) return add(mean, mul(x, stddev));
  return div(sub(x, mean), stddev);
}

void Normalization::adapt(const Tensor& data) {
  if (!opt_.mean.empty()) fail<ValueError>("adapt() needs a layer without fixed mean and variance");
  if (!data.defined() || data.dim() == 0 || data.numel() == 0) {
    fail<ValueError>("adapt() needs a non-empty batch of data, got shape " +
                     (data.defined() ? to_string(data.shape()) : std::string("(undefined)")));
  }
  Shape spec = data.shape();
  spec[0] = -1;
  if (!built()) build({spec});
  check_input_shapes({spec});
  autograd::NoGradGuard no_grad;
  Axes reduce;
  for (int64_t d = 0; d < data.dim(); ++d) {
    if (std::find(keep_.begin(), keep_.end(), d) == keep_.end()) reduce.push_back(d);
  }
  Tensor x = data.to(f64);
  Tensor mean = x.mean(reduce, true);
  Tensor variance = square(sub(x, mean)).mean(reduce, true);  // population variance, as NumPy's var
  find_weight("mean")->value().copy_(reshape(mean, stats_shape_));
  find_weight("variance")->value().copy_(reshape(variance, stats_shape_));
  find_weight("count")->value().fill_(data.numel() / std::max<int64_t>(1, mean.numel()));
}

nlohmann::json Normalization::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["axis"] = opt_.axis;
  c["invert"] = opt_.invert;
  c["mean"] = opt_.mean.empty() ? nlohmann::json(nullptr) : nlohmann::json(opt_.mean);
  c["variance"] = opt_.variance.empty() ? nlohmann::json(nullptr) : nlohmann::json(opt_.variance);
  return c;
}

LayerPtr Normalization::from_config(const nlohmann::json& config) {
  LayerFields f(config, "Normalization");
  NormalizationOptions o{.name = f.name()};
  if (const nlohmann::json* a = f.find("axis")) {
    // Keras writes a tuple ([-1], [] for axis=None); an integer is accepted too.
    o.axis.clear();
    auto read = [&](const nlohmann::json& v) {
      if (!v.is_number_integer() || std::abs(v.get<int64_t>()) >= ConfigFields::kMaxInt) {
        f.fail("axis", "an integer, a list of integers or null");
      }
      o.axis.push_back(v.get<int64_t>());
    };
    if (a->is_array()) {
      for (const auto& v : *a) read(v);
    } else {
      read(*a);
    }
  } else if (config.contains("axis")) {
    o.axis.clear();  // explicit null: axis=None
  }
  o.mean = read_values(f, "mean");
  o.variance = read_values(f, "variance");
  o.invert = f.boolean("invert", false);
  return std::make_shared<Normalization>(std::move(o));
}

// ------------------------------------------------------------------ Rescaling

Rescaling::Rescaling(RescalingOptions options) : LayerBase("Rescaling", options.name), opt_(std::move(options)) {
  if (!std::isfinite(opt_.scale) || !std::isfinite(opt_.offset)) {
    fail<ValueError>("scale and offset must be finite, got " + std::to_string(opt_.scale) + " and " +
                     std::to_string(opt_.offset));
  }
}

void Rescaling::check_input_shapes(const std::vector<Shape>& shapes) const { check_one_input(*this, shapes); }

Shape Rescaling::compute_output_shape(const std::vector<Shape>& shapes) {
  check_one_input(*this, shapes);
  return shapes[0];
}

Tensor Rescaling::call(const std::vector<Tensor>& inputs, bool) {
  Tensor x = detail::single_input(inputs, *this);
  if (!is_floating(x.dtype())) x = x.to(f32);
  return add(mul(x, scalar_like(opt_.scale, x)), scalar_like(opt_.offset, x));
}

nlohmann::json Rescaling::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["scale"] = opt_.scale;
  c["offset"] = opt_.offset;
  return c;
}

LayerPtr Rescaling::from_config(const nlohmann::json& config) {
  LayerFields f(config, "Rescaling");
  return std::make_shared<Rescaling>(
      RescalingOptions{.scale = f.number("scale"), .offset = f.number("offset", 0.0), .name = f.name()});
}

}  // namespace ember::nn
