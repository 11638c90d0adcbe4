#include "ember/optim/optimizer.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "ember/autograd/autograd.hpp"
#include "ember/core/config_fields.hpp"
#include "ember/core/error.hpp"
#include "ember/kernels/cpu/optim.hpp"
#include "ember/optim/clip.hpp"

namespace ember::optim {

namespace {

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

void check_range(const char* cls, const char* field, double v, double lo, double hi, bool hi_open) {
  bool ok = std::isfinite(v) && v >= lo && (hi_open ? v < hi : v <= hi);
  if (!ok) {
    throw ValueError(std::string(cls) + ": " + field + " must be in [" + num(lo) + ", " + num(hi) + (hi_open ? ")" : "]") +
                     ", got " + num(v));
  }
}
void check_non_negative(const char* cls, const char* field, double v) {
  if (!std::isfinite(v) || v < 0) throw ValueError(std::string(cls) + ": " + field + " must be >= 0, got " + num(v));
}

void check_learning_rate_value(double v) {
  if (!std::isfinite(v) || v < 0) throw ValueError("learning_rate must be >= 0 and finite, got " + num(v));
}

ClipOptions clip_of(const std::optional<double>& clipnorm, const std::optional<double>& global_clipnorm,
                    const std::optional<double>& clipvalue) {
  return {clipnorm, global_clipnorm, clipvalue};
}

template <typename Options>
EMASettings ema_of(const Options& o) {
  return {o.use_ema, o.ema_momentum, o.ema_overwrite_frequency};
}

ConfigFields fields(const nlohmann::json& config, const char* class_name) {
  return ConfigFields(config, "optimizer", class_name);
}

// The fields every optimizer's config has: learning_rate and the clipping options. Keras's "name"
// is accepted as any string (Ember names an optimizer by its class).
template <typename Options>
Options common_options(const ConfigFields& f) {
  Options o;
  o.learning_rate = f.number("learning_rate", o.learning_rate.constant());
  o.clipnorm = f.optional_number("clipnorm");
  o.global_clipnorm = f.optional_number("global_clipnorm");
  o.clipvalue = f.optional_number("clipvalue");
  o.weight_decay = f.number("weight_decay", o.weight_decay);  // null (Keras's "none"): the default
  o.use_ema = f.boolean("use_ema", o.use_ema);
  o.ema_momentum = f.number("ema_momentum", o.ema_momentum);
  if (f.find("ema_overwrite_frequency")) o.ema_overwrite_frequency = f.positive("ema_overwrite_frequency");
  return o;
}

// Adam's and AdamW's own fields.
template <typename Options>
void read_adam_fields(const ConfigFields& f, Options& o) {
  o.beta_1 = f.number("beta_1", o.beta_1);
  o.beta_2 = f.number("beta_2", o.beta_2);
  o.epsilon = f.number("epsilon", o.epsilon);
  o.amsgrad = f.boolean("amsgrad", o.amsgrad);
}

}  // namespace

// ---- LearningRate ----------------------------------------------------------------------------------

LearningRate::LearningRate(double value) : value_(value) { check_learning_rate_value(value); }

LearningRate::LearningRate(std::function<double(int64_t)> fn) {
  schedule_ = std::make_shared<LambdaSchedule>(std::move(fn));
}

void LearningRate::check_schedule_() const {
  if (!schedule_) throw ValueError("learning_rate: got a null schedule");
}

double LearningRate::operator()(int64_t step) const {
  if (!schedule_) return value_;
  double v = (*schedule_)(step);
  if (!std::isfinite(v) || v < 0) {
    throw ValueError("learning_rate: schedule " + schedule_->name() + " gave " + num(v) + " at step " +
                     std::to_string(step) + "; expected a finite value >= 0");
  }
  return v;
}

// ---- Optimizer -------------------------------------------------------------------------------------

Optimizer::Optimizer(std::string name, LearningRate lr, ClipOptions clip, double weight_decay, EMASettings ema)
    : name_(std::move(name)), lr_(std::move(lr)), clip_(clip), weight_decay_(weight_decay), ema_(ema) {
  check_non_negative(name_.c_str(), "weight_decay", weight_decay);
  check_range(name_.c_str(), "ema_momentum", ema.ema_momentum, 0.0, 1.0, false);
  if (ema.ema_overwrite_frequency && *ema.ema_overwrite_frequency < 1) {
    throw ValueError(name_ + ": ema_overwrite_frequency must be >= 1 steps, got " +
                     std::to_string(*ema.ema_overwrite_frequency));
  }
  int set = int(clip.clipnorm.has_value()) + int(clip.global_clipnorm.has_value()) + int(clip.clipvalue.has_value());
  if (set > 1) {
    throw ValueError(name_ + ": only one of clipnorm, global_clipnorm and clipvalue can be set");
  }
  auto positive = [&](const char* field, const std::optional<double>& v) {
    if (v && !(std::isfinite(*v) && *v > 0)) throw ValueError(name_ + ": " + field + " must be > 0, got " + num(*v));
  };
  positive("clipnorm", clip.clipnorm);
  positive("global_clipnorm", clip.global_clipnorm);
  positive("clipvalue", clip.clipvalue);
}

nlohmann::json Optimizer::get_config() const {
  if (lr_.is_schedule()) {
    throw ValueError(name_ + ": get_config: a learning-rate schedule or function has no Keras config in Ember yet");
  }
  auto opt = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  return {{"name", name_},
          {"learning_rate", lr_.constant()},
          {"weight_decay", weight_decay_ != 0.0 ? nlohmann::json(weight_decay_) : nlohmann::json(nullptr)},
          {"clipnorm", opt(clip_.clipnorm)},
          {"global_clipnorm", opt(clip_.global_clipnorm)},
          {"clipvalue", opt(clip_.clipvalue)},
          {"use_ema", ema_.use_ema},
          {"ema_momentum", ema_.ema_momentum},
          {"ema_overwrite_frequency",
           ema_.ema_overwrite_frequency ? nlohmann::json(*ema_.ema_overwrite_frequency) : nlohmann::json(nullptr)}};
}

void Optimizer::exclude_from_weight_decay(const std::vector<std::string>& var_names) {
  for (const std::string& n : var_names) {
    try {
      std::regex check(n, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      throw ValueError(name_ + ": exclude_from_weight_decay: '" + n + "' is not a valid regular expression (" + e.what() +
                       ")");
    }
  }
  decay_exclusions_ = var_names;
  decays_.clear();
}

double Optimizer::weight_decay_of(const std::string& param_name) {
  if (weight_decay_ == 0.0 || decay_exclusions_.empty()) return weight_decay_;
  auto it = decays_.find(param_name);
  if (it == decays_.end()) {
    // Each name is matched once (std::regex is slow to build); later steps read the cache.
    bool excluded = false;
    for (const std::string& n : decay_exclusions_) {
      excluded = excluded || std::regex_search(param_name, std::regex(n, std::regex::ECMAScript));
    }
    it = decays_.emplace(param_name, !excluded).first;
  }
  return it->second ? weight_decay_ : 0.0;
}

nlohmann::json Optimizer::get_config_json() const { return {{"class_name", name_}, {"config", get_config()}}; }
void Optimizer::set_learning_rate(LearningRate lr) { lr_ = std::move(lr); }

void Optimizer::step(const NamedParams& params) {
  // The per-step lists live in members and keep their capacity: a step allocates nothing once warm.
  std::vector<Tensor>& grads = scratch_.grads;
  std::vector<Tensor>& rows = scratch_.rows;
  grads.clear();
  rows.clear();
  struct ClearLists {
    Scratch& s;
    ~ClearLists() {  // holds no gradient past the step
      s.grads.clear();
      s.rows.clear();
    }
  } clear_lists{scratch_};
  const bool by_rows = updates_rows();
  for (const auto& [name, p] : params) {
    const autograd::RowGrad* r = by_rows && p.defined() ? autograd::row_grad(p) : nullptr;
    grads.push_back(r ? r->values : p.defined() ? p.grad() : Tensor());  // grad() densifies rows for the others
    rows.push_back(r ? r->indices : Tensor());
  }
  apply(params, grads, rows);
}

void Optimizer::apply_gradients(const NamedParams& params, const std::vector<Tensor>& grads) {
  apply(params, grads, {});
}

void Optimizer::update_rows(const std::string&, Tensor&, const Tensor&, const Tensor&, int64_t, double) {
  throw ValueError(name_ + ": this optimizer updates whole tensors only (a row gradient reached update_rows)");
}

void Optimizer::apply(const NamedParams& params, const std::vector<Tensor>& grads, const std::vector<Tensor>& rows) {
  if (grads.size() != params.size()) {
    throw ValueError(name_ + ": got " + std::to_string(grads.size()) + " gradients for " +
                     std::to_string(params.size()) + " parameters");
  }
  autograd::NoGradGuard no_grad;

  // Validate everything before touching any parameter, so a bad input changes nothing.
  std::vector<const std::string*>& names = scratch_.names;
  names.clear();
  for (const auto& [name, p] : params) names.push_back(&name);
  std::sort(names.begin(), names.end(), [](const std::string* a, const std::string* b) { return *a < *b; });
  std::vector<std::size_t>& active = scratch_.active;
  std::vector<Tensor>& gs = scratch_.gs;
  active.clear();
  gs.clear();
  struct ClearScratch {
    Scratch& s;
    ~ClearScratch() { s.gs.clear(); }  // holds no gradient past the step
  } clear_scratch{scratch_};
  for (std::size_t i = 0; i < params.size(); ++i) {
    const auto& [name, p] = params[i];
    if (name.empty()) throw ValueError(name_ + ": parameter " + std::to_string(i) + " has an empty name");
    if (i + 1 < names.size() && *names[i] == *names[i + 1]) {
      throw ValueError(name_ + ": duplicate parameter name '" + *names[i] + "'");
    }
    if (!p.defined()) throw ValueError(name_ + ": parameter '" + name + "' is an undefined tensor");
    if (!grads[i].defined()) continue;
    if (p.dtype() != f32 && p.dtype() != f64) {
      throw DTypeError(name_ + ": parameter '" + name + "' must be float32 or float64, got " +
                       std::string(dtype_name(p.dtype())));
    }
    Tensor g = grads[i];
    const bool is_rows = !rows.empty() && rows[i].defined();
    if (is_rows) {  // [n, ...] rows of a [rows, ...] parameter
      Shape want = p.shape();
      want[0] = rows[i].numel();
      if (g.shape() != want) {
        throw ShapeError(name_ + ": row gradient of '" + name + "' has shape " + to_string(g.shape()) + " for " +
                         std::to_string(rows[i].numel()) + " rows of a parameter of shape " + to_string(p.shape()));
      }
    } else if (g.shape() != p.shape()) {
      throw ShapeError(name_ + ": gradient of '" + name + "' has shape " + to_string(g.shape()) + ", parameter has " +
                       to_string(p.shape()));
    }
    if (!is_floating(g.dtype())) {
      throw DTypeError(name_ + ": gradient of '" + name + "' must be floating, got " + std::string(dtype_name(g.dtype())));
    }
    // The slots "<name>/..." sort right after `name` among the keys that start with it.
    for (auto it = slots_.lower_bound(name); it != slots_.end() && it->first.compare(0, name.size(), name) == 0; ++it) {
      if (it->first.size() <= name.size() || it->first[name.size()] != '/') continue;
      if (it->second.shape() != p.shape()) {
        throw ShapeError(name_ + ": slot '" + it->first + "' has shape " + to_string(it->second.shape()) +
                         " but parameter '" + name + "' has " + to_string(p.shape()));
      }
    }
    if (g.dtype() != p.dtype()) g = g.to(p.dtype());
    active.push_back(i);
    gs.push_back(g);
  }
  const int64_t t = iterations_ + 1;
  const double lr = lr_(iterations_);

  if (clip_.clipnorm) {
    for (Tensor& g : gs) g = clip_by_norm(g, *clip_.clipnorm);
  } else if (clip_.global_clipnorm) {
    gs = clip_by_global_norm(gs, *clip_.global_clipnorm).tensors;
  } else if (clip_.clipvalue) {
    for (Tensor& g : gs) g = clip_by_value(g, -*clip_.clipvalue, *clip_.clipvalue);
  }

  begin_step(t, lr);
  for (std::size_t k = 0; k < active.size(); ++k) {
    const auto& [name, p] = params[active[k]];
    Tensor w = p.is_contiguous() ? p : p.contiguous();
    Tensor g = gs[k].is_contiguous() ? gs[k] : gs[k].contiguous();
    if (!rows.empty() && rows[active[k]].defined()) {
      update_rows(name, w, rows[active[k]].contiguous(), g, t, lr);
    } else {
      update(name, w, g, t, lr);
    }
    if (!w.is_same(p)) Tensor(p).copy_(w);
  }
  if (ema_.use_ema) update_averages(params);
  ++iterations_;
}

void Optimizer::update_averages(const NamedParams& params) {
  // Every parameter of the step, not only those with a gradient (Keras averages all trainable
  // variables): an average left behind would overwrite its parameter with a stale value later.
  const bool overwrite = ema_.ema_overwrite_frequency && (iterations_ + 1) % *ema_.ema_overwrite_frequency == 0;
  std::string& key = scratch_.key;
  for (const auto& [name, p] : params) {
    if (p.dtype() != f32 && p.dtype() != f64) continue;
    Tensor w = p.is_contiguous() ? p : p.contiguous();
    key.assign(name).append("/average");
    auto it = slots_.find(key);
    if (it == slots_.end() || it->second.shape() != w.shape()) {
      slots_.insert_or_assign(key, w.clone());  // the first step's average is the weight itself
      continue;
    }
    Tensor& avg = it->second;
    if (avg.dtype() != w.dtype() || !avg.is_contiguous()) avg = avg.to(w.dtype()).contiguous().clone();
    visit_floating(w.dtype(), "use_ema", [&]<typename T>() {
      // ema_update keeps shadow = d*shadow + (1-d)*w, Keras's average with d = ema_momentum.
      kernels::cpu::ema_update<T>(w.numel(), avg.data<T>(), w.data<T>(), T(ema_.ema_momentum));
    });
    if (overwrite) Tensor(p).copy_(avg);
  }
}

void Optimizer::finalize_variable_values(const NamedParams& params) {
  if (!ema_.use_ema) return;
  autograd::NoGradGuard no_grad;
  for (const auto& [name, p] : params) {
    auto it = slots_.find(name + "/average");
    if (it == slots_.end() || !p.defined() || it->second.shape() != p.shape()) continue;
    Tensor(p).copy_(it->second);
  }
}

Tensor& Optimizer::slot_for(const std::string& param_name, const char* slot_name, const Tensor& param, double init) {
  std::string& key = scratch_.key;  // reused: finding a slot allocates nothing once warm
  key.assign(param_name).append("/").append(slot_name);
  auto it = slots_.find(key);
  if (it == slots_.end()) {
    it = slots_.emplace(key, full(param.shape(), init, param.dtype())).first;
  } else if (it->second.dtype() != param.dtype() || !it->second.is_contiguous()) {
    it->second = it->second.to(param.dtype()).contiguous().clone();
  }
  return it->second;
}

Tensor Optimizer::slot(const std::string& param_name, const std::string& slot_name) const {
  const std::string key = param_name + "/" + slot_name;
  auto it = slots_.find(key);
  if (it != slots_.end()) return it->second;
  std::string known;
  for (const auto& [k, v] : slots_) known += (known.empty() ? "" : ", ") + k;
  throw ValueError(name_ + ": no slot '" + key + "'; known slots: " + (known.empty() ? "(none)" : known));
}

OptimizerState Optimizer::state() const { return {iterations_, slots_}; }

void Optimizer::load_state(const OptimizerState& s) {
  if (s.iterations < 0) throw ValueError(name_ + ": load_state needs iterations >= 0, got " + std::to_string(s.iterations));
  std::map<std::string, Tensor> slots;
  for (const auto& [k, v] : s.slots) {
    if (k.find('/') == std::string::npos) {
      throw ValueError(name_ + ": load_state: slot key '" + k + "' is not of the form <param name>/<slot name>");
    }
    if (!v.defined()) throw ValueError(name_ + ": load_state: slot '" + k + "' is an undefined tensor");
    if (!is_floating(v.dtype())) {
      throw DTypeError(name_ + ": load_state: slot '" + k + "' must be floating, got " + std::string(dtype_name(v.dtype())));
    }
    slots.emplace(k, v.contiguous().clone());
  }
  slots_ = std::move(slots);
  iterations_ = s.iterations;
}

// ---- SGD -------------------------------------------------------------------------------------------

SGD::SGD(SGDOptions o)
    : Optimizer("SGD", o.learning_rate, clip_of(o.clipnorm, o.global_clipnorm, o.clipvalue), o.weight_decay,
                ema_of(o)), o_(o) {
  check_range("SGD", "momentum", o.momentum, 0.0, 1.0, false);
}

nlohmann::json SGD::get_config() const {
  nlohmann::json c = Optimizer::get_config();
  c["momentum"] = o_.momentum;
  c["nesterov"] = o_.nesterov;
  if (o_.ewma_momentum) c["ewma_momentum"] = true;  // Ember's; written only when set, so Keras reads the rest
  return c;
}

std::unique_ptr<Optimizer> SGD::from_config(const nlohmann::json& config) {
  ConfigFields f = fields(config, "SGD");
  auto o = common_options<SGDOptions>(f);
  o.momentum = f.number("momentum", o.momentum);
  o.nesterov = f.boolean("nesterov", o.nesterov);
  o.ewma_momentum = f.boolean("ewma_momentum", o.ewma_momentum);
  return std::make_unique<SGD>(o);
}

void SGD::update_rows(const std::string&, Tensor& w, const Tensor& rows, const Tensor& g, int64_t, double lr) {
  const int64_t row_len = w.numel() / std::max<int64_t>(w.shape()[0], 1);
  visit_floating(w.dtype(), "SGD", [&]<typename T>() {
    kernels::cpu::sgd_rows_step<T>(rows.numel(), row_len, rows.data<int64_t>(), w.data<T>(), g.data<T>(), T(lr));
  });
}

void SGD::update(const std::string& name, Tensor& w, const Tensor& g, int64_t, double lr) {
  Tensor* v = o_.momentum != 0.0 ? &slot_for(name, "momentum", w) : nullptr;
  visit_floating(w.dtype(), "SGD", [&]<typename T>() {
    kernels::cpu::sgd_step<T>(w.numel(), w.data<T>(), g.data<T>(), v ? v->data<T>() : nullptr, T(lr), T(o_.momentum),
                              o_.nesterov, o_.ewma_momentum, T(lr * weight_decay_of(name)));
  });
}

// ---- Adagrad ---------------------------------------------------------------------------------------

Adagrad::Adagrad(AdagradOptions o)
    : Optimizer("Adagrad", o.learning_rate, clip_of(o.clipnorm, o.global_clipnorm, o.clipvalue), o.weight_decay,
                ema_of(o)),
      o_(o) {
  check_non_negative("Adagrad", "initial_accumulator_value", o.initial_accumulator_value);
  check_non_negative("Adagrad", "epsilon", o.epsilon);
}

nlohmann::json Adagrad::get_config() const {
  nlohmann::json c = Optimizer::get_config();
  c["initial_accumulator_value"] = o_.initial_accumulator_value;
  c["epsilon"] = o_.epsilon;
  return c;
}

std::unique_ptr<Optimizer> Adagrad::from_config(const nlohmann::json& config) {
  ConfigFields f = fields(config, "Adagrad");
  auto o = common_options<AdagradOptions>(f);
  o.initial_accumulator_value = f.number("initial_accumulator_value", o.initial_accumulator_value);
  o.epsilon = f.number("epsilon", o.epsilon);
  return std::make_unique<Adagrad>(o);
}

void Adagrad::update_rows(const std::string& name, Tensor& w, const Tensor& rows, const Tensor& g, int64_t, double lr) {
  Tensor& acc = slot_for(name, "accumulator", w, o_.initial_accumulator_value);
  const int64_t row_len = w.numel() / std::max<int64_t>(w.shape()[0], 1);
  visit_floating(w.dtype(), "Adagrad", [&]<typename T>() {
    kernels::cpu::adagrad_rows_step<T>(rows.numel(), row_len, rows.data<int64_t>(), w.data<T>(), g.data<T>(),
                                       acc.data<T>(), T(lr), T(o_.epsilon));
  });
}

void Adagrad::update(const std::string& name, Tensor& w, const Tensor& g, int64_t, double lr) {
  Tensor& acc = slot_for(name, "accumulator", w, o_.initial_accumulator_value);
  visit_floating(w.dtype(), "Adagrad", [&]<typename T>() {
    kernels::cpu::adagrad_step<T>(w.numel(), w.data<T>(), g.data<T>(), acc.data<T>(), T(lr), T(o_.epsilon),
                                  T(lr * weight_decay_of(name)));
  });
}

// ---- RMSprop ---------------------------------------------------------------------------------------

RMSprop::RMSprop(RMSpropOptions o)
    : Optimizer("RMSprop", o.learning_rate, clip_of(o.clipnorm, o.global_clipnorm, o.clipvalue), o.weight_decay,
                ema_of(o)),
      o_(o) {
  check_range("RMSprop", "rho", o.rho, 0.0, 1.0, true);
  check_range("RMSprop", "momentum", o.momentum, 0.0, 1.0, false);
  check_non_negative("RMSprop", "epsilon", o.epsilon);
}

nlohmann::json RMSprop::get_config() const {
  nlohmann::json c = Optimizer::get_config();
  c["rho"] = o_.rho;
  c["momentum"] = o_.momentum;
  c["epsilon"] = o_.epsilon;
  c["centered"] = o_.centered;
  return c;
}

std::unique_ptr<Optimizer> RMSprop::from_config(const nlohmann::json& config) {
  ConfigFields f = fields(config, "RMSprop");
  auto o = common_options<RMSpropOptions>(f);
  o.rho = f.number("rho", o.rho);
  o.momentum = f.number("momentum", o.momentum);
  o.epsilon = f.number("epsilon", o.epsilon);
  o.centered = f.boolean("centered", o.centered);
  return std::make_unique<RMSprop>(o);
}

void RMSprop::update(const std::string& name, Tensor& w, const Tensor& g, int64_t, double lr) {
  Tensor& vel = slot_for(name, "velocity", w);
  Tensor* mom = o_.momentum > 0 ? &slot_for(name, "momentum", w) : nullptr;
  Tensor* avg = o_.centered ? &slot_for(name, "average_gradient", w) : nullptr;
  visit_floating(w.dtype(), "RMSprop", [&]<typename T>() {
    kernels::cpu::rmsprop_step<T>(w.numel(), w.data<T>(), g.data<T>(), vel.data<T>(), avg ? avg->data<T>() : nullptr,
                                  mom ? mom->data<T>() : nullptr, T(lr), T(o_.rho), T(o_.momentum), T(o_.epsilon),
                                  T(lr * weight_decay_of(name)));
  });
}

// ---- Adam / AdamW ----------------------------------------------------------------------------------

Adam::Adam(AdamOptions o) : Adam("Adam", std::move(o)) {}

Adam::Adam(std::string name, AdamOptions o)
    : Optimizer(name, o.learning_rate, clip_of(o.clipnorm, o.global_clipnorm, o.clipvalue), o.weight_decay, ema_of(o)),
      o_(std::move(o)) {
  check_range(name.c_str(), "beta_1", o_.beta_1, 0.0, 1.0, true);
  check_range(name.c_str(), "beta_2", o_.beta_2, 0.0, 1.0, true);
  check_non_negative(name.c_str(), "epsilon", o_.epsilon);
}

nlohmann::json Adam::get_config() const {
  nlohmann::json c = Optimizer::get_config();
  c["beta_1"] = o_.beta_1;
  c["beta_2"] = o_.beta_2;
  c["epsilon"] = o_.epsilon;
  c["amsgrad"] = o_.amsgrad;
  return c;
}

std::unique_ptr<Optimizer> Adam::from_config(const nlohmann::json& config) {
  ConfigFields f = fields(config, "Adam");
  auto o = common_options<AdamOptions>(f);
  read_adam_fields(f, o);
  return std::make_unique<Adam>(o);
}

void Adam::update(const std::string& name, Tensor& w, const Tensor& g, int64_t t, double lr) {
  Tensor& m = slot_for(name, "momentum", w);
  Tensor& v = slot_for(name, "velocity", w);
  Tensor* vhat = o_.amsgrad ? &slot_for(name, "velocity_hat", w) : nullptr;
  const double td = static_cast<double>(t);
  const double alpha = lr * std::sqrt(1.0 - std::pow(o_.beta_2, td)) / (1.0 - std::pow(o_.beta_1, td));
  visit_floating(w.dtype(), this->name().c_str(), [&]<typename T>() {
    kernels::cpu::adam_step<T>(w.numel(), w.data<T>(), g.data<T>(), m.data<T>(), v.data<T>(),
                               vhat ? vhat->data<T>() : nullptr, T(alpha), T(o_.beta_1), T(o_.beta_2), T(o_.epsilon),
                               T(lr * weight_decay_of(name)));
  });
}

AdamW::AdamW(AdamWOptions o)
    : Adam("AdamW",
           AdamOptions{.learning_rate = o.learning_rate,
                       .beta_1 = o.beta_1,
                       .beta_2 = o.beta_2,
                       .epsilon = o.epsilon,
                       .amsgrad = o.amsgrad,
                       .weight_decay = o.weight_decay,
                       .clipnorm = o.clipnorm,
                       .global_clipnorm = o.global_clipnorm,
                       .clipvalue = o.clipvalue,
                       .use_ema = o.use_ema,
                       .ema_momentum = o.ema_momentum,
                       .ema_overwrite_frequency = o.ema_overwrite_frequency}) {}

// ---- Nadam -----------------------------------------------------------------------------------------

Nadam::Nadam(NadamOptions o)
    : Optimizer("Nadam", o.learning_rate, clip_of(o.clipnorm, o.global_clipnorm, o.clipvalue), o.weight_decay,
                ema_of(o)),
      o_(o) {
  check_range("Nadam", "beta_1", o.beta_1, 0.0, 1.0, true);
  check_range("Nadam", "beta_2", o.beta_2, 0.0, 1.0, true);
  check_non_negative("Nadam", "epsilon", o.epsilon);
  check_non_negative("Nadam", "momentum_cache_decay", o.momentum_cache_decay);
}

nlohmann::json Nadam::get_config() const {
  nlohmann::json c = Optimizer::get_config();
  c["beta_1"] = o_.beta_1;
  c["beta_2"] = o_.beta_2;
  c["epsilon"] = o_.epsilon;
  // Ember's; written only when it differs from Keras 3's schedule, so Keras reads the rest.
  if (o_.momentum_cache_decay != 1.0) c["momentum_cache_decay"] = o_.momentum_cache_decay;
  return c;
}

std::unique_ptr<Optimizer> Nadam::from_config(const nlohmann::json& config) {
  ConfigFields f = fields(config, "Nadam");
  auto o = common_options<NadamOptions>(f);
  o.beta_1 = f.number("beta_1", o.beta_1);
  o.beta_2 = f.number("beta_2", o.beta_2);
  o.epsilon = f.number("epsilon", o.epsilon);
  o.momentum_cache_decay = f.number("momentum_cache_decay", o.momentum_cache_decay);
  return std::make_unique<Nadam>(o);
}

nlohmann::json AdamW::get_config() const {
  nlohmann::json c = Adam::get_config();
  c["weight_decay"] = weight_decay();  // Keras writes AdamW's decay as a number, 0 included
  return c;
}

std::unique_ptr<Optimizer> AdamW::from_config(const nlohmann::json& config) {
  ConfigFields f = fields(config, "AdamW");
  auto o = common_options<AdamWOptions>(f);
  read_adam_fields(f, o);
  return std::make_unique<AdamW>(o);
}

double Nadam::u(int64_t t) const {
  return o_.beta_1 * (1.0 - 0.5 * std::pow(0.96, o_.momentum_cache_decay * static_cast<double>(t)));
}

void Nadam::begin_step(int64_t t, double) {
  if (u_product_t_ != t - 1) {  // first step, or after load_state: rebuild P_{t-1}
    u_product_ = 1.0;
    for (int64_t i = 1; i < t; ++i) u_product_ *= u(i);
  }
  u_product_ *= u(t);
  u_product_t_ = t;
}

void Nadam::update(const std::string& name, Tensor& w, const Tensor& g, int64_t t, double lr) {
  Tensor& m = slot_for(name, "momentum", w);
  Tensor& v = slot_for(name, "velocity", w);
  const double ut = u(t), ut1 = u(t + 1), p = u_product_;
  const double coef_m = ut1 / (1.0 - p * ut1), coef_g = (1.0 - ut) / (1.0 - p);
  const double bias2 = 1.0 - std::pow(o_.beta_2, static_cast<double>(t));
  visit_floating(w.dtype(), "Nadam", [&]<typename T>() {
    kernels::cpu::nadam_step<T>(w.numel(), w.data<T>(), g.data<T>(), m.data<T>(), v.data<T>(), T(lr), T(o_.beta_1),
                                T(o_.beta_2), T(o_.epsilon), T(coef_m), T(coef_g), T(bias2),
                                T(lr * weight_decay_of(name)));
  });
}

// ---- factory ---------------------------------------------------------------------------------------

const std::vector<std::string>& optimizer_names() {
  static const std::vector<std::string> names = {"sgd",     "momentum", "nesterov", "adagrad",
                                                 "rmsprop", "adam",     "adamw",    "nadam"};
  return names;
}

namespace {

// Keras class name (and Keras's lower-case identifiers) -> from_config. A new optimizer is one line here.
const ClassTable<std::unique_ptr<Optimizer>>& table() {
  static const ClassTable<std::unique_ptr<Optimizer>> m("optimizer", {
      {"Adagrad", Adagrad::from_config},
      {"Adam", Adam::from_config},
      {"AdamW", AdamW::from_config},
      {"Nadam", Nadam::from_config},
      {"RMSprop", RMSprop::from_config},
      {"SGD", SGD::from_config},
      {"adagrad", Adagrad::from_config},
      {"adam", Adam::from_config},
      {"adamw", AdamW::from_config},
      {"nadam", Nadam::from_config},
      {"rmsprop", RMSprop::from_config},
      {"sgd", SGD::from_config},
  });
  return m;
}

}  // namespace

std::unique_ptr<Optimizer> from_config(const nlohmann::json& j) { return table().from_reference(j); }

std::vector<std::string> registered_classes() { return table().names(); }

std::unique_ptr<Optimizer> make_optimizer(const std::string& name, double learning_rate,
                                          std::optional<double> weight_decay, EMASettings ema) {
  std::string n = name;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (n == "sgd" || n == "momentum" || n == "nesterov") {
    return std::make_unique<SGD>(SGDOptions{.learning_rate = learning_rate,
                                            .momentum = n == "sgd" ? 0.0 : 0.9,
                                            .nesterov = n == "nesterov",
                                            .weight_decay = weight_decay.value_or(0.0),
                                            .use_ema = ema.use_ema,
                                            .ema_momentum = ema.ema_momentum,
                                            .ema_overwrite_frequency = ema.ema_overwrite_frequency});
  }
  // The others are the table's lower-case identifiers, at Keras's defaults. A bad rate is the
  // ValueError of LearningRate, as for the presets above, not a config error.
  LearningRate checked(learning_rate);
  nlohmann::json config{{"learning_rate", learning_rate}};
  if (weight_decay) config["weight_decay"] = *weight_decay;
  config["use_ema"] = ema.use_ema;
  config["ema_momentum"] = ema.ema_momentum;
  if (ema.ema_overwrite_frequency) config["ema_overwrite_frequency"] = *ema.ema_overwrite_frequency;
  if (auto factory = table().find(n)) return factory(config);
  std::string known;
  for (const auto& k : optimizer_names()) known += (known.empty() ? "" : ", ") + k;
  throw ValueError("unknown optimizer '" + name + "'; expected one of " + known);
}

}  // namespace ember::optim
