// The random image layers: parameter draws (serial, from the layer's generator) and Keras configs;
// the pixels are ops::image_transform / adjust_contrast.
#include "ember/nn/layers/preprocessing.hpp"

#include <cmath>
#include <nlohmann/json.hpp>
#include <numbers>
#include <string>
#include <vector>

#include "ember/nn/layer_fields.hpp"
#include "ember/nn/layers/conv.hpp"  // detail::single_input, throw_input_shape
#include "ember/ops/elementwise.hpp"
#include "ember/ops/shape.hpp"

namespace ember::nn {

namespace {

const char* fill_mode_name(FillMode m) {
  switch (m) {
    case FillMode::Constant: return "constant";
    case FillMode::Nearest: return "nearest";
    case FillMode::Reflect: return "reflect";
    case FillMode::Wrap: return "wrap";
  }
  return "reflect";
}

FillMode read_fill_mode(const LayerFields& f) {
  const std::string s = f.string("fill_mode", "reflect");
  if (s == "constant") return FillMode::Constant;
  if (s == "nearest") return FillMode::Nearest;
  if (s == "reflect") return FillMode::Reflect;
  if (s == "wrap") return FillMode::Wrap;
  f.fail("fill_mode", "one of \"constant\", \"nearest\", \"reflect\", \"wrap\"");
}

Interpolation read_interpolation(const LayerFields& f) {
  const std::string s = f.string("interpolation", "bilinear");
  if (s == "bilinear") return Interpolation::Bilinear;
  if (s == "nearest") return Interpolation::Nearest;
  f.fail("interpolation", "\"bilinear\" or \"nearest\"");
}

const char* interpolation_name(Interpolation i) { return i == Interpolation::Nearest ? "nearest" : "bilinear"; }

// Keras writes a symmetric factor as one number, else a pair.
nlohmann::json factor_json(const Factor& f) {
  if (f.lower == -f.upper) return f.upper;
  return nlohmann::json::array({f.lower, f.upper});
}

std::optional<Factor> read_factor(const LayerFields& f, const std::string& key, bool required) {
  const nlohmann::json* v = f.find(key);
  if (!v) {
    if (required) f.fail(key, "a number or a pair [lower, upper]");
    return std::nullopt;
  }
  if (v->is_number()) return Factor(v->get<double>());
  if (v->is_array() && v->size() == 2 && (*v)[0].is_number() && (*v)[1].is_number()) {
    return Factor((*v)[0].get<double>(), (*v)[1].get<double>());
  }
  f.fail(key, "a number or a pair [lower, upper]");
}

void check_factor(const Layer& layer, const char* what, const Factor& f, double bound) {
  if (!std::isfinite(f.lower) || !std::isfinite(f.upper) || f.lower > f.upper || f.lower < -bound ||
      f.upper > bound) {
    layer.fail<ValueError>(std::string(what) + " must be [lower, upper] with lower <= upper inside [" +
                           std::to_string(-bound) + ", " + std::to_string(bound) + "], got [" +
                           std::to_string(f.lower) + ", " + std::to_string(f.upper) + "]");
  }
}

double draw(Generator& gen, const Factor& f) { return f.lower + (f.upper - f.lower) * gen.uniform(); }

void fill_config(nlohmann::json& c, FillMode m, Interpolation i, double fill_value, std::optional<uint64_t> seed) {
  c["fill_mode"] = fill_mode_name(m);
  c["interpolation"] = interpolation_name(i);
  c["fill_value"] = fill_value;
  c["seed"] = seed ? nlohmann::json(*seed) : nlohmann::json(nullptr);
}

nlohmann::json seed_json(std::optional<uint64_t> seed) { return seed ? nlohmann::json(*seed) : nlohmann::json(nullptr); }

}  // namespace

// ------------------------------------------------------------------ shared

namespace detail {

template <typename Derived>
void RandomImageLayer<Derived>::check_input_shapes(const std::vector<Shape>& shapes) const {
  if (shapes.size() != 1) this->template fail<ShapeError>("expected one input, got " + std::to_string(shapes.size()));
  if (shapes[0].size() != 4) throw_input_shape(*this, "of rank 4 (batch, height, width, channels)", shapes[0]);
}

template <typename Derived>
Shape RandomImageLayer<Derived>::compute_output_shape(const std::vector<Shape>& shapes) {
  check_input_shapes(shapes);
  return shapes[0];
}

template <typename Derived>
const Tensor& RandomImageLayer<Derived>::image_input(const std::vector<Tensor>& inputs) const {
  const Tensor& x = single_input(inputs, *this);
  check_input_shapes({x.shape()});
  return x;
}

template class RandomImageLayer<RandomFlip>;
template class RandomImageLayer<RandomRotation>;
template class RandomImageLayer<RandomTranslation>;
template class RandomImageLayer<RandomZoom>;
template class RandomImageLayer<RandomContrast>;
template class RandomImageLayer<RandomCrop>;
template class RandomImageLayer<RandomErasing>;

}  // namespace detail

// ------------------------------------------------------------------ RandomFlip

RandomFlip::RandomFlip(RandomFlipOptions options)
    : RandomImageLayer("RandomFlip", options.name, options.seed), opt_(std::move(options)) {}

Tensor RandomFlip::call(const std::vector<Tensor>& inputs, bool training) {
  const Tensor& x = image_input(inputs);
  if (!training) return x;
  const int64_t n = x.size(0), h = x.size(1), w = x.size(2);
  const bool hor = opt_.mode != FlipMode::Vertical, ver = opt_.mode != FlipMode::Horizontal;
  std::vector<ProjectiveTransform> ts(static_cast<size_t>(n));
  Generator& gen = rng();
  for (int64_t i = 0; i < n; ++i) {
    const bool fh = hor && gen.uniform() < 0.5;
    const bool fv = ver && gen.uniform() < 0.5;
    ts[i] = flip_transform(fh, fv, h, w);
  }
  if (n == 0) return x;
  return image_transform(x, ts, {.interpolation = Interpolation::Nearest, .fill_mode = FillMode::Constant});
}

nlohmann::json RandomFlip::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["mode"] = opt_.mode == FlipMode::Horizontal ? "horizontal"
              : opt_.mode == FlipMode::Vertical ? "vertical"
                                                : "horizontal_and_vertical";
  c["seed"] = seed_json(opt_.seed);
  return c;
}

LayerPtr RandomFlip::from_config(const nlohmann::json& config) {
  LayerFields f(config, "RandomFlip");
  const std::string mode = f.string("mode", "horizontal_and_vertical");
  FlipMode m = FlipMode::HorizontalAndVertical;
  if (mode == "horizontal") {
    m = FlipMode::Horizontal;
  } else if (mode == "vertical") {
    m = FlipMode::Vertical;
  } else if (mode != "horizontal_and_vertical") {
    f.fail("mode", "\"horizontal\", \"vertical\" or \"horizontal_and_vertical\"");
  }
  return std::make_shared<RandomFlip>(RandomFlipOptions{.mode = m, .seed = f.seed(), .name = f.name()});
}

// ------------------------------------------------------------------ RandomRotation

RandomRotation::RandomRotation(RandomRotationOptions options)
    : RandomImageLayer("RandomRotation", options.name, options.seed), opt_(std::move(options)) {
  check_factor(*this, "factor", opt_.factor, 1e6);
  if (!std::isfinite(opt_.fill_value)) fail<ValueError>("fill_value must be finite");
}

Tensor RandomRotation::call(const std::vector<Tensor>& inputs, bool training) {
  const Tensor& x = image_input(inputs);
  if (!training) return x;
  const int64_t n = x.size(0), h = x.size(1), w = x.size(2);
  if (n == 0) return x;
  std::vector<ProjectiveTransform> ts(static_cast<size_t>(n));
  Generator& gen = rng();
  for (int64_t i = 0; i < n; ++i) ts[i] = rotation_transform(draw(gen, opt_.factor) * 2 * std::numbers::pi, h, w);
  return image_transform(
      x, ts, {.interpolation = opt_.interpolation, .fill_mode = opt_.fill_mode, .fill_value = opt_.fill_value});
}

nlohmann::json RandomRotation::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["factor"] = factor_json(opt_.factor);
  fill_config(c, opt_.fill_mode, opt_.interpolation, opt_.fill_value, opt_.seed);
  return c;
}

LayerPtr RandomRotation::from_config(const nlohmann::json& config) {
  LayerFields f(config, "RandomRotation");
  f.channels_last();
  return std::make_shared<RandomRotation>(RandomRotationOptions{
      .factor = *read_factor(f, "factor", true), .fill_mode = read_fill_mode(f),
      .interpolation = read_interpolation(f), .fill_value = f.number("fill_value", 0.0), .seed = f.seed(),
      .name = f.name()});
}

// ------------------------------------------------------------------ RandomTranslation

RandomTranslation::RandomTranslation(RandomTranslationOptions options)
    : RandomImageLayer("RandomTranslation", options.name, options.seed), opt_(std::move(options)) {
  check_factor(*this, "height_factor", opt_.height_factor, 1.0);
  check_factor(*this, "width_factor", opt_.width_factor, 1.0);
  if (!std::isfinite(opt_.fill_value)) fail<ValueError>("fill_value must be finite");
}

Tensor RandomTranslation::call(const std::vector<Tensor>& inputs, bool training) {
  const Tensor& x = image_input(inputs);
  if (!training) return x;
  const int64_t n = x.size(0), h = x.size(1), w = x.size(2);
  if (n == 0) return x;
  Generator& gen = rng();
  // Keras draws all height shifts, then all width shifts.
  std::vector<double> dy(static_cast<size_t>(n)), dx(static_cast<size_t>(n));
  for (auto& v : dy) v = draw(gen, opt_.height_factor) * static_cast<double>(h);
  for (auto& v : dx) v = draw(gen, opt_.width_factor) * static_cast<double>(w);
  std::vector<ProjectiveTransform> ts(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) ts[i] = translation_transform(dx[i], dy[i]);
  return image_transform(
      x, ts, {.interpolation = opt_.interpolation, .fill_mode = opt_.fill_mode, .fill_value = opt_.fill_value});
}

nlohmann::json RandomTranslation::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["height_factor"] = factor_json(opt_.height_factor);
  c["width_factor"] = factor_json(opt_.width_factor);
  fill_config(c, opt_.fill_mode, opt_.interpolation, opt_.fill_value, opt_.seed);
  return c;
}

LayerPtr RandomTranslation::from_config(const nlohmann::json& config) {
  LayerFields f(config, "RandomTranslation");
  f.channels_last();
  return std::make_shared<RandomTranslation>(RandomTranslationOptions{
      .height_factor = *read_factor(f, "height_factor", true), .width_factor = *read_factor(f, "width_factor", true),
      .fill_mode = read_fill_mode(f), .interpolation = read_interpolation(f),
      .fill_value = f.number("fill_value", 0.0), .seed = f.seed(), .name = f.name()});
}

// ------------------------------------------------------------------ RandomZoom

RandomZoom::RandomZoom(RandomZoomOptions options)
    : RandomImageLayer("RandomZoom", options.name, options.seed), opt_(std::move(options)) {
  // A zoom of 1 + lower must stay > 0 (Keras: factors in [-1, 1]; -1 itself would be degenerate).
  check_factor(*this, "height_factor", opt_.height_factor, 1.0);
  if (opt_.width_factor) check_factor(*this, "width_factor", *opt_.width_factor, 1.0);
  if (!std::isfinite(opt_.fill_value)) fail<ValueError>("fill_value must be finite");
}

Tensor RandomZoom::call(const std::vector<Tensor>& inputs, bool training) {
  const Tensor& x = image_input(inputs);
  if (!training) return x;
  const int64_t n = x.size(0), h = x.size(1), w = x.size(2);
  if (n == 0) return x;
  Generator& gen = rng();
  std::vector<double> zh(static_cast<size_t>(n)), zw(static_cast<size_t>(n));
  for (auto& v : zh) v = 1.0 + draw(gen, opt_.height_factor);
  if (opt_.width_factor) {
    for (auto& v : zw) v = 1.0 + draw(gen, *opt_.width_factor);
  } else {
    zw = zh;
  }
  std::vector<ProjectiveTransform> ts(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) ts[i] = zoom_transform(zh[i], zw[i], h, w);
  return image_transform(
      x, ts, {.interpolation = opt_.interpolation, .fill_mode = opt_.fill_mode, .fill_value = opt_.fill_value});
}

nlohmann::json RandomZoom::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["height_factor"] = factor_json(opt_.height_factor);
  c["width_factor"] = opt_.width_factor ? factor_json(*opt_.width_factor) : nlohmann::json(nullptr);
  fill_config(c, opt_.fill_mode, opt_.interpolation, opt_.fill_value, opt_.seed);
  return c;
}

LayerPtr RandomZoom::from_config(const nlohmann::json& config) {
  LayerFields f(config, "RandomZoom");
  f.channels_last();
  return std::make_shared<RandomZoom>(RandomZoomOptions{
      .height_factor = *read_factor(f, "height_factor", true), .width_factor = read_factor(f, "width_factor", false),
      .fill_mode = read_fill_mode(f), .interpolation = read_interpolation(f),
      .fill_value = f.number("fill_value", 0.0), .seed = f.seed(), .name = f.name()});
}

// ------------------------------------------------------------------ RandomContrast

RandomContrast::RandomContrast(RandomContrastOptions options)
    : RandomImageLayer("RandomContrast", options.name, options.seed), opt_(std::move(options)) {
  // Keras: magnitudes in [0, 1] (a contrast factor below 0 would invert the image).
  if (!(opt_.factor.lower <= 0 && opt_.factor.lower >= -1 && opt_.factor.upper >= 0 &&
        std::isfinite(opt_.factor.upper))) {
    fail<ValueError>("factor must be a number or a pair (lower, upper) of magnitudes, lower in [0, 1], upper >= 0, got "
                     "lower " + std::to_string(-opt_.factor.lower) + ", upper " + std::to_string(opt_.factor.upper));
  }
}

Tensor RandomContrast::call(const std::vector<Tensor>& inputs, bool training) {
  const Tensor& x = image_input(inputs);
  if (!training || x.size(0) == 0) return x;
  Generator& gen = rng();
  std::vector<double> factors(static_cast<size_t>(x.size(0)));
  for (auto& v : factors) v = 1.0 + draw(gen, opt_.factor);
  return adjust_contrast(x, factors);
}

nlohmann::json RandomContrast::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["factor"] = -opt_.factor.lower == opt_.factor.upper
                    ? nlohmann::json(opt_.factor.upper)
                    : nlohmann::json::array({-opt_.factor.lower, opt_.factor.upper});
  c["seed"] = seed_json(opt_.seed);
  return c;
}

LayerPtr RandomContrast::from_config(const nlohmann::json& config) {
  LayerFields f(config, "RandomContrast");
  Factor fac = *read_factor(f, "factor", true);
  if (f.find("factor")->is_array()) fac = Factor(-fac.lower, fac.upper);  // a pair is two magnitudes
  return std::make_shared<RandomContrast>(RandomContrastOptions{.factor = fac, .seed = f.seed(), .name = f.name()});
}

// ------------------------------------------------------------------ RandomCrop

RandomCrop::RandomCrop(RandomCropOptions options)
    : RandomImageLayer("RandomCrop", options.name, options.seed), opt_(std::move(options)) {
  if (opt_.height < 1 || opt_.width < 1) {
    fail<ValueError>("height and width must be >= 1, got " + std::to_string(opt_.height) + " and " +
                     std::to_string(opt_.width));
  }
}

Shape RandomCrop::compute_output_shape(const std::vector<Shape>& shapes) {
  check_input_shapes(shapes);
  const Shape& in = shapes[0];
  if ((in[1] >= 0 && in[1] < opt_.height) || (in[2] >= 0 && in[2] < opt_.width)) {
    throw_input_shape(*this, "at least " + std::to_string(opt_.height) + "x" + std::to_string(opt_.width) + " pixels",
                      in);
  }
  return {in[0], opt_.height, opt_.width, in[3]};
}

Tensor RandomCrop::call(const std::vector<Tensor>& inputs, bool training) {
  const Tensor& x = image_input(inputs);
  compute_output_shape(shape_list(x.shape()));
  const int64_t h = x.size(1), w = x.size(2);
  int64_t top = (h - opt_.height) / 2, left = (w - opt_.width) / 2;  // inference: the centre crop
  if (training) {
    Generator& gen = rng();
    top = static_cast<int64_t>(gen.below(static_cast<uint64_t>(h - opt_.height + 1)));
    left = static_cast<int64_t>(gen.below(static_cast<uint64_t>(w - opt_.width + 1)));
  }
  return slice(slice(x, 1, top, top + opt_.height), 2, left, left + opt_.width);
}

nlohmann::json RandomCrop::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["height"] = opt_.height;
  c["width"] = opt_.width;
  c["seed"] = seed_json(opt_.seed);
  return c;
}

LayerPtr RandomCrop::from_config(const nlohmann::json& config) {
  LayerFields f(config, "RandomCrop");
  return std::make_shared<RandomCrop>(RandomCropOptions{
      .height = f.positive("height"), .width = f.positive("width"), .seed = f.seed(), .name = f.name()});
}

// ------------------------------------------------------------------ RandomErasing

RandomErasing::RandomErasing(RandomErasingOptions options)
    : RandomImageLayer("RandomErasing", options.name, options.seed), opt_(std::move(options)) {
  if (!(opt_.factor >= 0 && opt_.factor <= 1)) fail<ValueError>("factor must be in [0, 1], got " + std::to_string(opt_.factor));
  if (!(opt_.scale[0] > 0 && opt_.scale[0] <= opt_.scale[1] && opt_.scale[1] <= 1)) {
    fail<ValueError>("scale must be [lower, upper] with 0 < lower <= upper <= 1, got [" + std::to_string(opt_.scale[0]) +
                     ", " + std::to_string(opt_.scale[1]) + "]");
  }
  if (!(opt_.ratio[0] > 0 && opt_.ratio[0] <= opt_.ratio[1] && std::isfinite(opt_.ratio[1]))) {
    fail<ValueError>("ratio must be [lower, upper] with 0 < lower <= upper, got [" + std::to_string(opt_.ratio[0]) +
                     ", " + std::to_string(opt_.ratio[1]) + "]");
  }
  if (!std::isfinite(opt_.fill_value)) fail<ValueError>("fill_value must be finite");
}

Tensor RandomErasing::call(const std::vector<Tensor>& inputs, bool training) {
  const Tensor& x = image_input(inputs);
  if (!training || x.numel() == 0) return x;
  const int64_t n = x.size(0), h = x.size(1), w = x.size(2);
  Generator& gen = rng();
  // keep: 1 outside the erased rectangle, 0 inside; one [H, W] plane per image, shared by channels.
  std::vector<double> keep(static_cast<size_t>(n * h * w), 1.0);
  const double log_lo = std::log(opt_.ratio[0]), log_hi = std::log(opt_.ratio[1]);
  for (int64_t i = 0; i < n; ++i) {
    if (gen.uniform() >= opt_.factor) continue;
    const double area = (opt_.scale[0] + (opt_.scale[1] - opt_.scale[0]) * gen.uniform()) * static_cast<double>(h * w);
    const double aspect = std::exp(log_lo + (log_hi - log_lo) * gen.uniform());
    const int64_t eh = std::clamp<int64_t>(std::llround(std::sqrt(area / aspect)), 1, h);
    const int64_t ew = std::clamp<int64_t>(std::llround(std::sqrt(area * aspect)), 1, w);
    const auto top = static_cast<int64_t>(gen.below(static_cast<uint64_t>(h - eh + 1)));
    const auto left = static_cast<int64_t>(gen.below(static_cast<uint64_t>(w - ew + 1)));
    for (int64_t r = top; r < top + eh; ++r) {
      std::fill_n(keep.begin() + (i * h + r) * w + left, ew, 0.0);
    }
  }
  const Tensor mask = from_vector(keep, {n, h, w, 1}, x.dtype());
  return x * mask + (1.0 - mask) * opt_.fill_value;
}

nlohmann::json RandomErasing::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["factor"] = opt_.factor;
  c["scale"] = nlohmann::json::array({opt_.scale[0], opt_.scale[1]});
  c["ratio"] = nlohmann::json::array({opt_.ratio[0], opt_.ratio[1]});
  c["fill_value"] = opt_.fill_value;
  c["seed"] = seed_json(opt_.seed);
  return c;
}

LayerPtr RandomErasing::from_config(const nlohmann::json& config) {
  LayerFields f(config, "RandomErasing");
  auto pair = [&](const char* key, std::array<double, 2> fallback) {
    const std::optional<Factor> v = read_factor(f, key, false);
    if (v && f.find(key)->is_number()) f.fail(key, "a pair [lower, upper]");
    return v ? std::array<double, 2>{v->lower, v->upper} : fallback;
  };
  if (!f.find("fill_value")) f.fail("fill_value", "a number (Ember has no random-noise fill)");
  f.ignore({"value_range"});
  return std::make_shared<RandomErasing>(RandomErasingOptions{
      .factor = f.number("factor", 1.0), .scale = pair("scale", {0.02, 0.33}), .ratio = pair("ratio", {0.3, 3.3}),
      .fill_value = f.number("fill_value"), .seed = f.seed(), .name = f.name()});
}

}  // namespace ember::nn
