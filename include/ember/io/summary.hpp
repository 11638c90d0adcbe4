#pragma once
// A summary API in the spirit of tf.summary, over one TensorBoard event file (event_file.hpp).
// Usable from any training loop:
//   io::SummaryWriter w("logs/run1");
//   w.scalar("loss", 0.25, step);  w.histogram("dense/kernel_0", kernel, step);  w.flush();
#include <memory>
#include <string>

#include "ember/core/tensor.hpp"
#include "ember/io/event_file.hpp"

namespace ember::nn {
class Model;
}

namespace ember::io {

using SummaryWriterOptions = tensorboard::EventFileOptions;

class SummaryWriter {
 public:
  // Creates `logdir` (and parents) and a new event file in it. IOError if it cannot.
  explicit SummaryWriter(const std::string& logdir, SummaryWriterOptions options = {});

  // Summary.Value.simple_value: the float scalar every TensorBoard version reads (its data_compat
  // layer turns it into the scalars plugin's form, the one Keras 2 writes as a tensor), at one
  // third of the bytes of a tensor summary.
  void scalar(const std::string& tag, double value, int64_t step);
  // A HistogramProto of every element (any real dtype) with TensorFlow's default buckets.
  void histogram(const std::string& tag, const Tensor& values, int64_t step);
  // Images NHWC (or HWC: one image) with C = 1 (grayscale), 3 (RGB) or 4 (RGBA); u8 as they are,
  // floating point read as [0, 1] (clamped, scaled by 255, rounded). PNG-encoded Summary.Image
  // values tagged as tf.compat.v1.summary.image does: "<tag>/image" when max_outputs is 1, else
  // "<tag>/image/<i>" for the first max_outputs images. ShapeError / ValueError otherwise.
  void image(const std::string& tag, const Tensor& images, int64_t step, int max_outputs = 3);
  // A string tensor summary with the "text" plugin's metadata (markdown in TensorBoard).
  void text(const std::string& tag, const std::string& value, int64_t step);
  // The model's graph (model_graph_def) as an Event.graph_def.
  void graph(nn::Model& model);
  // Any GraphDef bytes (tensorboard::encode_graph_def), e.g. from graph mode.
  void graph_def(const std::string& graph_def_bytes, int64_t step = 0);
  void flush();
  void close();
  const std::string& path() const;

 private:
  std::unique_ptr<tensorboard::EventFileWriter> file_;
};

// A GraphDef for `model`: an "input..." Placeholder per model input (dtype, shape with -1 for the
// batch), per layer a "VariableV2" node "<layer>/<weight>" per weight (dtype, shape) and one op node
// "<layer>/<ClassName>" whose inputs are the op nodes of the layers feeding it and its weights, so
// TensorBoard groups each layer's nodes under its name. Functional models follow their recorded
// connections; other models chain their layers in order.
std::string model_graph_def(nn::Model& model);

// A PNG file's bytes for a u8 HWC image (stb_image_write).
std::string encode_png(const uint8_t* pixels, int height, int width, int channels);

}  // namespace ember::io
