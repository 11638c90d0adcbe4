// Tensor member functions: thin sugar over the free functions of ops/.
#include "ember/autograd/autograd.hpp"
#include "ember/kernels/cpu/loops.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/linalg.hpp"
#include "ember/ops/reduce.hpp"
#include "ember/ops/shape.hpp"
#include "op_support.hpp"

namespace ember {

using namespace ops_detail;

Tensor Tensor::reshape(const Shape& s) const { return ember::reshape(*this, s); }
Tensor Tensor::flatten(int64_t a, int64_t b) const { return ember::flatten(*this, a, b); }
Tensor Tensor::transpose(int64_t a, int64_t b) const { return ember::transpose(*this, a, b); }
Tensor Tensor::t() const {
  if (dim() != 2) throw ShapeError("t: expected a 2-D tensor, got shape " + ember::to_string(shape()));
  return ember::transpose(*this, 0, 1);
}
Tensor Tensor::permute(const Axes& axes) const { return ember::permute(*this, axes); }
Tensor Tensor::slice(int64_t axis, int64_t start, int64_t stop, int64_t step) const {
  return ember::slice(*this, axis, start, stop, step);
}
Tensor Tensor::expand(const Shape& s) const { return ember::expand(*this, s); }
Tensor Tensor::squeeze(std::optional<int64_t> axis) const { return ember::squeeze(*this, axis); }
Tensor Tensor::unsqueeze(int64_t axis) const { return ember::unsqueeze(*this, axis); }
Tensor Tensor::contiguous() const { return ember::contiguous(*this); }
Tensor Tensor::clone() const { return ember::clone(*this); }
Tensor Tensor::to(DType dt) const { return dt == dtype() ? *this : ember::cast(*this, dt); }

Tensor Tensor::add(const Tensor& o) const { return ember::add(*this, o); }
Tensor Tensor::add(Scalar s) const { return *this + s; }
Tensor Tensor::sub(const Tensor& o) const { return ember::sub(*this, o); }
Tensor Tensor::sub(Scalar s) const { return *this - s; }
Tensor Tensor::mul(const Tensor& o) const { return ember::mul(*this, o); }
Tensor Tensor::mul(Scalar s) const { return *this * s; }
Tensor Tensor::div(const Tensor& o) const { return ember::div(*this, o); }
Tensor Tensor::div(Scalar s) const { return *this / s; }
Tensor Tensor::pow(Scalar e) const { return ember::pow(*this, e); }
Tensor Tensor::neg() const { return ember::neg(*this); }
Tensor Tensor::exp() const { return ember::exp(*this); }
Tensor Tensor::log() const { return ember::log(*this); }
Tensor Tensor::sqrt() const { return ember::sqrt(*this); }
Tensor Tensor::abs() const { return ember::abs(*this); }
Tensor Tensor::square() const { return ember::square(*this); }
Tensor Tensor::matmul(const Tensor& o) const { return ember::matmul(*this, o); }
Tensor Tensor::sum(const Axes& a, bool k) const { return ember::sum(*this, a, k); }
Tensor Tensor::mean(const Axes& a, bool k) const { return ember::mean(*this, a, k); }
Tensor Tensor::max(const Axes& a, bool k) const { return ember::max(*this, a, k); }
Tensor Tensor::min(const Axes& a, bool k) const { return ember::min(*this, a, k); }
Tensor Tensor::argmax(int64_t axis, bool k) const { return ember::argmax(*this, axis, k); }

namespace {
void check_inplace(const Tensor& t, const char* what) {
  if (autograd::grad_enabled() && t.requires_grad()) {
    throw ValueError(std::string(what) +
                     ": in-place update of a tensor that requires grad while grad mode is on; wrap it in NoGradGuard");
  }
}
}  // namespace

Tensor& Tensor::copy_(const Tensor& src) {
  check_inplace(*this, "copy_");
  copy_into(ember::expand(src.detach(), shape()), *this);
  return *this;
}

Tensor& Tensor::fill_(Scalar value) {
  check_inplace(*this, "fill_");
  copy_into(ember::expand(scalar_tensor(value, dtype()), shape()), *this);
  return *this;
}

Tensor& Tensor::add_(const Tensor& o, Scalar alpha) {
  check_inplace(*this, "add_");
  Tensor other = ember::expand(o.detach(), shape());
  visit_dtype(dtype(), [&]<typename T>() {
    T a = alpha.to<T>();
    Tensor src = other.dtype() == dtype() ? other : ember::cast(other, dtype());
    kernels::cpu::map_binary<T, T, T>(shape(), strided_in<T>(*this), strided_in<T>(src), strided_out<T>(*this), [a](T x, T y) { return static_cast<T>(x + a * y); });
  });
  return *this;
}

Tensor& Tensor::mul_(Scalar s) {
  check_inplace(*this, "mul_");
  visit_dtype(dtype(), [&]<typename T>() {
    T v = s.to<T>();
    kernels::cpu::map_unary<T, T>(shape(), strided_in<T>(*this), strided_out<T>(*this), [v](T x) { return static_cast<T>(x * v); });
  });
  return *this;
}

}  // namespace ember
