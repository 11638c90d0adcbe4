// Elementwise ops: forward through kernels::cpu::map_*, backward rules recorded beside each.
#include "ember/ops/elementwise.hpp"

#include <cmath>

#include "ember/autograd/autograd.hpp"
#include "ember/kernels/cpu/loops.hpp"
#include "ember/kernels/cpu/unary_math.hpp"
#include "ember/ops/reduce.hpp"
#include "ember/ops/shape.hpp"
#include "op_support.hpp"

namespace ember {

using autograd::record;
using autograd::saved;
using autograd::Gradients;
namespace kc = kernels::cpu;
using namespace ops_detail;

namespace {

Tensor as_dtype(const Tensor& x, DType dt) { return x.dtype() == dt ? x : cast(x, dt); }

// Broadcasts both operands to a common shape (as stride-0 views) and allocates the output.
struct Broadcast {
  Tensor a, b, out;
};
Broadcast broadcast_pair(const char* name, const Tensor& a, const Tensor& b, DType compute, DType out_dtype) {
  Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor ea = as_dtype(a, compute), eb = as_dtype(b, compute);
  auto view = [&](const Tensor& t) {
    if (t.shape() == shape) return t;
    Strides st(shape.size(), 0);
    std::size_t off = shape.size() - t.shape().size();
    for (std::size_t i = 0; i < t.shape().size(); ++i) st[off + i] = t.shape()[i] == 1 ? 0 : t.strides()[i];
    return t.as_strided(shape, st, t.offset());
  };
  return {view(ea), view(eb), Tensor::empty(shape, out_dtype)};
}

// Runs f on every dtype (arithmetic).
template <typename F>
Tensor arith(const char* name, const Tensor& a, const Tensor& b, F f) {
  DType dt = promote_types(a.dtype(), b.dtype());
  auto bc = broadcast_pair(name, a, b, dt, dt);
  visit_dtype(dt, [&]<typename T>() {
    kc::map_binary<T, T, T>(bc.out.shape(), strided_in<T>(bc.a), strided_in<T>(bc.b), strided_out<T>(bc.out), [f](T x, T y) { return static_cast<T>(f(x, y)); });
  });
  return bc.out;
}

// Runs f on floating types only (integers computed in float32).
template <typename F>
Tensor arith_float(const char* name, const Tensor& a, const Tensor& b, F f) {
  DType dt = promote_types(a.dtype(), b.dtype());
  if (!is_floating(dt)) dt = f32;
  auto bc = broadcast_pair(name, a, b, dt, dt);
  visit_floating(dt, name, [&]<typename T>() {
    kc::map_binary<T, T, T>(bc.out.shape(), strided_in<T>(bc.a), strided_in<T>(bc.b), strided_out<T>(bc.out), [f](T x, T y) { return static_cast<T>(f(x, y)); });
  });
  return bc.out;
}

template <typename F>
Tensor compare(const char* name, const Tensor& a, const Tensor& b, F f) {
  DType dt = promote_types(a.dtype(), b.dtype());
  auto bc = broadcast_pair(name, a, b, dt, DType::b8);
  visit_dtype(dt, [&]<typename T>() {
    kc::map_binary<bool, T, T>(bc.out.shape(), strided_in<T>(bc.a), strided_in<T>(bc.b), strided_out<bool>(bc.out), [f](T x, T y) { return static_cast<bool>(f(x, y)); });
  });
  return bc.out;
}

template <typename F>
Tensor unary_float(const char* name, const Tensor& x, F f) {
  Tensor in = is_floating(x.dtype()) ? x : cast(x, f32);
  Tensor out = Tensor::empty(in.shape(), in.dtype());
  visit_floating(in.dtype(), name, [&]<typename T>() { kc::map_unary<T, T>(out.shape(), strided_in<T>(in), strided_out<T>(out), [f](T v) { return static_cast<T>(f(v)); }); });
  return out;
}

// The same through the vectorised float32 kernel when x is dense float32; f stays the reference for
// float64 and strided inputs.
template <typename F>
Tensor unary_float_fast(const char* name, const Tensor& x, kc::UnaryMath op, F f) {
  if (std::optional<Tensor> y = unary_math_fast(op, x)) return *std::move(y);
  return unary_float(name, x, f);
}

template <typename F>
Tensor unary_any(const Tensor& x, F f) {
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  visit_dtype(x.dtype(), [&]<typename T>() { kc::map_unary<T, T>(out.shape(), strided_in<T>(x), strided_out<T>(out), [f](T v) { return static_cast<T>(f(v)); }); });
  return out;
}

}  // namespace

Tensor scalar_like(Scalar s, const Tensor& like) {
  DType dt = like.dtype();
  if (s.is_floating() && !is_floating(dt)) dt = f32;
  if (!s.is_floating() && !s.is_bool() && dt == DType::b8) dt = DType::i64;
  return scalar_tensor(s, dt);
}

// ------------------------------------------------------------------ arithmetic

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = arith("add", a, b, [](auto x, auto y) { return x + y; });
  return record("add", {a, b}, out, [] {
    return [](const Tensor& g) { return Gradients{g, g}; };
  });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = arith("sub", a, b, [](auto x, auto y) { return x - y; });
  return record("sub", {a, b}, out, [] {
    return [](const Tensor& g) { return Gradients{g, neg(g)}; };
  });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = arith("mul", a, b, [](auto x, auto y) { return x * y; });
  return record("mul", {a, b}, out, [&] {
    return [sa = saved(a), sb = saved(b)](const Tensor& g) { return Gradients{g * sb, g * sa}; };
  });
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = arith_float("div", a, b, [](auto x, auto y) { return x / y; });
  return record("div", {a, b}, out, [&] {
    return [sa = saved(a), sb = saved(b)](const Tensor& g) {
      return Gradients{g / sb, neg(g * sa / square(sb))};
    };
  });
}

Tensor pow(const Tensor& a, const Tensor& b) {
  Tensor out = arith_float("pow", a, b, [](auto x, auto y) { return std::pow(x, y); });
  return record("pow", {a, b}, out, [&] {
    return [sa = saved(a), sb = saved(b), so = saved(out)](const Tensor& g) {
      Tensor da = g * sb * pow(sa, sb - 1);
      // d/db a^b = a^b log a, taken as 0 where a == 0 (the limit used by PyTorch).
      Tensor db = g * so * log(where(equal(sa, scalar_like(0, sa)), ones_like(sa), sa));
      return Gradients{da, db};
    };
  });
}

Tensor pow(const Tensor& a, Scalar exponent) {
  double e = exponent.to_double();
  Tensor out = unary_float("pow", a, [e](auto x) { return std::pow(x, e); });
  return record("pow", {a}, out, [&] {
    return [sa = saved(a), e](const Tensor& g) { return Gradients{g * e * pow(sa, e - 1)}; };
  });
}

Tensor maximum(const Tensor& a, const Tensor& b) {
  Tensor out = arith("maximum", a, b, [](auto x, auto y) { return x < y ? y : x; });
  return record("maximum", {a, b}, out, [&] {
    return [sa = saved(a), sb = saved(b)](const Tensor& g) {
      Tensor mask = greater_equal(sa, sb);
      Tensor zero = zeros({}, g.dtype());
      return Gradients{where(mask, g, zero), where(mask, zero, g)};
    };
  });
}

Tensor minimum(const Tensor& a, const Tensor& b) {
  Tensor out = arith("minimum", a, b, [](auto x, auto y) { return y < x ? y : x; });
  return record("minimum", {a, b}, out, [&] {
    return [sa = saved(a), sb = saved(b)](const Tensor& g) {
      Tensor mask = less_equal(sa, sb);
      Tensor zero = zeros({}, g.dtype());
      return Gradients{where(mask, g, zero), where(mask, zero, g)};
    };
  });
}

// ------------------------------------------------------------------ unary

Tensor neg(const Tensor& x) {
  if (x.dtype() == DType::b8) throw DTypeError("neg: not defined for bool tensors; use logical_not");
  Tensor out = unary_any(x, [](auto v) { return -v; });
  return record("neg", {x}, out, [] { return [](const Tensor& g) { return Gradients{neg(g)}; }; });
}

Tensor exp(const Tensor& x) {
  Tensor out = unary_float_fast("exp", x, kc::UnaryMath::exp, [](auto v) { return std::exp(v); });
  return record("exp", {x}, out, [&] {
    return [so = saved(out)](const Tensor& g) { return Gradients{g * so}; };
  });
}

Tensor log(const Tensor& x) {
  Tensor out = unary_float_fast("log", x, kc::UnaryMath::log, [](auto v) { return std::log(v); });
  return record("log", {x}, out, [&] {
    return [sx = saved(x)](const Tensor& g) { return Gradients{g / sx}; };
  });
}

Tensor sqrt(const Tensor& x) {
  Tensor out = unary_float("sqrt", x, [](auto v) { return std::sqrt(v); });
  return record("sqrt", {x}, out, [&] {
    return [so = saved(out)](const Tensor& g) { return Gradients{g / (so * 2)}; };
  });
}

Tensor rsqrt(const Tensor& x) {
  Tensor out = unary_float("rsqrt", x, [](auto v) { return decltype(v)(1) / std::sqrt(v); });
  return record("rsqrt", {x}, out, [&] {
    return [so = saved(out)](const Tensor& g) { return Gradients{g * pow(so, 3) * -0.5}; };
  });
}

Tensor abs(const Tensor& x) {
  Tensor out = unary_any(x, [](auto v) {
    using T = decltype(v);
    if constexpr (std::is_unsigned_v<T> || std::is_same_v<T, bool>) return v;
    else return v < T(0) ? T(-v) : v;
  });
  return record("abs", {x}, out, [&] {
    return [sx = saved(x)](const Tensor& g) { return Gradients{g * sign(sx)}; };
  });
}

Tensor sign(const Tensor& x) {
  return unary_any(x, [](auto v) {
    using T = decltype(v);
    if constexpr (std::is_same_v<T, bool>) return v;
    else return static_cast<T>((T(0) < v) - (v < T(0)));
  });
}

Tensor square(const Tensor& x) {
  Tensor out = unary_any(x, [](auto v) { return v * v; });
  return record("square", {x}, out, [&] {
    return [sx = saved(x)](const Tensor& g) { return Gradients{g * sx * 2}; };
  });
}

Tensor clip(const Tensor& x, Scalar low, Scalar high) {
  if (low.to_double() > high.to_double()) {
    throw ValueError("clip: low (" + std::to_string(low.to_double()) + ") is greater than high (" +
                     std::to_string(high.to_double()) + ")");
  }
  Tensor lo = scalar_like(low, x), hi = scalar_like(high, x);
  Tensor out = minimum(maximum(x.detach(), lo), hi);
  return record("clip", {x}, out, [&] {
    return [sx = saved(x), lo, hi](const Tensor& g) {
      Tensor inside = logical_and(greater_equal(sx, lo), less_equal(sx, hi));
      return Gradients{where(inside, g, zeros({}, g.dtype()))};
    };
  });
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  Tensor c = as_dtype(cond, DType::b8);
  DType dt = promote_types(a.dtype(), b.dtype());
  Shape shape = broadcast_shapes(broadcast_shapes(c.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor ec = expand(c.detach(), shape), ea = expand(as_dtype(a, dt).detach(), shape),
         eb = expand(as_dtype(b, dt).detach(), shape);
  Tensor out = Tensor::empty(shape, dt);
  visit_dtype(dt, [&]<typename T>() {
    kc::map_ternary<T, bool, T, T>(out.shape(), strided_in<bool>(ec), strided_in<T>(ea), strided_in<T>(eb), strided_out<T>(out), [](bool k, T x, T y) { return k ? x : y; });
  });
  return record("where", {cond, a, b}, out, [&] {
    return [sc = saved(c)](const Tensor& g) {
      Tensor zero = zeros({}, g.dtype());
      return Gradients{Tensor(), where(sc, g, zero), where(sc, zero, g)};
    };
  });
}

// ------------------------------------------------------------------ comparisons and logic

Tensor equal(const Tensor& a, const Tensor& b) { return compare("equal", a, b, [](auto x, auto y) { return x == y; }); }
Tensor not_equal(const Tensor& a, const Tensor& b) { return compare("not_equal", a, b, [](auto x, auto y) { return x != y; }); }
Tensor less(const Tensor& a, const Tensor& b) { return compare("less", a, b, [](auto x, auto y) { return x < y; }); }
Tensor less_equal(const Tensor& a, const Tensor& b) { return compare("less_equal", a, b, [](auto x, auto y) { return x <= y; }); }
Tensor greater(const Tensor& a, const Tensor& b) { return compare("greater", a, b, [](auto x, auto y) { return x > y; }); }
Tensor greater_equal(const Tensor& a, const Tensor& b) { return compare("greater_equal", a, b, [](auto x, auto y) { return x >= y; }); }

Tensor logical_and(const Tensor& a, const Tensor& b) {
  return compare("logical_and", as_dtype(a, DType::b8), as_dtype(b, DType::b8), [](auto x, auto y) { return x && y; });
}
Tensor logical_or(const Tensor& a, const Tensor& b) {
  return compare("logical_or", as_dtype(a, DType::b8), as_dtype(b, DType::b8), [](auto x, auto y) { return x || y; });
}
Tensor logical_not(const Tensor& x) { return unary_any(as_dtype(x, DType::b8), [](auto v) { return !v; }); }

Tensor cast(const Tensor& x, DType dtype) {
  Tensor out = Tensor::empty(x.shape(), dtype);
  copy_into(x, out);
  if (!is_floating(dtype)) return out;
  return record("cast", {x}, out, [] {
    // The engine casts the gradient back to the input's dtype.
    return [](const Tensor& g) { return Gradients{g}; };
  });
}

// ------------------------------------------------------------------ operators

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& x) { return neg(x); }
Tensor operator+(const Tensor& a, Scalar b) { return add(a, scalar_like(b, a)); }
Tensor operator-(const Tensor& a, Scalar b) { return sub(a, scalar_like(b, a)); }
Tensor operator*(const Tensor& a, Scalar b) { return mul(a, scalar_like(b, a)); }
Tensor operator/(const Tensor& a, Scalar b) { return div(a, scalar_like(b, a)); }
Tensor operator+(Scalar a, const Tensor& b) { return add(scalar_like(a, b), b); }
Tensor operator-(Scalar a, const Tensor& b) { return sub(scalar_like(a, b), b); }
Tensor operator*(Scalar a, const Tensor& b) { return mul(scalar_like(a, b), b); }
Tensor operator/(Scalar a, const Tensor& b) { return div(scalar_like(a, b), b); }

}  // namespace ember
