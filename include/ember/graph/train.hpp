#pragma once
// Graph-mode training: tf.gradients and the tf.train optimizers.
//
// gradients() adds one node whose outputs are the gradients. When a run needs it, the session
// evaluates the forward subgraph with autograd recording (the xs as requires-grad leaves) and runs
// the eager backward engine, so the backward rules are eager mode's and a run that fetches both the
// loss and the train op evaluates the forward once. The optimizers apply the update rules of optim/
// (one implementation of each formula) with TF1's defaults.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ember/graph/graph.hpp"
#include "ember/optim/optimizer.hpp"

namespace ember::graph {

// d(sum of ys)/dx for each x; grad_ys (one per y, same shapes) seed the backward pass instead of
// ones. An x on which no y depends gets an empty Output (TF's None): fetching it is a ValueError.
// Known limit: an x that is an intermediate tensor becomes a leaf for the whole run, so a second
// gradients() node fetched in the same run that needs variables upstream of that x gets wrong
// (cut) gradients; fetch such gradient nodes in separate runs.
std::vector<Output> gradients(const std::vector<Output>& ys, const std::vector<Output>& xs,
                              const std::vector<Output>& grad_ys = {}, const std::string& name = "gradients");

// tf.clip_by_global_norm(t_list, clip_norm): the clipped tensors and the global norm (a scalar).
// Empty entries (None gradients) stay empty.
std::pair<std::vector<Output>, Output> clip_by_global_norm(const std::vector<Output>& t_list, double clip_norm,
                                                           const std::string& name = "clip_by_global_norm");

// ---- variable_scope / get_variable ------------------------------------------------------------------

// `with tf.variable_scope("layer1", reuse=...):` — get_variable names are "layer1/<name>" (nested
// scopes join with "/"), and ops created inside get the name scope "layer1/" (uniquified like
// name_scope: re-entering gives "layer1_1/" for ops, while variables keep "layer1/").
struct VariableScopeOptions {
  bool reuse = false;  // true: get_variable returns existing variables and never creates one
};
class VariableScope {
 public:
  explicit VariableScope(const std::string& name, VariableScopeOptions o = {});
  ~VariableScope();
  VariableScope(const VariableScope&) = delete;
  VariableScope& operator=(const VariableScope&) = delete;

 private:
  Graph* graph_;
};

// tf.get_variable(name, shape, initializer): the variable "<variable scope>/<name>". Creating one that
// exists without reuse, or reusing one that does not exist, is a ValueError naming it (TF's
// messages). A reused variable must have the requested shape (ShapeError otherwise). `initializer`
// maps the shape to an initial-value tensor; the default is TF's glorot_uniform.
using Initializer = std::function<Output(const std::vector<int64_t>& shape)>;
struct GetVariableOptions {
  Initializer initializer = nullptr;
  bool trainable = true;
};
Variable get_variable(const std::string& name, const std::vector<int64_t>& shape, GetVariableOptions o = {});

// Initializers for get_variable.
Initializer glorot_uniform_initializer();
Initializer truncated_normal_initializer(double stddev = 1.0, double mean = 0.0);
Initializer constant_initializer(double value);

using GradsAndVars = std::vector<std::pair<Output, Variable>>;

// tf.train.Optimizer. The slots (momentum, accumulators) live with the op that apply_gradients /
// minimize creates, not in the session: one training session per graph at a time.
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // Gradients of `loss` for var_list (default: the graph's trainable variables).
  GradsAndVars compute_gradients(const Output& loss, std::vector<Variable> var_list = {}) const;
  // An op applying one update; increments global_step (an integer variable) when given. Pairs with
  // an empty gradient are skipped; none at all is a ValueError.
  Operation apply_gradients(const GradsAndVars& grads_and_vars, std::optional<Variable> global_step = std::nullopt,
                            const std::string& name = "");
  // compute_gradients + apply_gradients.
  Operation minimize(const Output& loss, std::optional<Variable> global_step = std::nullopt,
                     std::vector<Variable> var_list = {}, const std::string& name = "");

 protected:
  // `lr` may be a schedule of optim/: it is evaluated at global_step when one is given, else at the
  // number of updates applied so far.
  Optimizer(std::string name, optim::LearningRate lr) : name_(std::move(name)), lr_(std::move(lr)) {}
  virtual std::unique_ptr<optim::Optimizer> make(const optim::LearningRate& lr) const = 0;

 private:
  std::string name_;
  optim::LearningRate lr_;
};

// var -= lr * g
class GradientDescentOptimizer : public Optimizer {
 public:
  explicit GradientDescentOptimizer(optim::LearningRate learning_rate);

 protected:
  std::unique_ptr<optim::Optimizer> make(const optim::LearningRate& lr) const override;
};

// accum = momentum*accum + g; var -= lr*accum (nesterov: var -= lr*g + lr*momentum*accum). Runs
// optim::SGD's Keras form (v = momentum*v - lr*g), the same update for a constant learning rate.
struct MomentumOptions {
  optim::LearningRate learning_rate;
  double momentum;
  bool use_nesterov = false;
};
class MomentumOptimizer : public Optimizer {
 public:
  explicit MomentumOptimizer(MomentumOptions o);

 protected:
  std::unique_ptr<optim::Optimizer> make(const optim::LearningRate& lr) const override;

 private:
  MomentumOptions o_;
};

// TF1 defaults: beta1 0.9, beta2 0.999, epsilon 1e-8 (Keras: 1e-7).
struct AdamOptions {
  optim::LearningRate learning_rate = 0.001;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
};
class AdamOptimizer : public Optimizer {
 public:
  explicit AdamOptimizer(AdamOptions o = {});

 protected:
  std::unique_ptr<optim::Optimizer> make(const optim::LearningRate& lr) const override;

 private:
  AdamOptions o_;
};

// TF1: accum starts at initial_accumulator_value; accum += g^2; var -= lr*g/sqrt(accum) (no epsilon:
// optim::Adagrad with epsilon 0).
struct AdagradOptions {
  optim::LearningRate learning_rate;
  double initial_accumulator_value = 0.1;
};
class AdagradOptimizer : public Optimizer {
 public:
  explicit AdagradOptimizer(AdagradOptions o);

 protected:
  std::unique_ptr<optim::Optimizer> make(const optim::LearningRate& lr) const override;

 private:
  AdagradOptions o_;
};

// TF1: ms = decay*ms + (1-decay)*g^2; mom = momentum*mom + lr*g/sqrt(ms + epsilon); var -= mom.
// optim::RMSprop has exactly this form (epsilon inside the root) and runs it; TF1 defaults decay 0.9,
// momentum 0, epsilon 1e-10, centered false, and ms starting at 1 (Keras: 0).
struct RMSPropOptions {
  optim::LearningRate learning_rate;
  double decay = 0.9;
  double momentum = 0.0;
  double epsilon = 1e-10;
  bool centered = false;
};
class RMSPropOptimizer : public Optimizer {
 public:
  explicit RMSPropOptimizer(RMSPropOptions o);

 protected:
  std::unique_ptr<optim::Optimizer> make(const optim::LearningRate& lr) const override;

 private:
  RMSPropOptions o_;
};

}  // namespace ember::graph
