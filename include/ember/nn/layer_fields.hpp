#pragma once
// LayerFields: the config reader (ember::ConfigFields) with the field types layers share —
// activations, padding, initializers, regularizers, channels_last. Each layer's from_config reads
// its Keras config with it, so every layer reports a bad field in the same words:
//   field 'units' of layer 'dense' (Dense): expected a positive integer below 2147483648, got -1
#include <initializer_list>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "ember/core/config_fields.hpp"
#include "ember/nn/activations.hpp"
#include "ember/nn/initializers.hpp"
#include "ember/nn/regularizers.hpp"
#include "ember/ops/conv.hpp"  // Padding

namespace ember::nn {

class LayerFields : public ConfigFields {
 public:
  LayerFields(const nlohmann::json& config, std::string class_name)
      : ConfigFields(config, "layer", std::move(class_name)) {}

  // An activation name; absent: linear.
  Activation activation(const std::string& key) const;
  // "valid" | "same" (any case); absent: valid.
  Padding padding(const std::string& key) const;
  // An identifier ("glorot_uniform") or {"class_name", "config"}; absent: `fallback` (an identifier).
  initializers::InitializerPtr initializer(const std::string& key, const std::string& fallback) const;
  // An identifier ("l2") or {"class_name", "config"}; absent: none.
  regularizers::RegularizerPtr regularizer(const std::string& key) const;
  // "data_format" absent or "channels_last" (Ember's only layout).
  void channels_last() const;
  // Constraint fields Keras writes as null; Ember has no constraints, so a set one is an error.
  void no_constraints(std::initializer_list<const char*> keys) const;
};

}  // namespace ember::nn
