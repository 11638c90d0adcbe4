#include "ember/io/summary.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <set>

#include "ember/core/error.hpp"
#include "ember/nn/model.hpp"

// stb_image_write compiled here with its functions private to this file (as src/data/images.cpp
// does for the decoder), so another copy of stb in the user's program cannot clash.
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wunused-function"
#elif defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#endif
#include <stb/stb_image_write.h>
#if defined(__clang__)
#pragma clang diagnostic pop
#elif defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace ember::io {

namespace tb = tensorboard;

namespace {
double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// SummaryMetadata { plugin_data = 1 { plugin_name = 1 } }.
std::string plugin_metadata(std::string_view plugin) {
  tb::ProtoWriter data;
  data.bytes(1, plugin);
  tb::ProtoWriter meta;
  meta.bytes(1, data.str());
  return meta.take();
}

void append_png(std::string* out, void* data, int size) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(data), static_cast<std::size_t>(size));
}
}  // namespace

std::string encode_png(const uint8_t* pixels, int height, int width, int channels) {
  std::string out;
  auto write = [](void* ctx, void* data, int size) { append_png(static_cast<std::string*>(ctx), data, size); };
  if (!stbi_write_png_to_func(write, &out, width, height, channels, pixels, width * channels)) {
    throw ValueError("cannot PNG-encode a " + std::to_string(height) + "x" + std::to_string(width) + "x" +
                     std::to_string(channels) + " image");
  }
  return out;
}

SummaryWriter::SummaryWriter(const std::string& logdir, SummaryWriterOptions options)
    : file_(std::make_unique<tb::EventFileWriter>(logdir, std::move(options))) {}

const std::string& SummaryWriter::path() const { return file_->path(); }
void SummaryWriter::flush() { file_->flush(); }
void SummaryWriter::close() { file_->close(); }

void SummaryWriter::scalar(const std::string& tag, double value, int64_t step) {
  tb::ProtoWriter v;  // Summary.Value { tag = 1, simple_value = 2 }
  v.bytes(1, tag);
  v.fixed32(2, static_cast<float>(value));
  file_->add_event(tb::encode_event_summary(wall_seconds(), step, {v.str()}));
}

void SummaryWriter::histogram(const std::string& tag, const Tensor& values, int64_t step) {
  const auto h = tb::make_histogram(values.to_vector<double>());
  tb::ProtoWriter v;  // Summary.Value { tag = 1, histo = 5 }
  v.bytes(1, tag);
  v.bytes(5, tb::encode_histogram(h));
  file_->add_event(tb::encode_event_summary(wall_seconds(), step, {v.str()}));
}

void SummaryWriter::image(const std::string& tag, const Tensor& images, int64_t step, int max_outputs) {
  Shape s = images.shape();
  if (s.size() == 3) s.insert(s.begin(), 1);
  if (s.size() != 4) {
    throw ShapeError("SummaryWriter::image '" + tag + "': expected images NHWC or HWC, got shape " +
                     to_string(images.shape()));
  }
  const int64_t n = s[0], h = s[1], w = s[2], c = s[3];
  if (c != 1 && c != 3 && c != 4) {
    throw ShapeError("SummaryWriter::image '" + tag + "': expected 1, 3 or 4 channels, got " + std::to_string(c));
  }
  if (max_outputs < 1) throw ValueError("SummaryWriter::image '" + tag + "': max_outputs must be >= 1");
  if (h < 1 || w < 1 || h > (1 << 15) || w > (1 << 15)) {
    throw ShapeError("SummaryWriter::image '" + tag + "': image size " + std::to_string(h) + "x" + std::to_string(w) +
                     " outside 1..32768");
  }
  if (h * w * c > (int64_t{1} << 28)) {  // stb_image_write sizes its buffers with int
    throw ShapeError("SummaryWriter::image '" + tag + "': an image of " + std::to_string(h * w * c) +
                     " values is more than PNG encoding here allows (2^28)");
  }
  const bool is_u8 = images.dtype() == u8;
  const auto values = images.to_vector<double>();
  const int64_t count = std::min<int64_t>(n, max_outputs);
  const int64_t per = h * w * c;
  std::vector<std::string> encoded;
  std::vector<uint8_t> pixels(static_cast<std::size_t>(per));
  for (int64_t i = 0; i < count; ++i) {
    for (int64_t k = 0; k < per; ++k) {
      double v = values[static_cast<std::size_t>(i * per + k)];
      if (!is_u8) v = std::isnan(v) ? 0.0 : std::round(std::clamp(v, 0.0, 1.0) * 255.0);
      pixels[static_cast<std::size_t>(k)] = static_cast<uint8_t>(std::clamp(v, 0.0, 255.0));
    }
    tb::ProtoWriter img;  // Summary.Image { height = 1, width = 2, colorspace = 3, encoded_image_string = 4 }
    img.varint(1, static_cast<uint64_t>(h));
    img.varint(2, static_cast<uint64_t>(w));
    img.varint(3, static_cast<uint64_t>(c));
    img.bytes(4, encode_png(pixels.data(), static_cast<int>(h), static_cast<int>(w), static_cast<int>(c)));
    tb::ProtoWriter v;  // Summary.Value { tag = 1, image = 4 }
    v.bytes(1, max_outputs == 1 ? tag + "/image" : tag + "/image/" + std::to_string(i));
    v.bytes(4, img.str());
    encoded.push_back(v.take());
  }
  file_->add_event(tb::encode_event_summary(wall_seconds(), step, encoded));
}

void SummaryWriter::text(const std::string& tag, const std::string& value, int64_t step) {
  tb::ProtoWriter tensor;  // TensorProto { dtype = 1 (DT_STRING), tensor_shape = 2 (scalar: empty), string_val = 8 }
  tensor.varint(1, static_cast<uint64_t>(tb::TfDType::String));
  tensor.bytes(2, "");
  tensor.bytes(8, value);
  tb::ProtoWriter v;  // Summary.Value { tag = 1, tensor = 8, metadata = 9 }
  v.bytes(1, tag);
  v.bytes(9, plugin_metadata("text"));
  v.bytes(8, tensor.str());
  file_->add_event(tb::encode_event_summary(wall_seconds(), step, {v.str()}));
}

void SummaryWriter::graph_def(const std::string& graph_def_bytes, int64_t step) {
  file_->add_event(tb::encode_event_graph(wall_seconds(), step, graph_def_bytes));
}

void SummaryWriter::graph(nn::Model& model) { graph_def(model_graph_def(model)); }

// ---- the model's graph ----

namespace {
tb::TfDType tf_dtype(DType d) {
  if (d == f64) return tb::TfDType::Double;
  if (d == i32) return tb::TfDType::Int32;
  if (d == i64) return tb::TfDType::Int64;
  if (d == u8) return tb::TfDType::UInt8;
  return tb::TfDType::Float;
}

tb::TensorShapeAttr shape_attr(const Shape& s) { return {std::vector<int64_t>(s.begin(), s.end())}; }

// The weight nodes of `layer` and the op node fed by `inputs` and those weights.
void add_layer_nodes(nn::Layer& layer, const std::string& op_name, const std::vector<std::string>& inputs,
                     std::set<std::string>& emitted, std::vector<tb::NodeDef>& nodes) {
  tb::NodeDef op{.name = op_name, .op = layer.class_name(), .inputs = inputs, .attrs = {}};
  for (const auto& w : layer.named_weights()) {
    const std::string& name = w.name;  // model-wide "<layer>/<weight>"
    if (emitted.insert(name).second) {
      nodes.push_back({.name = name,
                       .op = "VariableV2",
                       .inputs = {},
                       .attrs = {{"dtype", tf_dtype(w.weight->dtype)},
                                 {"shape", shape_attr(w.weight->shape)},
                                 {"trainable", w.trainable}}});
    }
    op.inputs.push_back(name);
  }
  nodes.push_back(std::move(op));
}
}  // namespace

std::string model_graph_def(nn::Model& model) {
  std::vector<tb::NodeDef> nodes;
  std::set<std::string> emitted;
  if (model.is_functional()) {
    // Topological order by an explicit stack (deep models must not recurse).
    std::map<const nn::SymbolicTensor::Data*, std::string> node_of;
    std::vector<std::pair<std::shared_ptr<nn::SymbolicTensor::Data>, bool>> stack;
    for (const auto& out : model.symbolic_outputs()) stack.push_back({out.data(), false});
    while (!stack.empty()) {
      auto [d, expanded] = stack.back();
      stack.pop_back();
      if (node_of.count(d.get())) continue;
      if (!expanded) {
        stack.push_back({d, true});
        for (const auto& in : d->inputs)
          if (!node_of.count(in.get())) stack.push_back({in, false});
        continue;
      }
      nn::Layer& layer = *d->layer;
      if (layer.class_name() == "InputLayer") {
        nodes.push_back({.name = layer.name(),
                         .op = "Placeholder",
                         .inputs = {},
                         .attrs = {{"dtype", tf_dtype(d->dtype)}, {"shape", shape_attr(d->shape)}}});
        node_of[d.get()] = layer.name();
        continue;
      }
      std::vector<std::string> inputs;
      for (const auto& in : d->inputs) inputs.push_back(node_of.at(in.get()));
      std::string op_name = layer.name() + "/" + layer.class_name();
      if (d->node_index > 0) op_name += "_" + std::to_string(d->node_index);
      add_layer_nodes(layer, op_name, inputs, emitted, nodes);
      node_of[d.get()] = op_name;
    }
  } else {
    nodes.push_back({.name = "input", .op = "Placeholder", .inputs = {}, .attrs = {{"dtype", tb::TfDType::Float}}});
    std::string prev = "input";
    for (const auto& layer : model.layers()) {
      const std::string op_name = layer->name() + "/" + layer->class_name();
      add_layer_nodes(*layer, op_name, {prev}, emitted, nodes);
      prev = op_name;
    }
  }
  return tb::encode_graph_def(nodes);
}

}  // namespace ember::io
