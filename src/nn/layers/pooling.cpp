#include "ember/nn/layers/pooling.hpp"

#include <nlohmann/json.hpp>

#include "ember/nn/layer_fields.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/pool.hpp"
#include "ember/ops/reduce.hpp"
#include "ember/ops/shape.hpp"

namespace ember::nn {

namespace {

using detail::check_positive;
using detail::throw_input_shape;

// Pooling layers fix only the rank (Keras InputSpec(ndim=...)).
void check_rank(const Layer& layer, const std::vector<Shape>& shapes, std::size_t rank) {
  if (shapes.size() != 1) {
    layer.fail<ShapeError>("expected one input, got " + std::to_string(shapes.size()));
  }
  if (shapes[0].size() != rank) {
    const char* spec = rank == 4 ? "(batch, height, width, channels)" : "(batch, steps, channels)";
    throw_input_shape(layer, "of rank " + std::to_string(rank) + " " + spec, shapes[0]);
  }
}

int64_t pooled_length(const Layer& layer, const Shape& in, int axis, int64_t window, int64_t stride, Padding padding) {
  int64_t out = detail::window_output_length(in[axis], window, stride, 1, padding);
  if (out == 0) {
    layer.fail<ShapeError>("input " + keras_shape(in) + " is smaller than the pool window (" + std::to_string(window) +
                           ") along axis " + std::to_string(axis) + " with 'valid' padding");
  }
  return out;
}

}  // namespace

// ------------------------------------------------------------------ 2-D window pooling

Pooling2D::Pooling2D(std::string class_name, Pooling2DOptions options)
    : Layer(std::move(class_name), options.name), opt_(std::move(options)) {
  for (int i = 0; i < 2; ++i) {
    check_positive(*this, "pool_size", opt_.pool_size[i]);
    check_positive(*this, "strides", strides()[i]);
  }
}

void Pooling2D::check_input_shapes(const std::vector<Shape>& shapes) const { check_rank(*this, shapes, 4); }

Shape Pooling2D::compute_output_shape(const std::vector<Shape>& shapes) {
  check_rank(*this, shapes, 4);
  const Shape& in = shapes[0];
  auto s = strides();
  return {in[0], pooled_length(*this, in, 1, opt_.pool_size[0], s[0], opt_.padding),
          pooled_length(*this, in, 2, opt_.pool_size[1], s[1], opt_.padding), in[3]};
}

nlohmann::json Pooling2D::get_config() const {
  nlohmann::json c = Layer::get_config();
  auto s = strides();
  c["pool_size"] = nlohmann::json::array({opt_.pool_size[0], opt_.pool_size[1]});
  c["padding"] = detail::padding_name(opt_.padding);
  c["strides"] = nlohmann::json::array({s[0], s[1]});  // Keras stores the effective strides
  c["data_format"] = "channels_last";
  return c;
}

Pooling2DOptions Pooling2D::options_from_config(const nlohmann::json& config, const std::string& class_name) {
  LayerFields f(config, class_name);
  f.channels_last();
  auto p = f.ints("pool_size", 2, 2);
  Pooling2DOptions o{.pool_size = {p[0], p[1]}, .padding = f.padding("padding"), .name = f.name()};
  if (f.find("strides")) {
    auto st = f.ints("strides", 2, std::nullopt);
    o.strides = std::array<int64_t, 2>{st[0], st[1]};
  }
  return o;
}

MaxPooling2D::MaxPooling2D(Pooling2DOptions options) : Pooling2D("MaxPooling2D", std::move(options)) {}

LayerPtr MaxPooling2D::from_config(const nlohmann::json& config) {
  return std::make_shared<MaxPooling2D>(options_from_config(config, "MaxPooling2D"));
}

Tensor MaxPooling2D::call(const std::vector<Tensor>& inputs, bool) {
  const Tensor& x = detail::single_input(inputs, *this);
  compute_output_shape(shape_list(x.shape()));  // the layer's own message for a window that does not fit
  return max_pool2d(x, pool_options());
}

LayerPtr MaxPooling2D::move_into_shared() && { return std::make_shared<MaxPooling2D>(std::move(*this)); }

AveragePooling2D::AveragePooling2D(Pooling2DOptions options) : Pooling2D("AveragePooling2D", std::move(options)) {}

LayerPtr AveragePooling2D::from_config(const nlohmann::json& config) {
  return std::make_shared<AveragePooling2D>(options_from_config(config, "AveragePooling2D"));
}

Tensor AveragePooling2D::call(const std::vector<Tensor>& inputs, bool) {
  const Tensor& x = detail::single_input(inputs, *this);
  compute_output_shape(shape_list(x.shape()));
  return avg_pool2d(x, pool_options());
}

LayerPtr AveragePooling2D::move_into_shared() && { return std::make_shared<AveragePooling2D>(std::move(*this)); }

// ------------------------------------------------------------------ 1-D window pooling

Pooling1D::Pooling1D(std::string class_name, Pooling1DOptions options)
    : Layer(std::move(class_name), options.name), opt_(std::move(options)) {
  check_positive(*this, "pool_size", opt_.pool_size);
  check_positive(*this, "strides", strides());
}

void Pooling1D::check_input_shapes(const std::vector<Shape>& shapes) const { check_rank(*this, shapes, 3); }

Shape Pooling1D::compute_output_shape(const std::vector<Shape>& shapes) {
  check_rank(*this, shapes, 3);
  const Shape& in = shapes[0];
  return {in[0], pooled_length(*this, in, 1, opt_.pool_size, strides(), opt_.padding), in[2]};
}

nlohmann::json Pooling1D::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["strides"] = nlohmann::json::array({strides()});
  c["pool_size"] = nlohmann::json::array({opt_.pool_size});
  c["padding"] = detail::padding_name(opt_.padding);
  c["data_format"] = "channels_last";
  return c;
}

Pooling1DOptions Pooling1D::options_from_config(const nlohmann::json& config, const std::string& class_name) {
  LayerFields f(config, class_name);
  f.channels_last();
  Pooling1DOptions o{.pool_size = f.ints("pool_size", 1, 2)[0], .padding = f.padding("padding"), .name = f.name()};
  if (f.find("strides")) o.strides = f.ints("strides", 1, std::nullopt)[0];
  return o;
}

MaxPooling1D::MaxPooling1D(Pooling1DOptions options) : Pooling1D("MaxPooling1D", std::move(options)) {}

LayerPtr MaxPooling1D::from_config(const nlohmann::json& config) {
  return std::make_shared<MaxPooling1D>(options_from_config(config, "MaxPooling1D"));
}

Tensor MaxPooling1D::call(const std::vector<Tensor>& inputs, bool) {
  const Tensor& x = detail::single_input(inputs, *this);
  compute_output_shape(shape_list(x.shape()));
  return max_pool1d(x, opt_.pool_size, strides(), opt_.padding);
}

LayerPtr MaxPooling1D::move_into_shared() && { return std::make_shared<MaxPooling1D>(std::move(*this)); }

AveragePooling1D::AveragePooling1D(Pooling1DOptions options) : Pooling1D("AveragePooling1D", std::move(options)) {}

LayerPtr AveragePooling1D::from_config(const nlohmann::json& config) {
  return std::make_shared<AveragePooling1D>(options_from_config(config, "AveragePooling1D"));
}

Tensor AveragePooling1D::call(const std::vector<Tensor>& inputs, bool) {
  const Tensor& x = detail::single_input(inputs, *this);
  compute_output_shape(shape_list(x.shape()));
  return avg_pool1d(x, opt_.pool_size, strides(), opt_.padding);
}

LayerPtr AveragePooling1D::move_into_shared() && { return std::make_shared<AveragePooling1D>(std::move(*this)); }

// ------------------------------------------------------------------ global pooling

GlobalPooling::GlobalPooling(std::string class_name, std::string name, std::size_t rank, Op op)
    : Layer(std::move(class_name), std::move(name)), rank_(rank), op_(op) {}

void GlobalPooling::check_input_shapes(const std::vector<Shape>& shapes) const { check_rank(*this, shapes, rank_); }

Shape GlobalPooling::compute_output_shape(const std::vector<Shape>& shapes) {
  check_rank(*this, shapes, rank_);
  return {shapes[0][0], shapes[0].back()};
}

Tensor GlobalPooling::call(const std::vector<Tensor>& inputs, bool) {
  const Tensor& x = detail::single_input(inputs, *this);
  check_rank(*this, shape_list(x.shape()), rank_);
  return op_(x);
}

nlohmann::json GlobalPooling::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["data_format"] = "channels_last";
  c["keepdims"] = false;
  return c;
}

std::string GlobalPooling::name_from_config(const nlohmann::json& config, const std::string& class_name) {
  LayerFields f(config, class_name);
  f.channels_last();
  f.require_false("keepdims");
  return f.name();
}

GlobalAveragePooling2D::GlobalAveragePooling2D(std::string name)
    : GlobalPooling("GlobalAveragePooling2D", std::move(name), 4, global_avg_pool2d) {}
LayerPtr GlobalAveragePooling2D::from_config(const nlohmann::json& config) {
  return std::make_shared<GlobalAveragePooling2D>(name_from_config(config, "GlobalAveragePooling2D"));
}
LayerPtr GlobalAveragePooling2D::move_into_shared() && {
  return std::make_shared<GlobalAveragePooling2D>(std::move(*this));
}

GlobalMaxPooling2D::GlobalMaxPooling2D(std::string name)
    : GlobalPooling("GlobalMaxPooling2D", std::move(name), 4, global_max_pool2d) {}
LayerPtr GlobalMaxPooling2D::from_config(const nlohmann::json& config) {
  return std::make_shared<GlobalMaxPooling2D>(name_from_config(config, "GlobalMaxPooling2D"));
}
LayerPtr GlobalMaxPooling2D::move_into_shared() && { return std::make_shared<GlobalMaxPooling2D>(std::move(*this)); }

GlobalAveragePooling1D::GlobalAveragePooling1D(std::string name)
    : GlobalPooling("GlobalAveragePooling1D", std::move(name), 3, global_avg_pool1d) {}
LayerPtr GlobalAveragePooling1D::from_config(const nlohmann::json& config) {
  return std::make_shared<GlobalAveragePooling1D>(name_from_config(config, "GlobalAveragePooling1D"));
}
LayerPtr GlobalAveragePooling1D::move_into_shared() && {
  return std::make_shared<GlobalAveragePooling1D>(std::move(*this));
}

Tensor GlobalAveragePooling1D::call(const std::vector<Tensor>& inputs, bool training) {
  if (!call_mask_.defined()) return GlobalPooling::call(inputs, training);
  const Tensor& x = detail::single_input(inputs, *this);
  if (call_mask_.shape() != Shape{x.size(0), x.size(1)}) {
    fail<ShapeError>("expected a mask of shape " + to_string(Shape{x.size(0), x.size(1)}) + " for input " +
                     to_string(x.shape()) + ", got " + to_string(call_mask_.shape()));
  }
  Tensor m = unsqueeze(call_mask_.detach().to(x.dtype()), 2);  // [N, steps, 1]
  return sum(x * m, {1}) / sum(m, {1});
}

Tensor GlobalAveragePooling1D::call_masked(const Tensor& x, const Tensor& mask, bool training) {
  return call_with_mask(call_mask_, x, mask, training);
}

GlobalMaxPooling1D::GlobalMaxPooling1D(std::string name)
    : GlobalPooling("GlobalMaxPooling1D", std::move(name), 3, global_max_pool1d) {}
LayerPtr GlobalMaxPooling1D::from_config(const nlohmann::json& config) {
  return std::make_shared<GlobalMaxPooling1D>(name_from_config(config, "GlobalMaxPooling1D"));
}
LayerPtr GlobalMaxPooling1D::move_into_shared() && { return std::make_shared<GlobalMaxPooling1D>(std::move(*this)); }

}  // namespace ember::nn
