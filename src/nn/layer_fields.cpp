#include "ember/nn/layer_fields.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "ember/core/error.hpp"

namespace ember::nn {

Activation LayerFields::activation(const std::string& key) const {
  const nlohmann::json* v = find(key);
  if (!v) return Activation::Linear;
  if (v->is_string()) {
    try {
      return activation_from_name(v->get<std::string>());
    } catch (const ValueError&) {
      // reported below, with the field's name
    }
  }
  fail(key, "the name of a supported activation (linear, relu, sigmoid, tanh, softmax, ...)");
}

Padding LayerFields::padding(const std::string& key) const {
  std::string p = string(key, "valid");
  std::transform(p.begin(), p.end(), p.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  if (p == "valid") return Padding::Valid;
  if (p == "same") return Padding::Same;
  fail(key, "\"valid\" or \"same\"");
}

initializers::InitializerPtr LayerFields::initializer(const std::string& key, const std::string& fallback) const {
  const nlohmann::json* v = find(key);
  if (!v) return initializers::get(fallback);
  try {
    if (v->is_string()) return initializers::get(v->get<std::string>());
    return initializers::from_config(*v);
  } catch (const Error& e) {
    fail(key, std::string("an initializer (") + e.what() + ")");
  }
}

regularizers::RegularizerPtr LayerFields::regularizer(const std::string& key) const {
  const nlohmann::json* v = find(key);
  if (!v) return nullptr;
  try {
    if (v->is_string()) return regularizers::get(v->get<std::string>());
    return regularizers::from_config(*v);
  } catch (const Error& e) {
    fail(key, std::string("a regularizer (") + e.what() + ")");
  }
}

void LayerFields::channels_last() const {
  if (string("data_format", "channels_last") != "channels_last") {
    fail("data_format", "\"channels_last\" (Ember's only layout)");
  }
}

void LayerFields::no_constraints(std::initializer_list<const char*> keys) const {
  for (const char* k : keys) require_null(k);
}

}  // namespace ember::nn
