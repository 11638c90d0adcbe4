#include "ember/nn/config.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <typeinfo>
#include <unordered_map>
#include <unordered_set>

#include "ember/core/config_fields.hpp"
#include "ember/nn/layers/attention.hpp"
#include "ember/nn/layers/core.hpp"

namespace ember::nn {

using json = nlohmann::json;
using Data = SymbolicTensor::Data;

namespace {

// Nested models recurse; a hostile file must not exhaust the stack.
constexpr int kMaxModelDepth = 32;

bool is_model_class(const std::string& c) { return c == "Sequential" || c == "Functional" || c == "Model"; }

// ---------------------------------------------------------------- reading

std::shared_ptr<Model> model_from_config_at(const json& j, int depth);

// The "class_name" and "config" of a layer entry.
std::pair<std::string, const json*> entry_parts(const json& entry, const std::string& where) {
  if (!entry.is_object()) throw FormatError(where + ": a layer entry must be an object, got " + short_dump(entry));
  auto cls = entry.find("class_name");
  if (cls == entry.end() || !cls->is_string()) {
    throw FormatError(where + ": a layer entry has no string field 'class_name'");
  }
  auto cfg = entry.find("config");
  static const json empty = json::object();
  if (cfg == entry.end() || cfg->is_null()) return {cls->get<std::string>(), &empty};
  return {cls->get<std::string>(), &*cfg};
}

std::string entry_layer_name(const std::string& class_name, const json& config) {
  if (config.is_object()) {
    auto n = config.find("name");
    if (n != config.end() && n->is_string()) return n->get<std::string>();
  }
  std::string s;
  for (char ch : class_name) s += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// Runs `f` (creating or calling a layer); its errors become FormatError naming the layer once:
// messages that already carry the layer's prefix ("layer 'r' (Reshape): ...") keep it as it is.
template <typename F>
auto naming_layer(const std::string& layer, const std::string& cls, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const FormatError&) {
    throw;  // config errors name their layer and field already
  } catch (const Error& e) {
    throw FormatError(with_layer_prefix(layer, cls, e.what()));
  }
}

// A layer (or nested model) from its entry; every error becomes a FormatError naming the layer.
LayerPtr layer_from_entry(const json& entry, int depth, const std::string& where) {
  auto [cls, cfg] = entry_parts(entry, where);
  std::string lname = entry_layer_name(cls, *cfg);
  LayerPtr layer;
  if (is_model_class(cls)) {
    layer = model_from_config_at(entry, depth + 1);
  } else if (cls == "InputLayer") {
    throw FormatError(with_layer_prefix(lname, cls, "an InputLayer can only start a model"));
  } else {
    LayerFactory factory = find_layer_factory(cls);
    if (!factory) throw FormatError("unknown layer class '" + cls + "' (layer '" + lname + "')");
    const json& config = *cfg;  // a named reference: clang cannot capture a structured binding under OpenMP
    layer = naming_layer(lname, cls, [&] { return factory(config); });
    if (!layer) throw FormatError(with_layer_prefix(lname, cls, "the registered factory returned no layer"));
  }
  // The entry's own flag only: a nested model's layers were read with their own flags already
  // (Model::set_trainable would overwrite them).
  if (cfg->is_object()) layer->Layer::set_trainable(ConfigFields(*cfg, "layer", cls).boolean("trainable", true));
  return layer;
}

// The symbolic input an InputLayer config stands for; `name` (when not empty) overrides the config's.
SymbolicTensor input_from_config(const json& config, const std::string& name) {
  if (name.empty() || !config.is_object()) return std::static_pointer_cast<InputLayer>(InputLayer::from_config(config))->output();
  json renamed = config;
  renamed["name"] = name;
  return std::static_pointer_cast<InputLayer>(InputLayer::from_config(renamed))->output();
}

std::shared_ptr<Model> sequential_from_config(const json& config, int depth) {
  // Keras <= 2.2 wrote the layer list itself as the config.
  const json* layers = &config;
  std::string name;
  if (config.is_object()) {
    ConfigFields f(config, "model", "Sequential");
    name = f.name();
    auto it = config.find("layers");
    if (it == config.end() || !it->is_array()) {
      throw FormatError("model '" + name + "' (Sequential): field 'layers' must be a list of layer entries");
    }
    layers = &*it;
  } else if (!config.is_array()) {
    throw FormatError("Sequential: \"config\" must be an object, got " + std::string(config.type_name()));
  }
  auto model = std::make_shared<Sequential>(std::initializer_list<LayerRef>{}, name);
  const std::string where = "model '" + model->name() + "'";
  bool have_input = false;
  for (const json& entry : *layers) {
    auto [cls, cfg] = entry_parts(entry, where);
    std::string lname = entry_layer_name(cls, *cfg);
    if (cls == "InputLayer") {
      if (have_input || !model->layers().empty()) {
        throw FormatError(with_layer_prefix(lname, cls, "an InputLayer can only come first in a Sequential model"));
      }
      SymbolicTensor in = input_from_config(*cfg, "");
      model->add(LayerRef(in));
      have_input = true;
      continue;
    }
    if (!have_input && model->layers().empty() && cfg->is_object() &&
        (cfg->contains("batch_input_shape") || cfg->contains("batch_shape"))) {
      // The older form: the first layer carries the input shape; Keras names the input "<layer>_input".
      SymbolicTensor in = input_from_config(*cfg, lname + "_input");
      model->add(LayerRef(in));
      have_input = true;
    }
    LayerPtr layer = layer_from_entry(entry, depth, where);
    naming_layer(layer->name(), cls, [&] { model->add(LayerRef(layer)); });
  }
  return model;
}

// A reference to a layer's output: [layer, node, tensor].
struct TensorRef {
  std::string layer;
  int64_t node = 0;
  int64_t tensor = 0;
};

TensorRef parse_ref(const json& r, const std::string& where) {
  if (!r.is_array() || r.size() < 3 || !r[0].is_string() || !r[1].is_number_integer() || !r[2].is_number_integer() ||
      r[1].get<int64_t>() < 0 || r[2].get<int64_t>() < 0) {
    throw FormatError(where + " must be [layer_name, node_index, tensor_index], got " + short_dump(r));
  }
  return {r[0].get<std::string>(), r[1].get<int64_t>(), r[2].get<int64_t>()};
}

// Keras 3 / TF >= 2.13 nodes: {"args": [...], "kwargs": {...}}; tensors appear as
// {"class_name": "__keras_tensor__", "config": {"keras_history": [layer, node, tensor]}}.
void collect_keras_tensors(const json& v, std::vector<TensorRef>& out, const std::string& where, int depth) {
  if (depth > 8) throw FormatError(where + ": inbound node arguments nested too deeply");
  if (v.is_array()) {
    for (const json& e : v) collect_keras_tensors(e, out, where, depth + 1);
  } else if (v.is_object()) {
    auto cls = v.find("class_name");
    if (cls != v.end() && cls->is_string() && cls->get<std::string>() == "__keras_tensor__") {
      const json* cfg = v.contains("config") ? &v["config"] : nullptr;
      if (!cfg || !cfg->is_object() || !cfg->contains("keras_history")) {
        throw FormatError(where + ": a __keras_tensor__ without config.keras_history");
      }
      out.push_back(parse_ref((*cfg)["keras_history"], where + ": keras_history"));
    }
  }
}

// Tensor arguments Keras passes by keyword (MultiHeadAttention's value, key and attention_mask): they
// follow the positional inputs, in this order.
constexpr const char* kTensorKwargs[] = {"value", "key", "attention_mask"};

// The tensors among a node's keyword arguments: Keras 2 writes them as [layer, node, tensor]
// triples, Keras 3 as __keras_tensor__ objects. Other keywords ("training", "mask") are not inputs.
void collect_tensor_kwargs(const json& kwargs, std::vector<TensorRef>& out, const std::string& where) {
  if (!kwargs.is_object()) return;
  for (const char* key : kTensorKwargs) {
    auto it = kwargs.find(key);
    if (it == kwargs.end() || it->is_null()) continue;
    if (it->is_array() && !it->empty() && (*it)[0].is_string()) {
      out.push_back(parse_ref(*it, where + " kwarg '" + key + "'"));
    } else {
      std::size_t before = out.size();
      collect_keras_tensors(*it, out, where, 0);
      if (out.size() != before + 1) {
        throw FormatError(where + ": kwarg '" + std::string(key) + "' must be one tensor, got " + short_dump(*it));
      }
    }
  }
}

std::vector<std::vector<TensorRef>> parse_inbound_nodes(const json& entry, const std::string& lname) {
  std::vector<std::vector<TensorRef>> nodes;
  auto it = entry.find("inbound_nodes");
  if (it == entry.end() || it->is_null()) return nodes;
  const std::string where = "layer '" + lname + "': inbound_nodes";
  if (!it->is_array()) throw FormatError(where + " must be a list, got " + short_dump(*it));
  for (const json& node : *it) {
    std::vector<TensorRef> refs;
    if (node.is_object()) {
      if (node.contains("args")) collect_keras_tensors(node["args"], refs, where, 0);
      if (node.contains("kwargs")) collect_tensor_kwargs(node["kwargs"], refs, where);
    } else if (node.is_array()) {
      for (const json& r : node) refs.push_back(parse_ref(r, where + " entry"));
      // Keras 2: [[query, 0, 0, {"value": [v, 0, 0]}]] — keyword tensors ride on the last entry.
      if (!node.empty() && node.back().is_array() && node.back().size() >= 4) {
        collect_tensor_kwargs(node.back()[3], refs, where);
      }
    } else {
      throw FormatError(where + ": a node must be a list of [layer, node, tensor, kwargs] entries, got " +
                        short_dump(node));
    }
    if (refs.empty()) throw FormatError(where + ": a node has no input tensors");
    nodes.push_back(std::move(refs));
  }
  return nodes;
}

// MultiHeadAttention's use_causal_mask lives in each node's kwargs; Ember keeps one flag per layer
// (applied by its call()), so every node must agree.
void read_causal_kwarg(const json& entry, Layer& layer) {
  auto it = entry.find("inbound_nodes");
  if (it == entry.end() || !it->is_array()) return;
  std::optional<bool> causal;
  for (const json& node : *it) {
    const json* kwargs = nullptr;
    if (node.is_object() && node.contains("kwargs")) kwargs = &node["kwargs"];
    if (node.is_array() && !node.empty() && node.back().is_array() && node.back().size() >= 4) kwargs = &node.back()[3];
    bool on = false;
    if (kwargs && kwargs->is_object() && kwargs->contains("use_causal_mask")) {
      const json& v = (*kwargs)["use_causal_mask"];
      if (!v.is_boolean()) {
        throw FormatError(with_layer_prefix(layer.name(), layer.class_name(),
                                            "kwarg 'use_causal_mask' must be true or false, got " + short_dump(v)));
      }
      on = v.get<bool>();
    }
    if (causal && *causal != on) {
      throw FormatError(with_layer_prefix(layer.name(), layer.class_name(),
                                          "calls that differ in use_causal_mask are not supported (one flag per layer)"));
    }
    causal = on;
  }
  // (A user's own factory registered under this class name may build another class: no flag then.)
  if (auto* mha = dynamic_cast<MultiHeadAttention*>(&layer); mha && causal) mha->set_use_causal_mask(*causal);
}

// "input_layers" / "output_layers": [[name, node, tensor], ...], or one such triple (Keras 3).
std::vector<TensorRef> parse_endpoints(const json& config, const char* key, const std::string& model) {
  auto it = config.find(key);
  const std::string where = "model '" + model + "': field '" + std::string(key) + "'";
  if (it == config.end() || !it->is_array() || it->empty()) {
    throw FormatError(where + " must be a non-empty list of [layer_name, node_index, tensor_index]");
  }
  std::vector<TensorRef> refs;
  if ((*it)[0].is_string()) {
    refs.push_back(parse_ref(*it, where));
  } else {
    for (const json& r : *it) refs.push_back(parse_ref(r, where));
  }
  return refs;
}

std::shared_ptr<Model> functional_from_config(const json& config, const std::string& cls, int depth) {
  if (!config.is_object()) throw FormatError(cls + ": \"config\" must be an object, got " + config.type_name());
  ConfigFields mf(config, "model", cls);
  const std::string mname = mf.name();
  auto lit = config.find("layers");
  if (lit == config.end() || !lit->is_array()) {
    throw FormatError("model '" + mname + "' (" + cls + "): field 'layers' must be a list of layer entries");
  }
  struct Entry {
    std::string name, cls;
    LayerPtr layer;                             // null for an InputLayer
    std::vector<std::vector<TensorRef>> nodes;  // inbound nodes, one per call
    std::size_t done = 0;                       // nodes already called
  };
  std::vector<Entry> entries;
  std::unordered_map<std::string, std::size_t> index;
  std::map<std::pair<std::string, int64_t>, SymbolicTensor> produced;
  const std::string where = "model '" + mname + "'";
  for (const json& e : *lit) {
    auto [lcls, cfg] = entry_parts(e, where);
    Entry entry;
    entry.cls = lcls;
    auto n = e.find("name");
    entry.name = n != e.end() && n->is_string() ? n->get<std::string>() : entry_layer_name(lcls, *cfg);
    if (index.count(entry.name)) throw FormatError(where + ": two layers are named '" + entry.name + "'");
    if (lcls == "InputLayer") {
      produced[{entry.name, 0}] = input_from_config(*cfg, entry.name);
    } else {
      entry.layer = layer_from_entry(e, depth, where);
      entry.nodes = parse_inbound_nodes(e, entry.name);
      if (lcls == "MultiHeadAttention") read_causal_kwarg(e, *entry.layer);
    }
    index[entry.name] = entries.size();
    entries.push_back(std::move(entry));
  }
  // Every reference must name a layer of this model.
  for (const Entry& e : entries) {
    for (const auto& node : e.nodes) {
      for (const TensorRef& r : node) {
        if (!index.count(r.layer)) {
          throw FormatError(with_layer_prefix(e.name, e.cls, "inbound node refers to unknown layer '" + r.layer + "'"));
        }
      }
    }
  }
  // Output `r.tensor` of the call `produced` (a recurrent layer with return_state has several).
  auto output_of = [](const SymbolicTensor& call, const TensorRef& r, const std::string& who) {
    if (r.tensor == 0) return call;
    std::vector<SymbolicTensor> outs = outputs_of(call);
    if (r.tensor >= static_cast<int64_t>(outs.size())) {
      throw FormatError(who + "refers to output " + std::to_string(r.tensor) + " of layer '" + r.layer +
                        "', which has " + std::to_string(outs.size()) + " output(s)");
    }
    return outs[static_cast<std::size_t>(r.tensor)];
  };
  // Call the layers: a node runs once all its inputs exist, the nodes of one layer in order, so
  // that node indices keep their meaning (Keras's deferred node processing).
  std::size_t remaining = 0;
  for (const Entry& e : entries) remaining += e.nodes.size();
  bool progress = true;
  while (remaining > 0 && progress) {
    progress = false;
    for (Entry& e : entries) {
      while (e.done < e.nodes.size()) {
        std::vector<SymbolicTensor> args;
        for (const TensorRef& r : e.nodes[e.done]) {
          auto it = produced.find({r.layer, r.node});
          if (it == produced.end()) break;
          args.push_back(output_of(it->second, r, with_layer_prefix(e.name, e.cls, "inbound node ")));
        }
        if (args.size() != e.nodes[e.done].size()) break;
        SymbolicTensor out = naming_layer(e.name, e.cls, [&] {
          LayerRef ref(e.layer);
          return args.size() == 1 ? ref(args[0]) : ref(args);
        });
        produced[{e.name, static_cast<int64_t>(e.done)}] = out;
        ++e.done;
        --remaining;
        progress = true;
      }
    }
  }
  if (remaining > 0) {
    for (const Entry& e : entries) {
      if (e.done < e.nodes.size()) {
        for (const TensorRef& r : e.nodes[e.done]) {
          if (!produced.count({r.layer, r.node})) {
            throw FormatError(with_layer_prefix(e.name, e.cls,
                                                "inbound node " + std::to_string(e.done) + " needs node " +
                                                    std::to_string(r.node) + " of layer '" + r.layer +
                                                    "', which is never produced (a cycle or a missing call)"));
          }
        }
      }
    }
  }
  auto resolve = [&](const char* key) {
    std::vector<SymbolicTensor> out;
    for (const TensorRef& r : parse_endpoints(config, key, mname)) {
      auto it = produced.find({r.layer, r.node});
      if (it == produced.end()) {
        throw FormatError(where + ": field '" + std::string(key) + "' refers to [" + r.layer + ", " +
                          std::to_string(r.node) + ", " + std::to_string(r.tensor) + "], which the model does not produce");
      }
      out.push_back(output_of(it->second, r, where + ": field '" + std::string(key) + "' "));
    }
    return out;
  };
  std::vector<SymbolicTensor> inputs = resolve("input_layers");
  std::vector<SymbolicTensor> outputs = resolve("output_layers");
  try {
    return std::make_shared<Model>(inputs, outputs, mname);
  } catch (const FormatError&) {
    throw;
  } catch (const Error& e) {
    throw FormatError(where + ": " + e.what());
  }
}

std::shared_ptr<Model> model_from_config_at(const json& j, int depth) {
  if (depth > kMaxModelDepth) {
    throw FormatError("Keras model config: models nested more than " + std::to_string(kMaxModelDepth) + " deep");
  }
  if (!j.is_object()) throw FormatError("Keras model config: expected a JSON object, got " + std::string(j.type_name()));
  auto cls = j.find("class_name");
  if (cls == j.end() || !cls->is_string()) throw FormatError("Keras model config: missing string field 'class_name'");
  auto cfg = j.find("config");
  if (cfg == j.end()) throw FormatError("Keras model config: missing field 'config'");
  const std::string c = cls->get<std::string>();
  if (c == "Sequential") return sequential_from_config(*cfg, depth);
  if (c == "Functional" || c == "Model") return functional_from_config(*cfg, c, depth);
  throw FormatError("Keras model config: unknown model class '" + c + "' (expected Sequential, Functional or Model)");
}

// ---------------------------------------------------------------- writing

json model_config_at(Model& model, int depth);

// {"class_name", "config"} of a layer of a model; nested models write their model config.
json layer_entry(const LayerPtr& layer, int depth) {
  if (auto* sub = dynamic_cast<Model*>(layer.get())) return model_config_at(*sub, depth + 1);
  if (layer->class_name() != "InputLayer" && !find_layer_factory(layer->class_name())) {
    layer->fail<ValueError>("class '" + layer->class_name() + "' has no Keras config reader (register_layer it first)");
  }
  return {{"class_name", layer->class_name()}, {"config", layer->get_config()}};
}

json sequential_config(Sequential& model, int depth) {
  json layers = json::array();
  if (!model.symbolic_inputs().empty()) {
    const LayerPtr& in = model.symbolic_inputs()[0].layer();
    layers.push_back({{"class_name", "InputLayer"}, {"config", in->get_config()}});
  }
  for (const LayerPtr& l : model.layers()) {
    layers.push_back(layer_entry(l, depth));
  }
  return {{"class_name", "Sequential"}, {"config", {{"name", model.name()}, {"layers", layers}}}};
}

json functional_config(Model& model, int depth) {
  // The nodes (layer calls) of this model: everything reachable from its outputs.
  std::vector<const Data*> nodes;
  std::unordered_set<const Data*> seen;
  std::vector<const Data*> stack;
  for (const SymbolicTensor& o : model.symbolic_outputs()) stack.push_back(o.data().get());
  for (const SymbolicTensor& i : model.symbolic_inputs()) stack.push_back(i.data().get());
  while (!stack.empty()) {
    const Data* d = stack.back();
    stack.pop_back();
    if (!seen.insert(d).second) continue;
    nodes.push_back(d);
    for (const auto& in : d->inputs) stack.push_back(in.get());
  }
  // Node indices relative to this model, in call order (as Keras renumbers them).
  std::unordered_map<const Layer*, std::vector<const Data*>> calls;
  for (const Data* d : nodes) {
    if (d->output_index == 0) calls[d->layer.get()].push_back(d);  // an extra output is not a call
  }
  std::unordered_map<const Data*, int64_t> node_index;
  for (auto& [layer, ds] : calls) {
    std::sort(ds.begin(), ds.end(), [](const Data* a, const Data* b) { return a->node_index < b->node_index; });
    for (std::size_t k = 0; k < ds.size(); ++k) node_index[ds[k]] = static_cast<int64_t>(k);
  }
  // [layer, node, tensor]: output k > 0 of a call is named by the call's node and k.
  auto ref = [&](const Data* d) {
    const Data* call = d->output_index > 0 ? d->inputs[0].get() : d;
    return json::array({d->layer->name(), node_index.at(call), d->output_index});
  };
  json layers = json::array();
  for (const LayerPtr& l : model.layers()) {
    json inbound = json::array();
    for (const Data* d : calls[l.get()]) {
      if (d->inputs.empty()) continue;  // an InputLayer's own node
      json node = json::array();
      if (const auto* mha = dynamic_cast<const MultiHeadAttention*>(l.get())) {
        // Keras calls it mha(query, value=..., key=..., attention_mask=...): one positional input.
        json r = ref(d->inputs[0].get());
        json kwargs = json::object();
        for (std::size_t k = 1; k < d->inputs.size() && k <= std::size(kTensorKwargs); ++k) {
          kwargs[kTensorKwargs[k - 1]] = ref(d->inputs[k].get());
        }
        if (mha->options().use_causal_mask) kwargs["use_causal_mask"] = true;
        r.push_back(kwargs);
        node.push_back(r);
      } else {
        for (const auto& in : d->inputs) {
          json r = ref(in.get());
          r.push_back(json::object());
          node.push_back(r);
        }
      }
      inbound.push_back(node);
    }
    json entry = layer_entry(l, depth);
    entry["name"] = l->name();
    entry["inbound_nodes"] = inbound;
    layers.push_back(entry);
  }
  json ins = json::array(), outs = json::array();
  for (const SymbolicTensor& i : model.symbolic_inputs()) ins.push_back(ref(i.data().get()));
  for (const SymbolicTensor& o : model.symbolic_outputs()) outs.push_back(ref(o.data().get()));
  return {{"class_name", "Functional"},
          {"config", {{"name", model.name()}, {"layers", layers}, {"input_layers", ins}, {"output_layers", outs}}}};
}

json model_config_at(Model& model, int depth) {
  if (depth > kMaxModelDepth) throw ValueError("model '" + model.name() + "': models nested too deeply");
  if (typeid(model) == typeid(Sequential)) return sequential_config(static_cast<Sequential&>(model), depth);
  if (typeid(model) == typeid(Model) && model.is_functional()) return functional_config(model, depth);
  throw ValueError("model '" + model.name() +
                   "': only Sequential and functional models have a Keras config (a subclassed model's "
                   "architecture is its code)");
}

}  // namespace

// ---------------------------------------------------------------- public API

LayerPtr layer_from_config(const json& j) {
  try {
    return layer_from_entry(j, 0, "layer config");
  } catch (const json::exception& e) {
    throw FormatError(std::string("layer config: ") + e.what());
  }
}

json model_config(Model& model) { return model_config_at(model, 0); }

std::string to_json(Model& model, int indent) {
  json j = model_config(model);
  j["keras_version"] = "2.15.0";
  j["backend"] = "tensorflow";
  return j.dump(indent);
}

std::shared_ptr<Model> model_from_config(const json& j) {
  try {
    return model_from_config_at(j, 0);
  } catch (const json::exception& e) {
    // A safety net: every field is type-checked before use, so this means a case missed above.
    throw FormatError(std::string("Keras model config: ") + e.what());
  }
}

std::shared_ptr<Model> model_from_json(const std::string& text) {
  return model_from_config(parse_json(text, "Keras JSON"));
}

std::shared_ptr<Model> model_from_json_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw IOError("cannot read '" + path + "': it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IOError("cannot open '" + path + "': " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw IOError("cannot read '" + path + "'");
  try {
    return model_from_json(ss.str());
  } catch (const FormatError& e) {
    throw FormatError(path + ": " + e.what());
  }
}

}  // namespace ember::nn
