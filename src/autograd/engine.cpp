#include <algorithm>
#include <atomic>

#include "ember/autograd/autograd.hpp"
#include "ember/kernels/cpu/index.hpp"
#include "ember/kernels/cpu/loops.hpp"

namespace ember::autograd {

namespace {
thread_local bool g_grad_enabled = true;

// Destroying the last reference to a long graph would recurse node → input → node ... and could
// overflow the stack. Instead, nodes whose last owner is a dying node are parked here and freed
// one by one by the outermost destructor. The vector keeps its capacity: no allocation per step.
struct Graveyard {
  std::vector<std::shared_ptr<Node>> nodes;
  bool draining = false;
  ~Graveyard() { t_graveyard_gone = true; }
  static thread_local bool t_graveyard_gone;  // a node dying during thread exit frees recursively
};
thread_local bool Graveyard::t_graveyard_gone = false;
thread_local Graveyard t_graveyard;
}  // namespace

bool grad_enabled() { return g_grad_enabled; }
void set_grad_enabled(bool enabled) { g_grad_enabled = enabled; }

Node::Node(const char* name, NodeInputs inputs, BackwardFn fn)
    : name_(name), inputs_(std::move(inputs)), fn_(std::move(fn)) {}

Node::~Node() {
  fn_ = nullptr;
  if (Graveyard::t_graveyard_gone) return;  // inputs_ are released by the member destructor
  Graveyard& yard = t_graveyard;
  for (Tensor& in : inputs_) {
    if (!in.defined()) continue;
    auto& impl = in.impl_ptr();
    if (impl.use_count() == 1 && impl->autograd && impl->autograd->grad_fn) {
      yard.nodes.push_back(std::move(impl->autograd->grad_fn));
    }
  }
  inputs_.clear();
  if (yard.draining) return;
  yard.draining = true;
  while (!yard.nodes.empty()) {
    std::shared_ptr<Node> n = std::move(yard.nodes.back());
    yard.nodes.pop_back();
    n.reset();  // may park more nodes
  }
  yard.draining = false;
}

Gradients Node::apply(const Tensor& grad_output) {
  if (released_) {
    throw ValueError(std::string("backward: the graph through '") + name_ +
                     "' has already been freed by an earlier backward; pass retain_graph = true to the first "
                     "backward to run backward twice");
  }
  return fn_(grad_output);
}

void Node::release() {
  released_ = true;
  fn_ = nullptr;
}

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor* t : inputs) {
    if (t->defined() && t->requires_grad()) return true;
  }
  return false;
}

bool needs_grad(std::span<const Tensor> inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor& t : inputs) {
    if (t.defined() && t.requires_grad()) return true;
  }
  return false;
}

Tensor saved(const Tensor& t) {
  if (!t.defined()) return t;
  return t.as_strided(t.shape(), t.strides(), t.offset());
}

void attach(const char* name, std::span<const Tensor> inputs, Tensor& output, BackwardFn fn) {
  NodeInputs kept(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].defined() && inputs[i].requires_grad()) kept[i] = inputs[i];
  }
  auto meta = make_pooled<AutogradMeta>();
  meta->requires_grad = true;
  meta->grad_fn = make_pooled<Node>(name, std::move(kept), std::move(fn));
  output.impl().autograd = std::move(meta);
}

Tensor sum_to(const Tensor& grad, const Shape& shape) {
  if (grad.shape() == shape) return grad;
  const int gd = grad.dim(), sd = static_cast<int>(shape.size());
  if (sd > gd) throw ShapeError("sum_to: cannot reduce " + to_string(grad.shape()) + " to " + to_string(shape));
  Shape keep(gd, 1);
  for (int i = 0; i < sd; ++i) {
    int64_t g = grad.shape()[gd - sd + i], s = shape[i];
    if (s == g) keep[gd - sd + i] = g;
    else if (s != 1) throw ShapeError("sum_to: cannot reduce " + to_string(grad.shape()) + " to " + to_string(shape));
  }
  Tensor r = Tensor::empty(keep, kernels::cpu::reduce_dtype(grad.dtype(), kernels::cpu::ReduceKind::Sum));
  kernels::cpu::reduce(grad.shape(), grad.dtype(), grad.raw_data(), grad.strides(), keep, kernels::cpu::ReduceKind::Sum,
                       r.raw_data());
  return r.as_strided(shape, contiguous_strides(shape), 0);
}

namespace {

namespace kc = kernels::cpu;

// dst = src (same shape; src may be strided or broadcast), converting the dtype.
void copy_into(const Tensor& src, const Tensor& dst) {
  kc::copy_cast(dst.shape(), src.dtype(), src.raw_data(), src.strides(), dst.dtype(), dst.raw_data(), dst.strides());
}

Tensor accumulate(const Tensor& a, const Tensor& b) {
  if (!a.defined()) return b;
  Tensor out = Tensor::empty(a.shape(), a.dtype());
  visit_dtype(a.dtype(), [&]<typename T>() {
    kc::map_binary<T, T, T>(out.shape(), {a.data<T>(), &a.strides()}, {b.data<T>(), &b.strides()},
                            {out.data<T>(), &out.strides()}, [](T x, T y) { return static_cast<T>(x + y); });
  });
  return out;
}

// A leaf's .grad is always its own compact tensor: the gradient arriving may be the caller's seed,
// shared with another input (add returns {g, g}) or a stride-0 view of one element (sum's
// backward), and optimizers and clipping update .grad in place.
// A gradient that nothing else holds — a dense tensor a backward function just made, whose handle
// and storage have one owner each — already is such a tensor and is adopted without a copy (saves a
// pass over every weight gradient per training step).
Tensor accumulate_leaf(const Tensor& acc, Tensor&& g) {
  if (acc.defined()) return accumulate(acc, g);
  if (g.impl_ptr().use_count() == 1 && g.impl().storage.use_count() == 1 && g.offset() == 0 && g.is_contiguous() &&
      static_cast<std::size_t>(g.numel()) * itemsize(g.dtype()) == g.impl().storage->nbytes()) {
    return std::move(g);
  }
  Tensor out = Tensor::empty(g.shape(), g.dtype());
  copy_into(g, out);
  return out;
}

// Shapes and dtypes a gradient to match its input: the central reverse-broadcast.
Tensor conform(Tensor grad, const Tensor& input, const char* node_name) {
  Tensor g = std::move(grad);
  if (g.shape() != input.shape()) {
    try {
      g = sum_to(g, input.shape());
    } catch (const ShapeError&) {
      throw ShapeError(std::string("backward of '") + node_name + "': gradient of shape " + to_string(g.shape()) +
                       " does not reduce to the input shape " + to_string(input.shape()));
    }
  }
  if (g.dtype() != input.dtype()) {
    Tensor c = Tensor::empty(g.shape(), input.dtype());
    copy_into(g, c);
    g = c;
  }
  return g;
}

// The dense gradient of `leaf_shape` that `rows` stands for: zeros except the rows held.
Tensor densify(const RowGrad& rows, const Shape& leaf_shape) {
  Tensor dense = Tensor::empty(leaf_shape, rows.values.dtype());
  const int64_t n = rows.indices.numel();
  int64_t row_len = 1;  // from the leaf, not the rows: there may be none
  for (std::size_t d = 1; d < leaf_shape.size(); ++d) row_len *= leaf_shape[d];
  visit_floating(dense.dtype(), "densify", [&]<typename T>() {
    kc::scatter_add_axis<T>(rows.values.data<T>(), rows.indices.data<int64_t>(), n, 1, leaf_shape[0], row_len,
                            dense.data<T>());
  });
  return dense;
}

// A leaf about to receive a dense gradient first turns its rows (if any) into one.
void densify_rows(AutogradMeta& meta, const Shape& leaf_shape) {
  if (!meta.row_grad.defined()) return;
  meta.grad = densify(meta.row_grad, leaf_shape);
  meta.row_grad = RowGrad{};
}

}  // namespace

void accumulate_row_grad(const Tensor& leaf, const Tensor& indices, const Tensor& rows_in) {
  if (!leaf.requires_grad() || !leaf.is_leaf()) {
    throw ValueError("accumulate_row_grad: the tensor must be a leaf that requires grad");
  }
  if (leaf.dim() < 1) throw ShapeError("accumulate_row_grad: the leaf must have at least one dimension, got a scalar");
  const int64_t n = indices.numel();
  const int64_t row_len = leaf.numel() / std::max<int64_t>(leaf.shape()[0], 1);
  if (indices.dtype() != i64) {
    throw DTypeError("accumulate_row_grad: indices must be int64, got " + std::string(dtype_name(indices.dtype())));
  }
  if (rows_in.numel() != n * row_len) {
    throw ShapeError("accumulate_row_grad: expected " + std::to_string(n) + " rows of " + std::to_string(row_len) +
                     " elements for a leaf of shape " + to_string(leaf.shape()) + ", got a gradient of shape " +
                     to_string(rows_in.shape()));
  }
  // Compact copies where needed (copy_into: this layer sits below the ops that reshape and cast).
  auto compact = [](const Tensor& t, DType dtype) {
    if (t.dtype() == dtype && t.is_contiguous() && t.offset() == 0) return t;
    Tensor c = Tensor::empty(t.shape(), dtype);
    copy_into(t, c);
    return c;
  };
  Tensor idx = compact(indices, i64);
  const int64_t* ip = idx.data<int64_t>();
  for (int64_t j = 0; j < n; ++j) {
    if (ip[j] < 0 || ip[j] >= leaf.shape()[0]) {
      throw ValueError("accumulate_row_grad: index " + std::to_string(ip[j]) + " is outside [0, " +
                       std::to_string(leaf.shape()[0]) + ")");
    }
  }
  Tensor rows = compact(rows_in, leaf.dtype());
  auto& meta = *leaf.impl().autograd;
  // The first m rows of a compact [capacity, ...] tensor, as a view.
  auto first_rows = [&](const Tensor& t, int64_t m) {
    Shape s = t.shape();
    s[0] = m;
    return t.as_strided(s, contiguous_strides(s), 0);
  };
  Shape row_shape = leaf.shape();
  auto with_rows = [&](int64_t m) {
    Shape s = row_shape;
    s[0] = m;
    return s;
  };
  visit_floating(leaf.dtype(), "accumulate_row_grad", [&]<typename T>() {
    // Coalesced first (each row summed from zero in batch order), as the dense scatter-add sums.
    Tensor scratch = Tensor::empty({2 * n + 1}, i64);
    Tensor new_idx = Tensor::empty({n}, i64);
    Tensor new_rows = Tensor::empty(with_rows(n), leaf.dtype());
    const int64_t m =
        kc::coalesce_rows<T>(rows.data<T>(), ip, n, row_len, scratch.data<int64_t>(), new_idx.data<int64_t>(), new_rows.data<T>());
    RowGrad fresh{first_rows(new_idx, m), first_rows(new_rows, m)};
    if (meta.grad.defined()) {  // dense already: add the rows to a copy (the old .grad may be shared)
      Tensor dense = Tensor::empty(leaf.shape(), leaf.dtype());
      copy_into(meta.grad, dense);
      kc::add_rows<T>(fresh.values.data<T>(), fresh.indices.data<int64_t>(), m, row_len, dense.data<T>());
      meta.grad = dense;
      return;
    }
    if (!meta.row_grad.defined()) {
      meta.row_grad = std::move(fresh);
      return;
    }
    const RowGrad& old = meta.row_grad;
    const int64_t na = old.indices.numel();
    Tensor merged_idx = Tensor::empty({na + m}, i64);
    Tensor merged_rows = Tensor::empty(with_rows(na + m), leaf.dtype());
    const int64_t k = kc::merge_rows<T>(old.indices.data<int64_t>(), old.values.data<T>(), na, fresh.indices.data<int64_t>(),
                                        fresh.values.data<T>(), m, row_len, merged_idx.data<int64_t>(), merged_rows.data<T>());
    meta.row_grad = RowGrad{first_rows(merged_idx, k), first_rows(merged_rows, k)};
  });
}

const RowGrad* row_grad(const Tensor& t) {
  if (!t.defined() || !t.impl().autograd || t.impl().autograd->grad_fn) return nullptr;
  const RowGrad& r = t.impl().autograd->row_grad;
  return r.defined() ? &r : nullptr;
}

void run_backward(const Tensor& root, const Tensor& seed_in, bool retain_graph) {
  if (!root.requires_grad()) {
    throw ValueError("backward: the tensor does not require grad and has no grad_fn (shape " +
                     to_string(root.shape()) + ")");
  }
  Tensor seed = seed_in;
  if (!seed.defined()) {
    if (root.numel() != 1) {
      throw ValueError("backward: a seed gradient is needed for a non-scalar output of shape " +
                       to_string(root.shape()));
    }
    seed = ones(root.shape(), root.dtype());
  } else if (seed.shape() != root.shape()) {
    throw ShapeError("backward: seed gradient shape " + to_string(seed.shape()) + " differs from output shape " +
                     to_string(root.shape()));
  }
  NoGradGuard no_grad;
  seed = conform(seed, root, "seed");

  auto& meta = *root.impl().autograd;
  if (!meta.grad_fn) {  // a leaf
    densify_rows(meta, root.shape());
    meta.grad = accumulate_leaf(meta.grad, std::move(seed));
    return;
  }

  // Reusable buffers (kept between calls, so a backward pass allocates nothing once warm); a nested
  // backward (from inside a backward function) gets fresh ones.
  struct Buffers {
    std::vector<Node*> stack, seen;
    std::vector<std::shared_ptr<Node>> ready;
    bool in_use = false;
  };
  thread_local Buffers t_buffers;
  Buffers nested;
  Buffers& buf = t_buffers.in_use ? nested : t_buffers;
  buf.in_use = true;
  static std::atomic<uint64_t> passes{0};
  const uint64_t pass = ++passes;
  // Whatever happens, leave no gradient parked on a node and the buffers empty for the next pass.
  struct Cleanup {
    Buffers& b;
    ~Cleanup() {
      for (Node* n : b.seen) n->grad_sum_ = Tensor();
      b.stack.clear();
      b.seen.clear();
      b.ready.clear();
      b.in_use = false;
    }
  } cleanup{buf};

  // 1. Discover the graph and count, for each node, how many edges from other nodes reach it.
  Node* root_node = meta.grad_fn.get();
  root_node->pass_ = pass;
  root_node->pending_edges_ = 0;
  buf.seen.push_back(root_node);
  buf.stack.push_back(root_node);
  while (!buf.stack.empty()) {
    Node* n = buf.stack.back();
    buf.stack.pop_back();
    for (const Tensor& in : n->inputs()) {
      if (!in.defined()) continue;
      auto& am = in.impl().autograd;
      if (!am || !am->grad_fn) continue;
      Node* child = am->grad_fn.get();
      if (child->pass_ != pass) {
        child->pass_ = pass;
        child->pending_edges_ = 0;
        buf.seen.push_back(child);
        buf.stack.push_back(child);
      }
      ++child->pending_edges_;
    }
  }

  // 2. Process nodes once all their consumers have passed gradients down.
  root_node->grad_sum_ = seed;
  buf.ready.push_back(meta.grad_fn);
  while (!buf.ready.empty()) {
    std::shared_ptr<Node> node = std::move(buf.ready.back());
    buf.ready.pop_back();
    Tensor g = std::move(node->grad_sum_);
    node->grad_sum_ = Tensor();
    // A node that received no gradient still has to be walked, with "no gradient" for each input,
    // so that the dependency counts of its inputs reach zero and their other gradients flow on.
    Gradients grads = g.defined() ? node->apply(g) : Gradients(node->inputs().size());
    if (grads.size() != node->inputs().size()) {
      throw ValueError(std::string("backward of '") + node->name() + "' returned " + std::to_string(grads.size()) +
                       " gradients for " + std::to_string(node->inputs().size()) + " inputs");
    }
    for (std::size_t i = 0; i < grads.size(); ++i) {
      const Tensor& in = node->inputs()[i];
      if (!in.defined()) continue;
      auto& am = *in.impl().autograd;
      Tensor gi = grads[i].defined() ? conform(std::move(grads[i]), in, node->name()) : Tensor();
      if (am.grad_fn) {
        Node* child = am.grad_fn.get();
        if (gi.defined()) child->grad_sum_ = accumulate(child->grad_sum_, gi);
        if (--child->pending_edges_ == 0) buf.ready.push_back(am.grad_fn);
      } else if (gi.defined()) {
        densify_rows(am, in.shape());
        am.grad = accumulate_leaf(am.grad, std::move(gi));
      }
    }
    if (!retain_graph && g.defined()) node->release();
  }
}

}  // namespace ember::autograd

namespace ember {

using autograd::AutogradMeta;

bool Tensor::requires_grad() const { return impl().autograd && impl().autograd->requires_grad; }

Tensor& Tensor::requires_grad_(bool on) {
  auto& meta = impl().autograd;
  if (meta && meta->grad_fn) {
    if (!on) throw ValueError("requires_grad_: cannot turn off grad on a non-leaf tensor; use detach()");
    return *this;
  }
  if (on && !is_floating(dtype())) {
    throw DTypeError("requires_grad_: only floating tensors can require grad, got " + std::string(dtype_name(dtype())));
  }
  if (!meta) meta = make_pooled<AutogradMeta>();
  meta->requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const {
  if (!impl().autograd) return Tensor();
  autograd::densify_rows(*impl().autograd, shape());  // a row gradient is dense to every reader of .grad()
  return impl().autograd->grad;
}

void Tensor::set_grad(const Tensor& g) const {
  if (g.defined() && g.shape() != shape()) {
    throw ShapeError("set_grad: gradient shape " + ember::to_string(g.shape()) + " differs from " +
                     ember::to_string(shape()));
  }
  auto& meta = impl().autograd;
  if (!meta) meta = make_pooled<AutogradMeta>();
  meta->grad = g;
  meta->row_grad = autograd::RowGrad{};
}

void Tensor::zero_grad() const {
  if (impl().autograd) {
    impl().autograd->grad = Tensor();
    impl().autograd->row_grad = autograd::RowGrad{};
  }
}

bool Tensor::is_leaf() const { return !impl().autograd || !impl().autograd->grad_fn; }

void Tensor::backward(const Tensor& seed, bool retain_graph) const { autograd::run_backward(*this, seed, retain_graph); }

Tensor Tensor::detach() const { return autograd::saved(*this); }

}  // namespace ember
