// Keras 2 HDF5 model files, and the saving members of nn::Model (declared in nn/model.hpp, defined
// here: the documented layering exception, as fit() is defined in train/).
#include "ember/io/keras_h5.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "ember/autograd/autograd.hpp"
#include "ember/io/safetensors.hpp"
#include "ember/io/torch_layout.hpp"
#include "ember/nn/config.hpp"

namespace ember::io {

namespace {

// What Keras 2 writes; tf.keras reads files with these values without conversion.
constexpr const char* kKerasVersion = "2.13.1";
constexpr const char* kBackend = "tensorflow";

// Keras encodes these strings to UTF-8 bytes, which h5py stores as variable-length strings marked
// ASCII; Keras decodes them as UTF-8 on reading.
constexpr h5::StringOptions kBytes{.variable_length = true, .charset = h5::CharSet::ascii};

std::string extension(const std::string& path) {
  std::string e = std::filesystem::path(path).extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return e;
}

bool is_h5(const std::string& path) {
  std::string e = extension(path);
  return e == ".h5" || e == ".hdf5";
}

// Keras's per-layer weight list: trainable weights first, then non-trainable (_legacy_weights).
std::vector<nn::Layer::NamedWeight> keras_weights(nn::Layer& layer) {
  std::vector<nn::Layer::NamedWeight> out = layer.trainable_weights();
  for (const auto& w : layer.non_trainable_weights()) out.push_back(w);
  return out;
}

// Refuses configs that carry code: a Lambda layer's config holds marshalled Python bytecode.
void refuse_code(const nlohmann::json& j, const std::string& path) {
  std::vector<const nlohmann::json*> stack{&j};
  while (!stack.empty()) {
    const nlohmann::json* node = stack.back();
    stack.pop_back();
    if (node->is_object()) {
      auto cls = node->find("class_name");
      if (cls != node->end() && cls->is_string()) {
        const std::string c = cls->get<std::string>();
        if (c == "Lambda" || c == "TFOpLambda" || c == "SlicingOpLambda") {
          std::string name = "?";
          auto cfg = node->find("config");
          if (cfg != node->end() && cfg->is_object() && cfg->contains("name") && (*cfg)["name"].is_string()) {
            name = (*cfg)["name"].get<std::string>();
          }
          throw FormatError("'" + path + "': layer '" + name + "' is a " + c +
                            " layer: its config carries Python code, and Ember never runs code from a file; "
                            "loading refused");
        }
      }
      for (const auto& item : node->items()) stack.push_back(&item.value());
    } else if (node->is_array()) {
      for (const auto& v : *node) stack.push_back(&v);
    }
  }
}

std::string shape_text(const Shape& s) { return to_string(s); }

// Reads the weights of `layer` from the layer group `g` (Keras's weight_names order) and assigns
// them. With `skip` a mismatch returns false instead of throwing.
bool assign_layer(const h5::Group& g, nn::Layer& layer, const std::string& path, bool skip) {
  std::vector<std::string> names = load_name_list(g.attrs(), "weight_names");
  std::vector<nn::Layer::NamedWeight> weights = keras_weights(layer);
  const std::string where = "'" + path + "': layer '" + layer.name() + "' (group '" + g.name() + "')";
  if (names.size() != weights.size()) {
    if (skip) return false;
    throw FormatError(where + ": the model's layer has " + std::to_string(weights.size()) + " weights, the file " +
                      std::to_string(names.size()));
  }
  std::vector<Tensor> values;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!g.contains(names[i])) throw FormatError(where + ": weight_names lists '" + names[i] + "', which is not in the group");
    h5::Dataset d = g.dataset(names[i]);
    if (d.shape() != weights[i].weight->shape) {
      if (skip) return false;
      throw FormatError(where + ": weight '" + names[i] + "' has shape " + shape_text(d.shape()) + " in the file, the model's '" +
                        weights[i].name + "' has " + shape_text(weights[i].weight->shape));
    }
    // Integer weights (Normalization's int64 "count") read integers; every other weight floats.
    if (is_floating(weights[i].weight->dtype) ? !is_floating(d.dtype()) : d.dtype() != weights[i].weight->dtype) {
      throw FormatError(where + ": weight '" + names[i] + "' is " + d.type_name() + ", expected " +
                        (is_floating(weights[i].weight->dtype) ? std::string("floating-point values")
                                                               : std::string(dtype_name(weights[i].weight->dtype))));
    }
    values.push_back(d.read());
  }
  autograd::NoGradGuard no_grad;
  for (std::size_t i = 0; i < values.size(); ++i) weights[i].weight->value().copy_(values[i]);
  return true;
}

void save_weights_safetensors(nn::Model& model, const std::string& path) {
  TensorMap m;
  model.materialize_weights();
  for (const auto& w : model.named_weights()) m[w.name] = w.weight->value();
  save_safetensors(path, m, {{"format", "ember"}});
}

void load_weights_safetensors(nn::Model& model, const std::string& path) {
  SafetensorsFile f = load_safetensors(path);
  model.materialize_weights();  // the memory budget is checked before any weight is allocated
  std::vector<nn::Layer::NamedWeight> ws = model.named_weights();
  // Files written before nested models' weights were named through the model hold them as
  // "<layer>/<weight>": such a name is taken when the model has no other weight that it could be.
  auto legacy_name = [](const std::string& name) {
    const std::size_t last = name.rfind('/');
    const std::size_t layer = last == 0 || last == std::string::npos ? std::string::npos : name.rfind('/', last - 1);
    return layer == std::string::npos ? name : name.substr(layer + 1);
  };
  std::map<std::string, int> legacy_uses;
  for (const auto& w : ws) ++legacy_uses[legacy_name(w.name)];
  std::vector<const Tensor*> sources;
  for (const auto& w : ws) {
    auto it = f.tensors.find(w.name);
    if (it == f.tensors.end()) {
      const std::string old = legacy_name(w.name);
      if (legacy_uses[old] == 1) it = f.tensors.find(old);
    }
    if (it == f.tensors.end()) throw FormatError("'" + path + "': no tensor '" + w.name + "' for the model's weight");
    if (it->second.shape() != w.weight->shape) {
      throw FormatError("'" + path + "': tensor '" + it->first + "' has shape " + shape_text(it->second.shape()) +
                        ", the model expects " + shape_text(w.weight->shape));
    }
    sources.push_back(&it->second);
  }
  autograd::NoGradGuard no_grad;
  for (std::size_t i = 0; i < ws.size(); ++i) ws[i].weight->value().copy_(*sources[i]);
}

}  // namespace

namespace {
KerasH5TrainingHooks& training_hooks() {
  static KerasH5TrainingHooks hooks;
  return hooks;
}
}  // namespace

void set_keras_h5_training_hooks(KerasH5TrainingHooks hooks) { training_hooks() = hooks; }

void save_name_list(h5::Attributes attrs, const std::string& name, const std::vector<std::string>& values) {
  std::size_t longest = 1;  // numpy's 'S' itemsize: the longest string, at least 1
  for (const auto& v : values) {
    if (v.size() > kKerasAttributeLimit) {
      throw ValueError("cannot save attribute '" + name + "': the name of " + std::to_string(v.size()) +
                       " bytes exceeds HDF5's object header limit of " + std::to_string(kKerasAttributeLimit) + " bytes");
    }
    longest = std::max(longest, v.size());
  }
  if (values.empty()) {
    attrs.set(name, std::vector<double>{});  // Keras: np.asarray([]) is an empty float64 array
    return;
  }
  // As Keras: split into the fewest np.array_split parts whose bytes all fit (the first n % k parts
  // hold one name more).
  const h5::StringOptions fixed{.variable_length = false, .charset = h5::CharSet::ascii, .fixed_size = longest};
  const std::size_t n = values.size();
  std::size_t parts = 1;
  while (((n + parts - 1) / parts) * longest > kKerasAttributeLimit) ++parts;
  if (parts == 1) {
    attrs.set(name, values, fixed);
    return;
  }
  std::size_t begin = 0;
  for (std::size_t k = 0; k < parts; ++k) {
    std::size_t size = n / parts + (k < n % parts ? 1 : 0);
    std::vector<std::string> chunk(values.begin() + static_cast<std::ptrdiff_t>(begin),
                                   values.begin() + static_cast<std::ptrdiff_t>(begin + size));
    // Every part keeps the whole list's itemsize, as np.array_split keeps the dtype.
    attrs.set(name + std::to_string(k), std::move(chunk), fixed);
    begin += size;
  }
}

std::vector<std::string> load_name_list(const h5::Attributes& attrs, const std::string& name) {
  if (attrs.contains(name)) return attrs.get_strings(name);
  std::vector<std::string> out;
  for (int k = 0; attrs.contains(name + std::to_string(k)); ++k) {
    for (auto& s : attrs.get_strings(name + std::to_string(k))) out.push_back(std::move(s));
  }
  return out;
}

namespace {

// The name tf.keras 2.x gives weight `w` of top-level layer `top` in an .h5 file. Ember's own names
// are "<owner>/<weight>"; Keras scopes the weights of LSTM / GRU / SimpleRNN by their cell
// ("lstm/lstm_cell/kernel") and a Bidirectional's by the wrapper too
// ("bidirectional/forward_lstm/lstm_cell/kernel"). Other layers keep Ember's names. Loading reads
// the weights of a layer by position, so files with either naming load.
std::string keras_h5_weight_name(nn::Layer& top, const nn::Layer::NamedWeight& w) {
  std::vector<nn::Layer*> stack{&top};
  while (!stack.empty()) {
    nn::Layer* l = stack.back();
    stack.pop_back();
    const std::string prefix = l->name() + "/";
    if (w.name.rfind(prefix, 0) == 0 && l->find_weight(w.name.substr(prefix.size())) == w.weight) {
      const std::string& c = l->class_name();
      const char* cell = c == "LSTM" ? "lstm_cell/" : c == "GRU" ? "gru_cell/" : c == "SimpleRNN" ? "simple_rnn_cell/" : "";
      const std::string scope = l != &top && top.class_name() == "Bidirectional" ? top.name() + "/" : "";
      return scope + prefix + cell + w.name.substr(prefix.size());
    }
    for (const nn::LayerPtr& sub : l->sublayers()) stack.push_back(sub.get());
  }
  return w.name;
}

}  // namespace

void save_weights_to_group(h5::Group group, nn::Model& model) {
  model.materialize_weights();
  std::vector<nn::LayerPtr> layers = model.layers();
  std::vector<std::string> names;
  for (const auto& l : layers) names.push_back(l->name());
  save_name_list(group.attrs(), "layer_names", names);
  group.attrs().set("backend", kBackend, kBytes);
  group.attrs().set("keras_version", kKerasVersion, kBytes);
  std::sort(layers.begin(), layers.end(), [](const nn::LayerPtr& a, const nn::LayerPtr& b) { return a->name() < b->name(); });
  for (const auto& l : layers) {
    h5::Group g = group.create_group(l->name());
    std::vector<nn::Layer::NamedWeight> ws = keras_weights(*l);
    std::vector<std::string> wnames;
    for (const auto& w : ws) wnames.push_back(keras_h5_weight_name(*l, w) + ":0");
    save_name_list(g.attrs(), "weight_names", wnames);
    for (std::size_t i = 0; i < ws.size(); ++i) g.create_dataset(wnames[i], ws[i].weight->value());
  }
}

void load_weights_from_group(const h5::Group& group, nn::Model& model, const nn::LoadWeightsOptions& options) {
  const std::string path = group.file_path();
  model.materialize_weights();
  std::vector<std::string> file_layers = load_name_list(group.attrs(), "layer_names");
  for (const auto& n : file_layers) {
    if (!group.contains(n)) throw FormatError("'" + path + "': layer_names lists '" + n + "', which has no group in '" + group.name() + "'");
  }
  if (options.by_name) {
    for (const auto& l : model.layers()) {
      if (std::find(file_layers.begin(), file_layers.end(), l->name()) == file_layers.end()) continue;
      assign_layer(group.group(l->name()), *l, path, options.skip_mismatch);
    }
    return;
  }
  std::vector<nn::LayerPtr> layers;
  for (const auto& l : model.layers()) {
    if (!keras_weights(*l).empty()) layers.push_back(l);
  }
  std::vector<std::string> names;
  for (const auto& n : file_layers) {
    if (!load_name_list(group.group(n).attrs(), "weight_names").empty()) names.push_back(n);
  }
  if (names.size() != layers.size()) {
    throw FormatError("'" + path + "': the model has " + std::to_string(layers.size()) + " layers with weights, the file " +
                      std::to_string(names.size()) + " (load_weights matches them by order; by_name matches names)");
  }
  for (std::size_t k = 0; k < names.size(); ++k) assign_layer(group.group(names[k]), *layers[k], path, false);
}

void save_model_h5(nn::Model& model, const std::string& path) {
  nlohmann::json config = nn::model_config(model);  // ValueError for a subclassed model, before any file exists
  h5::File f(path, "w");
  f.attrs().set("backend", kBackend);
  f.attrs().set("keras_version", kKerasVersion);
  f.attrs().set("model_config", config.dump(), kBytes);
  save_weights_to_group(f.create_group("model_weights"), model);
  if (training_hooks().save) training_hooks().save(f, model);
  f.close();
}

namespace {

std::shared_ptr<nn::Model> model_from_file(const h5::File& f, const std::string& path) {
  if (!f.attrs().contains("model_config")) {
    throw FormatError("'" + path + "': no 'model_config' attribute: not a saved Keras model (a weights-only file? use load_weights)");
  }
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(f.attrs().get_string("model_config"));
  } catch (const nlohmann::json::exception& e) {
    throw FormatError("'" + path + "': model_config is not valid JSON: " + e.what());
  }
  refuse_code(config, path);
  try {
    return nn::model_from_config(config);
  } catch (const FormatError& e) {
    throw FormatError("'" + path + "': model_config: " + e.what());
  }
}

}  // namespace

std::shared_ptr<nn::Model> load_model_config_h5(const std::string& path) {
  h5::File f(path, "r");
  return model_from_file(f, path);
}

std::shared_ptr<nn::Model> load_model_h5(const std::string& path) {
  h5::File f(path, "r");
  std::shared_ptr<nn::Model> model = model_from_file(f, path);
  if (!f.contains("model_weights")) throw FormatError("'" + path + "': no 'model_weights' group");
  load_weights_from_group(f.group("model_weights"), *model);
  if (training_hooks().load) training_hooks().load(f, *model);
  return model;
}

void save_weights_h5(nn::Model& model, const std::string& path) {
  h5::File f(path, "w");
  save_weights_to_group(f, model);
  f.close();
}

void load_weights_h5(nn::Model& model, const std::string& path, const nn::LoadWeightsOptions& options) {
  h5::File f(path, "r");
  // A full model file keeps its weights in /model_weights (keras load_weights reads both).
  if (!f.attrs().contains("layer_names") && f.contains("model_weights")) {
    load_weights_from_group(f.group("model_weights"), model, options);
  } else {
    load_weights_from_group(f, model, options);
  }
}

}  // namespace ember::io

// ---- nn::Model's saving members (declared in nn/model.hpp) ----

namespace ember::nn {

void Model::save(const std::string& path) {
  if (!io::is_h5(path)) {
    throw ValueError("Model::save('" + path + "'): Ember saves whole models in Keras's HDF5 format: use a .h5 or .hdf5 path");
  }
  io::save_model_h5(*this, path);
}

void Model::save_weights(const std::string& path, const SaveWeightsOptions& options) {
  if (options.layout == WeightLayout::torch) {
    if (io::extension(path) != ".safetensors") {
      throw ValueError("save_weights('" + path + "'): the torch layout is written as .safetensors: use a .safetensors path");
    }
    return io::save_weights_torch(*this, path);
  }
  if (io::extension(path) == ".safetensors") return io::save_weights_safetensors(*this, path);
  if (!io::is_h5(path)) throw ValueError("save_weights('" + path + "'): expected a .h5, .hdf5 or .safetensors path");
  io::save_weights_h5(*this, path);
}

void Model::load_weights(const std::string& path, const LoadWeightsOptions& options) {
  if (options.layout == WeightLayout::torch) {
    if (io::extension(path) != ".safetensors") {
      throw ValueError("load_weights('" + path + "'): the torch layout is read from .safetensors: use a .safetensors path");
    }
    return io::load_weights_torch(*this, path);
  }
  if (io::extension(path) == ".safetensors") return io::load_weights_safetensors(*this, path);
  io::load_weights_h5(*this, path, options);
}

std::shared_ptr<Model> load_model(const std::string& path) { return io::load_model_h5(path); }

}  // namespace ember::nn
