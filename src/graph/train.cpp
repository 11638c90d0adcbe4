#include "ember/graph/train.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "ember/autograd/autograd.hpp"
#include "ember/core/error.hpp"
#include "ember/graph/ops.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/optim/clip.hpp"

namespace ember::graph {

std::vector<Output> gradients(const std::vector<Output>& ys, const std::vector<Output>& xs,
                              const std::vector<Output>& grad_ys, const std::string& name) {
  if (ys.empty()) throw ValueError("graph: gradients needs at least one y");
  if (!grad_ys.empty() && grad_ys.size() != ys.size())
    throw ValueError("graph: gradients got " + std::to_string(grad_ys.size()) + " grad_ys for " +
                     std::to_string(ys.size()) + " ys");
  Graph& g = ys[0].graph();
  auto check = [&](const Output& o, const char* what) {
    if (!o.valid()) throw ValueError(std::string("graph: gradients: an empty tensor in ") + what);
    if (&o.graph() != &g) throw ValueError("graph: gradients: '" + o.name() + "' in " + what + " is from another graph");
    if (o.type().is_string) throw DTypeError("graph: gradients: '" + o.name() + "' in " + what + " is a string");
  };
  for (const Output& y : ys) check(y, "ys");
  for (const Output& x : xs) check(x, "xs");
  for (const Output& gy : grad_ys) check(gy, "grad_ys");
  // Which nodes the ys depend on (iteratively).
  std::unordered_set<const Node*> ancestors;
  std::vector<const Node*> stack;
  for (const Output& y : ys) stack.push_back(y.node());
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    if (!ancestors.insert(n).second) continue;
    for (const Output& in : n->inputs) stack.push_back(in.node());
  }
  std::vector<Output> inputs(ys);
  inputs.insert(inputs.end(), grad_ys.begin(), grad_ys.end());
  std::vector<OutputSpec> specs;
  std::vector<int> slot(xs.size(), -1);
  for (size_t i = 0; i < xs.size(); ++i) {
    if (!ancestors.count(xs[i].node()) || !is_floating(xs[i].dtype())) continue;  // TF's None
    slot[i] = static_cast<int>(specs.size());
    specs.push_back(xs[i].node()->outputs[xs[i].index()]);
    inputs.push_back(xs[i]);
  }
  std::vector<Output> result(xs.size());
  if (specs.empty()) return result;
  GraphScope in_graph(g);
  // The session computes this node (Session::compute_gradients_node); fn stays empty.
  Operation op = g.add_op("Gradients", name, std::move(inputs), nullptr, std::move(specs), NodeKind::Gradients);
  op.node()->num_ys = static_cast<int>(ys.size());
  for (size_t i = 0; i < xs.size(); ++i)
    if (slot[i] >= 0) result[i] = Output(op.node(), slot[i]);
  return result;
}

std::pair<std::vector<Output>, Output> clip_by_global_norm(const std::vector<Output>& t_list, double clip_norm,
                                                           const std::string& name) {
  std::vector<Output> inputs;
  std::vector<OutputSpec> specs;
  for (const Output& t : t_list) {
    if (!t.valid()) continue;
    inputs.push_back(t);
    specs.push_back(t.node()->outputs[t.index()]);
  }
  if (inputs.empty()) throw ValueError("graph: clip_by_global_norm of no tensors");
  if (!(clip_norm > 0)) throw ValueError("graph: clip_by_global_norm: clip_norm must be > 0, got " + std::to_string(clip_norm));
  specs.push_back({{.dtype = f32}, PartialShape(std::vector<int64_t>{})});
  OpFn fn = [clip_norm](RunContext&, std::span<const Value> in) {
    std::vector<Tensor> ts;
    for (const Value& v : in) ts.push_back(std::get<Tensor>(v));
    optim::GlobalNormClip c = optim::clip_by_global_norm(ts, clip_norm);
    Values out(c.tensors.begin(), c.tensors.end());
    out.emplace_back(full({}, c.global_norm, f32));
    return out;
  };
  Graph& g = inputs[0].graph();
  GraphScope in_graph(g);
  Operation op = g.add_op("ClipByGlobalNorm", name, inputs, fn, specs);
  std::vector<Output> clipped(t_list.size());
  int k = 0;
  for (size_t i = 0; i < t_list.size(); ++i)
    if (t_list[i].valid()) clipped[i] = Output(op.node(), k++);
  return {clipped, Output(op.node(), k)};
}

// ---- variable_scope / get_variable -------------------------------------------------------------------

namespace {
// The variable-scope stack per graph (names, innermost last) and its reuse flags.
struct VarScopeEntry {
  Graph* graph;
  std::string name;  // full: "outer/inner"
  bool reuse;
};
thread_local std::vector<VarScopeEntry> var_scopes;

const VarScopeEntry* current_var_scope(Graph& g) {
  for (auto it = var_scopes.rbegin(); it != var_scopes.rend(); ++it)
    if (it->graph == &g) return &*it;
  return nullptr;
}
}  // namespace

VariableScope::VariableScope(const std::string& name, VariableScopeOptions o) : graph_(&get_default_graph()) {
  if (name.empty() || name.find(':') != std::string::npos)
    throw ValueError("graph: variable_scope name '" + name + "' must be non-empty and have no ':'");
  const VarScopeEntry* outer = current_var_scope(*graph_);
  std::string full = outer ? outer->name + "/" + name : name;
  var_scopes.push_back({graph_, full, o.reuse || (outer && outer->reuse)});  // reuse is inherited, as in TF
  graph_->push_scope(graph_->unique_name(graph_->scoped(name)) + "/");
}

VariableScope::~VariableScope() {
  graph_->pop_scope();
  var_scopes.pop_back();
}

Variable get_variable(const std::string& name, const std::vector<int64_t>& shape, GetVariableOptions o) {
  Graph& g = get_default_graph();
  const VarScopeEntry* scope = current_var_scope(g);
  const std::string full = scope ? scope->name + "/" + name : name;
  const bool reuse = scope && scope->reuse;
  for (Operation op : g.variables()) {
    if (op.name() != full) continue;
    if (!reuse)
      throw ValueError("graph: Variable " + full + " already exists, disallowed. Did you mean to set reuse=true in VariableScope?");
    const PartialShape& have = op.node()->outputs[0].shape;
    if (!have.known_rank || have.dims != shape)
      throw ShapeError("graph: trying to share variable " + full + ", but specified shape " +
                       PartialShape(shape).str() + " and found shape " + have.str());
    return as_variable(op);
  }
  if (reuse)
    throw ValueError("graph: Variable " + full + " does not exist, or was not created with get_variable(); reuse is set");
  for (int64_t d : shape)
    if (d < 0) throw ValueError("graph: get_variable " + full + ": the shape " + PartialShape(shape).str() + " must be fully known");
  Initializer init = o.initializer ? o.initializer : glorot_uniform_initializer();
  // The variable's own name ignores the name scope (TF); its initial value sits under it.
  g.push_scope(full.substr(0, full.size() - name.size()));
  struct Pop {
    Graph& g;
    ~Pop() { g.pop_scope(); }
  } pop{g};
  Output initial = init(shape);
  Variable v(initial, {.trainable = o.trainable, .name = name});
  if (v.name() != full) throw ValueError("graph: get_variable " + full + ": the name is taken by an operation (" + v.name() + ")");
  return v;
}

Initializer glorot_uniform_initializer() {
  return [](const std::vector<int64_t>& s) {
    // TF's fans: rank 2 [in, out]; convolutions multiply by the receptive field.
    double fan_in = 1, fan_out = 1;
    if (s.size() == 1) fan_in = fan_out = double(s[0]);
    else if (s.size() >= 2) {
      double receptive = 1;
      for (size_t i = 0; i + 2 < s.size(); ++i) receptive *= double(s[i]);
      fan_in = double(s[s.size() - 2]) * receptive;
      fan_out = double(s[s.size() - 1]) * receptive;
    }
    double limit = std::sqrt(6.0 / std::max(1.0, fan_in + fan_out));
    return random_uniform(s, -limit, limit, "Initializer/random_uniform");
  };
}

Initializer truncated_normal_initializer(double stddev, double mean) {
  return [stddev, mean](const std::vector<int64_t>& s) { return truncated_normal(s, stddev, mean, "Initializer/truncated_normal"); };
}

Initializer constant_initializer(double value) {
  return [value](const std::vector<int64_t>& s) {
    return constant(full(Shape(s.begin(), s.end()), value, f32), "Initializer/Const");
  };
}

// ---- Optimizer ------------------------------------------------------------------------------------

GradsAndVars Optimizer::compute_gradients(const Output& loss, std::vector<Variable> var_list) const {
  if (var_list.empty()) var_list = trainable_variables(loss.graph());
  if (var_list.empty()) throw ValueError("graph: " + name_ + ".compute_gradients: no variables to optimize");
  std::vector<Output> xs;
  for (const Variable& v : var_list) xs.push_back(v.value());
  std::vector<Output> grads = gradients({loss}, xs, {}, name_ + "/gradients");
  GradsAndVars r;
  for (size_t i = 0; i < var_list.size(); ++i) r.emplace_back(grads[i], var_list[i]);
  return r;
}

Operation Optimizer::apply_gradients(const GradsAndVars& grads_and_vars, std::optional<Variable> global_step,
                                     const std::string& name) {
  std::vector<Output> grads;
  std::vector<const Node*> vars;
  for (const auto& [gr, v] : grads_and_vars) {
    if (!gr.valid()) continue;
    if (gr.type() != v.value().type())
      throw DTypeError("graph: apply_gradients: gradient '" + gr.name() + "' (" + gr.type().str() + ") for variable '" +
                       v.name() + "' (" + v.value().type().str() + ")");
    grads.push_back(gr);
    vars.push_back(v.op().node());
  }
  if (grads.empty()) throw ValueError("graph: " + name_ + ".apply_gradients: no gradient for any variable");
  const Node* step = global_step ? global_step->op().node() : nullptr;
  if (step && is_floating(step->outputs[0].type.dtype))
    throw DTypeError("graph: apply_gradients: global_step '" + step->name + "' must be an integer variable");
  std::shared_ptr<optim::Optimizer> opt = make(lr_);
  optim::LearningRate lr = lr_;
  // The parameter list and gradient list are built once and refilled on each run, so that a warmed-up
  // training step allocates nothing here (names are not copied again). Like the optimizer's slots,
  // they make one train op unsafe to run from two threads at once (as in TF1 without locking).
  struct Scratch {
    optim::NamedParams params;
    std::vector<Tensor> grads;
  };
  auto scratch = std::make_shared<Scratch>();
  for (const Node* v : vars) scratch->params.emplace_back(v->name, Tensor());
  scratch->grads.resize(vars.size());
  OpFn fn = [opt, lr, vars, step, scratch](RunContext& ctx, std::span<const Value> in) {
    autograd::NoGradGuard no_grad;
    optim::NamedParams& params = scratch->params;
    std::vector<Tensor>& gs = scratch->grads;
    struct Release {  // the scratch lists must not keep the tensors alive between runs
      Scratch& s;
      ~Release() {
        for (auto& p : s.params) p.second = Tensor();
        for (Tensor& g : s.grads) g = Tensor();
      }
    } release{*scratch};
    for (size_t i = 0; i < vars.size(); ++i) {
      params[i].second = ctx.variable(vars[i]);
      gs[i] = std::get<Tensor>(in[i]);
    }
    // A schedule sees global_step when there is one (TF1), else optim/'s own update count.
    if (step && lr.is_schedule()) opt->set_learning_rate(lr(ember::cast(ctx.variable(step), i64).item<int64_t>()));
    opt->apply_gradients(params, gs);
    if (step) {
      Tensor& s = ctx.variable(step);
      ctx.set_variable(step, ember::add(s, full({}, 1, s.dtype())));
    }
    return Values{std::monostate{}};
  };
  Graph& g = grads[0].graph();
  GraphScope in_graph(g);
  return g.add_op("ApplyGradients", name.empty() ? name_ : name, grads, fn, {OutputSpec{}}, NodeKind::Compute, true);
}

Operation Optimizer::minimize(const Output& loss, std::optional<Variable> global_step, std::vector<Variable> var_list,
                              const std::string& name) {
  return apply_gradients(compute_gradients(loss, std::move(var_list)), global_step, name);
}

GradientDescentOptimizer::GradientDescentOptimizer(optim::LearningRate learning_rate)
    : Optimizer("GradientDescent", std::move(learning_rate)) {}
std::unique_ptr<optim::Optimizer> GradientDescentOptimizer::make(const optim::LearningRate& lr) const {
  return std::make_unique<optim::SGD>(optim::SGDOptions{.learning_rate = lr});
}

MomentumOptimizer::MomentumOptimizer(MomentumOptions o) : Optimizer("Momentum", o.learning_rate), o_(o) {}
std::unique_ptr<optim::Optimizer> MomentumOptimizer::make(const optim::LearningRate& lr) const {
  return std::make_unique<optim::SGD>(optim::SGDOptions{.learning_rate = lr, .momentum = o_.momentum, .nesterov = o_.use_nesterov});
}

AdamOptimizer::AdamOptimizer(AdamOptions o) : Optimizer("Adam", o.learning_rate), o_(o) {}
std::unique_ptr<optim::Optimizer> AdamOptimizer::make(const optim::LearningRate& lr) const {
  return std::make_unique<optim::Adam>(optim::AdamOptions{.learning_rate = lr, .beta_1 = o_.beta1, .beta_2 = o_.beta2, .epsilon = o_.epsilon});
}

AdagradOptimizer::AdagradOptimizer(AdagradOptions o) : Optimizer("Adagrad", o.learning_rate), o_(o) {}
std::unique_ptr<optim::Optimizer> AdagradOptimizer::make(const optim::LearningRate& lr) const {
  return std::make_unique<optim::Adagrad>(
      optim::AdagradOptions{.learning_rate = lr, .initial_accumulator_value = o_.initial_accumulator_value, .epsilon = 0.0});
}

namespace {
// TF1 starts the mean-square slot at 1 (Keras and optim::RMSprop at 0); the update is optim's.
class TF1RMSprop : public optim::RMSprop {
 public:
  using optim::RMSprop::RMSprop;

 protected:
  void update(const std::string& name, Tensor& w, const Tensor& g, int64_t t, double lr) override {
    slot_for(name, "velocity", w, 1.0);
    optim::RMSprop::update(name, w, g, t, lr);
  }
};
}  // namespace

RMSPropOptimizer::RMSPropOptimizer(RMSPropOptions o) : Optimizer("RMSProp", o.learning_rate), o_(o) {}
std::unique_ptr<optim::Optimizer> RMSPropOptimizer::make(const optim::LearningRate& lr) const {
  return std::make_unique<TF1RMSprop>(
      optim::RMSpropOptions{.learning_rate = lr, .rho = o_.decay, .momentum = o_.momentum, .epsilon = o_.epsilon, .centered = o_.centered});
}

}  // namespace ember::graph
