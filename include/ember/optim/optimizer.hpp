#pragma once
// Optimizers with Keras names, defaults and update formulas (TF >= 2.11 / Keras 3, where Keras 2
// differs it is said per class).
//
//   optim::NamedParams params = model.named_parameters();   // {"dense/kernel", w}, {"dense/bias", b}, ...
//   optim::Adam opt({.learning_rate = 1e-3});
//   loss.backward();
//   opt.step(params);                                        // reads each parameter's .grad()
//
// Contract:
// - Parameters are identified by NAME. Slots live in a map keyed "<param name>/<slot name>" with
//   Keras's slot names ("momentum", "velocity", "velocity_hat", "accumulator", "average_gradient").
//   They are created (zeros, or the initial accumulator value) on the first step that sees a
//   parameter, with its shape and dtype. Duplicate names in one step: ValueError.
// - A parameter whose grad is undefined is skipped (its slots are untouched). Parameters must be
//   float32 or float64; a gradient of another floating dtype is cast; a gradient of another shape
//   is a ShapeError.
// - The learning rate of a step is learning_rate(iterations()) — schedules see 0 on the first
//   step, as in Keras — and iterations() counts completed steps. Bias corrections use t = iterations()+1.
// - Gradient clipping (at most one of clipnorm, global_clipnorm, clipvalue, as Keras 3) is applied
//   to the gradients before the update; .grad() itself is left unchanged.
// - weight_decay (every optimizer, as Keras 3; default 0 = none, AdamW's 0.004) is decoupled:
//   w -= lr*weight_decay*w before the step's update, with lr the step's learning rate, on every
//   parameter that exclude_from_weight_decay does not exclude. PyTorch's SGD/Adam weight_decay adds
//   weight_decay*w to the gradient instead (the same step only for SGD without momentum); PyTorch's
//   AdamW is this form.
// - Updates run as one fused kernel per parameter (kernels/cpu/optim.hpp) under NoGradGuard.
// - Row gradients (autograd::RowGrad, an Embedding's table): step() hands them to the optimizers
//   for which updating only the rows a batch used is exact — SGD without momentum (w -= lr*g is a
//   no-op where g = 0) and Adagrad (g = 0 leaves both the accumulator and w as they are), both
//   without weight decay — so a step costs O(rows used), not O(table). The others (SGD with
//   momentum, RMSprop, Adam, AdamW, Nadam, and any optimizer with weight decay) update every row as
//   Keras/TF do (moments decay and weight decay applies where g = 0): they read .grad(), which
//   densifies the rows. Results equal the dense path's bit for bit. Clipping sees the
//   row values: their norm is the dense gradient's norm (rounding aside: the zeros are skipped).
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "ember/core/tensor.hpp"
#include "ember/optim/schedules.hpp"

namespace ember::optim {

// Named parameters, in any order; the name is the identity.
using NamedParams = std::vector<std::pair<std::string, Tensor>>;

// A constant learning rate or a schedule of the step. Implicit from a number, a schedule object
// (by value or shared_ptr) or a callable double(int64_t).
class LearningRate {
 public:
  LearningRate(double value);  // NOLINT: implicit, so `.learning_rate = 1e-3` reads naturally
  template <typename S>
    requires std::is_base_of_v<LearningRateSchedule, S>
  LearningRate(std::shared_ptr<S> schedule) : schedule_(std::move(schedule)) {  // NOLINT
    check_schedule_();
  }
  template <typename S>
    requires std::is_base_of_v<LearningRateSchedule, std::remove_cvref_t<S>>
  LearningRate(S&& schedule)  // NOLINT
      : schedule_(std::make_shared<std::remove_cvref_t<S>>(std::forward<S>(schedule))) {}
  LearningRate(std::function<double(int64_t)> fn);  // NOLINT
  template <typename F>
    requires(std::is_invocable_r_v<double, F, int64_t> &&
             !std::is_base_of_v<LearningRateSchedule, std::remove_cvref_t<F>> &&
             !std::is_same_v<std::remove_cvref_t<F>, std::function<double(int64_t)>> &&
             !std::is_same_v<std::remove_cvref_t<F>, LearningRate>)
  LearningRate(F&& fn)  // NOLINT: lambdas
      : LearningRate(std::function<double(int64_t)>(std::forward<F>(fn))) {}

  double operator()(int64_t step) const;  // throws ValueError if the value is negative or not finite
  bool is_schedule() const { return schedule_ != nullptr; }
  double constant() const { return value_; }  // meaningful when !is_schedule()
  const std::shared_ptr<const LearningRateSchedule>& schedule() const { return schedule_; }

 private:
  void check_schedule_() const;
  double value_ = 0.0;
  std::shared_ptr<const LearningRateSchedule> schedule_;
};

// What a checkpoint needs to resume an optimizer: the step count and every slot by name.
struct OptimizerState {
  int64_t iterations = 0;
  std::map<std::string, Tensor> slots = {};  // "<param name>/<slot name>" -> tensor
};

// Clipping options shared by every optimizer (null = off).
struct ClipOptions {
  std::optional<double> clipnorm = std::nullopt;         // per tensor: g * c / max(||g||_2, c)
  std::optional<double> global_clipnorm = std::nullopt;  // all grads together: g * c / max(global_norm, c)
  std::optional<double> clipvalue = std::nullopt;        // elementwise to [-c, c]
};

// Keras 3's exponential moving average of the model's weights (every optimizer's use_ema,
// ema_momentum, ema_overwrite_frequency). After each step, for every parameter of the step:
//   average = ema_momentum*average + (1-ema_momentum)*w      (average = w after the first step)
// kept in the slot "<param>/average" (so state() and checkpoints carry it). With
// ema_overwrite_frequency = N the parameters are overwritten by their averages after every N-th
// step; finalize_variable_values(params) overwrites them once (Model::fit calls it when training
// ends, as Keras 3's fit does). Batch norm's moving statistics are not parameters and are not averaged.
struct EMASettings {
  bool use_ema = false;
  double ema_momentum = 0.99;                                    // in [0, 1]
  std::optional<int64_t> ema_overwrite_frequency = std::nullopt;  // >= 1 steps
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;
  Optimizer(Optimizer&&) = default;
  Optimizer& operator=(Optimizer&&) = default;

  // One update of every parameter whose .grad() is defined.
  void step(const NamedParams& params);
  // One update with explicit gradients (grads[i] for params[i]; undefined entries are skipped),
  // for callers that keep gradients elsewhere (graph mode).
  void apply_gradients(const NamedParams& params, const std::vector<Tensor>& grads);

  int64_t iterations() const { return iterations_; }
  const LearningRate& learning_rate() const { return lr_; }
  double current_learning_rate() const { return lr_(iterations_); }
  // Replaces the learning rate (constant or schedule); used by ReduceLROnPlateau-style callbacks.
  void set_learning_rate(LearningRate lr);

  const std::string& name() const { return name_; }  // Keras class name: "SGD", "Adam", ...
  // Keras get_config(): {"name", "learning_rate", "clipnorm", "global_clipnorm", "clipvalue", ...
  // class fields}; each class's static from_config(config) reads it back. ValueError when the
  // learning rate is a schedule or a function (Ember writes no schedule config yet).
  virtual nlohmann::json get_config() const;
  nlohmann::json get_config_json() const;  // {"class_name": name(), "config": get_config()}
  const ClipOptions& clip_options() const { return clip_; }
  double weight_decay() const { return weight_decay_; }  // 0: none
  // Keras 3's exclude_from_weight_decay(var_names=...): a parameter whose name matches one of these
  // regular expressions anywhere (Keras's re.search; e.g. "gamma", "beta", "bias" — names here are
  // "layer/variable") gets no weight decay. Replaces earlier exclusions; ValueError for an invalid
  // expression.
  void exclude_from_weight_decay(const std::vector<std::string>& var_names);
  const std::vector<std::string>& weight_decay_exclusions() const { return decay_exclusions_; }
  // weight_decay(), or 0 for an excluded parameter (the match is cached per name).
  double weight_decay_of(const std::string& param_name);

  // Slots by name. slot() throws ValueError naming the known slots when absent.
  const std::map<std::string, Tensor>& slots() const { return slots_; }
  Tensor slot(const std::string& param_name, const std::string& slot_name) const;

  const EMASettings& ema() const { return ema_; }
  // With use_ema: copies each parameter's average into it (Keras 3's finalize_variable_values);
  // parameters without an average yet are left as they are. Without use_ema: nothing.
  void finalize_variable_values(const NamedParams& params);

  // The returned tensors share storage with the live slots (clone to snapshot).
  OptimizerState state() const;
  // Deep-copies `s`. Slot shapes are checked against the parameters on the next step (ShapeError).
  void load_state(const OptimizerState& s);

 protected:
  // ValueError when weight_decay is negative or not finite, for conflicting clip options, or for an
  // ema_momentum outside [0, 1] or an ema_overwrite_frequency < 1.
  Optimizer(std::string name, LearningRate lr, ClipOptions clip, double weight_decay, EMASettings ema = {});
  // Called once per step before the per-parameter updates (t = iterations()+1, lr of this step).
  virtual void begin_step(int64_t t, double lr) {}
  // Updates one contiguous parameter with a gradient of its dtype and shape.
  virtual void update(const std::string& name, Tensor& param, const Tensor& grad, int64_t t, double lr) = 0;
  // True when update_rows is exact for this configuration (a zero gradient row changes nothing).
  virtual bool updates_rows() const { return false; }
  // Updates only the rows `rows` (i64 [n], sorted, distinct) of `param` [R, ...] with grad [n, ...]
  // (called only when updates_rows()).
  virtual void update_rows(const std::string& name, Tensor& param, const Tensor& rows, const Tensor& grad, int64_t t,
                           double lr);
  // The slot "<param>/<slot>", created filled with `init` like `param` when missing.
  Tensor& slot_for(const std::string& param_name, const char* slot_name, const Tensor& param, double init = 0.0);

 private:
  // Buffers reused by every step (cleared, capacity kept), so a warmed-up step allocates nothing.
  // step() and apply_gradients(): rows[i] defined means grads[i] holds only those rows (empty: none).
  void apply(const NamedParams& params, const std::vector<Tensor>& grads, const std::vector<Tensor>& rows);
  void update_averages(const NamedParams& params);  // use_ema's step
  struct Scratch {
    std::vector<Tensor> grads, gs, rows;
    std::vector<const std::string*> names;
    std::vector<std::size_t> active;
    std::string key;
  };
  Scratch scratch_;
  std::string name_;
  LearningRate lr_;
  ClipOptions clip_;
  double weight_decay_;
  EMASettings ema_;
  std::vector<std::string> decay_exclusions_;  // regular expressions, checked when set
  std::map<std::string, bool> decays_;          // parameter name → decayed, matched once per name
  int64_t iterations_ = 0;
  std::map<std::string, Tensor> slots_;
};

// ---- SGD -----------------------------------------------------------------------------------------
// Keras form:  v = momentum*v - lr*g;  w += v           (nesterov: w += momentum*v - lr*g)
// momentum = 0 keeps no slot: w -= lr*g. Same trajectory as PyTorch SGD with dampening = 0 for a
// constant learning rate (PyTorch stores v/(-lr); Keras bakes each step's lr into v, so with a
// schedule Keras's form is the one followed here).
//
// The notes' momentum,  v = beta*v + (1-beta)*g;  w -= lr*v  (an EWMA of the gradients), is the
// Keras form with the learning rate rescaled by (1-beta) when lr is constant. `.ewma_momentum = true`
// runs that form exactly (lr applied at each step to the averaged gradient; PyTorch's
// dampening = 1 - momentum); nesterov then uses w -= lr*(beta*v + (1-beta)*g).
struct SGDOptions {
  LearningRate learning_rate = 0.01;
  double momentum = 0.0;  // in [0, 1]
  bool nesterov = false;
  bool ewma_momentum = false;
  double weight_decay = 0.0;  // decoupled (see the contract above)
  std::optional<double> clipnorm = std::nullopt;
  std::optional<double> global_clipnorm = std::nullopt;
  std::optional<double> clipvalue = std::nullopt;
  bool use_ema = false;  // Keras 3's model-weight EMA (see EMASettings)
  double ema_momentum = 0.99;
  std::optional<int64_t> ema_overwrite_frequency = std::nullopt;
};
class SGD : public Optimizer {
 public:
  explicit SGD(SGDOptions o = {});
  const SGDOptions& options() const { return o_; }
  nlohmann::json get_config() const override;
  static std::unique_ptr<Optimizer> from_config(const nlohmann::json& config);

 protected:
  void update(const std::string& name, Tensor& param, const Tensor& grad, int64_t t, double lr) override;
  // Row-sparse updates only without slots or decay: both touch every row.
  bool updates_rows() const override { return o_.momentum == 0.0 && weight_decay() == 0.0; }
  void update_rows(const std::string& name, Tensor& param, const Tensor& rows, const Tensor& grad, int64_t t,
                   double lr) override;

 private:
  SGDOptions o_;
};

// ---- Adagrad -------------------------------------------------------------------------------------
// accumulator += g^2;  w -= lr*g / sqrt(accumulator + epsilon)      (Keras 3: epsilon inside the root;
// Keras 2 and PyTorch add it after the root). Slot "accumulator" starts at initial_accumulator_value
// (PyTorch's default is 0).
struct AdagradOptions {
  LearningRate learning_rate = 0.001;
  double initial_accumulator_value = 0.1;
  double epsilon = 1e-7;
  double weight_decay = 0.0;
  std::optional<double> clipnorm = std::nullopt;
  std::optional<double> global_clipnorm = std::nullopt;
  std::optional<double> clipvalue = std::nullopt;
  bool use_ema = false;  // Keras 3's model-weight EMA (see EMASettings)
  double ema_momentum = 0.99;
  std::optional<int64_t> ema_overwrite_frequency = std::nullopt;
};
class Adagrad : public Optimizer {
 public:
  explicit Adagrad(AdagradOptions o = {});
  const AdagradOptions& options() const { return o_; }
  nlohmann::json get_config() const override;
  static std::unique_ptr<Optimizer> from_config(const nlohmann::json& config);

 protected:
  void update(const std::string& name, Tensor& param, const Tensor& grad, int64_t t, double lr) override;
  bool updates_rows() const override { return weight_decay() == 0.0; }  // decay touches every row
  void update_rows(const std::string& name, Tensor& param, const Tensor& rows, const Tensor& grad, int64_t t,
                   double lr) override;

 private:
  AdagradOptions o_;
};

// ---- RMSprop -------------------------------------------------------------------------------------
// Keras 3 / TF >= 2.11:
//   velocity = rho*velocity + (1-rho)*g^2
//   centered: average_gradient = rho*average_gradient + (1-rho)*g;  d = velocity - average_gradient^2 + eps
//   else d = velocity + eps
//   inc = lr*g/sqrt(d);  momentum > 0: momentum_slot = momentum*momentum_slot + inc; w -= momentum_slot
//                        else w -= inc
// epsilon sits INSIDE the square root (PyTorch and Keras 2's momentum-free path put it outside;
// the notes write sqrt(S + eps), as here). With momentum, lr is baked into the slot (Keras); PyTorch
// applies lr after the buffer, which agrees for a constant learning rate.
struct RMSpropOptions {
  LearningRate learning_rate = 0.001;
  double rho = 0.9;
  double momentum = 0.0;
  double epsilon = 1e-7;
  bool centered = false;
  double weight_decay = 0.0;
  std::optional<double> clipnorm = std::nullopt;
  std::optional<double> global_clipnorm = std::nullopt;
  std::optional<double> clipvalue = std::nullopt;
  bool use_ema = false;  // Keras 3's model-weight EMA (see EMASettings)
  double ema_momentum = 0.99;
  std::optional<int64_t> ema_overwrite_frequency = std::nullopt;
};
class RMSprop : public Optimizer {
 public:
  explicit RMSprop(RMSpropOptions o = {});
  const RMSpropOptions& options() const { return o_; }
  nlohmann::json get_config() const override;
  static std::unique_ptr<Optimizer> from_config(const nlohmann::json& config);

 protected:
  void update(const std::string& name, Tensor& param, const Tensor& grad, int64_t t, double lr) override;

 private:
  RMSpropOptions o_;
};

// ---- Adam / AdamW --------------------------------------------------------------------------------
// Keras (2.x OptimizerV2 and 3 / TF >= 2.11 alike) "epsilon hat" form:
//   m = beta_1*m + (1-beta_1)*g;  v = beta_2*v + (1-beta_2)*g^2     (amsgrad: velocity_hat = max(velocity_hat, v))
//   lr_t = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
//   w -= lr_t * m / (sqrt(v) + epsilon)
// PyTorch (and the notes) compute m_hat / (sqrt(v_hat) + eps), which is this form with
// epsilon_torch = epsilon / sqrt(1 - beta_2^t): the two differ only through epsilon, noticeably in
// the first steps or when v is tiny. Ember follows Keras.
struct AdamOptions {
  LearningRate learning_rate = 0.001;
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
  bool amsgrad = false;
  double weight_decay = 0.0;
  std::optional<double> clipnorm = std::nullopt;
  std::optional<double> global_clipnorm = std::nullopt;
  std::optional<double> clipvalue = std::nullopt;
  bool use_ema = false;  // Keras 3's model-weight EMA (see EMASettings)
  double ema_momentum = 0.99;
  std::optional<int64_t> ema_overwrite_frequency = std::nullopt;
};
class Adam : public Optimizer {
 public:
  explicit Adam(AdamOptions o = {});
  const AdamOptions& options() const { return o_; }
  nlohmann::json get_config() const override;
  static std::unique_ptr<Optimizer> from_config(const nlohmann::json& config);

 protected:
  Adam(std::string name, AdamOptions o);
  void update(const std::string& name, Tensor& param, const Tensor& grad, int64_t t, double lr) override;

 private:
  AdamOptions o_;
};

// Adam whose weight decay defaults to 0.004 (Keras 3 AdamW; PyTorch AdamW's is 0.01): the decay is
// applied with the step's learning rate, not lr_t.
struct AdamWOptions {
  LearningRate learning_rate = 0.001;
  double weight_decay = 0.004;
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
  bool amsgrad = false;
  std::optional<double> clipnorm = std::nullopt;
  std::optional<double> global_clipnorm = std::nullopt;
  std::optional<double> clipvalue = std::nullopt;
  bool use_ema = false;  // Keras 3's model-weight EMA (see EMASettings)
  double ema_momentum = 0.99;
  std::optional<int64_t> ema_overwrite_frequency = std::nullopt;
};
class AdamW : public Adam {
 public:
  explicit AdamW(AdamWOptions o = {});
  nlohmann::json get_config() const override;
  static std::unique_ptr<Optimizer> from_config(const nlohmann::json& config);
};

// ---- Nadam ---------------------------------------------------------------------------------------
// Keras 3 / TF >= 2.11 (the same algorithm as PyTorch NAdam with momentum_decay = 1):
//   u_t = beta_1 * (1 - 0.5 * 0.96^(momentum_cache_decay * t)),  P_t = u_1 * ... * u_t
//   m, v as Adam;  m_hat = u_{t+1}*m/(1 - P_t*u_{t+1}) + (1-u_t)*g/(1 - P_t);  v_hat = v/(1 - beta_2^t)
//   w -= lr * m_hat / (sqrt(v_hat) + epsilon)
// momentum_cache_decay = 1 is Keras 3; Keras 2 (OptimizerV2) and PyTorch's default use 0.004 (Dozat's
// schedule 0.96^(t/250)).
struct NadamOptions {
  LearningRate learning_rate = 0.001;
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
  double momentum_cache_decay = 1.0;
  double weight_decay = 0.0;
  std::optional<double> clipnorm = std::nullopt;
  std::optional<double> global_clipnorm = std::nullopt;
  std::optional<double> clipvalue = std::nullopt;
  bool use_ema = false;  // Keras 3's model-weight EMA (see EMASettings)
  double ema_momentum = 0.99;
  std::optional<int64_t> ema_overwrite_frequency = std::nullopt;
};
class Nadam : public Optimizer {
 public:
  explicit Nadam(NadamOptions o = {});
  const NadamOptions& options() const { return o_; }
  nlohmann::json get_config() const override;
  static std::unique_ptr<Optimizer> from_config(const nlohmann::json& config);

 protected:
  void begin_step(int64_t t, double lr) override;
  void update(const std::string& name, Tensor& param, const Tensor& grad, int64_t t, double lr) override;

 private:
  double u(int64_t t) const;
  NadamOptions o_;
  double u_product_ = 1.0;   // P_t for the current step
  int64_t u_product_t_ = 0;  // the t that u_product_ belongs to (recomputed after load_state)
};

// ---- factory -------------------------------------------------------------------------------------
// "sgd", "momentum" (SGD momentum 0.9), "nesterov" (SGD momentum 0.9, nesterov), "adagrad",
// "rmsprop", "adam", "adamw", "nadam" (case-insensitive), other options at their Keras defaults.
// Unknown names: ValueError listing the known ones. weight_decay, when given, is the decoupled decay
// (any optimizer; none: 0, or AdamW's 0.004); ema, Keras 3's weight averaging (EMASettings).
std::unique_ptr<Optimizer> make_optimizer(const std::string& name, double learning_rate,
                                          std::optional<double> weight_decay = std::nullopt, EMASettings ema = {});
// Keras JSON {"class_name": "Adam", "config": {"learning_rate": 0.001, "beta_1": 0.9, ...}} (class
// names and Keras's lower-case identifiers); FormatError for an unknown class or a bad field
// (ember::ConfigFields wording), ValueError for a value the class rejects.
std::unique_ptr<Optimizer> from_config(const nlohmann::json& j);
// The class names (and identifiers) from_config knows.
std::vector<std::string> registered_classes();
const std::vector<std::string>& optimizer_names();

}  // namespace ember::optim
