#include "op_support.hpp"

#include "ember/ops/elementwise.hpp"
#include "ember/ops/shape.hpp"

namespace ember::ops_detail {

namespace {
std::string suffix(const std::string& ctx) { return ctx.empty() ? std::string() : ": " + ctx; }
}  // namespace

std::string describe(const Tensor& t) {
  if (!t.defined()) return "undefined";
  return std::string(dtype_name(t.dtype())) + " " + to_string(t.shape());
}

void require_defined(const char* op, const Tensor& t, const char* what) {
  if (!t.defined()) throw ValueError(std::string(op) + ": the " + what + " tensor is undefined");
}

void require_floating(const char* op, const Tensor& t, const char* what, const std::string& ctx) {
  if (is_floating(t.dtype())) return;
  const std::string subject = what ? std::string(what) + " must be float32 or float64" : "expected float32 or float64";
  throw DTypeError(std::string(op) + ": " + subject + ", got " + describe(t) + suffix(ctx));
}

void require_same_dtype(const char* op, const Tensor& a, const char* a_name, const Tensor& b, const char* b_name,
                        const std::string& ctx) {
  if (a.dtype() == b.dtype()) return;
  throw DTypeError(std::string(op) + ": " + a_name + " is " + std::string(dtype_name(a.dtype())) + " but " + b_name +
                   " is " + std::string(dtype_name(b.dtype())) + " (they must match)" + suffix(ctx));
}

Tensor dense(const Tensor& t, DType dt) {
  Tensor d = t.dtype() == dt ? t.detach() : cast(t.detach(), dt);
  return contiguous(d);
}

void copy_into(const Tensor& src, const Tensor& dst) {
  if (src.shape() != dst.shape()) {
    throw ShapeError("copy: source shape " + to_string(src.shape()) + " differs from destination " +
                     to_string(dst.shape()));
  }
  kernels::cpu::copy_cast(dst.shape(), src.dtype(), src.raw_data(), src.strides(), dst.dtype(), dst.raw_data(),
                          dst.strides());
}

Tensor reduce_keepdims(const Tensor& x, const Shape& keepdims_shape, kernels::cpu::ReduceKind kind) {
  Tensor out = Tensor::empty(keepdims_shape, kernels::cpu::reduce_dtype(x.dtype(), kind));
  kernels::cpu::reduce(x.shape(), x.dtype(), x.raw_data(), x.strides(), keepdims_shape, kind, out.raw_data());
  return out;
}

Tensor arg_reduce_keepdims(const Tensor& x, int axis, bool is_max) {
  Shape out_shape = x.shape();
  out_shape[axis] = 1;
  Tensor out = Tensor::empty(out_shape, i64);
  kernels::cpu::arg_reduce(x.shape(), x.dtype(), x.raw_data(), x.strides(), axis, is_max, out.data<int64_t>());
  return out;
}

std::optional<Tensor> unary_math_fast(kernels::cpu::UnaryMath op, const Tensor& x, float alpha) {
  if (x.dtype() != f32 || !x.is_contiguous()) return std::nullopt;
  Tensor out = Tensor::empty(x.shape(), f32);
  kernels::cpu::unary_math_f32(op, x.data<float>(), out.data<float>(), x.numel(), alpha);
  return out;
}

Tensor read_indices(const Tensor& indices) {
  if (is_floating(indices.dtype()) || indices.dtype() == DType::b8) {
    throw DTypeError("indices must have an integer dtype, got " + describe(indices));
  }
  Tensor out = Tensor::empty(indices.shape(), DType::i64);
  kernels::cpu::copy_cast(indices.shape(), indices.dtype(), indices.raw_data(), indices.strides(), DType::i64,
                          out.raw_data(), out.strides());
  return out;
}

}  // namespace ember::ops_detail
