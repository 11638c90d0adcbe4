#include "ember/io/model_files.hpp"

#include <filesystem>

#include "ember/autograd/autograd.hpp"
#include "ember/io/npy.hpp"
#include "ember/io/safetensors.hpp"
#include "ember/nn/config.hpp"

namespace ember::io {

namespace fs = std::filesystem;

namespace {

// The file beside `file` with the same stem and extension `ext`, else `fallback` in its directory.
fs::path sibling(const fs::path& file, const char* ext, const char* fallback) {
  fs::path same = fs::path(file).replace_extension(ext);
  if (fs::exists(same)) return same;
  return file.parent_path() / fallback;
}

void copy_weights(nn::Model& model, const fs::path& weights_path, const fs::path& arch_path) {
  if (!fs::exists(weights_path)) {
    throw IOError("no weights for '" + arch_path.string() + "': '" + weights_path.string() + "' does not exist");
  }
  SafetensorsFile f = load_safetensors(weights_path.string());
  autograd::NoGradGuard no_grad;
  model.materialize_weights();  // the memory-budget check comes before any weight is allocated
  for (const auto& w : model.named_weights()) {
    auto it = f.tensors.find(w.name);
    if (it == f.tensors.end()) {
      throw FormatError("'" + weights_path.string() + "' has no tensor '" + w.name + "', which the model '" +
                        arch_path.string() + "' needs");
    }
    if (it->second.shape() != w.weight->shape) {
      throw FormatError("'" + weights_path.string() + "': tensor '" + w.name + "' has shape " + to_string(it->second.shape()) +
                        ", the model '" + arch_path.string() + "' expects " + to_string(w.weight->shape));
    }
    w.weight->value().copy_(it->second);
  }
}

}  // namespace

std::shared_ptr<nn::Model> load_trained_model(const std::string& path) {
  const fs::path p(path);
  if (!fs::exists(p)) throw IOError("model '" + path + "' does not exist");
  fs::path arch, weights;
  if (fs::is_directory(p)) {
    arch = p / "model.json";
    weights = p / "model.safetensors";
    if (!fs::exists(arch)) {
      throw IOError("'" + path + "' is not a model directory: it has no model.json (written by `ember train --out`)");
    }
  } else if (p.extension() == ".json") {
    arch = p;
    weights = sibling(p, ".safetensors", "model.safetensors");
  } else if (p.extension() == ".safetensors") {
    weights = p;
    arch = sibling(p, ".json", "model.json");
    if (!fs::exists(arch)) throw IOError("no architecture for '" + path + "': '" + arch.string() + "' does not exist");
  } else {
    throw ValueError("model '" + path + "': expected a directory written by `ember train --out`, a .json or a .safetensors file");
  }
  auto model = nn::model_from_json_file(arch.string());
  copy_weights(*model, weights, arch);
  return model;
}

Tensor read_array(const std::string& spec) {
  std::string path = spec, name;
  if (auto colon = spec.rfind(':'); colon != std::string::npos && !fs::exists(spec)) {
    path = spec.substr(0, colon);
    name = spec.substr(colon + 1);
  }
  const std::string ext = fs::path(path).extension().string();
  if (ext == ".npy") {
    if (!name.empty()) throw ValueError("'" + spec + "': a .npy file holds one array; drop ':" + name + "'");
    return load_npy(path);
  }
  if (ext == ".safetensors") {
    SafetensorsFile f = load_safetensors(path);
    if (!name.empty()) {
      auto it = f.tensors.find(name);
      if (it == f.tensors.end()) throw FormatError("'" + path + "' has no tensor '" + name + "'");
      return it->second;
    }
    if (f.tensors.size() != 1) {
      std::string names;
      for (const auto& [n, t] : f.tensors) names += (names.empty() ? "" : ", ") + n;
      throw ValueError("'" + path + "' holds " + std::to_string(f.tensors.size()) + " tensors (" + names +
                       "): pick one as FILE.safetensors:NAME");
    }
    return f.tensors.begin()->second;
  }
  throw ValueError("input '" + spec + "': expected a .npy or .safetensors file");
}

}  // namespace ember::io
