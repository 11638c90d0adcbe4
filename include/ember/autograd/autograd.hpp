#pragma once
// Reverse-mode automatic differentiation.
//
// An op whose inputs require grad records a Node on its output: the inputs (which keep the graph
// alive) and a backward function mapping the output's gradient to one gradient per input. Ops do
// this through autograd::record(). The engine (Tensor::backward) walks the graph iteratively in
// topological order — never recursively, so a chain of 10,000 ops is fine — and reduces every
// gradient to its input's shape in one place (autograd::sum_to), so ops never hand-roll the
// reverse of broadcasting.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "ember/core/pool.hpp"
#include "ember/core/small_vector.hpp"
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

// One gradient per input of a node, in the op's argument order; an undefined entry means "no
// gradient". Inline for up to four inputs, so returning one allocates nothing.
using Gradients = SmallVector<Tensor, 4>;
// The inputs a node keeps: those that require grad, undefined elsewhere.
using NodeInputs = SmallVector<Tensor, 4>;

// A node's backward function: a move-only callable `Gradients(const Tensor& grad_output)`. Closures
// of up to kInlineBytes (three saved tensors) live inside it, larger ones in a pooled block (core/
// pool.hpp), so recording a node makes no system allocation once the pool is warm. A callable that
// returns std::vector<Tensor> is accepted too (converted on each call, which allocates).
class BackwardFn {
 public:
  static constexpr std::size_t kInlineBytes = 48;

  BackwardFn() noexcept = default;
  BackwardFn(std::nullptr_t) noexcept {}  // NOLINT
  template <typename F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, BackwardFn> && std::is_invocable_v<F&, const Tensor&>)
  BackwardFn(F&& f) {  // NOLINT: implicit, like std::function
    using Fn = std::remove_cvref_t<F>;
    if constexpr (fits_inline<Fn>()) {
      obj_ = ::new (static_cast<void*>(buffer_)) Fn(std::forward<F>(f));
    } else {
      void* p = PoolAllocator<Fn>().allocate(1);
      try {
        obj_ = ::new (p) Fn(std::forward<F>(f));
      } catch (...) {
        PoolAllocator<Fn>().deallocate(static_cast<Fn*>(p), 1);
        throw;
      }
    }
    ops_ = &kOps<Fn>;
  }
  BackwardFn(BackwardFn&& o) noexcept { take(o); }
  BackwardFn& operator=(BackwardFn&& o) noexcept {
    if (this != &o) {
      reset();
      take(o);
    }
    return *this;
  }
  BackwardFn& operator=(std::nullptr_t) noexcept {
    reset();
    return *this;
  }
  ~BackwardFn() { reset(); }

  explicit operator bool() const noexcept { return ops_ != nullptr; }
  Gradients operator()(const Tensor& grad_output) const { return ops_->call(obj_, grad_output); }

 private:
  struct Ops {
    Gradients (*call)(void*, const Tensor&);
    void (*move_to)(void* from, void* to);  // inline closures only
    void (*destroy)(void*, bool is_inline);
    bool is_inline;
  };
  template <typename Fn>
  static constexpr bool fits_inline() {
    return sizeof(Fn) <= kInlineBytes && alignof(Fn) <= 16 && std::is_nothrow_move_constructible_v<Fn>;
  }
  template <typename Fn>
  static Gradients call_fn(void* f, const Tensor& g) {
    using R = std::invoke_result_t<Fn&, const Tensor&>;
    if constexpr (std::is_same_v<R, Gradients>) {
      return (*static_cast<Fn*>(f))(g);
    } else {
      R r = (*static_cast<Fn*>(f))(g);
      return Gradients(r.begin(), r.end());
    }
  }
  template <typename Fn>
  static constexpr Ops kOps = {
      &call_fn<Fn>,
      [](void* from, void* to) {
        ::new (to) Fn(std::move(*static_cast<Fn*>(from)));
        static_cast<Fn*>(from)->~Fn();
      },
      [](void* f, bool is_inline) {
        static_cast<Fn*>(f)->~Fn();
        if (!is_inline) PoolAllocator<Fn>().deallocate(static_cast<Fn*>(f), 1);
      },
      fits_inline<Fn>()};

  void take(BackwardFn& o) noexcept {
    if (!o.ops_) return;
    ops_ = o.ops_;
    if (ops_->is_inline) {
      ops_->move_to(o.obj_, buffer_);
      obj_ = buffer_;
    } else {
      obj_ = o.obj_;
    }
    o.ops_ = nullptr;
    o.obj_ = nullptr;
  }
  void reset() noexcept {
    if (ops_) ops_->destroy(obj_, ops_->is_inline);
    ops_ = nullptr;
    obj_ = nullptr;
  }

  alignas(16) unsigned char buffer_[kInlineBytes];
  void* obj_ = nullptr;
  const Ops* ops_ = nullptr;
};

class Node {
 public:
  // `name` must outlive the node: ops pass string literals.
  Node(const char* name, NodeInputs inputs, BackwardFn fn);
  ~Node();  // releases long input chains iteratively
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const char* name() const { return name_; }
  // Inputs that require grad (undefined where the input does not), in the op's argument order.
  const NodeInputs& inputs() const { return inputs_; }
  // Gradients for each input; undefined entries mean "no gradient". Throws if released.
  Gradients apply(const Tensor& grad_output);
  // Drops the saved state once a backward pass no longer needs it (retain_graph = false).
  void release();
  bool released() const { return released_; }

 private:
  friend void run_backward(const Tensor& root, const Tensor& seed, bool retain_graph);
  const char* name_;
  NodeInputs inputs_;
  BackwardFn fn_;
  bool released_ = false;
  // The engine's bookkeeping for the pass walking this node (a graph is walked by one backward at a
  // time): the pass that saw it last, edges from nodes not yet processed, and the gradient summed so far.
  uint64_t pass_ = 0;
  int pending_edges_ = 0;
  Tensor grad_sum_;
};

// A leaf's gradient held as rows: the gradient of a table [rows, ...] (an embedding) that is zero
// except at `indices` (i64 [n], sorted, distinct), where it is `values` [n, ...] (each row summed
// over the lookups of that row, starting from zero, in the order the lookups came: the same sums a
// dense scatter-add makes, so densifying gives the dense gradient bit for bit).
// Produced by ops::embedding_lookup for a leaf table; the optimizers that can update rows exactly
// (optim::SGD without momentum, optim::Adagrad) read it as is, every other reader gets it densified
// by Tensor::grad().
struct RowGrad {
  Tensor indices;
  Tensor values;
  bool defined() const { return indices.defined(); }
};

struct AutogradMeta {
  bool requires_grad = false;
  // A leaf's accumulated gradient: dense in `grad`, or as rows in `row_grad` — never both (a dense
  // contribution meeting rows densifies them first, rows meeting a dense gradient are added to it).
  Tensor grad;
  RowGrad row_grad;
  std::shared_ptr<Node> grad_fn;  // null for leaves
};

// Adds rows to the gradient of `leaf` (a leaf requiring grad, shape [rows, ...]): at `indices`
// (i64, any shape, values in [0, rows), repeats allowed), `rows` ([indices.numel(), ...] of the
// leaf's dtype) — what a backward pass would add by scatter-add, without a dense [rows, ...]
// tensor while the leaf's gradient is held as rows. Called by ops::embedding_lookup's backward.
void accumulate_row_grad(const Tensor& leaf, const Tensor& indices, const Tensor& rows);
// The gradient of `t` when it is held as rows (nullptr when it is dense, absent, or t is no leaf).
const RowGrad* row_grad(const Tensor& t);

// True if grad mode is on and any input requires grad.
bool needs_grad(std::initializer_list<const Tensor*> inputs);
bool needs_grad(std::span<const Tensor> inputs);
inline bool needs_grad(const std::vector<Tensor>& inputs) { return needs_grad(std::span<const Tensor>(inputs)); }

// Attaches history to `output` (a fresh tensor from a kernel) when needed. `make_backward` is only
// called — and the saved state it captures only kept — when history is recorded. Saved tensors must
// be captured as `saved(t)` (a history-free alias) so the graph holds no cycles. Backward functions
// return Gradients{...} (one per input).
template <typename MakeBackward>
Tensor record(const char* name, std::span<const Tensor> inputs, Tensor output, MakeBackward&& make_backward);
template <typename MakeBackward>
Tensor record(const char* name, std::initializer_list<Tensor> inputs, Tensor output, MakeBackward&& make_backward) {
  return record(name, std::span<const Tensor>(inputs.begin(), inputs.size()), std::move(output),
                std::forward<MakeBackward>(make_backward));
}
template <typename MakeBackward>
Tensor record(const char* name, const std::vector<Tensor>& inputs, Tensor output, MakeBackward&& make_backward) {
  return record(name, std::span<const Tensor>(inputs), std::move(output), std::forward<MakeBackward>(make_backward));
}

// A history-free alias of t (same storage), safe to capture in a backward function.
Tensor saved(const Tensor& t);

void attach(const char* name, std::span<const Tensor> inputs, Tensor& output, BackwardFn fn);

template <typename MakeBackward>
Tensor record(const char* name, std::span<const Tensor> inputs, Tensor output, MakeBackward&& make_backward) {
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
