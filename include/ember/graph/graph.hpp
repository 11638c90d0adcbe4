#pragma once
// TensorFlow-1 graph mode: a Graph of operations whose outputs are symbolic tensors, run by a
// Session (graph/session.hpp).
//
// One op library: a compute node stores a closure that calls the eager ops/ function on the
// runtime values of its inputs, so a node's forward is the eager forward by construction, and
// gradients (graph/train.hpp) run the eager backward engine over a forward recorded by autograd.
//
// Static shapes are inferred by probing (see add_op): the eager function runs once on zero tensors
// of the inputs' static shapes, or twice (unknown dimensions as 2, then 3) when some dimension is
// unknown. Output dimensions that agree across probes are known. An op whose inputs are fully known
// and whose probe fails is a ShapeError at build time naming the op and its inputs; with unknown
// dimensions a failed probe leaves the output's rank unknown (the run reports the error). No per-op
// shape function exists, so inference cannot disagree with execution. Ops without inputs (constants,
// random draws) give their spec explicitly: probing would draw random numbers.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "ember/core/dtype.hpp"
#include "ember/core/pool.hpp"
#include "ember/core/tensor.hpp"

namespace ember::graph {

// The runtime value of a graph tensor: a Tensor, a string (TF's tf.string scalars), or nothing
// (what fetching an operation returns).
using Value = std::variant<std::monostate, Tensor, std::string>;

// A shape whose rank or dimensions may be unknown (-1 = TF's None). `{}` is a scalar (TF's
// shape=[]); PartialShape::unknown() is TF's shape=None. No default constructor, so that `{}` cannot
// silently mean "unknown".
struct PartialShape {
  bool known_rank = true;
  std::vector<int64_t> dims;
  PartialShape(std::initializer_list<int64_t> d) : dims(d) {}
  explicit PartialShape(std::vector<int64_t> d) : dims(std::move(d)) {}
  static PartialShape unknown() {
    PartialShape s{};
    s.known_rank = false;
    return s;
  }
  bool fully_known() const;
  bool compatible_with(const Shape& s) const;
  std::string str() const;  // "(?, 784)" / "<unknown>"
};

// A graph tensor's static type: a core dtype or a string.
struct TensorType {
  bool is_string = false;
  DType dtype = f32;
  std::string str() const;
  bool operator==(const TensorType&) const = default;
};

class Graph;
class GraphScope;
class NameScope;
class Variable;
struct VariableOptions;
struct Node;

// An operation of a graph (a handle; the graph owns it). Fetching one runs it and returns nothing.
class Operation {
 public:
  Operation() = default;
  explicit Operation(Node* n) : node_(n) {}
  const std::string& name() const;
  const std::string& type() const;
  Graph& graph() const;
  Node* node() const { return node_; }
  bool valid() const { return node_ != nullptr; }
  bool operator==(const Operation&) const = default;

 private:
  Node* node_ = nullptr;
};

// A symbolic tensor: output `index` of an operation ("op_name:index", TF's tf.Tensor).
class Output {
 public:
  Output() = default;  // no tensor (e.g. the gradient of an unreachable variable: TF's None)
  Output(Node* n, int index) : node_(n), index_(index) {}
  std::string name() const;  // "scope/x:0"
  Operation op() const { return Operation(node_); }
  Graph& graph() const;
  const TensorType& type() const;
  DType dtype() const { return type().dtype; }
  const PartialShape& shape() const;
  Node* node() const { return node_; }
  int index() const { return index_; }
  bool valid() const { return node_ != nullptr; }
  bool operator==(const Output&) const = default;

 private:
  Node* node_ = nullptr;
  int index_ = 0;
};

// What a node's function can reach while a Session runs it: the session's variable storage.
class RunContext {
 public:
  virtual ~RunContext() = default;
  // The current value of a variable (the op node of Variable); ValueError naming it if it was never
  // initialised in this session.
  virtual Tensor& variable(const Node* var) = 0;
  virtual void set_variable(const Node* var, Tensor value) = 0;
};

// A node's outputs. Pool-allocated (core/pool.hpp), so that running a node in a warmed-up Session
// makes no call to the system allocator.
using Values = std::vector<Value, PoolAllocator<Value>>;
using OpFn = std::function<Values(RunContext&, std::span<const Value>)>;

enum class NodeKind { Compute, Placeholder, Variable, Gradients };

struct OutputSpec {
  TensorType type;
  PartialShape shape = PartialShape::unknown();
};

struct Node {
  Graph* graph = nullptr;
  std::string name;
  std::string type;  // TF op type: "MatMul", "Placeholder", "VariableV2", ...
  NodeKind kind = NodeKind::Compute;
  std::vector<Output> inputs;
  std::vector<Operation> control_inputs;  // run before this node, values unused
  std::vector<OutputSpec> outputs;
  OpFn fn;                                // Compute (and Variable: none; Gradients: session-defined)
  bool stateful = false;                  // assigns variables; never shape-probed
  // Variable: trainable flag and the initializer op. Gradients: the number of ys and of xs.
  bool trainable = false;
  Operation initializer;
  int num_ys = 0;
  // The op's attributes as JSON, set by the graph::ops functions that build it; empty for nodes the
  // meta graph cannot rebuild (gradients, optimizer updates). See graph/meta_graph.hpp.
  std::string attrs;
};

// A graph of operations. Names are unique: a taken name gets "_1", "_2", ... as in TF.
class Graph {
 public:
  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  // The node's name is `name` under the current name scope, uniquified. Probes shapes when
  // `outputs` is empty (see the header comment). ValueError when an input is from another graph.
  Operation add_op(std::string type, std::string name, std::vector<Output> inputs, OpFn fn,
                   std::vector<OutputSpec> outputs = {}, NodeKind kind = NodeKind::Compute, bool stateful = false);

  // DESIGN.md's spelling of the sources, on this graph whatever the default graph is:
  // g.placeholder(f32, {-1, 784}), g.constant(t), g.variable(initial_value) — the free functions
  // below (placeholder, constant, Variable) with this graph made the default while they build.
  Output placeholder(DType dtype, const PartialShape& shape, const std::string& name = "Placeholder");
  Output constant(const Tensor& value, const std::string& name = "Const");
  Variable variable(const Tensor& initial_value, const VariableOptions& o);
  Variable variable(const Output& initial_value, const VariableOptions& o);
  Variable variable(const Tensor& initial_value);
  Variable variable(const Output& initial_value);
  // `with g.as_default():` — auto scope = g.as_default(); (a GraphScope on this graph)
  GraphScope as_default();
  // `with g.name_scope("layer1"):` — auto scope = g.name_scope("layer1"); (a NameScope on this graph)
  NameScope name_scope(const std::string& name);

  Output get_tensor_by_name(const std::string& name) const;  // "scope/x:0"; ValueError if absent
  Operation get_operation_by_name(const std::string& name) const;
  std::vector<Operation> operations() const;

  // Variables in creation order (tf.global_variables / tf.trainable_variables).
  const std::vector<Operation>& variables() const { return variables_; }

  // The name scope stack (name_scope / variable_scope push here).
  std::string unique_name(const std::string& name);
  std::string scoped(const std::string& name) const;
  void push_scope(const std::string& scope) { scopes_.push_back(scope); }
  void pop_scope() { scopes_.pop_back(); }
  std::string current_scope() const { return scopes_.empty() ? std::string() : scopes_.back(); }

  void register_variable(Operation v) { variables_.push_back(v); }

 private:
  std::vector<std::unique_ptr<Node>> nodes_;
  std::unordered_map<std::string, Node*> by_name_;
  std::unordered_map<std::string, int> name_counts_;
  std::vector<std::string> scopes_;  // full prefixes, innermost last
  std::vector<Operation> variables_;
};

// The default graph: a process-wide one unless a GraphScope (thread-local) makes another current.
Graph& get_default_graph();
void reset_default_graph();

// `with g.as_default():` — makes `g` the default graph for this thread while it lives.
class GraphScope {
 public:
  explicit GraphScope(Graph& g);
  ~GraphScope();
  GraphScope(const GraphScope&) = delete;
  GraphScope& operator=(const GraphScope&) = delete;

 private:
  Graph* prev_;
};

// `with tf.name_scope("layer1"):` — prefixes the names of ops created in it with "layer1/". A
// reused scope name is uniquified like an op name ("layer1_1/"); a name ending in "/" is used as is.
class NameScope {
 public:
  explicit NameScope(const std::string& name);  // on the default graph
  NameScope(Graph& g, const std::string& name);
  ~NameScope();
  NameScope(const NameScope&) = delete;
  NameScope& operator=(const NameScope&) = delete;
  const std::string& prefix() const { return prefix_; }

 private:
  Graph* graph_;
  std::string prefix_;
};

// ---- Sources ----------------------------------------------------------------------------------------

// tf.placeholder(dtype, shape, name): must be fed when a run needs it.
Output placeholder(DType dtype, PartialShape shape = PartialShape::unknown(), const std::string& name = "Placeholder");
// tf.placeholder(tf.string): a string scalar.
Output string_placeholder(const std::string& name = "Placeholder");
// tf.constant
Output constant(const Tensor& value, const std::string& name = "Const");
Output constant(const std::string& value, const std::string& name = "Const");
Output constant(double value, DType dtype = f32, const std::string& name = "Const");

// tf.Variable(initial_value, trainable, name): `initial_value` is a tensor of the graph (or a
// constant), evaluated when the initializer runs. Converts to its value (Output) in ops.
struct VariableOptions {
  bool trainable = true;
  std::string name = "Variable";
};
class Variable {
 public:
  Variable() = default;
  Variable(const Output& initial_value, VariableOptions o = {});
  Variable(const Tensor& initial_value, VariableOptions o = {});
  operator Output() const { return value_; }  // NOLINT: TF converts variables to tensors implicitly
  Output value() const { return value_; }
  Operation op() const { return value_.op(); }
  Operation initializer() const { return value_.node()->initializer; }
  const std::string& name() const { return value_.op().name(); }
  // The new value after the assignment (fetch it, or use it as a control input).
  Output assign(const Output& v) const;
  Output assign_add(const Output& v) const;
  Output assign_sub(const Output& v) const;

 private:
  friend Variable as_variable(Operation op);
  Output value_;
};
Variable as_variable(Operation op);  // ValueError unless op is a variable

std::vector<Variable> global_variables(Graph& g = get_default_graph());
std::vector<Variable> trainable_variables(Graph& g = get_default_graph());
// An op running every variable's initializer (tf.global_variables_initializer).
Operation global_variables_initializer(Graph& g = get_default_graph());
Operation variables_initializer(const std::vector<Variable>& vars, const std::string& name = "init");
// tf.group / tf.no_op: an op that runs `deps` and returns nothing.
Operation group(const std::vector<Operation>& deps, const std::string& name = "group_deps");

}  // namespace ember::graph
