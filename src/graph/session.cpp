#include "ember/graph/session.hpp"

#include <chrono>
#include <unordered_map>
#include <unordered_set>

#include "ember/autograd/autograd.hpp"
#include "ember/core/error.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/shape.hpp"

namespace ember::graph {

std::size_t FeedHash::operator()(const Output& o) const noexcept {
  return std::hash<const void*>()(o.node()) * 31 + static_cast<std::size_t>(o.index());
}

const Tensor& as_tensor(const Value& v) {
  if (const auto* t = std::get_if<Tensor>(&v)) return *t;
  throw DTypeError(std::holds_alternative<std::string>(v) ? "graph: the fetched value is a string, not a tensor"
                                                          : "graph: the fetch is an operation and has no value");
}

const std::string& as_string(const Value& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  throw DTypeError("graph: the fetched value is not a string");
}

class Session::Context : public RunContext {
 public:
  explicit Context(Session& s) : s_(s) {}
  Tensor& variable(const Node* var) override {
    auto it = s_.variables_.find(var);
    if (it == s_.variables_.end())
      throw ValueError("graph: attempting to use uninitialized value '" + var->name +
                       "' (run global_variables_initializer() or the variable's initializer first)");
    return it->second;
  }
  void set_variable(const Node* var, Tensor value) override { s_.variables_[var] = std::move(value); }

 private:
  Session& s_;
};

Session::Session(Graph& g) : graph_(&g) {}

bool Session::initialized(const Variable& v) const { return variables_.count(v.op().node()) != 0; }

Tensor Session::variable_value(const Variable& v) const {
  auto it = variables_.find(v.op().node());
  if (it == variables_.end())
    throw ValueError("graph: variable '" + v.name() + "' has no value in this session (run its initializer or restore it)");
  return it->second;
}

void Session::load_variable(const Variable& v, const Tensor& value) {
  const Node* var = v.op().node();
  if (var->graph != graph_) throw ValueError("graph: variable '" + v.name() + "' is not in this session's graph");
  const Output out = v.value();
  if (!value.defined()) throw ValueError("graph: loading variable '" + v.name() + "': the tensor is undefined");
  if (value.dtype() != out.dtype())
    throw DTypeError("graph: variable '" + v.name() + "' is " + out.type().str() + ", the value loaded into it is " +
                     std::string(dtype_name(value.dtype())));
  if (!out.shape().compatible_with(value.shape()))
    throw ShapeError("graph: variable '" + v.name() + "' has shape " + out.shape().str() +
                     ", the value loaded into it has shape " + to_string(value.shape()));
  autograd::NoGradGuard no_grad;
  variables_[var] = contiguous(value.detach()).clone();
}

namespace {

// The value fed for `o`, converted and checked against its static type and shape.
Value convert_feed(const Output& o, const FeedValue& f) {
  const TensorType& type = o.type();
  // Built only for an error: a feed that is fine allocates nothing here.
  auto what = [&] { return "graph: feed for '" + o.name() + "' (" + type.str() + ", shape " + o.shape().str() + "): "; };
  if (type.is_string) {
    if (const auto* s = std::get_if<std::string>(&f.value)) return *s;
    throw DTypeError(what() + "expected a string, got " + (f.from_number ? "a number" : "a tensor"));
  }
  Tensor t;
  if (f.from_number) {
    if (!f.is_integral && !is_floating(type.dtype))
      throw DTypeError(what() + "cannot feed the fractional number " + std::to_string(f.number) + " to an integer tensor");
    t = full({}, f.number, type.dtype);
  } else if (const auto* ft = std::get_if<Tensor>(&f.value)) {
    if (!ft->defined()) throw ValueError(what() + "the fed tensor is undefined");
    t = ft->detach();
    if (t.dtype() != type.dtype) {
      if (is_floating(type.dtype) && !is_floating(t.dtype()) && t.dtype() != DType::b8) {
        autograd::NoGradGuard no_grad;
        t = ember::cast(t, type.dtype);
      } else {
        throw DTypeError(what() + "got a tensor of dtype " + std::string(dtype_name(t.dtype())));
      }
    }
  } else {
    throw DTypeError(what() + "got a string");
  }
  if (!o.shape().compatible_with(t.shape()))
    throw ShapeError(what() + "cannot feed a value of shape " + to_string(t.shape()));
  return t;
}

}  // namespace

// A run's schedule and its reusable value storage. Every value of a run lives in a slot: one per fed
// tensor, one per output of each node that runs. Slots are emptied at the end of every run (values
// must not outlive it: they hold tensors and, while gradients are computed, autograd graphs).
struct Session::Plan {
  // The key: the fetches and the fed tensors, in the caller's order.
  std::vector<Fetch> fetches;
  std::vector<Output> feeds;
  // The schedule.
  struct Step {
    Node* node;
    std::size_t first_input, num_inputs;  // into input_slots
    std::size_t first_output;             // its outputs' slots: first_output, first_output + 1, ...
  };
  std::vector<Step> steps;
  std::vector<std::size_t> input_slots;
  std::vector<std::size_t> feed_slots;      // per feed
  std::vector<std::ptrdiff_t> fetch_slots;  // per fetch; -1: an operation
  std::vector<char> make_leaf;              // per slot: a gradient source, made an autograd leaf
  bool needs_grad = false;
  int gradient_steps = 0;                   // Gradients nodes in the schedule
  // The run's state, kept for the next run.
  std::vector<Value> slots;
  std::vector<Value> in;

  bool matches(std::span<const Fetch> f, const FeedDict& d) const {
    if (f.size() != fetches.size() || d.size() != feeds.size()) return false;
    for (std::size_t i = 0; i < f.size(); ++i)
      if (!(f[i] == fetches[i])) return false;
    for (std::size_t i = 0; i < d.size(); ++i)
      if (!(d[i].first == feeds[i])) return false;
    return true;
  }
  void clear() noexcept {
    for (Value& v : slots) v = std::monostate{};
    in.clear();
  }
};

Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

Session::Plan& Session::plan_for(std::span<const Fetch> fetches, const FeedDict& feeds) {
  for (auto it = plans_.rbegin(); it != plans_.rend(); ++it)
    if ((*it)->matches(fetches, feeds)) return **it;

  auto plan = std::make_unique<Plan>();
  Plan& p = *plan;
  p.fetches.assign(fetches.begin(), fetches.end());
  // Feeds by tensor (a tensor fed twice: the last value wins).
  std::unordered_map<Output, std::size_t, FeedHash> fed;
  for (const auto& [o, f] : feeds) {
    if (!o.valid()) throw ValueError("graph: a feed for an empty tensor");
    if (&o.graph() != graph_) throw ValueError("graph: feed for '" + o.name() + "', a tensor of another graph");
    p.feeds.push_back(o);
    auto [it, added] = fed.try_emplace(o, fed.size());
    p.feed_slots.push_back(it->second);
  }
  std::size_t num_slots = fed.size();
  // Targets.
  std::vector<Node*> targets;
  for (const Fetch& f : fetches) {
    Node* n = std::visit([](const auto& h) { return h.node(); }, f);
    if (!n) throw ValueError("graph: fetch of an empty tensor (e.g. the gradient of an unreachable variable: None in TF)");
    if (n->graph != graph_)
      throw ValueError("graph: fetch '" + n->name + "' is from another graph than the session's");
    targets.push_back(n);
  }
  // Post-order of the needed subgraph, iteratively (deep graphs must not overflow the stack).
  auto is_fed = [&](const Node* n) {
    for (size_t i = 0; i < n->outputs.size(); ++i)
      if (!fed.count(Output(const_cast<Node*>(n), static_cast<int>(i)))) return false;
    return true;
  };
  std::vector<Node*> order;
  std::unordered_map<const Node*, int> state;  // 1 = on the stack, 2 = done
  for (Node* t : targets) {
    if (state[t] == 2) continue;
    std::vector<std::pair<Node*, size_t>> stack{{t, 0}};
    state[t] = 1;
    while (!stack.empty()) {
      auto& [n, next] = stack.back();
      const size_t n_in = n->inputs.size(), n_ctl = n->control_inputs.size();
      if (next < n_in + n_ctl) {
        size_t i = next++;
        Node* dep = nullptr;
        if (i < n_in) {
          if (fed.count(n->inputs[i])) continue;
          dep = n->inputs[i].node();
        } else {
          dep = n->control_inputs[i - n_in].node();
        }
        int& s = state[dep];
        if (s == 1) throw ValueError("graph: cycle through op '" + dep->name + "'");
        if (s == 0 && !(is_fed(dep) && i < n_in)) {
          s = 1;
          stack.emplace_back(dep, 0);
        }
        continue;
      }
      state[n] = 2;
      order.push_back(n);
      stack.pop_back();
    }
  }
  // Needed placeholders must be fed; gradient sources become autograd leaves.
  std::vector<Output> grad_sources;
  for (Node* n : order) {
    if (n->kind == NodeKind::Placeholder && !is_fed(n))
      throw ValueError("graph: you must feed a value for placeholder '" + n->name + "' (" + n->outputs[0].type.str() +
                       ", shape " + n->outputs[0].shape.str() + ")");
    if (n->kind == NodeKind::Gradients) {
      size_t num_xs = n->outputs.size();
      for (size_t i = n->inputs.size() - num_xs; i < n->inputs.size(); ++i) grad_sources.push_back(n->inputs[i]);
    }
  }
  // Slots: a fed tensor reads its feed's slot; every node that runs writes its own.
  std::unordered_map<const Node*, std::size_t> first_output;
  for (Node* n : order) {
    if (is_fed(n)) continue;
    first_output[n] = num_slots;
    num_slots += n->outputs.size();
  }
  auto slot_of = [&](const Output& o) -> std::size_t {
    auto f = fed.find(o);
    if (f != fed.end()) return f->second;
    return first_output.at(o.node()) + static_cast<std::size_t>(o.index());
  };
  for (Node* n : order) {
    if (is_fed(n)) continue;
    Plan::Step step{n, p.input_slots.size(), n->inputs.size(), first_output.at(n)};
    for (const Output& o : n->inputs) p.input_slots.push_back(slot_of(o));
    p.steps.push_back(step);
    if (n->kind == NodeKind::Gradients) ++p.gradient_steps;
  }
  p.make_leaf.assign(num_slots, 0);
  for (const Output& o : grad_sources) {
    // A fed source is a leaf; so is a computed one, also when its node's other outputs are fed.
    if (fed.count(o) || first_output.count(o.node())) p.make_leaf[slot_of(o)] = 1;
  }
  p.needs_grad = !grad_sources.empty();
  for (const Fetch& f : fetches) {
    const Output* o = std::get_if<Output>(&f);
    p.fetch_slots.push_back(o ? static_cast<std::ptrdiff_t>(slot_of(*o)) : -1);
  }
  p.slots.resize(num_slots);
  std::size_t max_inputs = 0;
  for (const Plan::Step& s : p.steps) max_inputs = std::max(max_inputs, s.num_inputs);
  p.in.reserve(max_inputs);

  if (plans_.size() >= kMaxPlans) plans_.erase(plans_.begin());
  plans_.push_back(std::move(plan));
  return *plans_.back();
}

namespace {
// A floating tensor made an autograd leaf of this run (a gradient source).
void make_leaf(Value& v) {
  if (auto* t = std::get_if<Tensor>(&v); t && is_floating(t->dtype())) {
    Tensor leaf = t->detach();
    leaf.requires_grad_(true);
    *t = leaf;
  }
}
}  // namespace

void Session::run_into(std::span<const Fetch> fetches, const FeedDict& feeds, std::vector<Value>& results,
                       const RunOptions& options, RunMetadata* run_metadata) {
  Plan& p = plan_for(fetches, feeds);
  struct Clear {  // empty the slots also when an op throws
    Plan& p;
    ~Clear() { p.clear(); }
  } clear{p};
  for (std::size_t i = 0; i < feeds.size(); ++i) {
    Value& v = p.slots[p.feed_slots[i]];
    v = convert_feed(feeds[i].first, feeds[i].second);
    if (p.make_leaf[p.feed_slots[i]]) make_leaf(v);
  }
  // Autograd records only when some gradient is needed in this run.
  const bool prev_grad = autograd::grad_enabled();
  autograd::set_grad_enabled(p.needs_grad);
  struct Restore {
    bool prev;
    ~Restore() { autograd::set_grad_enabled(prev); }
  } restore{prev_grad};

  using Clock = std::chrono::steady_clock;
  const bool trace = options.trace_level == RunOptions::TraceLevel::FullTrace && run_metadata;
  const bool timed = trace || options.timeout_in_ms > 0;
  const Clock::time_point run_start = timed ? Clock::now() : Clock::time_point{};
  auto micros_since_start = [&] { return std::chrono::duration<double, std::micro>(Clock::now() - run_start).count(); };
  if (run_metadata) run_metadata->step_stats.clear();

  Context ctx(*this);
  for (const Plan::Step& step : p.steps) {
    Node* n = step.node;
    double started = 0;
    if (timed) {
      started = micros_since_start();
      if (options.timeout_in_ms > 0 && started > 1e3 * static_cast<double>(options.timeout_in_ms))
        throw DeadlineExceededError("graph: the run passed its timeout of " + std::to_string(options.timeout_in_ms) +
                                    " ms before op '" + n->name + "' (" + n->type + ")");
    }
    p.in.clear();
    for (std::size_t k = 0; k < step.num_inputs; ++k) p.in.push_back(p.slots[p.input_slots[step.first_input + k]]);
    Values out = n->kind == NodeKind::Gradients ? compute_gradients_node(*n, p.in, p.gradient_steps == 1)
                                                : n->fn(ctx, p.in);
    if (out.size() != n->outputs.size())
      throw Error("graph: op '" + n->name + "' (" + n->type + ") gave " + std::to_string(out.size()) + " values for " +
                  std::to_string(n->outputs.size()) + " outputs");
    for (std::size_t i = 0; i < out.size(); ++i) {
      Value& slot = p.slots[step.first_output + i];
      slot = std::move(out[i]);
      if (p.make_leaf[step.first_output + i]) make_leaf(slot);
    }
    if (trace) {
      NodeExecStats st{n->name, n->type, started, micros_since_start() - started, {}};
      for (std::size_t i = 0; i < out.size(); ++i) {
        const Value& v = p.slots[step.first_output + i];
        if (const auto* t = std::get_if<Tensor>(&v)) st.output_shapes.push_back(to_string(t->shape()));
        else st.output_shapes.push_back(std::holds_alternative<std::string>(v) ? "string" : "none");
      }
      run_metadata->step_stats.push_back(std::move(st));
    }
  }
  results.clear();
  for (std::ptrdiff_t s : p.fetch_slots) {
    if (s < 0) {
      results.emplace_back(std::monostate{});
      continue;
    }
    const Value& v = p.slots[static_cast<std::size_t>(s)];
    if (const auto* t = std::get_if<Tensor>(&v)) results.emplace_back(t->detach());
    else results.push_back(v);
  }
}

std::vector<Value> Session::run(const std::vector<Fetch>& fetches, const FeedDict& feeds, const RunOptions& options,
                                RunMetadata* run_metadata) {
  std::vector<Value> results;
  run_into(fetches, feeds, results, options, run_metadata);
  return results;
}

// The gradient node's outputs: inputs are ys, then grad_ys (one per y, or none), then xs (autograd
// leaves in this run). The eager backward engine accumulates d(sum ys)/dx into each leaf.
Values Session::compute_gradients_node(const Node& n, std::span<const Value> in, bool only_backward) {
  const size_t num_ys = static_cast<size_t>(n.num_ys), num_xs = n.outputs.size();
  const bool has_grad_ys = in.size() == 2 * num_ys + num_xs;
  std::vector<Tensor>& xs = grad_xs_;
  xs.clear();
  struct Release {  // the scratch list must not keep the leaves alive past the run
    std::vector<Tensor>& xs;
    ~Release() { xs.clear(); }
  } release{xs};
  for (size_t i = in.size() - num_xs; i < in.size(); ++i) {
    Tensor x = as_tensor(in[i]);
    if (x.requires_grad()) x.zero_grad();
    xs.push_back(x);
  }
  // The forward graph is kept for a later backward through it (another y of this node, another
  // gradients node in the run); the last backward of a run with one gradients node frees each node
  // as it passes, as eager training does, so its buffers are reused within the same backward.
  size_t last_y = num_ys;
  for (size_t i = 0; i < num_ys; ++i)
    if (as_tensor(in[i]).requires_grad()) last_y = i;
  for (size_t i = 0; i < num_ys; ++i) {
    const Tensor& y = as_tensor(in[i]);
    if (!y.requires_grad()) continue;
    Tensor seed = has_grad_ys ? as_tensor(in[num_ys + i]) : full(y.shape(), 1.0, y.dtype());
    if (seed.shape() != y.shape())
      throw ShapeError("graph: gradients '" + n.name + "': grad_ys[" + std::to_string(i) + "] has shape " +
                       to_string(seed.shape()) + " but ys[" + std::to_string(i) + "] has " + to_string(y.shape()));
    y.backward(seed, /*retain_graph=*/!(only_backward && i == last_y));
  }
  Values out;
  out.reserve(num_xs);
  autograd::NoGradGuard no_grad;
  for (const Tensor& x : xs) {
    Tensor g = x.requires_grad() ? x.grad() : Tensor();
    // No copy: the gradient is this run's own tensor (a fresh leaf each run; the engine accumulates out of
    // place and graph ops never write their inputs), so handing it on saves a pass over every weight.
    out.emplace_back(g.defined() ? g.detach() : zeros_like(x));
  }
  return out;
}

Tensor Session::run(const Output& fetch, const FeedDict& feeds, const RunOptions& options, RunMetadata* run_metadata) {
  return as_tensor(run(std::vector<Fetch>{fetch}, feeds, options, run_metadata)[0]);
}

void Session::run(const Operation& fetch, const FeedDict& feeds, const RunOptions& options, RunMetadata* run_metadata) {
  run(std::vector<Fetch>{fetch}, feeds, options, run_metadata);
}

std::vector<Value> Session::run(std::initializer_list<Output> fetches, const FeedDict& feeds, const RunOptions& options,
                                RunMetadata* run_metadata) {
  return run(std::vector<Fetch>(fetches.begin(), fetches.end()), feeds, options, run_metadata);
}

Value Session::run_value(const Fetch& fetch, const FeedDict& feeds, const RunOptions& options, RunMetadata* run_metadata) {
  return run(std::vector<Fetch>{fetch}, feeds, options, run_metadata)[0];
}

std::map<std::string, Value> Session::run(const std::map<std::string, Fetch>& fetches, const FeedDict& feeds,
                                          const RunOptions& options, RunMetadata* run_metadata) {
  std::vector<Fetch> list;
  for (const auto& [k, f] : fetches) list.push_back(f);
  std::vector<Value> values = run(list, feeds, options, run_metadata);
  std::map<std::string, Value> r;
  size_t i = 0;
  for (const auto& [k, f] : fetches) r[k] = std::move(values[i++]);
  return r;
}

}  // namespace ember::graph
