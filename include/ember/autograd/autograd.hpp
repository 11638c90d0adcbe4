#pragma once
// Reverse-mode automatic differentiation.
//
// An op whose inputs require grad records a Node on its output: the inputs (which keep the graph
// alive) and a backward function mapping the output's gradient to one gradient per input. Ops do
// this through autograd::record(). The engine (Tensor::backward) walks the graph iteratively in
// topological order — never recursively, so a chain of 10,000 ops is fine — and reduces every
// gradient to its input's shape in one place (autograd::sum_to), so ops never hand-roll the
// reverse of broadcasting.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ember/core/tensor.hpp"

namespace ember::autograd {

// Is history being recorded? (thread-local; on by default)
bool grad_enabled();
void set_grad_enabled(bool enabled);

// Disables recording in a scope: inference, optimizer updates, metric computation.
class NoGradGuard {
 public:
  NoGradGuard() : prev_(grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

// Sums a gradient down to `shape` (NumPy broadcasting in reverse): the central broadcast reduction
// the engine applies to every gradient. ShapeError when grad's shape does not broadcast from `shape`.
Tensor sum_to(const Tensor& grad, const Shape& shape);

using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

class Node {
 public:
  Node(std::string name, std::vector<Tensor> inputs, BackwardFn fn);
  ~Node();  // releases long input chains iteratively
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const std::string& name() const { return name_; }
  // Inputs that require grad (undefined where the input does not), in the op's argument order.
  const std::vector<Tensor>& inputs() const { return inputs_; }
  // Gradients for each input; undefined entries mean "no gradient". Throws if released.
  std::vector<Tensor> apply(const Tensor& grad_output);
  // Drops the saved state once a backward pass no longer needs it (retain_graph = false).
  void release();
  bool released() const { return released_; }

 private:
  std::string name_;
  std::vector<Tensor> inputs_;
  BackwardFn fn_;
  bool released_ = false;
};

struct AutogradMeta {
  bool requires_grad = false;
  Tensor grad;
  std::shared_ptr<Node> grad_fn;  // null for leaves
};

// True if grad mode is on and any input requires grad.
bool needs_grad(std::initializer_list<const Tensor*> inputs);
bool needs_grad(const std::vector<Tensor>& inputs);

// Attaches history to `output` (a fresh tensor from a kernel) when needed. `make_backward` is only
// called — and the saved state it captures only kept — when history is recorded. Saved tensors must
// be captured as `saved(t)` (a history-free alias) so the graph holds no cycles.
template <typename MakeBackward>
Tensor record(const char* name, const std::vector<Tensor>& inputs, Tensor output, MakeBackward&& make_backward);

// A history-free alias of t (same storage), safe to capture in a backward function.
Tensor saved(const Tensor& t);

void attach(const char* name, const std::vector<Tensor>& inputs, Tensor& output, BackwardFn fn);

template <typename MakeBackward>
Tensor record(const char* name, const std::vector<Tensor>& inputs, Tensor output, MakeBackward&& make_backward) {
  if (needs_grad(inputs)) attach(name, inputs, output, BackwardFn(make_backward()));
  return output;
}

// Runs backward from `root` with gradient `seed` (see Tensor::backward).
void run_backward(const Tensor& root, const Tensor& seed, bool retain_graph);

}  // namespace ember::autograd

namespace ember {

struct GradcheckOptions {
  double eps = 1e-6;   // two-sided step
  double tol = 1e-7;   // the notes' threshold on the relative difference
};

struct GradcheckResult {
  bool passed = false;
  double relative_error = 0;  // ||g - g_approx||_2 / (||g||_2 + ||g_approx||_2) over all inputs
  std::size_t worst_input = 0;  // input holding the element with the largest |g - g_approx|
  int64_t worst_index = 0;      // flat index of that element
  double worst_analytic = 0, worst_numeric = 0;
  std::string message;  // one line summary
};

// Compares the autograd gradient of f with two-sided finite differences, in f64.
// `inputs` must be f64 leaf tensors; they are perturbed in place and restored, so they may be a
// model's parameters that f reads. f may return any shape: the check differentiates
// sum(f(x) * w) for a fixed random weighting w, so every output element matters.
GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& inputs,
                          GradcheckOptions options = {});

}  // namespace ember
