#include "ember/nn/layers/conv.hpp"

#include <nlohmann/json.hpp>
#include <optional>

#include "ember/nn/layer_fields.hpp"
#include "ember/ops/conv.hpp"
#include "weighted_fields.hpp"

namespace ember::nn {

// ------------------------------------------------------------------ shared helpers

namespace detail {

int64_t window_span(int64_t window, int64_t dilation) {
  int64_t span = 0;
  if (__builtin_mul_overflow(window - 1, dilation, &span) || span == INT64_MAX) return INT64_MAX;
  return span + 1;
}

int64_t window_output_length(int64_t in, int64_t window, int64_t stride, int64_t dilation, Padding padding) {
  if (in < 0) return -1;
  // ceil(in / stride) without forming in + stride - 1, which overflows for in near INT64_MAX.
  if (padding == Padding::Same) return in / stride + (in % stride != 0 ? 1 : 0);
  int64_t span = window_span(window, dilation);
  if (in < span) return 0;
  return (in - span) / stride + 1;
}

const char* padding_name(Padding p) { return p == Padding::Same ? "same" : "valid"; }

nlohmann::json initializer_json(const InitializerPtr& init) {
  return {{"class_name", init->class_name()}, {"config", init->get_config()}};
}

nlohmann::json regularizer_json(const RegularizerPtr& reg) {
  return reg ? nlohmann::json{{"class_name", reg->class_name()}, {"config", reg->get_config()}}
             : nlohmann::json(nullptr);
}

const Tensor& single_input(const std::vector<Tensor>& inputs, const Layer& layer) {
  if (inputs.size() != 1) {
    layer.fail<ValueError>("expected one input, got " + std::to_string(inputs.size()));
  }
  return inputs[0];
}

void throw_input_shape(const Layer& layer, const std::string& want, const Shape& got) {
  layer.fail<ShapeError>("expected input shape " + want + ", got " + keras_shape(got));
}

void check_positive(const Layer& layer, const char* what, int64_t v) {
  if (v < 1) layer.fail<ValueError>(std::string(what) + " must be >= 1, got " + std::to_string(v));
}

}  // namespace detail

namespace {

using detail::check_positive;
using detail::throw_input_shape;

// Keras's Conv rejects strides > 1 together with a dilation > 1.
void check_stride_dilation(const Layer& layer, int64_t stride, int64_t dilation) {
  if (stride > 1 && dilation > 1) {
    layer.fail<ValueError>("strides > 1 are not supported together with dilation_rate > 1 (as Keras), got strides " +
                           std::to_string(stride) + " and dilation_rate " + std::to_string(dilation));
  }
}

// "(None, None, None, 3)": rank `rank` with only the channel axis fixed.
std::string channels_spec(std::size_t rank, int64_t channels) {
  Shape s(rank, -1);
  s.back() = channels;
  return keras_shape(s);
}

// One input of rank `rank` with a known channel count, for build().
void check_build_shape(const Layer& layer, const std::vector<Shape>& shapes, std::size_t rank) {
  if (shapes.size() != 1) {
    layer.fail<ShapeError>("expected one input, got " + std::to_string(shapes.size()));
  }
  if (shapes[0].size() != rank || shapes[0].back() <= 0) {
    throw_input_shape(layer, "of rank " + std::to_string(rank) + " with a known channel axis", shapes[0]);
  }
}

// After build: same rank and channel count as the built shape; other axes free.
void check_channels(const Layer& layer, const std::vector<Shape>& shapes) {
  const Shape& want = layer.built_input_shapes()[0];
  if (shapes.size() != 1) {
    layer.fail<ShapeError>("expected one input, got " + std::to_string(shapes.size()));
  }
  const Shape& got = shapes[0];
  if (got.size() != want.size() || (got.back() >= 0 && got.back() != want.back())) {
    throw_input_shape(layer, channels_spec(want.size(), want.back()), got);
  }
}

// Output spatial length, or ShapeError when the window does not fit the input.
int64_t spatial_out(const Layer& layer, const Shape& in, int64_t axis_in, int64_t window, int64_t stride,
                    int64_t dilation, Padding padding) {
  int64_t out = detail::window_output_length(in[axis_in], window, stride, dilation, padding);
  if (out == 0) {
    layer.fail<ShapeError>("input " + keras_shape(in) + " is smaller than the window (" +
                           std::to_string(detail::window_span(window, dilation)) + ") along axis " +
                           std::to_string(axis_in) + " with 'valid' padding");
  }
  return out;
}

// The fields Conv1D and Conv2D write alike beyond the weighted-layer ones.
void write_conv_fields(nlohmann::json& c, Padding padding) {
  c["padding"] = detail::padding_name(padding);
  c["data_format"] = "channels_last";
  c["groups"] = 1;
}

// The checks every Conv*D constructor makes of its window options.
void check_window(const Layer& layer, const std::array<int64_t, 2>& kernel_size, const std::array<int64_t, 2>& strides,
                  const std::array<int64_t, 2>& dilation_rate) {
  for (int i = 0; i < 2; ++i) {
    check_positive(layer, "kernel_size", kernel_size[i]);
    check_positive(layer, "strides", strides[i]);
    check_positive(layer, "dilation_rate", dilation_rate[i]);
    check_stride_dilation(layer, strides[i], dilation_rate[i]);
  }
}

nlohmann::json pair_json(const std::array<int64_t, 2>& a) { return nlohmann::json::array({a[0], a[1]}); }

// The 2-D window fields of a config: kernel_size (required), strides and dilation_rate (default 1).
template <typename Options>
void read_window_fields(const LayerFields& f, Options& o) {
  auto pair = [&](const char* key, std::optional<int64_t> fallback) {
    auto v = f.ints(key, 2, fallback);
    return std::array<int64_t, 2>{v[0], v[1]};
  };
  o.kernel_size = pair("kernel_size", std::nullopt);
  o.strides = pair("strides", 1);
  o.padding = f.padding("padding");
  o.dilation_rate = pair("dilation_rate", 1);
}

template <typename Options>
void write_window_fields(nlohmann::json& c, const Options& o) {
  c["kernel_size"] = pair_json(o.kernel_size);
  c["strides"] = pair_json(o.strides);
  c["dilation_rate"] = pair_json(o.dilation_rate);
  write_conv_fields(c, o.padding);
}

// The output shape of a 2-D window layer with `channels` output channels.
template <typename Options>
Shape conv2d_output_shape(const Layer& layer, const Shape& in, const Options& o, int64_t channels) {
  return {in[0], spatial_out(layer, in, 1, o.kernel_size[0], o.strides[0], o.dilation_rate[0], o.padding),
          spatial_out(layer, in, 2, o.kernel_size[1], o.strides[1], o.dilation_rate[1], o.padding), channels};
}

// What Conv1D and Conv2D accept of those: channels_last and one group.
void read_conv_fields(const LayerFields& f) {
  f.channels_last();
  f.require_int("groups", 1);
}

}  // namespace

// ------------------------------------------------------------------ Conv2D

Conv2D::Conv2D(Conv2DOptions options) : LayerBase("Conv2D", options.name), opt_(std::move(options)) {
  check_positive(*this, "filters", opt_.filters);
  check_window(*this, opt_.kernel_size, opt_.strides, opt_.dilation_rate);
  if (!opt_.kernel_initializer || (opt_.use_bias && !opt_.bias_initializer)) {
    fail<ValueError>("kernel_initializer and bias_initializer must be set");
  }
  if (opt_.activity_regularizer) set_activity_regularizer(opt_.activity_regularizer);
}

void Conv2D::build(const std::vector<Shape>& shapes) {
  check_build_shape(*this, shapes, 4);
  int64_t cin = shapes[0][3];
  add_weight("kernel", {opt_.kernel_size[0], opt_.kernel_size[1], cin, opt_.filters}, opt_.kernel_initializer, true,
             opt_.kernel_regularizer);
  if (opt_.use_bias) add_weight("bias", {opt_.filters}, opt_.bias_initializer, true, opt_.bias_regularizer);
  mark_built(shapes);
}

void Conv2D::check_input_shapes(const std::vector<Shape>& shapes) const { check_channels(*this, shapes); }

Shape Conv2D::compute_output_shape(const std::vector<Shape>& shapes) {
  check_channels(*this, shapes);
  return conv2d_output_shape(*this, shapes[0], opt_, opt_.filters);
}

Tensor Conv2D::call(const std::vector<Tensor>& inputs, bool) {
  const Tensor& x = detail::single_input(inputs, *this);
  compute_output_shape(shape_list(x.shape()));  // the layer's own message for a window that does not fit
  const Conv2dOptions conv{.strides = opt_.strides, .padding = opt_.padding, .dilation = opt_.dilation_rate};
  const Tensor& filter = weights_[0].value();
  // The common case — one dtype, linear or ReLU — is one fused op (ops/fused.hpp).
  if (fusable(opt_.activation) && x.dtype() == filter.dtype()) {
    return fused_conv2d(x, filter, opt_.use_bias ? weights_[1].value() : Tensor(), conv,
                        fused_activation(opt_.activation));
  }
  Tensor y = conv2d(x, filter, conv);
  if (opt_.use_bias) y = bias_add(y, weights_[1].value());
  return apply_activation(opt_.activation, y);
}

nlohmann::json Conv2D::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["filters"] = opt_.filters;
  write_window_fields(c, opt_);
  detail::write_weighted_fields(c, opt_);
  return c;
}

LayerPtr Conv2D::from_config(const nlohmann::json& config) {
  LayerFields f(config, "Conv2D");
  read_conv_fields(f);
  Conv2DOptions o{.filters = f.positive("filters")};
  read_window_fields(f, o);
  detail::read_weighted_fields(f, o);
  return std::make_shared<Conv2D>(std::move(o));
}

// ------------------------------------------------------------------ Conv1D

Conv1D::Conv1D(Conv1DOptions options) : LayerBase("Conv1D", options.name), opt_(std::move(options)) {
  check_positive(*this, "filters", opt_.filters);
  check_positive(*this, "kernel_size", opt_.kernel_size);
  check_positive(*this, "strides", opt_.strides);
  check_positive(*this, "dilation_rate", opt_.dilation_rate);
  check_stride_dilation(*this, opt_.strides, opt_.dilation_rate);
  if (!opt_.kernel_initializer || (opt_.use_bias && !opt_.bias_initializer)) {
    fail<ValueError>("kernel_initializer and bias_initializer must be set");
  }
  if (opt_.activity_regularizer) set_activity_regularizer(opt_.activity_regularizer);
}

void Conv1D::build(const std::vector<Shape>& shapes) {
  check_build_shape(*this, shapes, 3);
  add_weight("kernel", {opt_.kernel_size, shapes[0][2], opt_.filters}, opt_.kernel_initializer, true,
             opt_.kernel_regularizer);
  if (opt_.use_bias) add_weight("bias", {opt_.filters}, opt_.bias_initializer, true, opt_.bias_regularizer);
  mark_built(shapes);
}

void Conv1D::check_input_shapes(const std::vector<Shape>& shapes) const { check_channels(*this, shapes); }

Shape Conv1D::compute_output_shape(const std::vector<Shape>& shapes) {
  check_channels(*this, shapes);
  const Shape& in = shapes[0];
  return {in[0], spatial_out(*this, in, 1, opt_.kernel_size, opt_.strides, opt_.dilation_rate, opt_.padding),
          opt_.filters};
}

Tensor Conv1D::call(const std::vector<Tensor>& inputs, bool) {
  const Tensor& x = detail::single_input(inputs, *this);
  compute_output_shape(shape_list(x.shape()));
  Tensor y = conv1d(x, weights_[0].value(),
                    {.stride = opt_.strides, .padding = opt_.padding, .dilation = opt_.dilation_rate});
  if (opt_.use_bias) y = bias_add(y, weights_[1].value());
  return apply_activation(opt_.activation, y);
}

nlohmann::json Conv1D::get_config() const {
  auto one = [](int64_t v) { return nlohmann::json::array({v}); };
  nlohmann::json c = Layer::get_config();
  c["filters"] = opt_.filters;
  c["kernel_size"] = one(opt_.kernel_size);
  c["strides"] = one(opt_.strides);
  c["dilation_rate"] = one(opt_.dilation_rate);
  write_conv_fields(c, opt_.padding);
  detail::write_weighted_fields(c, opt_);
  return c;
}

LayerPtr Conv1D::from_config(const nlohmann::json& config) {
  LayerFields f(config, "Conv1D");
  read_conv_fields(f);
  if (f.string("padding", "valid") == "causal")
    f.fail("padding", "\"valid\" or \"same\" (causal padding is not supported)");
  Conv1DOptions o{.filters = f.positive("filters"),
                  .kernel_size = f.ints("kernel_size", 1, std::nullopt)[0],
                  .strides = f.ints("strides", 1, 1)[0],
                  .padding = f.padding("padding"),
                  .dilation_rate = f.ints("dilation_rate", 1, 1)[0]};
  detail::read_weighted_fields(f, o);
  return std::make_shared<Conv1D>(std::move(o));
}

// ------------------------------------------------------------------ DepthwiseConv2D, SeparableConv2D

namespace {

// The depthwise part both layers share: options checks, the weight, the fields.
template <typename Options>
void check_depthwise_options(const Layer& layer, const Options& o) {
  check_window(layer, o.kernel_size, o.strides, o.dilation_rate);
  check_positive(layer, "depth_multiplier", o.depth_multiplier);
  if (!o.depthwise_initializer || (o.use_bias && !o.bias_initializer)) {
    layer.fail<ValueError>("depthwise_initializer and bias_initializer must be set");
  }
}

template <typename Options>
void write_depthwise_fields(nlohmann::json& c, const Options& o) {
  write_window_fields(c, o);
  c["depth_multiplier"] = o.depth_multiplier;
  c["activation"] = activation_name(o.activation);
  c["use_bias"] = o.use_bias;
  c["depthwise_initializer"] = detail::initializer_json(o.depthwise_initializer);
  c["bias_initializer"] = detail::initializer_json(o.bias_initializer);
  c["depthwise_regularizer"] = detail::regularizer_json(o.depthwise_regularizer);
  c["bias_regularizer"] = detail::regularizer_json(o.bias_regularizer);
  c["activity_regularizer"] = detail::regularizer_json(o.activity_regularizer);
  c["depthwise_constraint"] = nullptr;
  c["bias_constraint"] = nullptr;
}

template <typename Options>
void read_depthwise_fields(const LayerFields& f, Options& o) {
  read_conv_fields(f);
  read_window_fields(f, o);
  f.no_constraints({"depthwise_constraint", "bias_constraint"});
  o.depth_multiplier = f.positive("depth_multiplier", 1);
  o.activation = f.activation("activation");
  o.use_bias = f.boolean("use_bias", true);
  o.depthwise_initializer = f.initializer("depthwise_initializer", "glorot_uniform");
  o.bias_initializer = f.initializer("bias_initializer", "zeros");
  o.depthwise_regularizer = f.regularizer("depthwise_regularizer");
  o.bias_regularizer = f.regularizer("bias_regularizer");
  o.activity_regularizer = f.regularizer("activity_regularizer");
  o.name = f.name();
}

template <typename Options>
DepthwiseConv2dOptions depthwise_op_options(const Options& o) {
  return {.strides = o.strides, .padding = o.padding, .dilation = o.dilation_rate};
}

}  // namespace

DepthwiseConv2D::DepthwiseConv2D(DepthwiseConv2DOptions options)
    : LayerBase("DepthwiseConv2D", options.name), opt_(std::move(options)) {
  check_depthwise_options(*this, opt_);
  if (opt_.activity_regularizer) set_activity_regularizer(opt_.activity_regularizer);
}

void DepthwiseConv2D::build(const std::vector<Shape>& shapes) {
  check_build_shape(*this, shapes, 4);
  const int64_t cin = shapes[0][3];
  add_weight("depthwise_kernel", {opt_.kernel_size[0], opt_.kernel_size[1], cin, opt_.depth_multiplier},
             opt_.depthwise_initializer, true, opt_.depthwise_regularizer);
  if (opt_.use_bias) {
    add_weight("bias", {cin * opt_.depth_multiplier}, opt_.bias_initializer, true, opt_.bias_regularizer);
  }
  mark_built(shapes);
}

void DepthwiseConv2D::check_input_shapes(const std::vector<Shape>& shapes) const { check_channels(*this, shapes); }

Shape DepthwiseConv2D::compute_output_shape(const std::vector<Shape>& shapes) {
  check_channels(*this, shapes);
  const Shape& in = shapes[0];
  return conv2d_output_shape(*this, in, opt_, in[3] < 0 ? -1 : in[3] * opt_.depth_multiplier);
}

Tensor DepthwiseConv2D::call(const std::vector<Tensor>& inputs, bool) {
  const Tensor& x = detail::single_input(inputs, *this);
  compute_output_shape(shape_list(x.shape()));  // the layer's own message for a window that does not fit
  Tensor y = depthwise_conv2d(x, weights_[0].value(), depthwise_op_options(opt_));
  if (opt_.use_bias) y = bias_add(y, weights_[1].value());
  return apply_activation(opt_.activation, y);
}

nlohmann::json DepthwiseConv2D::get_config() const {
  nlohmann::json c = Layer::get_config();
  write_depthwise_fields(c, opt_);
  return c;
}

LayerPtr DepthwiseConv2D::from_config(const nlohmann::json& config) {
  LayerFields f(config, "DepthwiseConv2D");
  DepthwiseConv2DOptions o;
  read_depthwise_fields(f, o);
  return std::make_shared<DepthwiseConv2D>(std::move(o));
}

SeparableConv2D::SeparableConv2D(SeparableConv2DOptions options)
    : LayerBase("SeparableConv2D", options.name), opt_(std::move(options)) {
  check_positive(*this, "filters", opt_.filters);
  check_depthwise_options(*this, opt_);
  if (!opt_.pointwise_initializer) fail<ValueError>("pointwise_initializer must be set");
  if (opt_.activity_regularizer) set_activity_regularizer(opt_.activity_regularizer);
}

void SeparableConv2D::build(const std::vector<Shape>& shapes) {
  check_build_shape(*this, shapes, 4);
  const int64_t cin = shapes[0][3];
  add_weight("depthwise_kernel", {opt_.kernel_size[0], opt_.kernel_size[1], cin, opt_.depth_multiplier},
             opt_.depthwise_initializer, true, opt_.depthwise_regularizer);
  add_weight("pointwise_kernel", {1, 1, cin * opt_.depth_multiplier, opt_.filters}, opt_.pointwise_initializer, true,
             opt_.pointwise_regularizer);
  if (opt_.use_bias) add_weight("bias", {opt_.filters}, opt_.bias_initializer, true, opt_.bias_regularizer);
  mark_built(shapes);
}

void SeparableConv2D::check_input_shapes(const std::vector<Shape>& shapes) const { check_channels(*this, shapes); }

Shape SeparableConv2D::compute_output_shape(const std::vector<Shape>& shapes) {
  check_channels(*this, shapes);
  return conv2d_output_shape(*this, shapes[0], opt_, opt_.filters);
}

Tensor SeparableConv2D::call(const std::vector<Tensor>& inputs, bool) {
  const Tensor& x = detail::single_input(inputs, *this);
  compute_output_shape(shape_list(x.shape()));
  Tensor d = depthwise_conv2d(x, weights_[0].value(), depthwise_op_options(opt_));
  const Tensor& pointwise = weights_[1].value();
  const Tensor bias = opt_.use_bias ? weights_[2].value() : Tensor();
  if (fusable(opt_.activation) && d.dtype() == pointwise.dtype()) {
    return fused_conv2d(d, pointwise, bias, {}, fused_activation(opt_.activation));
  }
  Tensor y = conv2d(d, pointwise);
  if (opt_.use_bias) y = bias_add(y, bias);
  return apply_activation(opt_.activation, y);
}

nlohmann::json SeparableConv2D::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["filters"] = opt_.filters;
  write_depthwise_fields(c, opt_);
  c["pointwise_initializer"] = detail::initializer_json(opt_.pointwise_initializer);
  c["pointwise_regularizer"] = detail::regularizer_json(opt_.pointwise_regularizer);
  c["pointwise_constraint"] = nullptr;
  return c;
}

LayerPtr SeparableConv2D::from_config(const nlohmann::json& config) {
  LayerFields f(config, "SeparableConv2D");
  SeparableConv2DOptions o{.filters = f.positive("filters")};
  read_depthwise_fields(f, o);
  f.no_constraints({"pointwise_constraint"});
  o.pointwise_initializer = f.initializer("pointwise_initializer", "glorot_uniform");
  o.pointwise_regularizer = f.regularizer("pointwise_regularizer");
  return std::make_shared<SeparableConv2D>(std::move(o));
}

// ------------------------------------------------------------------ Conv2DTranspose

Conv2DTranspose::Conv2DTranspose(Conv2DTransposeOptions options)
    : LayerBase("Conv2DTranspose", options.name), opt_(std::move(options)) {
  check_positive(*this, "filters", opt_.filters);
  check_window(*this, opt_.kernel_size, opt_.strides, opt_.dilation_rate);
  if (opt_.output_padding) {
    for (int i = 0; i < 2; ++i) {
      const int64_t p = (*opt_.output_padding)[i];
      if (p < 0 || p >= opt_.strides[i]) {
        fail<ValueError>("output_padding must be >= 0 and smaller than the stride (as Keras), got output_padding " +
                         std::to_string(p) + " with stride " + std::to_string(opt_.strides[i]) + " on axis " +
                         std::to_string(i + 1));
      }
    }
  }
  if (!opt_.kernel_initializer || (opt_.use_bias && !opt_.bias_initializer)) {
    fail<ValueError>("kernel_initializer and bias_initializer must be set");
  }
  if (opt_.activity_regularizer) set_activity_regularizer(opt_.activity_regularizer);
}

int64_t Conv2DTranspose::output_length(int axis, int64_t in) const {
  if (in < 0) return -1;
  const int64_t k = detail::window_span(opt_.kernel_size[axis], opt_.dilation_rate[axis]), s = opt_.strides[axis];
  // Sizes come from tensors or from configs (below 2^31 each): no product here overflows int64.
  if (!opt_.output_padding) {
    return opt_.padding == Padding::Valid ? in * s + std::max<int64_t>(k - s, 0) : in * s;
  }
  const int64_t pad = opt_.padding == Padding::Same ? k / 2 : 0;
  return (in - 1) * s + k - 2 * pad + (*opt_.output_padding)[axis];
}

void Conv2DTranspose::build(const std::vector<Shape>& shapes) {
  check_build_shape(*this, shapes, 4);
  add_weight("kernel", {opt_.kernel_size[0], opt_.kernel_size[1], opt_.filters, shapes[0][3]}, opt_.kernel_initializer,
             true, opt_.kernel_regularizer);
  if (opt_.use_bias) add_weight("bias", {opt_.filters}, opt_.bias_initializer, true, opt_.bias_regularizer);
  mark_built(shapes);
}

void Conv2DTranspose::check_input_shapes(const std::vector<Shape>& shapes) const { check_channels(*this, shapes); }

Shape Conv2DTranspose::compute_output_shape(const std::vector<Shape>& shapes) {
  check_channels(*this, shapes);
  const Shape& in = shapes[0];
  Shape out{in[0], output_length(0, in[1]), output_length(1, in[2]), opt_.filters};
  for (int a = 0; a < 2; ++a) {
    if (in[a + 1] >= 0 && out[a + 1] < 1) {
      fail<ShapeError>("input " + keras_shape(in) + " gives an empty output along axis " + std::to_string(a + 1));
    }
  }
  return out;
}

Tensor Conv2DTranspose::call(const std::vector<Tensor>& inputs, bool) {
  const Tensor& x = detail::single_input(inputs, *this);
  const Shape out = compute_output_shape(shape_list(x.shape()));
  const Conv2dOptions conv{.strides = opt_.strides, .padding = opt_.padding, .dilation = opt_.dilation_rate};
  Tensor y;
  try {
    y = conv2d_transpose(x, weights_[0].value(), {out[1], out[2]}, conv);
  } catch (const ShapeError& e) {
    fail<ShapeError>(std::string("input ") + keras_shape(x.shape()) + ": " + e.what());
  }
  if (opt_.use_bias) y = bias_add(y, weights_[1].value());
  return apply_activation(opt_.activation, y);
}

nlohmann::json Conv2DTranspose::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["filters"] = opt_.filters;
  write_window_fields(c, opt_);
  c["output_padding"] = opt_.output_padding ? pair_json(*opt_.output_padding) : nlohmann::json(nullptr);
  detail::write_weighted_fields(c, opt_);
  return c;
}

LayerPtr Conv2DTranspose::from_config(const nlohmann::json& config) {
  LayerFields f(config, "Conv2DTranspose");
  read_conv_fields(f);
  Conv2DTransposeOptions o{.filters = f.positive("filters")};
  read_window_fields(f, o);
  if (f.find("output_padding")) {
    auto p = f.ints("output_padding", 2, std::nullopt, 0);
    o.output_padding = std::array<int64_t, 2>{p[0], p[1]};
  }
  detail::read_weighted_fields(f, o);
  return std::make_shared<Conv2DTranspose>(std::move(o));
}

}  // namespace ember::nn
