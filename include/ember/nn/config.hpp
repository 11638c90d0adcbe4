#pragma once
// Keras JSON model configs: the architecture exchange format (`model.to_json()` /
// `keras.models.model_from_json` in tf.keras 2.x).
//
//   std::string s = nn::to_json(model);              // {"class_name": "Sequential", "config": {...}, ...}
//   std::shared_ptr<nn::Model> m = nn::model_from_json(s);
//
// Reads what tf.keras 2.x writes: Sequential (with an InputLayer entry, or the older form where the
// first layer carries "batch_input_shape"; also Keras <= 2.2's bare list of layers) and Functional /
// Model configs with "inbound_nodes" per call of a layer ([layer, node, tensor, kwargs] entries;
// the TF >= 2.13 / Keras 3 {"args", "kwargs"} form with "__keras_tensor__" entries is read too).
// Node indices are relative to the model, as Keras writes them. Nested Sequential/Functional models
// are read and written as layers.
//
// Fields that do not change the computation (dtype, data_format "channels_last", null constraints,
// "module"/"registered_name"/"build_config", ...) are ignored. A field that would change it and is
// unsupported ("channels_first", a constraint, groups != 1, "causal" padding, renorm, ...) throws
// FormatError naming the layer and the field; so do unknown layer classes ("unknown layer class
// 'Conv3D' (layer 'conv3d')"), missing or mistyped required fields ("field 'units' of layer 'dense'
// (Dense): expected a positive integer below 2147483648, got -3"; one wording for every config,
// see ember/core/config_fields.hpp) and malformed JSON, numbers outside double's range included
// (with the byte position). Values the layer itself rejects (a negative dropout rate, ...) are
// reported as FormatError too, naming the layer once.
// Weights are not part of the config: a loaded model is freshly initialised.
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "ember/nn/model.hpp"

namespace ember::nn {

// The Keras JSON of a Sequential or functional model (nested models included). Throws ValueError
// for a subclassed model (its architecture is code, not config) or a layer of a class that has no
// Keras config. `indent` < 0 writes one line, like Keras.
std::string to_json(Model& model, int indent = -1);
// {"class_name": "Sequential" | "Functional", "config": {...}} without the version fields: the
// value of the "model_config" attribute of a Keras HDF5 file.
nlohmann::json model_config(Model& model);

std::shared_ptr<Model> model_from_json(const std::string& text);
// IOError when the file cannot be read, FormatError for its contents (message prefixed by the path).
std::shared_ptr<Model> model_from_json_file(const std::string& path);
// From an already parsed {"class_name", "config"} object (e.g. an HDF5 "model_config" attribute).
std::shared_ptr<Model> model_from_config(const nlohmann::json& j);

// ---- the layer registry (the table is in src/nn/layers/registry.cpp) ----
// A factory builds a layer from its Keras "config" object; the built-in ones are each class's
// static from_config. It may throw FormatError naming the
// layer and field; other ember::Error types thrown by layer constructors are turned into
// FormatError naming the layer.
using LayerFactory = std::function<LayerPtr(const nlohmann::json& config)>;
// Adds (or replaces) the factory for a Keras class name, e.g. a user's own layer.
void register_layer(const std::string& class_name, LayerFactory factory);
// Sorted class names the registry knows (aliases included).
std::vector<std::string> registered_layer_classes();
// The factory registered for `class_name`, or an empty function.
LayerFactory find_layer_factory(const std::string& class_name);
// A layer from {"class_name": ..., "config": {...}} (InputLayer excluded: it is part of a model).
LayerPtr layer_from_config(const nlohmann::json& j);

}  // namespace ember::nn
