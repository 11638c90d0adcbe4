#include "ember/nn/layers/core.hpp"

#include "ember/ops/elementwise.hpp"
#include "ember/ops/linalg.hpp"
#include "ember/ops/shape.hpp"

namespace ember::nn {

namespace {
const char* dtype_keras(DType dt) { return dt == f64 ? "float64" : dt == i32 ? "int32" : dt == i64 ? "int64" : "float32"; }

Tensor single_input(const std::vector<Tensor>& inputs, const std::string& layer) {
  if (inputs.size() != 1) {
    throw ValueError("layer '" + layer + "' expects one input, got " + std::to_string(inputs.size()));
  }
  return inputs[0];
}
}  // namespace

// ------------------------------------------------------------------ Input

InputLayer::InputLayer(const Shape& shape_with_batch, std::string name, DType dtype)
    : LayerBase("InputLayer", std::move(name)), shape_(shape_with_batch), dtype_(dtype) {
  mark_built({shape_});
}

Tensor InputLayer::call(const std::vector<Tensor>& inputs, bool) { return single_input(inputs, name()); }

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
    if (d <= 0) throw ShapeError("Input: dimensions must be positive, got " + to_string(shape));
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
  if (shapes.size() != 1 || shapes[0].size() < 2 || shapes[0].back() <= 0) {
    throw ShapeError("layer '" + name() + "' (Dense): expected one input of rank >= 2 with a known last axis, got " +
                     (shapes.empty() ? std::string("no input") : to_string(shapes[0])));
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
    throw ShapeError("layer '" + name() + "' (Dense): expected input shape " + keras_shape(want) + ", got " +
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
  Tensor x = single_input(inputs, name());
  Tensor y = matmul(x, weights_[0].value());
  if (opt_.use_bias) y = y + weights_[1].value();
  return apply_activation(opt_.activation, y);
}

nlohmann::json Dense::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["units"] = opt_.units;
  c["activation"] = activation_name(opt_.activation);
  c["use_bias"] = opt_.use_bias;
  c["kernel_initializer"] = {{"class_name", opt_.kernel_initializer->class_name()},
                             {"config", opt_.kernel_initializer->get_config()}};
  c["bias_initializer"] = {{"class_name", opt_.bias_initializer->class_name()},
                           {"config", opt_.bias_initializer->get_config()}};
  auto reg = [](const RegularizerPtr& r) {
    return r ? nlohmann::json{{"class_name", r->class_name()}, {"config", r->get_config()}} : nlohmann::json(nullptr);
  };
  c["kernel_regularizer"] = reg(opt_.kernel_regularizer);
  c["bias_regularizer"] = reg(opt_.bias_regularizer);
  c["activity_regularizer"] = reg(opt_.activity_regularizer);
  c["kernel_constraint"] = nullptr;
  c["bias_constraint"] = nullptr;
  return c;
}

// ------------------------------------------------------------------ Activation, Flatten

ActivationLayer::ActivationLayer(Activation activation, std::string name)
    : LayerBase("Activation", std::move(name)), activation_(activation) {}

ActivationLayer::ActivationLayer(const std::string& activation, std::string name)
    : ActivationLayer(activation_from_name(activation), std::move(name)) {}

Tensor ActivationLayer::call(const std::vector<Tensor>& inputs, bool) {
  return apply_activation(activation_, single_input(inputs, name()));
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

Flatten::Flatten(std::string name) : LayerBase("Flatten", std::move(name)) {}

Shape Flatten::compute_output_shape(const std::vector<Shape>& shapes) {
  check_input_shapes(shapes);
  const Shape& in = shapes[0];
  if (in.empty()) throw ShapeError("layer '" + name() + "' (Flatten): expected a batch axis, got a 0-d input");
  Shape rest(in.begin() + 1, in.end());
  for (int64_t d : rest) {
    if (d < 0) return {in[0], -1};  // Keras: an unknown axis makes the flattened size unknown
  }
  return {in[0], checked_product(*this, rest, "input " + keras_shape(in))};
}

Tensor Flatten::call(const std::vector<Tensor>& inputs, bool) {
  Tensor x = single_input(inputs, name());
  if (x.dim() < 1) throw ShapeError("layer '" + name() + "' (Flatten): expected a batch axis, got a 0-d tensor");
  return reshape(x, {x.size(0), x.numel() / std::max<int64_t>(x.size(0), 1)});
}

}  // namespace ember::nn
