// The compiled state of Keras 2 .h5 model files: training_config and /optimizer_weights
// (ember/io/keras_h5.hpp has the layout). Keras 2 (keras/saving/legacy/hdf5_format.py) writes the
// compile arguments as JSON with the optimizer as {"class_name", "config"}, and every optimizer
// variable under its variable name: "<opt>/iter:0", then the slots "<opt>/<weight>/<slot>:0" with
// the slot names of Keras 2's optimizers (Adam's m / v / vhat, RMSprop's rms / momentum / mg).
// io/ is below train/, so io calls these through the hooks registered by register_keras_h5_training.
#include "keras_h5_training.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "ember/io/keras_h5.hpp"
#include "ember/nn/losses.hpp"
#include "ember/nn/metrics.hpp"
#include "ember/optim/optimizer.hpp"
#include "ember/train/training.hpp"

namespace ember::train::detail {

namespace {

// Ember's slot name -> Keras 2's, for optimizer class `cls`.
std::string keras_slot(const std::string& cls, const std::string& slot) {
  if (slot == "momentum" && (cls == "Adam" || cls == "AdamW" || cls == "Nadam")) return "m";
  if (slot == "velocity") return cls == "RMSprop" ? "rms" : "v";
  if (slot == "velocity_hat") return "vhat";
  if (slot == "average_gradient") return "mg";
  return slot;  // SGD's and RMSprop's momentum, Adagrad's accumulator
}

std::string ember_slot(const std::string& cls, const std::string& slot) {
  if (slot == "m") return "momentum";
  if (slot == "v" || (slot == "rms" && cls == "RMSprop")) return "velocity";
  if (slot == "vhat") return "velocity_hat";
  if (slot == "mg") return "average_gradient";
  return slot;
}

// The optimizer's Keras name ("Adam"): the prefix of its variables.
std::string keras_name(const optim::Optimizer& opt, const nlohmann::json& config) {
  auto it = config.find("name");
  return it != config.end() && it->is_string() && !it->get<std::string>().empty() ? it->get<std::string>() : opt.name();
}

void save(io::h5::File& f, nn::Model& model) {
  TrainingState* st = model.training_state();
  if (st == nullptr) return;
  optim::Optimizer& opt = *st->optimizer;
  nlohmann::json opt_config;
  try {
    opt_config = opt.get_config_json();
  } catch (const ValueError&) {
    // A learning-rate schedule or function has no Keras config in Ember yet: the model is saved as
    // an uncompiled one (architecture and weights), as before training_config existed.
    return;
  }
  nlohmann::json loss;
  if (st->losses.size() == 1) {
    loss = st->losses[0]->get_config_json();
  } else {
    loss = nlohmann::json::array();
    for (const auto& l : st->losses) loss.push_back(l->get_config_json());
  }
  nlohmann::json tc = {{"loss", loss},
                       {"metrics", st->metric_names.empty() ? nlohmann::json(nullptr) : nlohmann::json(st->metric_names)},
                       {"weighted_metrics", nullptr},
                       {"loss_weights", st->loss_weights.empty() ? nlohmann::json(nullptr) : nlohmann::json(st->loss_weights)},
                       {"optimizer_config", opt_config}};
  f.attrs().set("training_config", tc.dump(), {.variable_length = true, .charset = io::h5::CharSet::ascii});

  // Keras 2 lists the iteration count, then each slot kind for every weight in the model's order.
  const std::string prefix = keras_name(opt, opt_config["config"]) + "/";
  std::vector<std::string> names{prefix + "iter:0"};
  std::vector<Tensor> values;
  Tensor iter = Tensor::empty({}, i64);
  iter.data<int64_t>()[0] = opt.iterations();
  values.push_back(iter);
  std::vector<std::string> kinds;
  for (const auto& [key, t] : opt.slots()) {
    std::string kind = key.substr(key.rfind('/') + 1);
    if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) kinds.push_back(kind);
  }
  // Slot kinds in the order the optimizer creates them (momentum before velocity before the rest).
  const std::vector<std::string> order{"accumulator", "momentum", "velocity", "velocity_hat", "average_gradient"};
  std::stable_sort(kinds.begin(), kinds.end(), [&](const std::string& a, const std::string& b) {
    return std::find(order.begin(), order.end(), a) < std::find(order.begin(), order.end(), b);
  });
  std::vector<nn::Layer::NamedWeight> weights = model.named_weights();
  for (const std::string& kind : kinds) {
    for (const auto& w : weights) {
      auto it = opt.slots().find(w.name + "/" + kind);
      if (it == opt.slots().end()) continue;
      names.push_back(prefix + w.name + "/" + keras_slot(opt.name(), kind) + ":0");
      values.push_back(it->second);
    }
  }
  io::h5::Group g = f.create_group("optimizer_weights");
  io::save_name_list(g.attrs(), "weight_names", names);
  for (std::size_t i = 0; i < names.size(); ++i) g.create_dataset(names[i], values[i]);
}

[[noreturn]] void bad(const std::string& path, const std::string& what) {
  throw FormatError("'" + path + "': training_config: " + what);
}

LossArg loss_from(const nlohmann::json& j, const std::string& path) {
  try {
    if (j.is_string()) return LossArg(j.get<std::string>());
    if (j.is_object()) return LossArg(std::shared_ptr<const losses::Loss>(losses::from_config(j)));
  } catch (const Error& e) {
    bad(path, std::string("loss: ") + e.what());
  }
  bad(path, "loss: expected a name or {\"class_name\", \"config\"}, got " + j.dump().substr(0, 80));
}

// Keras 2 writes the metrics as given to compile, or per output as lists of
// {"class_name": "MeanMetricWrapper", "config": {"name": "accuracy", ...}}: the names are what compile takes.
void metric_names(const nlohmann::json& j, std::vector<std::string>& out, const std::string& path) {
  if (j.is_null()) return;
  if (j.is_string()) {
    out.push_back(j.get<std::string>());
  } else if (j.is_array()) {
    for (const auto& m : j) metric_names(m, out, path);
  } else if (j.is_object() && j.contains("config") && j["config"].is_object() && j["config"].contains("name") &&
             j["config"]["name"].is_string()) {
    out.push_back(j["config"]["name"].get<std::string>());
  } else {
    bad(path, "metrics: expected names or metric configs, got " + j.dump().substr(0, 80));
  }
}

void load(const io::h5::File& f, nn::Model& model) {
  const std::string path = f.path();
  if (!f.attrs().contains("training_config")) return;
  nlohmann::json tc;
  try {
    tc = nlohmann::json::parse(f.attrs().get_string("training_config"));
  } catch (const nlohmann::json::exception& e) {
    bad(path, std::string("not valid JSON: ") + e.what());
  }
  if (!tc.is_object()) bad(path, "expected a JSON object");
  if (!tc.contains("optimizer_config")) bad(path, "no optimizer_config");
  std::shared_ptr<optim::Optimizer> opt;
  try {
    opt = optim::from_config(tc["optimizer_config"]);
  } catch (const Error& e) {
    bad(path, std::string("optimizer_config: ") + e.what());
  }
  CompileOptions co{.optimizer = opt};
  const nlohmann::json& loss = tc.contains("loss") ? tc["loss"] : nlohmann::json(nullptr);
  if (loss.is_array()) {
    for (const auto& l : loss) co.losses.push_back(loss_from(l, path));
  } else {
    co.loss = loss_from(loss, path);
  }
  if (tc.contains("metrics")) metric_names(tc["metrics"], co.metrics, path);
  if (tc.contains("loss_weights") && !tc["loss_weights"].is_null()) {
    if (!tc["loss_weights"].is_array()) bad(path, "loss_weights: expected a list of numbers");
    for (const auto& w : tc["loss_weights"]) {
      if (!w.is_number()) bad(path, "loss_weights: expected a list of numbers");
      co.loss_weights.push_back(w.get<double>());
    }
  }
  try {
    model.compile(co);
  } catch (const ValueError& e) {
    bad(path, e.what());
  }
  if (!f.contains("optimizer_weights")) return;

  io::h5::Group g = f.group("optimizer_weights");
  const std::string prefix = keras_name(*opt, tc["optimizer_config"].value("config", nlohmann::json::object())) + "/";
  optim::OptimizerState state;
  for (const std::string& name : io::load_name_list(g.attrs(), "weight_names")) {
    const std::string where = "'" + path + "': optimizer_weights: '" + name + "'";
    if (name.rfind(prefix, 0) != 0 || name.size() < prefix.size() + 2 || name.compare(name.size() - 2, 2, ":0") != 0) {
      throw FormatError(where + ": expected a name '" + prefix + "...:0'");
    }
    if (!g.contains(name)) throw FormatError(where + ": listed in weight_names but not in the group");
    io::h5::Dataset d = g.dataset(name);
    const std::string var = name.substr(prefix.size(), name.size() - prefix.size() - 2);
    if (var == "iter") {
      if (d.shape().size() != 0 || is_floating(d.dtype())) throw FormatError(where + ": expected a scalar integer");
      state.iterations = d.read().to(i64).item<int64_t>();
      if (state.iterations < 0) throw FormatError(where + ": negative iteration count");
      continue;
    }
    const std::size_t slash = var.rfind('/');
    if (slash == std::string::npos) throw FormatError(where + ": expected '" + prefix + "<weight>/<slot>:0'");
    const std::string weight = var.substr(0, slash);
    nn::Layer::NamedWeight* match = nullptr;
    std::vector<nn::Layer::NamedWeight> weights = model.named_weights();
    for (auto& w : weights) {
      if (w.name == weight) match = &w;
    }
    if (match == nullptr) throw FormatError(where + ": the model has no weight '" + weight + "'");
    if (d.shape() != match->weight->shape) {
      throw FormatError(where + ": shape " + to_string(d.shape()) + ", the weight '" + weight + "' has " +
                        to_string(match->weight->shape));
    }
    if (!is_floating(d.dtype())) throw FormatError(where + ": " + d.type_name() + ", expected floating-point values");
    state.slots[weight + "/" + ember_slot(opt->name(), var.substr(slash + 1))] = d.read().to(match->weight->value().dtype());
  }
  opt->load_state(state);
}

}  // namespace

void register_keras_h5_training() { io::set_keras_h5_training_hooks({.save = save, .load = load}); }

}  // namespace ember::train::detail
