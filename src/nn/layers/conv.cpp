#include "ember/nn/layers/conv.hpp"

#include "ember/ops/conv.hpp"

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
    throw ValueError("layer '" + layer.name() + "' (" + layer.class_name() + ") expects one input, got " +
                     std::to_string(inputs.size()));
  }
  return inputs[0];
}

void throw_input_shape(const Layer& layer, const std::string& want, const Shape& got) {
  throw ShapeError("layer '" + layer.name() + "' (" + layer.class_name() + "): expected input shape " + want +
                   ", got " + keras_shape(got));
}

}  // namespace detail

namespace {

using detail::throw_input_shape;

void check_positive(const Layer& layer, const char* what, int64_t v) {
  if (v < 1) {
    throw ValueError("layer '" + layer.name() + "' (" + layer.class_name() + "): " + what + " must be >= 1, got " +
                     std::to_string(v));
  }
}

// Keras's Conv rejects strides > 1 together with a dilation > 1.
void check_stride_dilation(const Layer& layer, int64_t stride, int64_t dilation) {
  if (stride > 1 && dilation > 1) {
    throw ValueError("layer '" + layer.name() + "' (" + layer.class_name() +
                     "): strides > 1 are not supported together with dilation_rate > 1 (as Keras), got strides " +
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
    throw ShapeError("layer '" + layer.name() + "' (" + layer.class_name() + "): expected one input, got " +
                     std::to_string(shapes.size()));
  }
  if (shapes[0].size() != rank || shapes[0].back() <= 0) {
    throw_input_shape(layer, "of rank " + std::to_string(rank) + " with a known channel axis", shapes[0]);
  }
}

// After build: same rank and channel count as the built shape; other axes free.
void check_channels(const Layer& layer, const std::vector<Shape>& shapes) {
  const Shape& want = layer.built_input_shapes()[0];
  if (shapes.size() != 1) {
    throw ShapeError("layer '" + layer.name() + "' (" + layer.class_name() + "): expected one input, got " +
                     std::to_string(shapes.size()));
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
    throw ShapeError("layer '" + layer.name() + "' (" + layer.class_name() + "): input " + keras_shape(in) +
                     " is smaller than the window (" + std::to_string(detail::window_span(window, dilation)) +
                     ") along axis " + std::to_string(axis_in) + " with 'valid' padding");
  }
  return out;
}

nlohmann::json conv_config(const Layer& layer, nlohmann::json c, const nlohmann::json& kernel_size,
                           const nlohmann::json& strides, Padding padding, const nlohmann::json& dilation,
                           int64_t filters, Activation activation, bool use_bias, const InitializerPtr& kinit,
                           const InitializerPtr& binit, const RegularizerPtr& kreg, const RegularizerPtr& breg,
                           const RegularizerPtr& areg) {
  c["filters"] = filters;
  c["kernel_size"] = kernel_size;
  c["strides"] = strides;
  c["padding"] = detail::padding_name(padding);
  c["data_format"] = "channels_last";
  c["dilation_rate"] = dilation;
  c["groups"] = 1;
  c["activation"] = activation_name(activation);
  c["use_bias"] = use_bias;
  c["kernel_initializer"] = detail::initializer_json(kinit);
  c["bias_initializer"] = detail::initializer_json(binit);
  c["kernel_regularizer"] = detail::regularizer_json(kreg);
  c["bias_regularizer"] = detail::regularizer_json(breg);
  c["activity_regularizer"] = detail::regularizer_json(areg);
  c["kernel_constraint"] = nullptr;
  c["bias_constraint"] = nullptr;
  return c;
}

}  // namespace

// ------------------------------------------------------------------ Conv2D

Conv2D::Conv2D(Conv2DOptions options) : LayerBase("Conv2D", options.name), opt_(std::move(options)) {
  check_positive(*this, "filters", opt_.filters);
  for (int i = 0; i < 2; ++i) {
    check_positive(*this, "kernel_size", opt_.kernel_size[i]);
    check_positive(*this, "strides", opt_.strides[i]);
    check_positive(*this, "dilation_rate", opt_.dilation_rate[i]);
    check_stride_dilation(*this, opt_.strides[i], opt_.dilation_rate[i]);
  }
  if (!opt_.kernel_initializer || (opt_.use_bias && !opt_.bias_initializer)) {
    throw ValueError("layer '" + name() + "' (Conv2D): kernel_initializer and bias_initializer must be set");
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
  const Shape& in = shapes[0];
  return {in[0],
          spatial_out(*this, in, 1, opt_.kernel_size[0], opt_.strides[0], opt_.dilation_rate[0], opt_.padding),
          spatial_out(*this, in, 2, opt_.kernel_size[1], opt_.strides[1], opt_.dilation_rate[1], opt_.padding),
          opt_.filters};
}

Tensor Conv2D::call(const std::vector<Tensor>& inputs, bool) {
  const Tensor& x = detail::single_input(inputs, *this);
  compute_output_shape({x.shape()});  // the layer's own message for a window that does not fit
  Tensor y = conv2d(x, weights_[0].value(),
                    {.strides = opt_.strides, .padding = opt_.padding, .dilation = opt_.dilation_rate});
  if (opt_.use_bias) y = bias_add(y, weights_[1].value());
  return apply_activation(opt_.activation, y);
}

nlohmann::json Conv2D::get_config() const {
  auto pair = [](const std::array<int64_t, 2>& a) { return nlohmann::json::array({a[0], a[1]}); };
  return conv_config(*this, Layer::get_config(), pair(opt_.kernel_size), pair(opt_.strides), opt_.padding,
                     pair(opt_.dilation_rate), opt_.filters, opt_.activation, opt_.use_bias, opt_.kernel_initializer,
                     opt_.bias_initializer, opt_.kernel_regularizer, opt_.bias_regularizer, opt_.activity_regularizer);
}

// ------------------------------------------------------------------ Conv1D

Conv1D::Conv1D(Conv1DOptions options) : LayerBase("Conv1D", options.name), opt_(std::move(options)) {
  check_positive(*this, "filters", opt_.filters);
  check_positive(*this, "kernel_size", opt_.kernel_size);
  check_positive(*this, "strides", opt_.strides);
  check_positive(*this, "dilation_rate", opt_.dilation_rate);
  check_stride_dilation(*this, opt_.strides, opt_.dilation_rate);
  if (!opt_.kernel_initializer || (opt_.use_bias && !opt_.bias_initializer)) {
    throw ValueError("layer '" + name() + "' (Conv1D): kernel_initializer and bias_initializer must be set");
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
  compute_output_shape({x.shape()});
  Tensor y = conv1d(x, weights_[0].value(),
                    {.stride = opt_.strides, .padding = opt_.padding, .dilation = opt_.dilation_rate});
  if (opt_.use_bias) y = bias_add(y, weights_[1].value());
  return apply_activation(opt_.activation, y);
}

nlohmann::json Conv1D::get_config() const {
  auto one = [](int64_t v) { return nlohmann::json::array({v}); };
  return conv_config(*this, Layer::get_config(), one(opt_.kernel_size), one(opt_.strides), opt_.padding,
                     one(opt_.dilation_rate), opt_.filters, opt_.activation, opt_.use_bias, opt_.kernel_initializer,
                     opt_.bias_initializer, opt_.kernel_regularizer, opt_.bias_regularizer, opt_.activity_regularizer);
}

}  // namespace ember::nn
