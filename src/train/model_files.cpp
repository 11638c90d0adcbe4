#include "ember/train/model_files.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "ember/io/keras_h5.hpp"
#include "ember/io/safetensors.hpp"
#include "ember/nn/applications.hpp"
#include "ember/nn/builtin_models.hpp"
#include "ember/nn/config.hpp"
#include "ember/nn/layers/core.hpp"
#include "ember/nn/layers/merging.hpp"
#include "ember/train/saver.hpp"

namespace ember::train {

namespace fs = std::filesystem;

namespace {

bool is_h5(const fs::path& p) { return p.extension() == ".h5" || p.extension() == ".hdf5"; }

// The file beside `file` with the same stem and extension `ext`, else `fallback` in its directory.
fs::path sibling(const fs::path& file, const char* ext, const char* fallback) {
  fs::path same = fs::path(file).replace_extension(ext);
  if (fs::exists(same)) return same;
  return file.parent_path() / fallback;
}

std::shared_ptr<nn::Model> from_json(const fs::path& json, const std::string& weights_for) {
  if (!fs::exists(json)) {
    throw IOError("no architecture for '" + weights_for + "': '" + json.string() + "' does not exist");
  }
  return nn::model_from_json_file(json.string());
}

std::shared_ptr<nn::Model> from_checkpoint(const std::string& checkpoint, const fs::path& dir) {
  auto model = from_json(dir / "model.json", checkpoint);
  read_checkpoint_file(checkpoint_file(checkpoint), *model, nullptr);
  return model;
}

bool is_checkpoint_file(const fs::path& file) {
  io::SafetensorsFile f = io::load_safetensors(file.string());
  return f.metadata.count("ember_checkpoint") > 0;
}

}  // namespace

std::shared_ptr<nn::Model> load_model_architecture(const std::string& spec) {
  std::error_code ec;
  if (fs::exists(spec, ec)) {
    fs::path path(spec);
    if (fs::is_directory(path, ec)) path = fs::exists(path / "model.h5") ? path / "model.h5" : path / "model.json";
    if (is_h5(path)) return io::load_model_config_h5(path.string());
    if (path.extension() == ".keras") {
      throw FormatError("'" + spec + "': Keras 3 .keras archives are not supported (use a Keras 2 .h5 file or JSON)");
    }
    return nn::model_from_json_file(path.string());
  }
  for (const std::string& n : nn::builtin_model_names()) {
    if (n == spec) return nn::builtin_model(spec);
  }
  for (const std::string& n : nn::applications::application_names()) {
    if (n == spec) return nn::applications::application(spec);
  }
  std::string names;
  for (const std::string& n : nn::builtin_model_names()) names += (names.empty() ? "" : ", ") + n;
  std::string apps;
  for (const std::string& n : nn::applications::application_names()) apps += (apps.empty() ? "" : ", ") + n;
  throw ValueError("unknown model '" + spec + "': no such file, not a built-in model (" + names +
                   ") and not a classic network (" + apps + ")");
}

std::shared_ptr<nn::Model> load_trained_model(const std::string& spec) {
  const fs::path p(spec);
  std::error_code ec;
  if (!fs::exists(p, ec)) {
    if (fs::exists(checkpoint_file(spec), ec)) return from_checkpoint(spec, p.parent_path());
    throw IOError("model '" + spec + "' does not exist");
  }
  if (fs::is_directory(p, ec)) {
    if (fs::exists(p / "checkpoint")) {
      std::optional<std::string> latest = latest_checkpoint(spec);
      if (!latest) throw IOError("checkpoint directory '" + spec + "' has no checkpoint");
      return from_checkpoint(*latest, p);
    }
    if (fs::exists(p / "model.h5")) return nn::load_model((p / "model.h5").string());
    if (!fs::exists(p / "model.json")) {
      throw IOError("'" + spec + "' is not a model directory: it has no model.h5, model.json or checkpoint index");
    }
    auto model = nn::model_from_json_file((p / "model.json").string());
    const fs::path weights = p / "model.safetensors";
    if (!fs::exists(weights)) throw IOError("no weights for '" + spec + "': '" + weights.string() + "' does not exist");
    model->load_weights(weights.string());
    return model;
  }
  if (is_h5(p)) return nn::load_model(spec);
  if (p.extension() == ".json") {
    auto model = nn::model_from_json_file(spec);
    const fs::path weights = sibling(p, ".safetensors", "model.safetensors");
    if (!fs::exists(weights)) throw IOError("no weights for '" + spec + "': '" + weights.string() + "' does not exist");
    model->load_weights(weights.string());
    return model;
  }
  if (p.extension() == ".safetensors") {
    if (is_checkpoint_file(p)) return from_checkpoint(spec, p.parent_path());
    auto model = from_json(sibling(p, ".json", "model.json"), spec);
    model->load_weights(spec);
    return model;
  }
  throw ValueError("model '" + spec + "': expected a .h5, .json or .safetensors file, a directory written by `ember train "
                   "--out` or `--checkpoint-dir`, or a checkpoint path");
}

bool ends_in_softmax(nn::Model& model) {
  if (model.layers().empty()) return false;
  const nn::LayerPtr& last = model.layers().back();
  if (last->class_name() == "Average") {
    // An ensemble (average_models): the mean of probabilities is a probability.
    bool members = false;
    for (const nn::LayerPtr& layer : model.layers()) {
      auto* member = dynamic_cast<nn::Model*>(layer.get());
      if (member == nullptr) continue;
      if (!ends_in_softmax(*member)) return false;
      members = true;
    }
    return members;
  }
  nlohmann::json c = last->get_config();
  return c.contains("activation") && c["activation"] == "softmax";
}

std::shared_ptr<nn::Model> average_models(const std::vector<std::shared_ptr<nn::Model>>& members, const std::string& name) {
  if (members.empty()) throw ValueError("average_models: expected at least one member model, got none");
  auto shape_of = [](const nn::SymbolicTensor& t) { return to_string(t.shape()); };
  const nn::Model& first = *members.front();
  for (std::size_t k = 0; k < members.size(); ++k) {
    const nn::Model& m = *members[k];
    if (m.symbolic_inputs().size() != 1 || m.symbolic_outputs().size() != 1) {
      throw ValueError("average_models: member " + std::to_string(k + 1) + " ('" + m.name() +
                       "') must be a functional or Sequential model with one input and one output, has " +
                       std::to_string(m.symbolic_inputs().size()) + " inputs and " + std::to_string(m.symbolic_outputs().size()) +
                       " outputs");
    }
    if (m.symbolic_inputs()[0].shape() != first.symbolic_inputs()[0].shape() ||
        m.symbolic_outputs()[0].shape() != first.symbolic_outputs()[0].shape()) {
      throw ValueError("average_models: member " + std::to_string(k + 1) + " ('" + m.name() + "') maps " +
                       shape_of(m.symbolic_inputs()[0]) + " to " + shape_of(m.symbolic_outputs()[0]) + ", member 1 ('" +
                       first.name() + "') " + shape_of(first.symbolic_inputs()[0]) + " to " + shape_of(first.symbolic_outputs()[0]));
    }
  }
  const nn::SymbolicTensor& in0 = first.symbolic_inputs()[0];
  const Shape& s = in0.shape();
  nn::SymbolicTensor input = nn::Input(Shape(s.begin() + 1, s.end()), "ensemble_input", in0.dtype());
  std::vector<nn::SymbolicTensor> outputs;
  for (std::size_t k = 0; k < members.size(); ++k) {
    // A model of its own over the member's graph, so that each is nested under a name of its own.
    auto member = std::make_shared<nn::Model>(members[k]->symbolic_inputs(), members[k]->symbolic_outputs(),
                                              "member_" + std::to_string(k + 1));
    outputs.push_back((*member)(input));
  }
  nn::SymbolicTensor mean = members.size() == 1 ? outputs[0] : nn::Average("ensemble_mean")(outputs);
  return std::make_shared<nn::Model>(input, mean, name);
}

}  // namespace ember::train
