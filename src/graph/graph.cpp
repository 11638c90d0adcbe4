#include "ember/graph/graph.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "ember/autograd/autograd.hpp"
#include "ember/core/error.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/shape.hpp"

namespace ember::graph {

// ---- PartialShape / TensorType ---------------------------------------------------------------------

bool PartialShape::fully_known() const {
  return known_rank && std::none_of(dims.begin(), dims.end(), [](int64_t d) { return d < 0; });
}

bool PartialShape::compatible_with(const Shape& s) const {
  if (!known_rank) return true;
  if (static_cast<size_t>(s.size()) != dims.size()) return false;
  for (size_t i = 0; i < dims.size(); ++i)
    if (dims[i] >= 0 && dims[i] != s[i]) return false;
  return true;
}

std::string PartialShape::str() const {
  if (!known_rank) return "<unknown>";
  std::string r = "(";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) r += ", ";
    r += dims[i] < 0 ? std::string("?") : std::to_string(dims[i]);
  }
  if (dims.size() == 1) r += ",";
  return r + ")";
}

std::string TensorType::str() const { return is_string ? std::string("string") : std::string(dtype_name(dtype)); }

// ---- handles ----------------------------------------------------------------------------------------

static Node& deref(Node* n, const char* what) {
  if (!n) throw ValueError(std::string("graph: ") + what + " of an empty handle (e.g. the gradient of an unreachable variable)");
  return *n;
}
const std::string& Operation::name() const { return deref(node_, "name").name; }
const std::string& Operation::type() const { return deref(node_, "type").type; }
Graph& Operation::graph() const { return *deref(node_, "graph").graph; }
std::string Output::name() const { return deref(node_, "name").name + ":" + std::to_string(index_); }
Graph& Output::graph() const { return *deref(node_, "graph").graph; }
const TensorType& Output::type() const { return deref(node_, "type").outputs.at(index_).type; }
const PartialShape& Output::shape() const { return deref(node_, "shape").outputs.at(index_).shape; }

// ---- shape probing ----------------------------------------------------------------------------------

namespace {

class ProbeContext : public RunContext {
 public:
  Tensor& variable(const Node* var) override { throw ValueError("graph: shape probe read variable " + var->name); }
  void set_variable(const Node* var, Tensor) override { throw ValueError("graph: shape probe wrote variable " + var->name); }
};

std::string input_list(const std::vector<Output>& inputs) {
  std::string r;
  for (const Output& in : inputs) {
    if (!r.empty()) r += ", ";
    r += "'" + in.name() + "' " + in.shape().str() + " " + in.type().str();
  }
  return r;
}

Values probe_once(const OpFn& fn, const std::vector<Output>& inputs, int64_t unknown_as) {
  std::vector<Value> vals;
  vals.reserve(inputs.size());
  for (const Output& in : inputs) {
    if (in.type().is_string) {
      vals.emplace_back(std::string());
      continue;
    }
    Shape s;
    for (int64_t d : in.shape().dims) s.push_back(d < 0 ? unknown_as : d);
    vals.emplace_back(zeros(s, in.dtype()));
  }
  ProbeContext ctx;
  autograd::NoGradGuard no_grad;
  return fn(ctx, vals);
}

OutputSpec spec_of(const Value& v) {
  if (std::holds_alternative<std::string>(v)) return {{.is_string = true}, PartialShape::unknown()};
  if (const auto* t = std::get_if<Tensor>(&v)) {
    std::vector<int64_t> d(t->shape().begin(), t->shape().end());
    return {{.is_string = false, .dtype = t->dtype()}, PartialShape(std::move(d))};
  }
  return {};
}

// With unknown dimensions, a failed probe is a certain error only if no size works: tried are 1
// (broadcasting), 3, and every known dimension of the inputs (an unknown dimension usually has to
// match one of those). All unknown dimensions take one size per probe, so this is a heuristic that
// errs towards "unknown" (no build-time error); the run reports what it missed.
bool fails_for_every_size(const Node& n) {
  std::vector<int64_t> sizes{1, 3};
  for (const Output& in : n.inputs)
    for (int64_t d : in.shape().dims)
      if (d >= 0 && std::find(sizes.begin(), sizes.end(), d) == sizes.end() && sizes.size() < 10) sizes.push_back(d);
  for (int64_t size : sizes) {
    try {
      probe_once(n.fn, n.inputs, size);
      return false;
    } catch (const Error&) {
    }
  }
  return true;
}

// Runs the op on probe inputs (see graph.hpp). Returns false when nothing could be inferred.
bool infer_by_probing(const Node& n, std::vector<OutputSpec>& out) {
  bool all_known = true;
  for (const Output& in : n.inputs) {
    if (in.type().is_string) continue;
    if (!in.shape().known_rank) return false;
    if (!in.shape().fully_known()) all_known = false;
  }
  Values a;
  try {
    a = probe_once(n.fn, n.inputs, 2);
  } catch (const Error& e) {
    if (!all_known && !fails_for_every_size(n)) return false;
    std::string msg = "graph: op '" + n.name + "' (" + n.type + ") cannot take its inputs " + input_list(n.inputs) + ": " + e.what();
    if (dynamic_cast<const DTypeError*>(&e)) throw DTypeError(msg);
    if (dynamic_cast<const ValueError*>(&e)) throw ValueError(msg);
    throw ShapeError(msg);
  }
  out.clear();
  for (const Value& v : a) out.push_back(spec_of(v));
  if (all_known) return true;
  Values b;
  try {
    b = probe_once(n.fn, n.inputs, 3);
  } catch (const Error&) {
    for (OutputSpec& s : out) s.shape = PartialShape::unknown();
    return true;
  }
  for (size_t i = 0; i < out.size() && i < b.size(); ++i) {
    OutputSpec sb = spec_of(b[i]);
    PartialShape& s = out[i].shape;
    if (!s.known_rank || !sb.shape.known_rank || s.dims.size() != sb.shape.dims.size()) {
      s = PartialShape::unknown();
      continue;
    }
    for (size_t d = 0; d < s.dims.size(); ++d)
      if (s.dims[d] != sb.shape.dims[d]) s.dims[d] = -1;
  }
  return true;
}

}  // namespace

// ---- Graph ------------------------------------------------------------------------------------------

std::string Graph::scoped(const std::string& name) const {
  if (scopes_.empty()) return name;
  return scopes_.back() + name;
}

std::string Graph::unique_name(const std::string& name) {
  auto taken = [&](const std::string& n) { return by_name_.count(n) || name_counts_.count(n); };
  std::string candidate = name;
  if (taken(candidate)) {
    int& c = name_counts_[name];
    do candidate = name + "_" + std::to_string(++c);
    while (taken(candidate));
  }
  name_counts_.emplace(candidate, 0);
  return candidate;
}

Operation Graph::add_op(std::string type, std::string name, std::vector<Output> inputs, OpFn fn,
                        std::vector<OutputSpec> outputs, NodeKind kind, bool stateful) {
  for (const Output& in : inputs) {
    if (!in.valid()) throw ValueError("graph: op " + type + " '" + name + "' got an empty tensor as input");
    if (&in.graph() != this)
      throw ValueError("graph: op " + type + " '" + name + "': input '" + in.name() + "' is from another graph");
  }
  auto node = std::make_unique<Node>();
  node->graph = this;
  node->type = std::move(type);
  node->kind = kind;
  node->inputs = std::move(inputs);
  node->fn = std::move(fn);
  node->stateful = stateful;
  node->name = unique_name(scoped(name));
  if (outputs.empty()) {
    // Default: one output like the first input, refined by probing.
    OutputSpec s;
    if (!node->inputs.empty()) s.type = node->inputs[0].type();
    outputs.push_back(s);
  }
  node->outputs = std::move(outputs);
  if (kind == NodeKind::Compute && !stateful && node->fn && !node->outputs[0].shape.known_rank) {
    std::vector<OutputSpec> inferred;
    if (infer_by_probing(*node, inferred)) {
      // Keep the declared output count; take types from the probe.
      if (inferred.size() == node->outputs.size() || node->outputs.size() == 1) node->outputs = std::move(inferred);
    }
  }
  Node* raw = node.get();
  by_name_[raw->name] = raw;
  nodes_.push_back(std::move(node));
  return Operation(raw);
}

Output Graph::get_tensor_by_name(const std::string& name) const {
  auto colon = name.rfind(':');
  if (colon == std::string::npos)
    throw ValueError("graph: tensor name '" + name + "' must be '<op name>:<output index>' (e.g. 'x:0')");
  Operation op = get_operation_by_name(name.substr(0, colon));
  int index = -1;
  try {
    size_t used = 0;
    index = std::stoi(name.substr(colon + 1), &used);
    if (used != name.size() - colon - 1) index = -1;
  } catch (const std::exception&) {
  }
  if (index < 0 || index >= static_cast<int>(op.node()->outputs.size()))
    throw ValueError("graph: tensor '" + name + "': op '" + op.name() + "' has " +
                     std::to_string(op.node()->outputs.size()) + " output(s)");
  return Output(op.node(), index);
}

Operation Graph::get_operation_by_name(const std::string& name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) throw ValueError("graph: no operation named '" + name + "' in the graph");
  return Operation(it->second);
}

std::vector<Operation> Graph::operations() const {
  std::vector<Operation> r;
  for (const auto& n : nodes_) r.emplace_back(n.get());
  return r;
}

// ---- default graph and scopes ---------------------------------------------------------------------

namespace {
Graph*& global_graph() {
  static Graph* g = new Graph();  // never destroyed: handles may outlive static destruction order
  return g;
}
thread_local Graph* current_graph = nullptr;
}  // namespace

Graph& get_default_graph() { return current_graph ? *current_graph : *global_graph(); }

void reset_default_graph() {
  if (current_graph) throw ValueError("graph: reset_default_graph inside a GraphScope");
  delete global_graph();
  global_graph() = new Graph();
}

GraphScope::GraphScope(Graph& g) : prev_(current_graph) { current_graph = &g; }
GraphScope::~GraphScope() { current_graph = prev_; }

NameScope::NameScope(const std::string& name) : NameScope(get_default_graph(), name) {}

NameScope::NameScope(Graph& g, const std::string& name) : graph_(&g) {
  if (!name.empty() && name.back() == '/') {
    prefix_ = name;
  } else {
    prefix_ = graph_->unique_name(graph_->scoped(name)) + "/";
  }
  graph_->push_scope(prefix_);
}
NameScope::~NameScope() { graph_->pop_scope(); }

// ---- sources ----------------------------------------------------------------------------------------

static std::vector<int64_t> dims_of(const Tensor& t) { return {t.shape().begin(), t.shape().end()}; }

// Marks a node as one the meta graph can rebuild (its attributes are in its spec, or "{}").
static Output exportable(Output o, std::string attrs = "{}") {
  o.node()->attrs = std::move(attrs);
  return o;
}

Output placeholder(DType dtype, PartialShape shape, const std::string& name) {
  Graph& g = get_default_graph();
  return exportable(Output(
      g.add_op("Placeholder", name, {}, nullptr, {{{.dtype = dtype}, std::move(shape)}}, NodeKind::Placeholder).node(), 0));
}

Output string_placeholder(const std::string& name) {
  Graph& g = get_default_graph();
  return exportable(Output(
      g.add_op("Placeholder", name, {}, nullptr, {{{.is_string = true}, PartialShape::unknown()}}, NodeKind::Placeholder).node(), 0));
}

Output constant(const Tensor& value, const std::string& name) {
  Tensor v = contiguous(value.detach()).clone();  // the graph owns its copy
  OpFn fn = [v](RunContext&, std::span<const Value>) { return Values{v}; };
  return exportable(Output(get_default_graph().add_op("Const", name, {}, fn, {{{.dtype = v.dtype()}, PartialShape(dims_of(v))}}).node(), 0));
}

Output constant(const std::string& value, const std::string& name) {
  OpFn fn = [value](RunContext&, std::span<const Value>) { return Values{value}; };
  return exportable(Output(get_default_graph().add_op("Const", name, {}, fn, {{{.is_string = true}, PartialShape::unknown()}}).node(), 0));
}

Output constant(double value, DType dtype, const std::string& name) { return constant(full({}, value, dtype), name); }

// ---- variables ------------------------------------------------------------------------------------

namespace {
// While it lives, names given to add_op are used as they are (the variable's ops take names under
// the variable's full name, which already holds the scope it was created in).
struct UnscopedNames {
  Graph& g;
  explicit UnscopedNames(Graph& graph) : g(graph) { g.push_scope(""); }
  ~UnscopedNames() { g.pop_scope(); }
};
}  // namespace

Variable::Variable(const Tensor& initial_value, VariableOptions o)
    : Variable(constant(initial_value, o.name + "/initial_value"), o) {}

Variable::Variable(const Output& initial_value, VariableOptions o) {
  if (!initial_value.valid()) throw ValueError("graph: Variable '" + o.name + "' needs an initial value");
  if (initial_value.type().is_string) throw DTypeError("graph: Variable '" + o.name + "' of strings is not supported");
  Graph& g = initial_value.graph();
  OutputSpec spec = initial_value.op().node()->outputs[initial_value.index()];
  Operation op = g.add_op("VariableV2", o.name, {}, nullptr, {spec}, NodeKind::Variable);
  Node* var = op.node();
  var->fn = [var](RunContext& ctx, std::span<const Value>) { return Values{ctx.variable(var)}; };
  var->trainable = o.trainable;
  var->attrs = o.trainable ? R"({"trainable":true})" : R"({"trainable":false})";
  value_ = Output(var, 0);
  // The initializer: "<var>/Assign" copies the initial value into the session's storage.
  OpFn assign = [var](RunContext& ctx, std::span<const Value> in) {
    autograd::NoGradGuard no_grad;
    ctx.set_variable(var, contiguous(std::get<Tensor>(in[0]).detach()).clone());
    return Values{ctx.variable(var)};
  };
  GraphScope in_graph(g);
  UnscopedNames absolute(g);  // "<var>/Assign" as TF names it, also inside a name scope
  var->initializer = g.add_op("Assign", var->name + "/Assign", {initial_value}, assign, {spec}, NodeKind::Compute, true);
  g.register_variable(op);
}

Variable as_variable(Operation op) {
  if (!op.valid() || op.node()->kind != NodeKind::Variable)
    throw ValueError("graph: '" + (op.valid() ? op.name() : std::string("<empty>")) + "' is not a variable");
  Variable v;
  v.value_ = Output(op.node(), 0);
  return v;
}

namespace {
// assign / assign_add / assign_sub: `combine(current, value)` computed by the eager ops.
Output make_assign(const Output& var_out, const Output& v, const char* type,
                   Tensor (*combine)(const Tensor&, const Tensor&)) {
  Node* var = var_out.node();
  if (v.type() != var_out.type())
    throw DTypeError(std::string("graph: ") + type + " to variable '" + var->name + "' (" + var_out.type().str() +
                     ") of '" + v.name() + "' (" + v.type().str() + ")");
  OpFn fn = [var, combine, type](RunContext& ctx, std::span<const Value> in) {
    autograd::NoGradGuard no_grad;
    const Tensor& value = std::get<Tensor>(in[0]);
    Tensor& cur = ctx.variable(var);
    Tensor next = combine ? combine(cur, value) : value;
    if (next.shape() != cur.shape())
      throw ShapeError(std::string("graph: ") + type + " to variable '" + var->name + "' of shape " +
                       to_string(cur.shape()) + " a value of shape " + to_string(value.shape()));
    ctx.set_variable(var, contiguous(next.detach()).clone());
    return Values{ctx.variable(var)};
  };
  Graph& g = var_out.graph();
  GraphScope in_graph(g);
  UnscopedNames absolute(g);  // "<var>/AssignAdd", not "<scope>/<var>/AssignAdd"
  return exportable(Output(g.add_op(type, var->name + "/" + type, {v}, fn, {var->outputs[0]}, NodeKind::Compute, true).node(), 0),
                    nlohmann::json{{"variable", var->name}}.dump());
}
Tensor add_fn(const Tensor& a, const Tensor& b) { return ember::add(a, b); }
Tensor sub_fn(const Tensor& a, const Tensor& b) { return ember::sub(a, b); }
}  // namespace

Output Variable::assign(const Output& v) const { return make_assign(value_, v, "Assign", nullptr); }
Output Variable::assign_add(const Output& v) const { return make_assign(value_, v, "AssignAdd", add_fn); }
Output Variable::assign_sub(const Output& v) const { return make_assign(value_, v, "AssignSub", sub_fn); }

std::vector<Variable> global_variables(Graph& g) {
  std::vector<Variable> r;
  for (Operation op : g.variables()) r.push_back(as_variable(op));
  return r;
}

std::vector<Variable> trainable_variables(Graph& g) {
  std::vector<Variable> r;
  for (Operation op : g.variables())
    if (op.node()->trainable) r.push_back(as_variable(op));
  return r;
}

Operation group(const std::vector<Operation>& deps, const std::string& name) {
  Graph& g = deps.empty() ? get_default_graph() : deps[0].graph();
  OpFn none = [](RunContext&, std::span<const Value>) { return Values{std::monostate{}}; };
  Operation op = g.add_op("NoOp", name, {}, none, {OutputSpec{}}, NodeKind::Compute, true);
  op.node()->attrs = "{}";
  for (const Operation& d : deps) {
    if (&d.graph() != &g) throw ValueError("graph: group '" + op.name() + "': '" + d.name() + "' is from another graph");
    op.node()->control_inputs.push_back(d);
  }
  return op;
}

Operation variables_initializer(const std::vector<Variable>& vars, const std::string& name) {
  std::vector<Operation> inits;
  for (const Variable& v : vars) inits.push_back(v.initializer());
  return group(inits, name);
}

Operation global_variables_initializer(Graph& g) {
  GraphScope in_graph(g);
  return variables_initializer(global_variables(g), "init");
}

// ---- DESIGN.md's member spellings ---------------------------------------------------------------------

Output Graph::placeholder(DType dtype, const PartialShape& shape, const std::string& name) {
  GraphScope in_graph(*this);
  return graph::placeholder(dtype, shape, name);
}
Output Graph::constant(const Tensor& value, const std::string& name) {
  GraphScope in_graph(*this);
  return graph::constant(value, name);
}
Variable Graph::variable(const Tensor& initial_value, const VariableOptions& o) {
  GraphScope in_graph(*this);
  return Variable(initial_value, o);
}
Variable Graph::variable(const Output& initial_value, const VariableOptions& o) {
  if (initial_value.valid() && &initial_value.graph() != this)
    throw ValueError("graph: variable '" + o.name + "': its initial value '" + initial_value.name() + "' is from another graph");
  GraphScope in_graph(*this);
  return Variable(initial_value, o);
}
Variable Graph::variable(const Tensor& initial_value) { return variable(initial_value, VariableOptions{}); }
Variable Graph::variable(const Output& initial_value) { return variable(initial_value, VariableOptions{}); }
GraphScope Graph::as_default() { return GraphScope(*this); }
NameScope Graph::name_scope(const std::string& name) { return NameScope(*this, name); }

}  // namespace ember::graph
