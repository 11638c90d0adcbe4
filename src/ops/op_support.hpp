#pragma once
// Argument checks and small conversions shared by the ops in src/ops (internal to the ops layer, not
// installed). One wording for every op:
//   require_defined("conv2d", x, "input")       -> ValueError "conv2d: the input tensor is undefined"
//   require_floating("relu", x)                 -> DTypeError "relu: expected float32 or float64, got int64 [2,3]"
//   require_same_dtype("conv2d", x, "x", w, "the filter", ctx)
//                                               -> DTypeError "conv2d: x is float32 but the filter is float64
//                                                  (they must match): <ctx>"
// where `ctx` (optional) names the operands' shapes, appended after ": ".
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "ember/core/tensor.hpp"
#include "ember/ops/fused.hpp"
#include "ember/kernels/cpu/bias_act.hpp"
#include "ember/kernels/cpu/loops.hpp"
#include "ember/kernels/cpu/unary_math.hpp"

namespace ember::ops_detail {

// "float32 [2,3]"; "undefined" for an undefined tensor.
std::string describe(const Tensor& t);

void require_defined(const char* op, const Tensor& t, const char* what = "input");
void require_floating(const char* op, const Tensor& t, const char* what = nullptr, const std::string& ctx = {});
void require_same_dtype(const char* op, const Tensor& a, const char* a_name, const Tensor& b, const char* b_name,
                        const std::string& ctx = {});

// A detached, dense row-major tensor of dtype `dt`: t itself when it already is one, else a copy
// (gradients normally arrive in the output's dtype already, so this is usually free).
Tensor dense(const Tensor& t, DType dt);

// ---- tensors handed to the kernels (which take raw pointers + geometry: kernels/cpu/kernels.hpp) ----

// t as an operand of the strided loops (kernels/cpu/loops.hpp); T must be t's element type.
template <typename T>
kernels::cpu::StridedPtr<const T> strided_in(const Tensor& t) {
  return {t.data<T>(), &t.strides()};
}
template <typename T>
kernels::cpu::StridedPtr<T> strided_out(const Tensor& t) {
  return {t.data<T>(), &t.strides()};
}

// dst = src, converting to dst's dtype; src has dst's shape (expand it first to broadcast), any strides.
// ShapeError naming both shapes otherwise.
void copy_into(const Tensor& src, const Tensor& dst);

// kernels::cpu::reduce into a new dense tensor of keepdims_shape (dtype: kernels::cpu::reduce_dtype).
Tensor reduce_keepdims(const Tensor& x, const Shape& keepdims_shape, kernels::cpu::ReduceKind kind);
// kernels::cpu::arg_reduce into a new int64 tensor of x's shape with `axis` of size 1.
Tensor arg_reduce_keepdims(const Tensor& x, int axis, bool is_max);

// op(x) in a new tensor through the vectorised float32 kernel when x is dense float32 — the one place
// the ops decide to take that fast path; nullopt for any other x (the caller's reference loop then
// handles float64 and strided tensors).
std::optional<Tensor> unary_math_fast(kernels::cpu::UnaryMath op, const Tensor& x, float alpha = 1.0f);

// The values of an integer tensor as a fresh contiguous int64 tensor of its shape (the caller may
// change them). DTypeError for floating or bool indices.
Tensor read_indices(const Tensor& indices);

// The same checks with the context given as a callable returning it (`[&] { return "x " + ...; }`):
// it is only called to word an error, so an op's success path builds no string (ops run every step).
template <typename Ctx>
concept ContextFn = std::is_invocable_r_v<std::string, Ctx&>;
// The text of a context given either way.
inline const std::string& context_text(const std::string& ctx) { return ctx; }
template <ContextFn Ctx>
std::string context_text(const Ctx& ctx) {
  return ctx();
}
template <ContextFn Ctx>
void require_floating(const char* op, const Tensor& t, const char* what, Ctx&& ctx) {
  if (!is_floating(t.dtype())) require_floating(op, t, what, ctx());
}
template <ContextFn Ctx>
void require_same_dtype(const char* op, const Tensor& a, const char* a_name, const Tensor& b, const char* b_name,
                        Ctx&& ctx) {
  if (a.dtype() != b.dtype()) require_same_dtype(op, a, a_name, b, b_name, ctx());
}

// Runs make_geometry() (a kernel geometry builder, whose errors state plain facts without naming an
// op) and rethrows its ShapeError / ValueError as "<op>: <fact>: <ctx>", keeping the type. `ctx` is
// a string or a ContextFn.
template <typename F, ContextFn Ctx>
auto with_op_context(const char* op, Ctx&& ctx, F&& make_geometry) {
  try {
    return std::forward<F>(make_geometry)();
  } catch (const ShapeError& e) {
    throw ShapeError(std::string(op) + ": " + e.what() + ": " + ctx());
  } catch (const ValueError& e) {
    throw ValueError(std::string(op) + ": " + e.what() + ": " + ctx());
  }
}
template <typename F>
auto with_op_context(const char* op, const std::string& ctx, F&& make_geometry) {
  auto wrap = [&](const char* what) { return std::string(op) + ": " + what + (ctx.empty() ? "" : ": " + ctx); };
  try {
    return std::forward<F>(make_geometry)();
  } catch (const ShapeError& e) {
    throw ShapeError(wrap(e.what()));
  } catch (const ValueError& e) {
    throw ValueError(wrap(e.what()));
  }
}

// ---- the fused ops' shared pieces (ops/fused.hpp) ----

kernels::cpu::BiasAct kernel_act(FusedActivation act);
// ShapeError / DTypeError unless bias (when defined) is 1-D with `channels` elements of like's dtype.
void check_fused_bias(const char* op, const Tensor& bias, int64_t channels, const Tensor& like, const std::string& ctx);
// The same with the context formatted only on error.
template <ContextFn Ctx>
void check_fused_bias(const char* op, const Tensor& bias, int64_t channels, const Tensor& like, Ctx&& ctx) {
  if (bias.defined() && (bias.dim() != 1 || bias.size(0) != channels || bias.dtype() != like.dtype())) {
    check_fused_bias(op, bias, channels, like, ctx());
  }
}
// y (dense, [rows, cols] in memory) = act(y + bias) in place; bias may be undefined.
void bias_act_in_place(const Tensor& y, const Tensor& bias, FusedActivation act);
// Backward of that epilogue from the output's gradient: dpre = gy * act'(y) as a dense tensor of dtype
// dt (gy itself when there is no activation and gy is already dense), and db (when want_db) its
// column sums [cols]. y — the saved output — is read only for ReLU (undefined otherwise).
struct BiasActGrads {
  Tensor dpre, db;
};
BiasActGrads bias_act_grads(const Tensor& gy, const Tensor& y, DType dt, FusedActivation act, bool want_db);

}  // namespace ember::ops_detail
