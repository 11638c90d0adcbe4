#pragma once
// tf.Session: runs the part of a graph that the fetches need, with fed values, and holds the
// values of the graph's variables.
#include <map>
#include <memory>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "ember/core/error.hpp"
#include "ember/graph/graph.hpp"

namespace ember::graph {

// A value fed for a tensor. Tensors must have the placeholder's dtype, except that integer tensors
// may be fed to floating placeholders (TF converts the NumPy array; the notes feed randint
// matrices). Numbers become scalars of the placeholder's dtype (a fractional number for an integer
// placeholder is a DTypeError, as in TF).
struct FeedValue {
  Value value;
  bool from_number = false;
  bool is_integral = false;
  double number = 0;
  FeedValue(Tensor t) : value(std::move(t)) {}             // NOLINT
  FeedValue(std::string s) : value(std::move(s)) {}        // NOLINT
  FeedValue(const char* s) : value(std::string(s)) {}      // NOLINT
  FeedValue(int v) : from_number(true), is_integral(true), number(v) {}       // NOLINT
  FeedValue(int64_t v) : from_number(true), is_integral(true), number(double(v)) {}  // NOLINT
  FeedValue(double v) : from_number(true), number(v) {}    // NOLINT
};
struct FeedHash {
  std::size_t operator()(const Output& o) const noexcept;
};
using FeedDict = std::vector<std::pair<Output, FeedValue>>;

// A fetch: a tensor (returns its value) or an operation (runs it, returns std::monostate).
using Fetch = std::variant<Output, Operation>;

// tf.RunOptions: what a run records, and how long it may take.
struct RunOptions {
  enum class TraceLevel { NoTrace, FullTrace };
  TraceLevel trace_level = TraceLevel::NoTrace;  // FullTrace: every op's timing into RunMetadata
  int64_t timeout_in_ms = 0;                     // > 0: a run past it stops before its next op
};
// One op's record in a traced run (TF's NodeExecStats).
struct NodeExecStats {
  std::string node_name, op;                 // "layer1/MatMul", "MatMul"
  double start_micros = 0, elapsed_micros = 0;  // from the start of the run
  std::vector<std::string> output_shapes;    // "(128, 256)"; "string" / "none" for other values
};
// tf.RunMetadata: filled by a run whose options ask for a trace (cleared first).
struct RunMetadata {
  std::vector<NodeExecStats> step_stats;  // in execution order
};
// A run stopped by RunOptions::timeout_in_ms (TF's DeadlineExceededError). The variables keep what
// the ops that ran before it wrote.
class DeadlineExceededError : public Error {
 public:
  using Error::Error;
};

// Execution is planned: the first run of a given list of fetches with a given list of fed tensors
// works out the needed subgraph, its order and where each value lives, and keeps that plan (up to
// kMaxPlans of them); later runs with the same fetches and feeds reuse it and their value slots.
// So a warmed-up training step (run_into with reused fetch, feed and result lists) makes no call to
// the system allocator: tensor buffers come from the Storage cache and small objects from the pools
// (tests/train/steady_state_allocations.cpp checks it for the MLP and the CNN).
//
// A Session is not thread-safe: one run at a time (its plans hold the values of the run in flight).
class Session {
 public:
  static constexpr std::size_t kMaxPlans = 32;

  explicit Session(Graph& g = get_default_graph());
  ~Session();
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;
  Graph& graph() const { return *graph_; }

  // The general form: `results` is cleared and gets one value per fetch (monostate for an
  // operation). Reusing `fetches`, `feeds` and `results` across steps is what makes a step
  // allocation-free.
  void run_into(std::span<const Fetch> fetches, const FeedDict& feeds, std::vector<Value>& results,
                const RunOptions& options = {}, RunMetadata* run_metadata = nullptr);

  // One fetch: the tensor's value (DTypeError if it is a string: use run_value).
  Tensor run(const Output& fetch, const FeedDict& feeds = {}, const RunOptions& options = {},
             RunMetadata* run_metadata = nullptr);
  // Runs an op (e.g. a train op or the initializer).
  void run(const Operation& fetch, const FeedDict& feeds = {}, const RunOptions& options = {},
           RunMetadata* run_metadata = nullptr);
  Value run_value(const Fetch& fetch, const FeedDict& feeds = {}, const RunOptions& options = {},
                  RunMetadata* run_metadata = nullptr);
  // A list of fetches: one value each, in order. Every node runs at most once per call.
  std::vector<Value> run(const std::vector<Fetch>& fetches, const FeedDict& feeds = {}, const RunOptions& options = {},
                         RunMetadata* run_metadata = nullptr);
  // A list of tensors or variables: s.run({w, b}).
  std::vector<Value> run(std::initializer_list<Output> fetches, const FeedDict& feeds = {},
                         const RunOptions& options = {}, RunMetadata* run_metadata = nullptr);
  // A map of fetches: the same keys with values.
  std::map<std::string, Value> run(const std::map<std::string, Fetch>& fetches, const FeedDict& feeds = {},
                                   const RunOptions& options = {}, RunMetadata* run_metadata = nullptr);

  // The session's variable storage (what the initializers and optimizers write).
  bool initialized(const Variable& v) const;
  // The value of `v` in this session; ValueError naming it if it was never initialised (or restored).
  Tensor variable_value(const Variable& v) const;
  // Sets `v`'s value (what Saver::restore does): a copy of `value`, which must have the variable's
  // dtype (DTypeError) and a shape its static shape allows (ShapeError), both naming the variable.
  // ValueError when `v` belongs to another graph.
  void load_variable(const Variable& v, const Tensor& value);

 private:
  class Context;
  struct Plan;
  Plan& plan_for(std::span<const Fetch> fetches, const FeedDict& feeds);
  Values compute_gradients_node(const Node& n, std::span<const Value> in, bool only_backward);
  Graph* graph_;
  std::unordered_map<const Node*, Tensor> variables_;
  std::vector<std::unique_ptr<Plan>> plans_;  // most recently built last
  std::vector<Tensor> grad_xs_;               // scratch of compute_gradients_node
};

// The Tensor in a fetched value; DTypeError if it holds a string or nothing.
const Tensor& as_tensor(const Value& v);
const std::string& as_string(const Value& v);

}  // namespace ember::graph
