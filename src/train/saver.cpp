// Checkpoint files (weights, optimizer, random generators, fit state) and the TF1-style Saver.
#include "ember/train/saver.hpp"

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <set>

#include "ember/autograd/autograd.hpp"
#include "ember/io/atomic_file.hpp"
#include "ember/io/safetensors.hpp"
#include "ember/train/training.hpp"
#include "state_json.hpp"

namespace ember::train {

namespace fs = std::filesystem;
using detail::number_json;
using detail::StateReader;

namespace {

constexpr const char* kMetaKey = "ember_checkpoint";
constexpr int kFormatVersion = 1;
const std::string kOptimizerPrefix = "optimizer/";
const std::string kCallbackPrefix = "callbacks/";

std::string hex64(uint64_t v) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

uint64_t read_hex64(const StateReader& r, const nlohmann::json& v, const char* key) {
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (s.size() == 16 && s.find_first_not_of("0123456789abcdef") == std::string::npos) {
      return std::stoull(s, nullptr, 16);
    }
  }
  r.fail(key, "expected 16 lower-case hex digits, got " + short_dump(v));
}

nlohmann::json generator_json(const Generator::State& g) {
  nlohmann::json s = nlohmann::json::array();
  for (uint64_t w : g.s) s.push_back(hex64(w));
  return {{"s", s}, {"has_spare", g.has_spare}, {"spare", hex64(std::bit_cast<uint64_t>(g.spare))}};
}

Generator::State read_generator(const nlohmann::json& j, const std::string& what) {
  StateReader r(j, what);
  const nlohmann::json& s = r.array("s");
  if (s.size() != 4) r.fail("s", "expected 4 words, got " + std::to_string(s.size()));
  Generator::State g;
  for (std::size_t i = 0; i < 4; ++i) g.s[i] = read_hex64(r, s[i], "s");
  if (g.s[0] == 0 && g.s[1] == 0 && g.s[2] == 0 && g.s[3] == 0) r.fail("s", "an all-zero xoshiro state (it would only ever give 0)");
  g.has_spare = r.boolean("has_spare");
  g.spare = std::bit_cast<double>(read_hex64(r, r.at("spare"), "spare"));
  return g;
}

// Every layer's own generator, keyed by layer name (depth first; a shared layer once).
void collect_generators(nn::Layer& layer, std::map<std::string, Generator*>& out) {
  for (const nn::LayerPtr& l : layer.sublayers()) {
    if (Generator* g = l->own_generator()) out.emplace(l->name(), g);
    collect_generators(*l, out);
  }
}

optim::Optimizer* optimizer_of(nn::Model& model, optim::Optimizer* given) {
  if (given) return given;
  TrainingState* st = model.training_state();
  return st ? st->optimizer.get() : nullptr;
}

void put(io::TensorMap& tensors, const std::string& name, const Tensor& t) {
  if (!tensors.emplace(name, t).second) {
    throw ValueError("checkpoint: two tensors would be saved as '" + name + "' (a weight named like an optimizer slot?)");
  }
}

// The fit's progress as a checkpoint holds it (the callbacks' state taken now).
FitResume snapshot_progress(const FitProgress& p, bool stopped) {
  FitResume r{.next_epoch = p.next_epoch, .stopped = stopped, .generator_state = p.generator_state};
  if (p.history) {
    r.epochs = p.history->epoch;
    r.history = p.history->history;
  }
  std::map<std::string, int> seen;
  for (const auto& c : p.callbacks) {
    std::string cls = c->class_name();
    std::string key = cls + "#" + std::to_string(seen[cls]++);
    callbacks::CallbackState cs = c->get_state();
    if (!cs.json.empty() || !cs.tensors.empty()) r.callbacks.emplace_back(key, std::move(cs));
  }
  return r;
}

// The "fit" object of the metadata; callback tensors go into `tensors`.
nlohmann::json fit_json(const FitResume& r, io::TensorMap& tensors) {
  nlohmann::json fit = {{"next_epoch", r.next_epoch}, {"stopped", r.stopped}, {"epochs", r.epochs}};
  if (r.generator_state) fit["generator"] = generator_json(*r.generator_state);
  nlohmann::json hist = nlohmann::json::object();
  for (const auto& [k, vs] : r.history) {
    nlohmann::json col = nlohmann::json::array();
    for (double v : vs) col.push_back(number_json(v));
    hist[k] = col;
  }
  fit["history"] = hist;
  nlohmann::json cbs = nlohmann::json::array();
  for (const auto& [key, cs] : r.callbacks) {
    nlohmann::json names = nlohmann::json::array();
    for (const auto& [n, t] : cs.tensors) {
      put(tensors, kCallbackPrefix + key + "/" + n, t);
      names.push_back(n);
    }
    cbs.push_back({{"key", key}, {"state", cs.json}, {"tensors", names}});
  }
  fit["callbacks"] = cbs;
  return fit;
}

}  // namespace

void write_checkpoint_file(const std::string& file, nn::Model& model, optim::Optimizer* given,
                           std::optional<int64_t> global_step) {
  TrainingState* st = model.training_state();
  if (st && st->progress.active && st->progress.batch != 0) {
    throw ValueError("checkpoint: the fit of model '" + model.name() + "' is in the middle of an epoch (" +
                     std::to_string(st->progress.batch) +
                     " batches done); checkpoints are taken between epochs (an epoch-end callback, or after fit)");
  }
  model.materialize_weights();
  io::TensorMap tensors;
  nlohmann::json meta = {{"format_version", kFormatVersion}};
  if (global_step) meta["global_step"] = *global_step;

  nlohmann::json weight_names = nlohmann::json::array();
  for (const auto& w : model.named_weights()) {
    put(tensors, w.name, w.weight->value().detach());
    weight_names.push_back(w.name);
  }
  meta["weights"] = weight_names;

  if (optim::Optimizer* opt = optimizer_of(model, given)) {
    optim::OptimizerState s = opt->state();
    nlohmann::json slots = nlohmann::json::array();
    for (const auto& [k, t] : s.slots) {
      put(tensors, kOptimizerPrefix + k, t);
      slots.push_back(k);
    }
    nlohmann::json o = {{"class_name", opt->name()}, {"iterations", s.iterations}, {"slots", slots}};
    const optim::LearningRate& lr = opt->learning_rate();
    if (lr.is_schedule()) {
      o["learning_rate_schedule"] = lr.schedule()->name();
    } else {
      o["learning_rate"] = number_json(lr.constant());
    }
    meta["optimizer"] = o;
  }

  nlohmann::json rng = {{"default", generator_json(default_generator().state())}};
  std::map<std::string, Generator*> gens;
  collect_generators(model, gens);
  nlohmann::json layers = nlohmann::json::object();
  for (const auto& [name, g] : gens) layers[name] = generator_json(g->state());
  rng["layers"] = layers;
  meta["rng"] = rng;

  // The fit state: the live one, or — restored and not yet continued by a fit — the restored one.
  std::optional<FitResume> fit;
  if (st && st->progress.active) {
    fit = snapshot_progress(st->progress, model.stop_training);
  } else if (st && st->resume) {
    fit = st->resume;
  }
  if (fit) meta["fit"] = fit_json(*fit, tensors);

  std::map<std::string, std::string> metadata = {{"format", "ember-checkpoint"}, {kMetaKey, meta.dump()}};
  if (global_step) metadata["global_step"] = std::to_string(*global_step);
  io::save_safetensors(file, tensors, metadata);
}

void read_checkpoint_file(const std::string& file, nn::Model& model, optim::Optimizer* given) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) throw IOError("no checkpoint file '" + file + "'");
  io::SafetensorsFile f = io::load_safetensors(file);
  const std::string what = "checkpoint '" + file + "'";
  auto mit = f.metadata.find(kMetaKey);
  if (mit == f.metadata.end()) {
    throw FormatError(what + ": not an Ember checkpoint (no \"" + std::string(kMetaKey) + "\" in its __metadata__)");
  }
  nlohmann::json meta = parse_json(mit->second, what + ": " + kMetaKey);
  StateReader r(meta, what);
  int64_t version = r.integer("format_version");
  if (version != kFormatVersion) {
    r.fail("format_version", "this Ember reads version " + std::to_string(kFormatVersion) + ", the file is version " +
                                 std::to_string(version));
  }
  auto tensor = [&](const std::string& name) -> const Tensor& {
    auto it = f.tensors.find(name);
    if (it == f.tensors.end()) throw FormatError(what + ": its metadata lists tensor '" + name + "', which the file does not hold");
    return it->second;
  };

  // Everything is checked before anything is changed, so a mismatching checkpoint leaves the model as it was.
  model.materialize_weights();
  auto weights = model.named_weights();
  std::set<std::string> listed;
  for (const nlohmann::json& n : r.array("weights")) {
    if (!n.is_string()) r.fail("weights", "expected names, got " + short_dump(n));
    listed.insert(n.get<std::string>());
  }
  for (const auto& w : weights) {
    if (!listed.count(w.name)) {
      throw FormatError(what + ": has no weight '" + w.name + "' (the model does not match the checkpoint)");
    }
    const Tensor& t = tensor(w.name);
    const Tensor& v = w.weight->value();
    if (t.shape() != v.shape() || t.dtype() != v.dtype()) {
      throw FormatError(what + ": weight '" + w.name + "' is " + std::string(dtype_name(t.dtype())) + " " +
                        to_string(t.shape()) + ", the model's is " + std::string(dtype_name(v.dtype())) + " " + to_string(v.shape()));
    }
    listed.erase(w.name);
  }
  if (!listed.empty()) {
    throw FormatError(what + ": holds weight '" + *listed.begin() + "', which model '" + model.name() +
                      "' does not have (the model does not match the checkpoint)");
  }

  const nlohmann::json& rng = r.object("rng");
  StateReader rr(rng, what + ": rng");
  Generator::State default_state = read_generator(rr.object("default"), what + ": rng.default");
  std::map<std::string, Generator*> gens;
  collect_generators(model, gens);
  std::map<std::string, Generator::State> layer_states;
  const nlohmann::json& layer_rng = rr.object("layers");
  for (const auto& [name, j] : layer_rng.items()) {
    if (!gens.count(name)) {
      throw FormatError(what + ": holds the random generator of layer '" + name + "', which the model has not (the model does not match)");
    }
    layer_states[name] = read_generator(j, what + ": rng.layers." + name);
  }
  for (const auto& [name, g] : gens) {
    if (!layer_states.count(name)) throw FormatError(what + ": has no random generator state for layer '" + name + "'");
  }

  optim::Optimizer* opt = optimizer_of(model, given);
  std::optional<optim::OptimizerState> opt_state;
  std::optional<double> opt_lr;
  if (opt && r.has("optimizer")) {
    StateReader o(r.object("optimizer"), what + ": optimizer");
    std::string cls = o.string("class_name");
    if (cls != opt->name()) {
      throw ValueError(what + ": was saved with a " + cls + " optimizer, the model's is " + opt->name());
    }
    optim::OptimizerState s;
    s.iterations = o.integer("iterations", 0);
    for (const nlohmann::json& k : o.array("slots")) {
      if (!k.is_string()) o.fail("slots", "expected names, got " + short_dump(k));
      s.slots[k.get<std::string>()] = tensor(kOptimizerPrefix + k.get<std::string>());
    }
    if (o.has("learning_rate")) {
      opt_lr = o.number("learning_rate");
      if (!(*opt_lr >= 0) || !std::isfinite(*opt_lr)) o.fail("learning_rate", "expected a finite number >= 0");
    } else {
      std::string sched = o.string("learning_rate_schedule");
      if (!opt->learning_rate().is_schedule() || opt->learning_rate().schedule()->name() != sched) {
        throw ValueError(what + ": the optimizer's learning rate was a " + sched + " schedule; the model's optimizer has " +
                         (opt->learning_rate().is_schedule() ? "a " + opt->learning_rate().schedule()->name() + " schedule" : std::string("a constant rate")));
      }
    }
    opt_state = std::move(s);
  }

  std::optional<FitResume> resume;
  TrainingState* st = model.training_state();
  if (st && r.has("fit")) {
    StateReader fr(r.object("fit"), what + ": fit");
    FitResume fit;
    fit.next_epoch = static_cast<int>(fr.integer("next_epoch", 0, INT32_MAX));
    fit.stopped = fr.boolean("stopped");
    if (fr.has("generator")) fit.generator_state = read_generator(fr.object("generator"), what + ": fit.generator");
    for (const nlohmann::json& e : fr.array("epochs")) {
      if (!e.is_number_integer() || e.get<int64_t>() < 0 || e.get<int64_t>() > INT32_MAX) fr.fail("epochs", "expected epoch numbers, got " + short_dump(e));
      fit.epochs.push_back(static_cast<int>(e.get<int64_t>()));
    }
    for (const auto& [k, col] : fr.object("history").items()) {
      if (!col.is_array() || col.size() != fit.epochs.size()) {
        fr.fail("history", "'" + k + "' must hold one value per epoch (" + std::to_string(fit.epochs.size()) + ")");
      }
      std::vector<double>& out = fit.history[k];
      for (const nlohmann::json& v : col) out.push_back(fr.number_of(v, "history"));
    }
    for (const nlohmann::json& c : fr.array("callbacks")) {
      StateReader cr(c, what + ": fit.callbacks");
      callbacks::CallbackState cs;
      std::string key = cr.string("key");
      cs.json = cr.string("state");
      for (const nlohmann::json& n : cr.array("tensors")) {
        if (!n.is_string()) cr.fail("tensors", "expected names, got " + short_dump(n));
        cs.tensors[n.get<std::string>()] = tensor(kCallbackPrefix + key + "/" + n.get<std::string>());
      }
      fit.callbacks.emplace_back(key, std::move(cs));
    }
    resume = std::move(fit);
  }

  // All checked: apply.
  {
    autograd::NoGradGuard no_grad;
    for (const auto& w : weights) w.weight->value().copy_(f.tensors.at(w.name));
  }
  default_generator().set_state(default_state);
  for (const auto& [name, g] : gens) g->set_state(layer_states.at(name));
  if (opt_state) {
    opt->load_state(*opt_state);
    if (opt_lr) opt->set_learning_rate(*opt_lr);
  }
  if (st) {
    st->resume = std::move(resume);
    st->progress = FitProgress{};
  }
}

// ------------------------------------------------------------------ Saver

Saver::Saver(SaverOptions o) : keeper_(std::move(o)) {}

std::string Saver::save(nn::Model& model, const std::string& prefix, std::optional<int64_t> global_step) {
  return save_impl(model, nullptr, prefix, global_step);
}

std::string Saver::save(nn::Model& model, optim::Optimizer& optimizer, const std::string& prefix,
                        std::optional<int64_t> global_step) {
  return save_impl(model, &optimizer, prefix, global_step);
}

void Saver::restore(nn::Model& model, const std::string& path) { read_checkpoint_file(checkpoint_file(path), model, nullptr); }

void Saver::restore(nn::Model& model, optim::Optimizer& optimizer, const std::string& path) {
  read_checkpoint_file(checkpoint_file(path), model, &optimizer);
}

std::string Saver::save_impl(nn::Model& model, optim::Optimizer* optimizer, const std::string& prefix,
                             std::optional<int64_t> global_step) {
  return keeper_.save(
      prefix, global_step,
      [&](const std::string& file) { write_checkpoint_file(file, model, optimizer, global_step); }, "Saver::save");
}

}  // namespace ember::train
