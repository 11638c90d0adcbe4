#include "ember/nn/layers/core.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "ember/nn/layer_fields.hpp"
#include "ember/nn/layers/conv.hpp"  // detail::single_input
#include "ember/ops/activation.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/linalg.hpp"
#include "ember/ops/shape.hpp"
#include "ember/ops/softmax.hpp"
#include "weighted_fields.hpp"

namespace ember::nn {

namespace {
const char* dtype_keras(DType dt) { return dt == f64 ? "float64" : dt == i32 ? "int32" : dt == i64 ? "int64" : "float32"; }

}  // namespace

// ------------------------------------------------------------------ Input

InputLayer::InputLayer(const Shape& shape_with_batch, std::string name, DType dtype)
    : LayerBase("InputLayer", std::move(name)), shape_(shape_with_batch), dtype_(dtype) {
  mark_built({shape_});
}

Tensor InputLayer::call(const std::vector<Tensor>& inputs, bool) { return detail::single_input(inputs, *this); }

// The shape-only layers below answer from shapes, never by running call() on a probe (which would
// allocate an input of that shape, and materialise weights).
Shape InputLayer::compute_output_shape(const std::vector<Shape>& shapes) {
  check_input_shapes(shapes);
  return shapes[0];
}

nlohmann::json InputLayer::get_config() const {
  nlohmann::json shape = nlohmann::json::array();
  for (int64_t d : shape_) shape.push_back(d < 0 ? nlohmann::json(nullptr) : nlohmann::json(d));
  return {{"batch_input_shape", shape}, {"dtype", dtype_keras(dtype_)}, {"sparse", false}, {"ragged", false},
          {"name", name()}};
}

LayerPtr InputLayer::from_config(const nlohmann::json& config) {
  ConfigFields f(config, "layer", "InputLayer");
  // Keras 2: batch_input_shape; Keras 3: batch_shape.
  const char* key = f.find("batch_input_shape") ? "batch_input_shape" : "batch_shape";
  const nlohmann::json* s = f.find(key);
  if (!s || !s->is_array() || s->empty()) {
    f.fail("batch_input_shape", "a list [null, d1, d2, ...]");
  }
  Shape shape{-1};  // the batch axis, unknown
  for (std::size_t i = 1; i < s->size(); ++i) {
    const nlohmann::json& d = (*s)[i];
    if (d.is_null()) {  // an unknown dimension (Keras's None), e.g. the time axis of a sequence
      shape.push_back(-1);
      continue;
    }
    if (!d.is_number_integer() || d.get<int64_t>() <= 0 || d.get<int64_t>() >= ConfigFields::kMaxInt) {
      f.fail(key, "a list of positive dimensions or null after the batch axis");
    }
    shape.push_back(d.get<int64_t>());
  }
  f.require_false("sparse");
  f.require_false("ragged");
  DType dtype = f32;
  if (const nlohmann::json* dt = f.find("dtype"); dt && dt->is_string()) {
    std::string dt_name = dt->get<std::string>();
    // The names get_config writes (integer inputs carry token ids, e.g. into an Embedding).
    if (dt_name == "float64") {
      dtype = f64;
    } else if (dt_name == "int32" || dt_name == "int64") {
      dtype = dt_name == "int32" ? i32 : i64;
    } else if (dt_name != "float32") {
      f.fail("dtype", "\"float32\", \"float64\", \"int32\" or \"int64\"");
    }
  }
  return std::make_shared<InputLayer>(shape, f.name(), dtype);
}

SymbolicTensor InputLayer::output() {
  auto d = std::make_shared<SymbolicTensor::Data>();
  d->shape = shape_;
  d->dtype = dtype_;
  d->layer = shared_from_this();
  d->node_index = 0;
  return SymbolicTensor(std::move(d));
}

SymbolicTensor Input(const Shape& shape, std::string name, DType dtype) {
  for (int64_t d : shape) {
    if (d <= 0 && d != -1) {
      throw ShapeError("Input: dimensions must be positive or -1 (unknown, Keras's None), got " + to_string(shape));
    }
  }
  Shape full{-1};
  full.insert(full.end(), shape.begin(), shape.end());
  auto layer = std::make_shared<InputLayer>(full, std::move(name), dtype);
  return layer->output();
}

// ------------------------------------------------------------------ Dense

Dense::Dense(DenseOptions options) : LayerBase("Dense", options.name), opt_(std::move(options)) {
  if (opt_.units <= 0) throw ValueError("Dense: units must be positive, got " + std::to_string(opt_.units));
  if (opt_.activity_regularizer) set_activity_regularizer(opt_.activity_regularizer);
}

void Dense::build(const std::vector<Shape>& shapes) {
  if (shapes.size() != 1) fail<ShapeError>("expected one input, got " + std::to_string(shapes.size()));
  if (shapes[0].size() < 2 || shapes[0].back() <= 0) {
    // An unknown (None) last axis comes from Flatten or Reshape over an unknown time axis.
    detail::throw_input_shape(*this, "of rank >= 2 with a known last axis (it sizes the kernel)", shapes[0]);
  }
  int64_t in = shapes[0].back();
  add_weight("kernel", {in, opt_.units}, opt_.kernel_initializer, true, opt_.kernel_regularizer);
  if (opt_.use_bias) add_weight("bias", {opt_.units}, opt_.bias_initializer, true, opt_.bias_regularizer);
  mark_built(shapes);
}

void Dense::check_input_shapes(const std::vector<Shape>& shapes) const {
  // Like Keras's InputSpec for Dense: only the last axis is fixed.
  const Shape& want = built_input_shapes()[0];
  if (shapes.size() != 1 || shapes[0].size() < 2 || shapes[0].back() != want.back()) {
    fail<ShapeError>("expected input shape " + keras_shape(want) + ", got " +
                     (shapes.empty() ? std::string("no input") : to_string(shapes[0])));
  }
}

Shape Dense::compute_output_shape(const std::vector<Shape>& shapes) {
  check_input_shapes(shapes);
  Shape out = shapes[0];
  out.back() = opt_.units;
  return out;
}

Tensor Dense::call(const std::vector<Tensor>& inputs, bool) {
  Tensor x = detail::single_input(inputs, *this);
  const Tensor& kernel = weights_[0].value();
  // The common case — one dtype, linear or ReLU — is one fused op (ops/fused.hpp).
  if (fusable(opt_.activation) && x.dim() >= 1 && x.dtype() == kernel.dtype() && is_floating(x.dtype())) {
    return fused_dense(x, kernel, opt_.use_bias ? weights_[1].value() : Tensor(), fused_activation(opt_.activation));
  }
  Tensor y = matmul(x, kernel);
  if (opt_.use_bias) y = y + weights_[1].value();
  return apply_activation(opt_.activation, y);
}

nlohmann::json Dense::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["units"] = opt_.units;
  detail::write_weighted_fields(c, opt_);
  return c;
}

LayerPtr Dense::from_config(const nlohmann::json& config) {
  LayerFields f(config, "Dense");
  DenseOptions o{.units = f.positive("units")};
  detail::read_weighted_fields(f, o);
  return std::make_shared<Dense>(std::move(o));
}

// ------------------------------------------------------------------ Activation, Flatten

ActivationLayer::ActivationLayer(Activation activation, std::string name)
    : LayerBase("Activation", std::move(name)), activation_(activation) {}

ActivationLayer::ActivationLayer(const std::string& activation, std::string name)
    : ActivationLayer(activation_from_name(activation), std::move(name)) {}

Tensor ActivationLayer::call(const std::vector<Tensor>& inputs, bool) {
  return apply_activation(activation_, detail::single_input(inputs, *this));
}

Shape ActivationLayer::compute_output_shape(const std::vector<Shape>& shapes) {
  check_input_shapes(shapes);
  return shapes[0];
}

nlohmann::json ActivationLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["activation"] = activation_name(activation_);
  return c;
}

LayerPtr ActivationLayer::from_config(const nlohmann::json& config) {
  LayerFields f(config, "Activation");
  if (!f.find("activation")) f.fail("activation", "the name of an activation");
  return std::make_shared<ActivationLayer>(f.activation("activation"), f.name());
}

Flatten::Flatten(std::string name) : LayerBase("Flatten", std::move(name)) {}

Shape Flatten::compute_output_shape(const std::vector<Shape>& shapes) {
  check_input_shapes(shapes);
  const Shape& in = shapes[0];
  if (in.empty()) fail<ShapeError>("expected a batch axis, got a 0-d input");
  Shape rest(in.begin() + 1, in.end());
  for (int64_t d : rest) {
    if (d < 0) return {in[0], -1};  // Keras: an unknown axis makes the flattened size unknown
  }
  return {in[0], checked_product(*this, rest, "input " + keras_shape(in))};
}

Tensor Flatten::call(const std::vector<Tensor>& inputs, bool) {
  Tensor x = detail::single_input(inputs, *this);
  if (x.dim() < 1) fail<ShapeError>("expected a batch axis, got a 0-d tensor");
  return reshape(x, {x.size(0), x.numel() / std::max<int64_t>(x.size(0), 1)});
}

nlohmann::json Flatten::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["data_format"] = "channels_last";
  return c;
}

LayerPtr Flatten::from_config(const nlohmann::json& config) {
  LayerFields f(config, "Flatten");
  f.channels_last();
  return std::make_shared<Flatten>(f.name());
}

// ------------------------------------------------------------------ ReLU, Softmax

ReLU::ReLU(ReLUOptions options) : LayerBase("ReLU", options.name), opt_(std::move(options)) {
  auto check = [&](const char* what, double v) {
    if (!std::isfinite(v) || v < 0) fail<ValueError>(std::string(what) + " must be a finite number >= 0, got " + std::to_string(v));
  };
  if (opt_.max_value) check("max_value", *opt_.max_value);
  check("negative_slope", opt_.negative_slope);
  check("threshold", opt_.threshold);
}

void ReLU::check_input_shapes(const std::vector<Shape>& shapes) const {
  if (shapes.size() != 1) fail<ShapeError>("expected one input, got " + std::to_string(shapes.size()));
}

Shape ReLU::compute_output_shape(const std::vector<Shape>& shapes) {
  check_input_shapes(shapes);
  return shapes[0];
}

Tensor ReLU::call(const std::vector<Tensor>& inputs, bool) {
  const Tensor& x = detail::single_input(inputs, *this);
  // Keras's composition (backend.relu): the part above the threshold, clipped to max_value, minus
  // negative_slope times the part below it.
  Tensor y;
  if (opt_.threshold == 0) {
    y = relu(x);
  } else {
    y = where(greater(x, scalar_like(opt_.threshold, x)), x, zeros_like(x));
  }
  if (opt_.max_value) y = minimum(y, scalar_like(*opt_.max_value, y));
  if (opt_.negative_slope != 0) y = y - relu(scalar_like(opt_.threshold, x) - x) * opt_.negative_slope;
  return y;
}

nlohmann::json ReLU::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["max_value"] = opt_.max_value ? nlohmann::json(*opt_.max_value) : nlohmann::json(nullptr);
  c["negative_slope"] = opt_.negative_slope;
  c["threshold"] = opt_.threshold;
  return c;
}

LayerPtr ReLU::from_config(const nlohmann::json& config) {
  LayerFields f(config, "ReLU");
  return std::make_shared<ReLU>(ReLUOptions{.max_value = f.optional_number("max_value"),
                                            .negative_slope = f.number("negative_slope", 0.0),
                                            .threshold = f.number("threshold", 0.0),
                                            .name = f.name()});
}

Softmax::Softmax(SoftmaxOptions options) : LayerBase("Softmax", options.name), opt_(std::move(options)) {
  if (opt_.axis == 0) fail<ValueError>("cannot take the softmax along the batch axis 0");
}

void Softmax::check_input_shapes(const std::vector<Shape>& shapes) const {
  if (shapes.size() != 1) fail<ShapeError>("expected one input, got " + std::to_string(shapes.size()));
  const int64_t r = static_cast<int64_t>(shapes[0].size());
  const int64_t a = opt_.axis < 0 ? opt_.axis + r : opt_.axis;
  if (a < 1 || a >= r) {
    fail<ShapeError>("axis " + std::to_string(opt_.axis) + " is not a non-batch axis of input " + keras_shape(shapes[0]));
  }
}

Shape Softmax::compute_output_shape(const std::vector<Shape>& shapes) {
  check_input_shapes(shapes);
  return shapes[0];
}

Tensor Softmax::call(const std::vector<Tensor>& inputs, bool) {
  const Tensor& x = detail::single_input(inputs, *this);
  check_input_shapes(shape_list(x.shape()));
  return softmax(x, opt_.axis);
}

nlohmann::json Softmax::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["axis"] = opt_.axis;
  return c;
}

LayerPtr Softmax::from_config(const nlohmann::json& config) {
  LayerFields f(config, "Softmax");
  int64_t axis = -1;
  // Keras 2 also accepts a list of axes; one axis is what Ember computes.
  if (const nlohmann::json* a = f.find("axis"); a && a->is_array()) {
    if (a->size() != 1) f.fail("axis", "an integer axis or a list of one axis");
    axis = f.ints("axis", 1, std::nullopt, -ConfigFields::kMaxInt)[0];
  } else {
    axis = f.integer("axis", -1);
  }
  return std::make_shared<Softmax>(SoftmaxOptions{.axis = axis, .name = f.name()});
}

}  // namespace ember::nn
