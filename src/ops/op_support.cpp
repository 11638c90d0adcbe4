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

kernels::cpu::BiasAct kernel_act(FusedActivation act) {
  return act == FusedActivation::ReLU ? kernels::cpu::BiasAct::ReLU : kernels::cpu::BiasAct::None;
}

void check_fused_bias(const char* op, const Tensor& bias, int64_t channels, const Tensor& like, const std::string& ctx) {
  if (!bias.defined()) return;
  if (bias.dim() != 1 || bias.size(0) != channels) {
    throw ShapeError(std::string(op) + ": bias must be 1-D with " + std::to_string(channels) + " elements, got " +
                     to_string(bias.shape()) + ": " + ctx);
  }
  require_same_dtype(op, like, "x", bias, "the bias", ctx);
}

void bias_act_in_place(const Tensor& y, const Tensor& bias, FusedActivation act) {
  const int64_t cols = y.size(-1), rows = cols == 0 ? 0 : y.numel() / cols;
  visit_floating(y.dtype(), "bias_act", [&]<typename T>() {
    kernels::cpu::bias_act_forward<T>(rows, cols, y.data<T>(), bias.defined() ? bias.data<T>() : nullptr,
                                      kernel_act(act));
  });
}

BiasActGrads bias_act_grads(const Tensor& gy, const Tensor& y, DType dt, FusedActivation act, bool want_db) {
  Tensor g = dense(gy, dt);
  const int64_t cols = g.size(-1), rows = cols == 0 ? 0 : g.numel() / cols;
  BiasActGrads out;
  out.dpre = act == FusedActivation::None ? g : Tensor::empty(g.shape(), dt);
  if (want_db) out.db = Tensor::empty({cols}, dt);
  visit_floating(dt, "bias_act", [&]<typename T>() {
    kernels::cpu::bias_act_backward<T>(rows, cols, g.data<T>(), act == FusedActivation::None ? nullptr : y.data<T>(),
                                       kernel_act(act), out.dpre.data<T>(),
                                       want_db ? out.db.data<T>() : nullptr);
  });
  return out;
}

}  // namespace ember::ops_detail
