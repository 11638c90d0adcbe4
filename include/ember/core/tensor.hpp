#pragma once
// Tensor: a cheap, copyable handle to a TensorImpl (storage + shape + strides + offset + dtype).
// Copying a Tensor shares the data; views (reshape of contiguous data, transpose, slice, expand,
// squeeze) share storage too. Use clone() for an independent copy.
//
// The member functions are sugar over the free functions of ops/ (ember::add, ember::reshape, ...),
// declared here so that `x.to(f32).div(255).reshape({-1, 28, 28, 1})` reads like NumPy; they record
// autograd history exactly like the free functions.
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ember/core/dtype.hpp"
#include "ember/core/error.hpp"
#include "ember/core/generator.hpp"
#include "ember/core/scalar.hpp"
#include "ember/core/shape.hpp"
#include "ember/core/storage.hpp"

namespace ember {

namespace autograd {
struct AutogradMeta;  // defined in autograd/; null in tensors that take no part in autograd
}

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Strides strides;
  int64_t offset = 0;  // in elements
  DType dtype = DType::f32;
  std::shared_ptr<autograd::AutogradMeta> autograd;
};

using Axes = SmallVector<int64_t, kMaxDims>;  // axis lists (inline, like Shape)

class Tensor {
 public:
  Tensor() = default;  // an undefined tensor (defined() == false)
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // Uninitialised contiguous tensor.
  static Tensor empty(const Shape& shape, DType dtype = f32);
  // A view of this tensor's storage with other geometry; no autograd, bounds-checked.
  Tensor as_strided(const Shape& shape, const Strides& strides, int64_t offset) const;

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  const Strides& strides() const { return impl().strides; }
  int64_t offset() const { return impl().offset; }
  int dim() const { return static_cast<int>(impl().shape.size()); }
  int64_t size(int64_t axis) const;  // negative axes count from the end
  int64_t numel() const { return ember::numel(impl().shape); }
  DType dtype() const { return impl().dtype; }
  bool is_contiguous() const;
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }
  bool shares_storage(const Tensor& other) const;

  // Typed pointer to element 0 (storage + offset). Throws DTypeError if T does not match dtype().
  template <typename T>
  T* data() const {
    check_dtype_(dtype_v<T>);
    return static_cast<T*>(impl().storage->data()) + impl().offset;
  }
  void* raw_data() const;

  // Single values, for tests and scalars. item() needs numel() == 1; at() is bounds-checked.
  template <typename T>
  T item() const;
  template <typename T>
  T at(std::initializer_list<int64_t> index) const;
  // All values in row-major order converted to T.
  template <typename T>
  std::vector<T> to_vector() const;

  std::string to_string() const;  // NumPy-like, summarised when large

  // ---- autograd (defined in autograd/) ----
  bool requires_grad() const;
  Tensor& requires_grad_(bool on = true);  // only on leaves of floating dtype
  Tensor grad() const;                            // undefined until a backward reached it
  void set_grad(const Tensor& g) const;
  void zero_grad() const;                         // drops the accumulated gradient
  bool is_leaf() const;
  // Reverse-mode pass from this tensor. Without `seed` this must hold one element (seed 1).
  void backward(const Tensor& seed = Tensor(), bool retain_graph = false) const;
  Tensor detach() const;  // same data, no history

  // ---- views and copies (ops/) ----
  Tensor reshape(const Shape& shape) const;  // one -1 allowed; a view when contiguous
  Tensor view(const Shape& shape) const { return reshape(shape); }
  Tensor flatten(int64_t start_axis = 0, int64_t end_axis = -1) const;
  Tensor transpose(int64_t a, int64_t b) const;
  Tensor t() const;  // 2-D transpose
  Tensor permute(const Axes& axes) const;
  Tensor slice(int64_t axis, int64_t start, int64_t stop, int64_t step = 1) const;
  Tensor expand(const Shape& shape) const;  // = broadcast_to
  Tensor squeeze(std::optional<int64_t> axis = std::nullopt) const;
  Tensor unsqueeze(int64_t axis) const;
  Tensor contiguous() const;
  Tensor clone() const;
  Tensor to(DType dtype) const;

  // ---- arithmetic (ops/) ----
  Tensor add(const Tensor& o) const;
  Tensor add(Scalar s) const;
  Tensor sub(const Tensor& o) const;
  Tensor sub(Scalar s) const;
  Tensor mul(const Tensor& o) const;
  Tensor mul(Scalar s) const;
  Tensor div(const Tensor& o) const;
  Tensor div(Scalar s) const;
  Tensor pow(Scalar exponent) const;
  Tensor neg() const;
  Tensor exp() const;
  Tensor log() const;
  Tensor sqrt() const;
  Tensor abs() const;
  Tensor square() const;
  Tensor matmul(const Tensor& o) const;
  Tensor sum(const Axes& axes = {}, bool keepdims = false) const;  // {} = all axes
  Tensor mean(const Axes& axes = {}, bool keepdims = false) const;
  Tensor max(const Axes& axes = {}, bool keepdims = false) const;
  Tensor min(const Axes& axes = {}, bool keepdims = false) const;
  Tensor argmax(int64_t axis, bool keepdims = false) const;

  // ---- in place, for optimizers and initialisers (no autograd; refused on tensors that need grad
  // while grad mode is on) ----
  Tensor& copy_(const Tensor& src);  // src broadcast to this shape, cast to this dtype
  Tensor& fill_(Scalar value);
  Tensor& add_(const Tensor& o, Scalar alpha = 1);  // this += alpha * o
  Tensor& mul_(Scalar s);

  TensorImpl& impl() const;
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  void check_dtype_(DType want) const;
  std::shared_ptr<TensorImpl> impl_;
};

// ---- creation (core/) ----
Tensor zeros(const Shape& shape, DType dtype = f32);
Tensor ones(const Shape& shape, DType dtype = f32);
Tensor full(const Shape& shape, Scalar value, DType dtype = f32);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor scalar_tensor(Scalar value, DType dtype = f32);  // 0-d
Tensor arange(double start, double stop, double step = 1, DType dtype = f32);
Tensor arange(int64_t n, DType dtype = i64);
Tensor linspace(double start, double stop, int64_t num, DType dtype = f32);
Tensor eye(int64_t n, std::optional<int64_t> m = std::nullopt, DType dtype = f32);
// From values in row-major order; throws ShapeError if the count does not match the shape.
Tensor from_vector(const std::vector<double>& values, const Shape& shape, DType dtype = f32);
Tensor from_vector(const std::vector<float>& values, const Shape& shape);
Tensor from_vector(const std::vector<int64_t>& values, const Shape& shape, DType dtype = i64);
Tensor from_vector(const std::vector<int32_t>& values, const Shape& shape);
Tensor from_vector(const std::vector<uint8_t>& values, const Shape& shape);

// Random tensors, options filled by name: rand({2, 3}, {.low = -1, .high = 1, .generator = &gen}).
// A null `generator` means default_generator(). rand/randn/truncated_normal need a floating dtype
// (DTypeError otherwise).
struct RandOptions {
  double low = 0, high = 1;  // uniform on [low, high); ValueError unless low <= high
  DType dtype = f32;
  Generator* generator = nullptr;
};
struct RandnOptions {
  double mean = 0, stddev = 1;
  DType dtype = f32;
  Generator* generator = nullptr;
};
struct BernoulliOptions {
  DType dtype = f32;  // 1 with probability p, else 0 (true/false for bool)
  Generator* generator = nullptr;
};
Tensor randn(const Shape& shape, RandnOptions opt = {});
Tensor rand(const Shape& shape, RandOptions opt = {});
// Normal redrawn until within 2 standard deviations (TensorFlow's truncated_normal).
Tensor truncated_normal(const Shape& shape, RandnOptions opt = {});
Tensor bernoulli(const Shape& shape, double p, BernoulliOptions opt = {});
Tensor randperm(int64_t n, Generator* gen = nullptr);  // i64

std::ostream& operator<<(std::ostream& os, const Tensor& t);

}  // namespace ember
