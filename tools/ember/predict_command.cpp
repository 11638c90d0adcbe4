// `ember predict`: runs a trained model on inputs from a file and writes or prints its outputs.
//
//   --model   what train::load_trained_model takes (.h5, a `train --out` or checkpoint directory,
//             .json + .safetensors, a checkpoint path)
//   --input   an array (.npy, .safetensors[:NAME], .h5[:/DATASET]) or an image file (.png, .jpg, ...)
//   --output  FILE.npy (the raw outputs, float32) or FILE.csv (one row per sample); without it the
//             top-k classes of each sample are printed with their probabilities
//
// Inputs are prepared as `ember train` prepares its data: uint8 pixels become float32 / 255, and an
// array of grey images without a channel axis ([N, H, W]) gets one. One image file is a batch of one.
#include "predict_command.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "ember/data/datasets.hpp"
#include "ember/data/images.hpp"
#include "ember/io/atomic_file.hpp"
#include "ember/io/arrays.hpp"
#include "ember/io/npy.hpp"
#include "ember/nn/model.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/softmax.hpp"
#include "ember/train/model_files.hpp"
#include "ember/train/training.hpp"

namespace ember::tool {

namespace {

namespace fs = std::filesystem;

struct PredictArgs {
  std::string model, input, output, labels = "auto";
  int64_t top_k = 3;
  int64_t batch_size = 256;
};

bool is_image_file(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* e : {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tga", ".pgm", ".ppm", ".pnm"}) {
    if (ext == e) return true;
  }
  return false;
}

// The model's per-sample input shape when known (a built model or one with an Input layer).
Shape sample_shape(nn::Model& model) {
  const auto& ins = model.symbolic_inputs();
  if (ins.size() == 1) {
    const Shape& s = ins[0].shape();
    return Shape(s.begin() + 1, s.end());
  }
  return {};
}

Tensor prepare_input(const std::string& spec, nn::Model& model) {
  const Shape want = sample_shape(model);
  Tensor x;
  if (is_image_file(spec)) {
    const int channels = want.size() == 3 ? static_cast<int>(want[2]) : 0;
    x = data::read_image(spec, channels == 1 || channels == 3 ? channels : 0).unsqueeze(0);
  } else {
    x = io::read_array(spec);
  }
  if (x.dim() == 0) throw ShapeError("input '" + spec + "' is a scalar; expected a batch of samples");
  if (x.dtype() == u8) {
    x = data::images_to_float(x);  // [N, H, W] -> [N, H, W, 1], / 255
  } else {
    x = x.to(f32);
    if (want.size() == 3 && want[2] == 1 && x.dim() == 3) x = x.unsqueeze(3);
  }
  // One sample without its batch axis.
  if (!want.empty() && static_cast<std::size_t>(x.dim()) == want.size()) {
    bool same = true;
    for (std::size_t i = 0; i < want.size(); ++i) same = same && (want[i] < 0 || want[i] == x.size(static_cast<int64_t>(i)));
    if (same) x = x.unsqueeze(0);
  }
  return x;
}

std::vector<std::string> label_names(const std::string& labels, int64_t classes) {
  std::vector<std::string> names;
  if (labels == "none") return names;
  if (labels == "fashion-mnist" || (labels == "auto" && classes == 10)) {
    for (const char* n : data::fashion_mnist_classes()) names.emplace_back(n);
    if (classes != 10) throw ValueError("--labels fashion-mnist: the model has " + std::to_string(classes) + " outputs, not 10");
    return names;
  }
  if (labels == "auto") return names;
  std::ifstream in(labels);
  if (!in) throw IOError("--labels: cannot open '" + labels + "' (expected auto, none, fashion-mnist or a file of one name per line)");
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    names.push_back(line);
  }
  if (static_cast<int64_t>(names.size()) != classes) {
    throw ValueError("--labels '" + labels + "' has " + std::to_string(names.size()) + " names, the model has " +
                     std::to_string(classes) + " outputs");
  }
  return names;
}

void write_csv(const std::string& path, const Tensor& y) {
  Tensor y2 = y.reshape({y.size(0), -1}).to(f64).contiguous();
  std::string text;
  const int64_t n = y2.size(0), k = y2.size(1);
  const double* p = y2.data<double>();
  text.reserve(static_cast<std::size_t>(n * k * 12));
  for (int64_t j = 0; j < k; ++j) text += (j ? ",y" : "y") + std::to_string(j);
  text += '\n';
  char buf[32];
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < k; ++j) {
      std::snprintf(buf, sizeof buf, "%s%.9g", j ? "," : "", p[i * k + j]);
      text += buf;
    }
    text += '\n';
  }
  io::write_file_atomically(path, text);
}

int run_predict(const PredictArgs& a) {
  if (a.top_k < 1) throw CLI::ValidationError("--top-k", "must be at least 1");
  if (a.batch_size < 1) throw CLI::ValidationError("--batch-size", "must be at least 1");
  const std::string out_ext = a.output.empty() ? "" : fs::path(a.output).extension().string();
  if (!a.output.empty() && out_ext != ".npy" && out_ext != ".csv") {
    throw CLI::ValidationError("--output", "expected a .npy or .csv file, got '" + a.output + "'");
  }
  nn::reset_layer_names();
  auto model = train::load_trained_model(a.model);
  Tensor x = prepare_input(a.input, *model);
  Tensor y = model->predict(x, {.batch_size = a.batch_size});
  if (out_ext == ".npy") {
    io::save_npy(a.output, y);
    std::printf("wrote %lld predictions to %s\n", static_cast<long long>(y.size(0)), a.output.c_str());
    return 0;
  }
  if (out_ext == ".csv") {
    write_csv(a.output, y);
    std::printf("wrote %lld predictions to %s\n", static_cast<long long>(y.size(0)), a.output.c_str());
    return 0;
  }
  if (y.dim() != 2) throw ShapeError("the model's outputs have shape " + to_string(y.shape()) + "; top-k needs [N, classes] (use --output)");
  const int64_t classes = y.size(1);
  Tensor prob = (train::ends_in_softmax(*model) ? y : softmax(y, -1)).to(f64).contiguous();
  const std::vector<std::string> names = label_names(a.labels, classes);
  const int64_t k = std::min(a.top_k, classes);
  const double* p = prob.data<double>();
  for (int64_t i = 0; i < prob.size(0); ++i) {
    std::vector<int64_t> order(static_cast<std::size_t>(classes));
    for (int64_t j = 0; j < classes; ++j) order[static_cast<std::size_t>(j)] = j;
    std::partial_sort(order.begin(), order.begin() + k, order.end(),
                      [&](int64_t l, int64_t r) { return p[i * classes + l] > p[i * classes + r]; });
    std::printf("%lld:", static_cast<long long>(i));
    for (int64_t j = 0; j < k; ++j) {
      const int64_t c = order[static_cast<std::size_t>(j)];
      std::printf("%s %lld%s%s (%.4f)", j ? "," : "", static_cast<long long>(c), names.empty() ? "" : " ",
                  names.empty() ? "" : names[static_cast<std::size_t>(c)].c_str(), p[i * classes + c]);
    }
    std::printf("\n");
  }
  return 0;
}

}  // namespace

void add_predict_command(CLI::App& app) {
  auto args = std::make_shared<PredictArgs>();
  CLI::App* cmd = app.add_subcommand("predict", "run a trained model on inputs from a file");
  cmd->add_option("--model", args->model, "a .h5 model, a directory written by `ember train --out` or `--checkpoint-dir`, a .json or .safetensors file")
      ->required();
  cmd->add_option("--input", args->input, "inputs: FILE.npy, FILE.safetensors[:NAME], FILE.h5[:/DATASET] or an image file")->required();
  cmd->add_option("--output", args->output, "FILE.npy or FILE.csv for the raw outputs (default: print the top-k classes)");
  cmd->add_option("--top-k", args->top_k, "classes printed per sample (default 3)");
  cmd->add_option("--labels", args->labels, "class names: auto (Fashion-MNIST's for 10 outputs), none, fashion-mnist, or a file");
  cmd->add_option("--batch-size", args->batch_size, "samples per forward pass (default 256)");
  cmd->callback([args] { run_predict(*args); });
}

}  // namespace ember::tool
