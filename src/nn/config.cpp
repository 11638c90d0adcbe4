#include "ember/nn/config.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <typeinfo>
#include <unordered_map>
#include <unordered_set>

#include "ember/nn/layers/conv.hpp"
#include "ember/nn/layers/core.hpp"
#include "ember/nn/layers/merging.hpp"
#include "ember/nn/layers/normalization.hpp"
#include "ember/nn/layers/pooling.hpp"
#include "ember/nn/layers/reshaping.hpp"

namespace ember::nn {

using json = nlohmann::json;
using Data = SymbolicTensor::Data;

namespace {

// Nested models recurse; a hostile file must not exhaust the stack.
constexpr int kMaxModelDepth = 32;
// Sizes beyond this are certainly not a real layer and would overflow shape arithmetic.
constexpr int64_t kMaxDim = int64_t{1} << 31;

std::string short_dump(const json& v) {
  std::string s = v.dump();
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

// The fields of one layer's "config", read with errors that name the layer and the field.
class Fields {
 public:
  Fields(const json& config, const std::string& class_name) : c_(config) {
    if (!c_.is_object()) {
      throw FormatError("layer of class '" + class_name + "': \"config\" must be an object, got " + c_.type_name());
    }
    auto it = c_.find("name");
    if (it != c_.end() && !it->is_null()) {
      if (!it->is_string() || it->get<std::string>().empty()) {
        throw FormatError("layer of class '" + class_name + "': field 'name' must be a non-empty string");
      }
      name_ = it->get<std::string>();
    }
    label_ = name_.empty() ? "of class '" + class_name + "'" : "'" + name_ + "'";
  }

  const std::string& name() const { return name_; }  // empty: automatic
  const std::string& label() const { return label_; }

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw FormatError("layer " + label_ + ": field '" + key + "' " + what);
  }
  // The value, or nullptr when absent or null.
  const json* find(const std::string& key) const {
    auto it = c_.find(key);
    return it == c_.end() || it->is_null() ? nullptr : &*it;
  }

  int64_t integer(const std::string& key, std::optional<int64_t> fallback, int64_t min, const char* what) const {
    const json* v = find(key);
    if (!v) {
      if (fallback) return *fallback;
      fail(key, std::string("is required (") + what + ")");
    }
    if (!v->is_number_integer()) fail(key, std::string("must be ") + what + ", got " + short_dump(*v));
    if (v->is_number_unsigned() ? v->get<uint64_t>() >= static_cast<uint64_t>(kMaxDim) : v->get<int64_t>() >= kMaxDim) {
      fail(key, std::string("must be ") + what + " below " + std::to_string(kMaxDim) + ", got " + short_dump(*v));
    }
    int64_t x = v->get<int64_t>();
    if (x < min || x <= -kMaxDim) fail(key, std::string("must be ") + what + ", got " + short_dump(*v));
    return x;
  }
  int64_t positive(const std::string& key, std::optional<int64_t> fallback = std::nullopt) const {
    return integer(key, fallback, 1, "a positive integer");
  }
  // An int or a list of `n` ints (Keras tuples), each >= min.
  std::vector<int64_t> tuple(const std::string& key, std::size_t n, std::optional<int64_t> fallback,
                             int64_t min = 1) const {
    std::string what = min >= 1 ? "a positive integer or a list of " + std::to_string(n) + " positive integers"
                                : "an integer or a list of " + std::to_string(n) + " integers >= " + std::to_string(min);
    const json* v = find(key);
    if (!v) {
      if (!fallback) fail(key, "is required (" + what + ")");
      return std::vector<int64_t>(n, *fallback);
    }
    auto one = [&](const json& e) {
      if (!e.is_number_integer()) fail(key, "must be " + what + ", got " + short_dump(*v));
      if ((e.is_number_unsigned() && e.get<uint64_t>() >= static_cast<uint64_t>(kMaxDim)) || e.get<int64_t>() >= kMaxDim) {
        fail(key, "must be " + what + " below " + std::to_string(kMaxDim) + ", got " + short_dump(*v));
      }
      int64_t x = e.get<int64_t>();
      if (x < min) fail(key, "must be " + what + ", got " + short_dump(*v));
      return x;
    };
    if (v->is_number()) return std::vector<int64_t>(n, one(*v));
    if (!v->is_array() || v->size() != n) fail(key, "must be " + what + ", got " + short_dump(*v));
    std::vector<int64_t> out;
    for (const json& e : *v) out.push_back(one(e));
    return out;
  }
  double number(const std::string& key, double fallback) const {
    const json* v = find(key);
    if (!v) return fallback;
    if (!v->is_number()) fail(key, "must be a number, got " + short_dump(*v));
    return v->get<double>();
  }
  bool boolean(const std::string& key, bool fallback) const {
    const json* v = find(key);
    if (!v) return fallback;
    if (!v->is_boolean()) fail(key, "must be true or false, got " + short_dump(*v));
    return v->get<bool>();
  }
  std::string string(const std::string& key, const std::string& fallback) const {
    const json* v = find(key);
    if (!v) return fallback;
    if (!v->is_string()) fail(key, "must be a string, got " + short_dump(*v));
    return v->get<std::string>();
  }
  Activation activation(const std::string& key) const {
    const json* v = find(key);
    if (!v) return Activation::Linear;
    if (!v->is_string()) fail(key, "must be the name of an activation, got " + short_dump(*v));
    try {
      return activation_from_name(v->get<std::string>());
    } catch (const ValueError&) {
      fail(key, "names an unsupported activation '" + v->get<std::string>() + "'");
    }
  }
  Padding padding(const std::string& key) const {
    std::string p = string(key, "valid");
    std::transform(p.begin(), p.end(), p.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (p == "valid") return Padding::Valid;
    if (p == "same") return Padding::Same;
    fail(key, "must be \"valid\" or \"same\", got \"" + p + "\"");
  }
  InitializerPtr initializer(const std::string& key, const std::string& fallback) const {
    const json* v = find(key);
    if (!v) return initializers::get(fallback);
    try {
      if (v->is_string()) return initializers::get(v->get<std::string>());
      return initializers::from_config(*v);
    } catch (const Error& e) {
      fail(key, std::string("is not a valid initializer: ") + e.what());
    }
  }
  RegularizerPtr regularizer(const std::string& key) const {
    const json* v = find(key);
    if (!v) return nullptr;
    try {
      if (v->is_string()) return regularizers::get(v->get<std::string>());
      return regularizers::from_config(*v);
    } catch (const Error& e) {
      fail(key, std::string("is not a valid regularizer: ") + e.what());
    }
  }
  // Fields that would change the computation and that Ember does not implement.
  void require_null(const std::string& key) const {
    if (const json* v = find(key)) fail(key, "is not supported (got " + short_dump(*v) + ", expected null)");
  }
  void require_false(const std::string& key) const {
    if (boolean(key, false)) fail(key, "is not supported (got true)");
  }
  void require_int(const std::string& key, int64_t expected) const {
    const json* v = find(key);
    if (v && !(v->is_number_integer() && v->get<int64_t>() == expected)) {
      fail(key, "is not supported (got " + short_dump(*v) + ", only " + std::to_string(expected) + ")");
    }
  }
  void channels_last() const {
    const json* v = find("data_format");
    if (v && !(v->is_string() && v->get<std::string>() == "channels_last")) {
      fail("data_format", "is not supported (got " + short_dump(*v) + ", only \"channels_last\")");
    }
  }
  // The constraint fields every weighted Keras layer writes.
  void no_constraints(std::initializer_list<const char*> keys) const {
    for (const char* k : keys) require_null(k);
  }

 private:
  const json& c_;
  std::string name_;
  std::string label_;
};

template <typename L>
LayerPtr share(L&& layer) {
  return std::make_shared<std::decay_t<L>>(std::forward<L>(layer));
}

// ---------------------------------------------------------------- factories

LayerPtr make_dense(const json& c) {
  Fields f(c, "Dense");
  f.no_constraints({"kernel_constraint", "bias_constraint", "lora_rank"});
  return share(Dense({.units = f.positive("units"),
                      .activation = f.activation("activation"),
                      .use_bias = f.boolean("use_bias", true),
                      .kernel_initializer = f.initializer("kernel_initializer", "glorot_uniform"),
                      .bias_initializer = f.initializer("bias_initializer", "zeros"),
                      .kernel_regularizer = f.regularizer("kernel_regularizer"),
                      .bias_regularizer = f.regularizer("bias_regularizer"),
                      .activity_regularizer = f.regularizer("activity_regularizer"),
                      .name = f.name()}));
}

LayerPtr make_activation(const json& c) {
  Fields f(c, "Activation");
  if (!f.find("activation")) f.fail("activation", "is required (the name of an activation)");
  return share(ActivationLayer(f.activation("activation"), f.name()));
}

LayerPtr make_flatten(const json& c) {
  Fields f(c, "Flatten");
  f.channels_last();
  return share(Flatten(f.name()));
}

LayerPtr make_conv2d(const json& c) {
  Fields f(c, "Conv2D");
  f.channels_last();
  f.require_int("groups", 1);
  f.no_constraints({"kernel_constraint", "bias_constraint", "lora_rank"});
  auto k = f.tuple("kernel_size", 2, std::nullopt);
  auto s = f.tuple("strides", 2, 1);
  auto d = f.tuple("dilation_rate", 2, 1);
  return share(Conv2D({.filters = f.positive("filters"),
                       .kernel_size = {k[0], k[1]},
                       .strides = {s[0], s[1]},
                       .padding = f.padding("padding"),
                       .dilation_rate = {d[0], d[1]},
                       .activation = f.activation("activation"),
                       .use_bias = f.boolean("use_bias", true),
                       .kernel_initializer = f.initializer("kernel_initializer", "glorot_uniform"),
                       .bias_initializer = f.initializer("bias_initializer", "zeros"),
                       .kernel_regularizer = f.regularizer("kernel_regularizer"),
                       .bias_regularizer = f.regularizer("bias_regularizer"),
                       .activity_regularizer = f.regularizer("activity_regularizer"),
                       .name = f.name()}));
}

LayerPtr make_conv1d(const json& c) {
  Fields f(c, "Conv1D");
  f.channels_last();
  f.require_int("groups", 1);
  f.no_constraints({"kernel_constraint", "bias_constraint", "lora_rank"});
  if (f.string("padding", "valid") == "causal") f.fail("padding", "is not supported (got \"causal\")");
  return share(Conv1D({.filters = f.positive("filters"),
                       .kernel_size = f.tuple("kernel_size", 1, std::nullopt)[0],
                       .strides = f.tuple("strides", 1, 1)[0],
                       .padding = f.padding("padding"),
                       .dilation_rate = f.tuple("dilation_rate", 1, 1)[0],
                       .activation = f.activation("activation"),
                       .use_bias = f.boolean("use_bias", true),
                       .kernel_initializer = f.initializer("kernel_initializer", "glorot_uniform"),
                       .bias_initializer = f.initializer("bias_initializer", "zeros"),
                       .kernel_regularizer = f.regularizer("kernel_regularizer"),
                       .bias_regularizer = f.regularizer("bias_regularizer"),
                       .activity_regularizer = f.regularizer("activity_regularizer"),
                       .name = f.name()}));
}

Pooling2DOptions pooling2d_options(const Fields& f) {
  f.channels_last();
  auto p = f.tuple("pool_size", 2, 2);
  Pooling2DOptions o;
  o.pool_size = {p[0], p[1]};
  o.padding = f.padding("padding");
  o.name = f.name();
  if (f.find("strides")) {
    auto s = f.tuple("strides", 2, std::nullopt);
    o.strides = std::array<int64_t, 2>{s[0], s[1]};
  }
  return o;
}

LayerPtr make_max_pooling2d(const json& c) {
  return std::make_shared<MaxPooling2D>(pooling2d_options(Fields(c, "MaxPooling2D")));
}
LayerPtr make_average_pooling2d(const json& c) {
  return std::make_shared<AveragePooling2D>(pooling2d_options(Fields(c, "AveragePooling2D")));
}

LayerPtr make_max_pooling1d(const json& c) {
  Fields f(c, "MaxPooling1D");
  f.channels_last();
  Pooling1DOptions o;
  o.pool_size = f.tuple("pool_size", 1, 2)[0];
  o.padding = f.padding("padding");
  o.name = f.name();
  if (f.find("strides")) o.strides = f.tuple("strides", 1, std::nullopt)[0];
  return share(MaxPooling1D(o));
}

LayerPtr make_global_average_pooling2d(const json& c) {
  Fields f(c, "GlobalAveragePooling2D");
  f.channels_last();
  f.require_false("keepdims");
  return share(GlobalAveragePooling2D(f.name()));
}

LayerPtr make_global_max_pooling2d(const json& c) {
  Fields f(c, "GlobalMaxPooling2D");
  f.channels_last();
  f.require_false("keepdims");
  return share(GlobalMaxPooling2D(f.name()));
}

LayerPtr make_reshape(const json& c) {
  Fields f(c, "Reshape");
  const json* t = f.find("target_shape");
  if (!t || !t->is_array() || t->empty()) f.fail("target_shape", "must be a non-empty list of integers");
  Shape target;
  for (const json& d : *t) {
    if (!d.is_number_integer() || d.get<int64_t>() < -1 || d.get<int64_t>() == 0 || d.get<int64_t>() >= kMaxDim) {
      f.fail("target_shape", "must list positive integers (or one -1), got " + short_dump(*t));
    }
    target.push_back(d.get<int64_t>());
  }
  return share(Reshape(target, f.name()));
}

LayerPtr make_dropout(const json& c) {
  Fields f(c, "Dropout");
  f.require_null("noise_shape");
  DropoutOptions o;
  o.rate = f.number("rate", 0.5);
  o.name = f.name();
  if (const json* s = f.find("seed")) {
    if (!s->is_number_integer() || (!s->is_number_unsigned() && s->get<int64_t>() < 0)) {
      f.fail("seed", "must be null or a non-negative integer, got " + short_dump(*s));
    }
    o.seed = s->get<uint64_t>();
  }
  return share(Dropout(o));
}

LayerPtr make_batch_normalization(const json& c) {
  Fields f(c, "BatchNormalization");
  f.no_constraints({"beta_constraint", "gamma_constraint", "beta_regularizer", "gamma_regularizer",
                    "virtual_batch_size", "adjustment"});
  f.require_false("renorm");
  int64_t axis = -1;
  if (const json* a = f.find("axis")) {
    // TF2 Keras writes the axis as a list ([3]); one axis only.
    const json& v = a->is_array() && a->size() == 1 ? (*a)[0] : *a;
    if (!v.is_number_integer() || std::abs(v.get<int64_t>()) >= kMaxDim) {
      f.fail("axis", "must be an integer or a list of one integer, got " + short_dump(*a));
    }
    axis = v.get<int64_t>();
  }
  return share(BatchNormalization({.axis = axis,
                                   .momentum = f.number("momentum", 0.99),
                                   .epsilon = f.number("epsilon", 1e-3),
                                   .center = f.boolean("center", true),
                                   .scale = f.boolean("scale", true),
                                   .beta_initializer = f.initializer("beta_initializer", "zeros"),
                                   .gamma_initializer = f.initializer("gamma_initializer", "ones"),
                                   .moving_mean_initializer = f.initializer("moving_mean_initializer", "zeros"),
                                   .moving_variance_initializer = f.initializer("moving_variance_initializer", "ones"),
                                   .name = f.name()}));
}

LayerPtr make_zero_padding2d(const json& c) {
  Fields f(c, "ZeroPadding2D");
  f.channels_last();
  ZeroPadding2DOptions o{.name = f.name()};
  const json* p = f.find("padding");
  const std::string what = "must be an integer, [rows, cols] or [[top, bottom], [left, right]] of integers >= 0";
  auto nonneg = [&](const json& v) {
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() >= kMaxDim) f.fail("padding", what);
    return v.get<int64_t>();
  };
  if (p) {
    if (p->is_number()) {
      int64_t x = nonneg(*p);
      o.padding = {{{x, x}, {x, x}}};
    } else if (p->is_array() && p->size() == 2 && (*p)[0].is_array()) {
      for (std::size_t i = 0; i < 2; ++i) {
        const json& pair = (*p)[i];
        if (!pair.is_array() || pair.size() != 2) f.fail("padding", what);
        o.padding[i] = {nonneg(pair[0]), nonneg(pair[1])};
      }
    } else if (p->is_array() && p->size() == 2) {
      int64_t h = nonneg((*p)[0]), w = nonneg((*p)[1]);
      o.padding = {{{h, h}, {w, w}}};
    } else {
      f.fail("padding", what);
    }
  }
  return share(ZeroPadding2D(o));
}

LayerPtr make_add(const json& c) { return std::make_shared<Add>(Fields(c, "Add").name()); }
LayerPtr make_multiply(const json& c) { return std::make_shared<Multiply>(Fields(c, "Multiply").name()); }

LayerPtr make_concatenate(const json& c) {
  Fields f(c, "Concatenate");
  return std::make_shared<Concatenate>(
      ConcatenateOptions{.axis = f.integer("axis", -1, -kMaxDim + 1, "an integer"), .name = f.name()});
}

LayerPtr make_leaky_relu(const json& c) {
  Fields f(c, "LeakyReLU");
  // Keras 2 calls the slope "alpha", Keras 3 "negative_slope".
  double alpha = f.find("negative_slope") ? f.number("negative_slope", 0.3) : f.number("alpha", 0.3);
  return share(LeakyReLU({.alpha = alpha, .name = f.name()}));
}

// ---------------------------------------------------------------- registry

struct Registry {
  std::mutex mu;
  std::map<std::string, LayerFactory> factories;
};

Registry& registry() {
  static Registry* r = [] {
    auto* reg = new Registry;
    auto& m = reg->factories;
    m["Dense"] = make_dense;
    m["Activation"] = make_activation;
    m["Flatten"] = make_flatten;
    m["Conv2D"] = m["Convolution2D"] = make_conv2d;
    m["Conv1D"] = m["Convolution1D"] = make_conv1d;
    m["MaxPooling2D"] = m["MaxPool2D"] = make_max_pooling2d;
    m["AveragePooling2D"] = m["AvgPool2D"] = make_average_pooling2d;
    m["MaxPooling1D"] = m["MaxPool1D"] = make_max_pooling1d;
    m["GlobalAveragePooling2D"] = m["GlobalAvgPool2D"] = make_global_average_pooling2d;
    m["GlobalMaxPooling2D"] = m["GlobalMaxPool2D"] = make_global_max_pooling2d;
    m["Reshape"] = make_reshape;
    m["Dropout"] = make_dropout;
    m["BatchNormalization"] = make_batch_normalization;
    m["ZeroPadding2D"] = make_zero_padding2d;
    m["Add"] = make_add;
    m["Multiply"] = make_multiply;
    m["Concatenate"] = make_concatenate;
    m["LeakyReLU"] = make_leaky_relu;
    return reg;
  }();
  return *r;
}

std::optional<LayerFactory> find_factory(const std::string& class_name) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.factories.find(class_name);
  if (it == r.factories.end()) return std::nullopt;
  return it->second;
}

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

// A layer (or nested model) from its entry; every error becomes a FormatError naming the layer.
LayerPtr layer_from_entry(const json& entry, int depth, const std::string& where) {
  auto [cls, cfg] = entry_parts(entry, where);
  std::string lname = entry_layer_name(cls, *cfg);
  LayerPtr layer;
  if (is_model_class(cls)) {
    layer = model_from_config_at(entry, depth + 1);
  } else if (cls == "InputLayer") {
    throw FormatError("layer '" + lname + "': an InputLayer can only start a model");
  } else {
    std::optional<LayerFactory> factory = find_factory(cls);
    if (!factory) throw FormatError("unknown layer class '" + cls + "' (layer '" + lname + "')");
    try {
      layer = (*factory)(*cfg);
    } catch (const FormatError&) {
      throw;
    } catch (const Error& e) {
      throw FormatError("layer '" + lname + "' (" + cls + "): " + e.what());
    }
    if (!layer) throw FormatError("layer '" + lname + "' (" + cls + "): the registered factory returned no layer");
  }
  if (cfg->is_object()) layer->set_trainable(Fields(*cfg, cls).boolean("trainable", true));
  return layer;
}

// The symbolic input an InputLayer config stands for; `name` (when not empty) overrides the config's.
SymbolicTensor input_from_config(const json& config, const std::string& name) {
  Fields f(config, "InputLayer");
  // Keras 2: batch_input_shape; Keras 3: batch_shape.
  const char* key = f.find("batch_input_shape") ? "batch_input_shape" : "batch_shape";
  const json* s = f.find(key);
  if (!s || !s->is_array() || s->empty()) {
    f.fail("batch_input_shape", "must be a list [null, d1, d2, ...]");
  }
  Shape shape;
  for (std::size_t i = 1; i < s->size(); ++i) {
    const json& d = (*s)[i];
    if (!d.is_number_integer() || d.get<int64_t>() <= 0 || d.get<int64_t>() >= kMaxDim) {
      f.fail(key, "must list positive dimensions after the batch axis (unknown dimensions are not supported), got " +
                      short_dump(*s));
    }
    shape.push_back(d.get<int64_t>());
  }
  f.require_false("sparse");
  f.require_false("ragged");
  DType dtype = f32;
  if (const json* dt = f.find("dtype"); dt && dt->is_string()) {
    std::string name = dt->get<std::string>();
    if (name == "float64") {
      dtype = f64;
    } else if (name != "float32") {
      f.fail("dtype", "is not supported (got \"" + name + "\", expected \"float32\" or \"float64\")");
    }
  }
  return Input(shape, name.empty() ? f.name() : name, dtype);
}

// Wraps errors of building the graph (shape mismatches, ...) as FormatError naming the layer.
template <typename F>
auto naming_layer(const std::string& layer, const std::string& cls, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const FormatError&) {
    throw;
  } catch (const Error& e) {
    throw FormatError("layer '" + layer + "' (" + cls + "): " + e.what());
  }
}

std::shared_ptr<Model> sequential_from_config(const json& config, int depth) {
  // Keras <= 2.2 wrote the layer list itself as the config.
  const json* layers = &config;
  std::string name;
  if (config.is_object()) {
    Fields f(config, "Sequential");
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
        throw FormatError("layer '" + lname + "': an InputLayer can only come first in a Sequential model");
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
    } else if (node.is_array()) {
      for (const json& r : node) refs.push_back(parse_ref(r, where + " entry"));
    } else {
      throw FormatError(where + ": a node must be a list of [layer, node, tensor, kwargs] entries, got " +
                        short_dump(node));
    }
    if (refs.empty()) throw FormatError(where + ": a node has no input tensors");
    nodes.push_back(std::move(refs));
  }
  return nodes;
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
  Fields mf(config, cls);
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
    }
    index[entry.name] = entries.size();
    entries.push_back(std::move(entry));
  }
  // Every reference must name a layer of this model.
  for (const Entry& e : entries) {
    for (const auto& node : e.nodes) {
      for (const TensorRef& r : node) {
        if (!index.count(r.layer)) {
          throw FormatError("layer '" + e.name + "': inbound node refers to unknown layer '" + r.layer + "'");
        }
        if (r.tensor != 0) {
          throw FormatError("layer '" + e.name + "': inbound node refers to output " + std::to_string(r.tensor) +
                            " of layer '" + r.layer + "', which has a single output");
        }
      }
    }
  }
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
          args.push_back(it->second);
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
            throw FormatError("layer '" + e.name + "': inbound node " + std::to_string(e.done) + " needs node " +
                              std::to_string(r.node) + " of layer '" + r.layer +
                              "', which is never produced (a cycle or a missing call)");
          }
        }
      }
    }
  }
  auto resolve = [&](const char* key) {
    std::vector<SymbolicTensor> out;
    for (const TensorRef& r : parse_endpoints(config, key, mname)) {
      auto it = produced.find({r.layer, r.node});
      if (it == produced.end() || r.tensor != 0) {
        throw FormatError(where + ": field '" + std::string(key) + "' refers to [" + r.layer + ", " +
                          std::to_string(r.node) + ", " + std::to_string(r.tensor) + "], which the model does not produce");
      }
      out.push_back(it->second);
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
  if (layer->class_name() != "InputLayer" && !find_factory(layer->class_name())) {
    throw ValueError("layer '" + layer->name() + "': class '" + layer->class_name() +
                     "' has no Keras config reader (register_layer it first)");
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
  for (const Data* d : nodes) calls[d->layer.get()].push_back(d);
  std::unordered_map<const Data*, int64_t> node_index;
  for (auto& [layer, ds] : calls) {
    std::sort(ds.begin(), ds.end(), [](const Data* a, const Data* b) { return a->node_index < b->node_index; });
    for (std::size_t k = 0; k < ds.size(); ++k) node_index[ds[k]] = static_cast<int64_t>(k);
  }
  auto ref = [&](const Data* d) { return json::array({d->layer->name(), node_index.at(d), 0}); };
  json layers = json::array();
  for (const LayerPtr& l : model.layers()) {
    json inbound = json::array();
    for (const Data* d : calls[l.get()]) {
      if (d->inputs.empty()) continue;  // an InputLayer's own node
      json node = json::array();
      for (const auto& in : d->inputs) {
        json r = ref(in.get());
        r.push_back(json::object());
        node.push_back(r);
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

void register_layer(const std::string& class_name, LayerFactory factory) {
  if (class_name.empty() || !factory) throw ValueError("register_layer: needs a class name and a factory");
  if (is_model_class(class_name) || class_name == "InputLayer") {
    throw ValueError("register_layer: '" + class_name + "' is read by the model loader itself");
  }
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.factories[class_name] = std::move(factory);
}

std::vector<std::string> registered_layer_classes() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::vector<std::string> names;
  for (const auto& [name, f] : r.factories) names.push_back(name);
  return names;
}

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
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    throw FormatError("Keras JSON: malformed JSON at byte " + std::to_string(e.byte) + ": " + e.what());
  }
  return model_from_config(j);
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
