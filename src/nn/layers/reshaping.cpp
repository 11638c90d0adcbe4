#include "ember/nn/layers/reshaping.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "ember/nn/layer_fields.hpp"
#include "ember/nn/layers/conv.hpp"  // detail helpers
#include "ember/ops/linalg.hpp"
#include "ember/ops/shape.hpp"

namespace ember::nn {

using detail::throw_input_shape;

namespace {

using Pairs = std::array<std::array<int64_t, 2>, 2>;

std::string pairs_str(const Pairs& p) {
  return "((" + std::to_string(p[0][0]) + ", " + std::to_string(p[0][1]) + "), (" + std::to_string(p[1][0]) + ", " +
         std::to_string(p[1][1]) + "))";
}

void check_pairs(const Layer& layer, const char* what, const Pairs& p) {
  for (const auto& pair : p) {
    for (int64_t v : pair) {
      if (v < 0) layer.fail<ValueError>(std::string(what) + " must be >= 0, got " + pairs_str(p));
    }
  }
}

nlohmann::json pairs_json(const Pairs& p) {
  return nlohmann::json::array({nlohmann::json::array({p[0][0], p[0][1]}), nlohmann::json::array({p[1][0], p[1][1]})});
}

// Keras's forms of ZeroPadding2D's padding and Cropping2D's cropping: n, [rows, cols] or
// [[top, bottom], [left, right]].
Pairs read_pairs(const LayerFields& f, const char* key) {
  const char* what = "an integer, [rows, cols] or [[top, bottom], [left, right]] of integers >= 0";
  auto nonneg = [&](const nlohmann::json& v) {
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() >= ConfigFields::kMaxInt) f.fail(key, what);
    return v.get<int64_t>();
  };
  const nlohmann::json& p = *f.find(key);
  Pairs out{};
  if (p.is_number()) {
    int64_t x = nonneg(p);
    out = {{{x, x}, {x, x}}};
  } else if (p.is_array() && p.size() == 2 && p[0].is_array()) {
    for (std::size_t i = 0; i < 2; ++i) {
      const nlohmann::json& pair = p[i];
      if (!pair.is_array() || pair.size() != 2) f.fail(key, what);
      out[i] = {nonneg(pair[0]), nonneg(pair[1])};
    }
  } else if (p.is_array() && p.size() == 2) {
    int64_t h = nonneg(p[0]), w = nonneg(p[1]);
    out = {{{h, h}, {w, w}}};
  } else {
    f.fail(key, what);
  }
  return out;
}

void check_rank4(const Layer& layer, const std::vector<Shape>& shapes) {
  if (shapes.size() != 1) layer.fail<ShapeError>("expected one input, got " + std::to_string(shapes.size()));
  if (shapes[0].size() != 4) throw_input_shape(layer, "of rank 4 (batch, height, width, channels)", shapes[0]);
}

}  // namespace

// ------------------------------------------------------------------ Reshape

Reshape::Reshape(Shape target_shape, std::string name) : LayerBase("Reshape", std::move(name)), target_(std::move(target_shape)) {
  int unknown = 0;
  for (int64_t d : target_) {
    if (d == -1) {
      ++unknown;
    } else if (d < 1) {
      fail<ValueError>("target_shape entries must be positive or a single -1, got " + to_string(target_));
    }
  }
  if (unknown > 1) {
    fail<ValueError>("at most one -1 is allowed in target_shape, got " + to_string(target_));
  }
  if (target_.size() + 1 > static_cast<std::size_t>(kMaxDims)) {
    fail<ValueError>("target_shape " + to_string(target_) + " has more than " + std::to_string(kMaxDims - 1) + " axes");
  }
}

Shape Reshape::output_shape_for(const Shape& in) const {
  auto mismatch = [&] {
    std::string target = "(";
    for (std::size_t i = 0; i < target_.size(); ++i) target += (i ? ", " : "") + std::to_string(target_[i]);
    fail<ShapeError>("cannot reshape input " + keras_shape(in) + " to target_shape " + target +
                     (target_.size() == 1 ? ",)" : ")") + ": the element counts per sample differ");
  };
  if (in.empty()) mismatch();
  bool in_known = true;
  Shape known_in, known_target;
  for (std::size_t i = 1; i < in.size(); ++i) {
    if (in[i] < 0) in_known = false; else known_in.push_back(in[i]);
  }
  std::size_t unknown_at = target_.size();
  for (std::size_t i = 0; i < target_.size(); ++i) {
    if (target_[i] == -1) unknown_at = i; else known_target.push_back(target_[i]);
  }
  // Checked products: (None, 2^31-1, 2^31-1, 2^31-1) has more elements per sample than int64 holds.
  int64_t fixed = checked_product(*this, known_target, "target_shape");
  int64_t in_count = in_known ? checked_product(*this, known_in, "input " + keras_shape(in)) : 0;
  Shape out{in[0]};
  out.insert(out.end(), target_.begin(), target_.end());
  if (!in_known) return out;  // the -1 entry, if any, stays unknown
  if (unknown_at == target_.size()) {
    if (in_count != fixed) mismatch();
  } else {
    if (fixed == 0 || in_count % fixed != 0) mismatch();
    out[unknown_at + 1] = in_count / fixed;
  }
  return out;
}

void Reshape::check_input_shapes(const std::vector<Shape>& shapes) const {
  if (shapes.size() != 1) {
    fail<ShapeError>("expected one input, got " + std::to_string(shapes.size()));
  }
  output_shape_for(shapes[0]);
}

Shape Reshape::compute_output_shape(const std::vector<Shape>& shapes) {
  check_input_shapes(shapes);
  return output_shape_for(shapes[0]);
}

Tensor Reshape::call(const std::vector<Tensor>& inputs, bool) {
  const Tensor& x = detail::single_input(inputs, *this);
  return reshape(x, output_shape_for(x.shape()));
}

nlohmann::json Reshape::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["target_shape"] = nlohmann::json::array();
  for (int64_t d : target_) c["target_shape"].push_back(d);
  return c;
}

LayerPtr Reshape::from_config(const nlohmann::json& config) {
  LayerFields f(config, "Reshape");
  const char* what = "a non-empty list of positive integers (or one -1)";
  const nlohmann::json* t = f.find("target_shape");
  if (!t || !t->is_array() || t->empty()) f.fail("target_shape", what);
  Shape target;
  for (const nlohmann::json& d : *t) {
    if (!d.is_number_integer() || d.get<int64_t>() < -1 || d.get<int64_t>() == 0 ||
        d.get<int64_t>() >= ConfigFields::kMaxInt) {
      f.fail("target_shape", what);
    }
    target.push_back(d.get<int64_t>());
  }
  return std::make_shared<Reshape>(target, f.name());
}

// ------------------------------------------------------------------ ZeroPadding2D

ZeroPadding2D::ZeroPadding2D(ZeroPadding2DOptions options)
    : LayerBase("ZeroPadding2D", options.name), opt_(std::move(options)) {
  check_pairs(*this, "padding", opt_.padding);
}

void ZeroPadding2D::check_input_shapes(const std::vector<Shape>& shapes) const { check_rank4(*this, shapes); }

Shape ZeroPadding2D::compute_output_shape(const std::vector<Shape>& shapes) {
  check_input_shapes(shapes);
  Shape out = shapes[0];
  for (int a = 0; a < 2; ++a) {
    if (out[a + 1] >= 0) {
      int64_t pads = checked_sum(*this, opt_.padding[a][0], opt_.padding[a][1], "the padding");
      out[a + 1] = checked_sum(*this, out[a + 1], pads, "the padded size of axis " + std::to_string(a + 1));
    }
  }
  return out;
}

Tensor ZeroPadding2D::call(const std::vector<Tensor>& inputs, bool) {
  const Tensor& x = detail::single_input(inputs, *this);
  check_input_shapes({x.shape()});
  return pad(x, {{0, 0}, {opt_.padding[0][0], opt_.padding[0][1]}, {opt_.padding[1][0], opt_.padding[1][1]}, {0, 0}});
}

nlohmann::json ZeroPadding2D::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["padding"] = pairs_json(opt_.padding);
  c["data_format"] = "channels_last";
  return c;
}

LayerPtr ZeroPadding2D::from_config(const nlohmann::json& config) {
  LayerFields f(config, "ZeroPadding2D");
  f.channels_last();
  ZeroPadding2DOptions o{.name = f.name()};
  if (f.find("padding")) o.padding = read_pairs(f, "padding");
  return std::make_shared<ZeroPadding2D>(std::move(o));
}

// ------------------------------------------------------------------ Cropping2D

Cropping2D::Cropping2D(Cropping2DOptions options) : LayerBase("Cropping2D", options.name), opt_(std::move(options)) {
  check_pairs(*this, "cropping", opt_.cropping);
}

void Cropping2D::check_input_shapes(const std::vector<Shape>& shapes) const {
  check_rank4(*this, shapes);
  for (int a = 0; a < 2; ++a) {
    const int64_t n = shapes[0][a + 1];
    // Sums of two values below 2^63 (checked >= 0) cannot overflow unsigned arithmetic.
    const uint64_t crop = static_cast<uint64_t>(opt_.cropping[a][0]) + static_cast<uint64_t>(opt_.cropping[a][1]);
    if (n >= 0 && static_cast<uint64_t>(n) <= crop) {
      fail<ShapeError>("cropping " + pairs_str(opt_.cropping) + " leaves nothing of input " + keras_shape(shapes[0]) +
                       " along axis " + std::to_string(a + 1));
    }
  }
}

Shape Cropping2D::compute_output_shape(const std::vector<Shape>& shapes) {
  check_input_shapes(shapes);
  Shape out = shapes[0];
  for (int a = 0; a < 2; ++a) {
    if (out[a + 1] >= 0) out[a + 1] -= opt_.cropping[a][0] + opt_.cropping[a][1];
  }
  return out;
}

Tensor Cropping2D::call(const std::vector<Tensor>& inputs, bool) {
  const Tensor& x = detail::single_input(inputs, *this);
  check_input_shapes(shape_list(x.shape()));
  Tensor y = slice(x, 1, opt_.cropping[0][0], x.size(1) - opt_.cropping[0][1]);
  return slice(y, 2, opt_.cropping[1][0], x.size(2) - opt_.cropping[1][1]);
}

nlohmann::json Cropping2D::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["cropping"] = pairs_json(opt_.cropping);
  c["data_format"] = "channels_last";
  return c;
}

LayerPtr Cropping2D::from_config(const nlohmann::json& config) {
  LayerFields f(config, "Cropping2D");
  f.channels_last();
  Cropping2DOptions o{.name = f.name()};
  if (f.find("cropping")) o.cropping = read_pairs(f, "cropping");
  return std::make_shared<Cropping2D>(std::move(o));
}

// ------------------------------------------------------------------ UpSampling2D

namespace {

// The [out, in] matrix of 1-D bilinear resizing by an integer factor with half-pixel centres
// (TensorFlow's compute_interpolation_weights): row o mixes the two inputs around (o + 0.5) / f - 0.5.
Tensor bilinear_matrix(int64_t in, int64_t factor, DType dtype) {
  const int64_t out = in * factor;
  std::vector<double> m(static_cast<std::size_t>(out * in), 0.0);
  for (int64_t o = 0; o < out; ++o) {
    const double src = (static_cast<double>(o) + 0.5) / static_cast<double>(factor) - 0.5;
    const double fl = std::floor(src);
    const int64_t lo = std::max<int64_t>(static_cast<int64_t>(fl), 0);
    const int64_t hi = std::min<int64_t>(static_cast<int64_t>(std::ceil(src)), in - 1);
    const double frac = src - fl;
    m[o * in + lo] += 1.0 - frac;
    m[o * in + hi] += frac;
  }
  return from_vector(m, {out, in}, dtype);
}

}  // namespace

UpSampling2D::UpSampling2D(UpSampling2DOptions options) : LayerBase("UpSampling2D", options.name), opt_(std::move(options)) {
  for (int64_t f : opt_.size) detail::check_positive(*this, "size", f);
}

void UpSampling2D::check_input_shapes(const std::vector<Shape>& shapes) const { check_rank4(*this, shapes); }

Shape UpSampling2D::compute_output_shape(const std::vector<Shape>& shapes) {
  check_rank4(*this, shapes);
  Shape out = shapes[0];
  for (int a = 0; a < 2; ++a) {
    if (out[a + 1] >= 0) out[a + 1] = checked_product(*this, {out[a + 1], opt_.size[a]}, "the upsampled size");
  }
  return out;
}

Tensor UpSampling2D::call(const std::vector<Tensor>& inputs, bool) {
  const Tensor& x = detail::single_input(inputs, *this);
  const Shape out = compute_output_shape(shape_list(x.shape()));
  const int64_t n = x.size(0), h = x.size(1), w = x.size(2), c = x.size(3);
  if (opt_.interpolation == UpSamplingInterpolation::Nearest) {
    // Every element repeated size0 x size1 times: a broadcast, whose gradient sums the copies.
    Tensor e = expand(reshape(x, {n, h, 1, w, 1, c}), {n, h, opt_.size[0], w, opt_.size[1], c});
    return reshape(contiguous(e), out);
  }
  if (!is_floating(x.dtype())) fail<DTypeError>("bilinear upsampling needs a float32 or float64 input");
  // Separable: rows, then columns, each a product with a constant interpolation matrix.
  Tensor rows = matmul(bilinear_matrix(h, opt_.size[0], x.dtype()), reshape(x, {n, h, w * c}));  // [N, H', W*C]
  Tensor cols = matmul(bilinear_matrix(w, opt_.size[1], x.dtype()), reshape(rows, {n * out[1], w, c}));
  return reshape(cols, out);
}

nlohmann::json UpSampling2D::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["size"] = nlohmann::json::array({opt_.size[0], opt_.size[1]});
  c["data_format"] = "channels_last";
  c["interpolation"] = opt_.interpolation == UpSamplingInterpolation::Nearest ? "nearest" : "bilinear";
  return c;
}

LayerPtr UpSampling2D::from_config(const nlohmann::json& config) {
  LayerFields f(config, "UpSampling2D");
  f.channels_last();
  auto size = f.ints("size", 2, 2);
  UpSampling2DOptions o{.size = {size[0], size[1]}, .name = f.name()};
  const std::string interp = f.string("interpolation", "nearest");
  if (interp == "bilinear") {
    o.interpolation = UpSamplingInterpolation::Bilinear;
  } else if (interp != "nearest") {
    f.fail("interpolation", "\"nearest\" or \"bilinear\"");
  }
  return std::make_shared<UpSampling2D>(std::move(o));
}

}  // namespace ember::nn
