#pragma once
// The Keras config fields that every weighted layer with an activation shares (Dense, Conv1D,
// Conv2D): activation, use_bias, kernel/bias initializers, kernel/bias/activity regularizers and
// the constraints Ember does not have. Written and read by name from the layer's options struct,
// so each layer's get_config / from_config lists only its own fields. Internal to src/nn/layers.
#include <nlohmann/json.hpp>

#include "ember/nn/layer_fields.hpp"
#include "ember/nn/layers/conv.hpp"  // detail::initializer_json, detail::regularizer_json

namespace ember::nn::detail {

template <typename Options>
void write_weighted_fields(nlohmann::json& c, const Options& o) {
  c["activation"] = activation_name(o.activation);
  c["use_bias"] = o.use_bias;
  c["kernel_initializer"] = initializer_json(o.kernel_initializer);
  c["bias_initializer"] = initializer_json(o.bias_initializer);
  c["kernel_regularizer"] = regularizer_json(o.kernel_regularizer);
  c["bias_regularizer"] = regularizer_json(o.bias_regularizer);
  c["activity_regularizer"] = regularizer_json(o.activity_regularizer);
  c["kernel_constraint"] = nullptr;
  c["bias_constraint"] = nullptr;
}

template <typename Options>
void read_weighted_fields(const LayerFields& f, Options& o) {
  f.no_constraints({"kernel_constraint", "bias_constraint", "lora_rank"});
  o.activation = f.activation("activation");
  o.use_bias = f.boolean("use_bias", true);
  o.kernel_initializer = f.initializer("kernel_initializer", "glorot_uniform");
  o.bias_initializer = f.initializer("bias_initializer", "zeros");
  o.kernel_regularizer = f.regularizer("kernel_regularizer");
  o.bias_regularizer = f.regularizer("bias_regularizer");
  o.activity_regularizer = f.regularizer("activity_regularizer");
  o.name = f.name();
}

}  // namespace ember::nn::detail
