// Activations: forward is one map_unary, backward one map_binary on (grad, saved output or input),
// so each direction is a single vectorised pass over memory.
#include "ember/ops/activation.hpp"

#include <cmath>
#include <string>

#include "ember/autograd/autograd.hpp"
#include "ember/kernels/cpu/loops.hpp"
#include "ember/kernels/cpu/unary_math.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/shape.hpp"
#include "op_support.hpp"

namespace ember {

using autograd::record;
using autograd::saved;
using autograd::Gradients;
namespace kc = kernels::cpu;
using namespace ops_detail;

namespace {

void check_floating(const char* name, const Tensor& x) {
  require_defined(name, x);
  require_floating(name, x);
}

// out = f(x), f called as f(T) for T = float or double.
template <typename F>
Tensor map1(const char* name, const Tensor& x, F f) {
  check_floating(name, x);
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  visit_floating(x.dtype(), name, [&]<typename T>() { kc::map_unary<T, T>(out.shape(), strided_in<T>(x), strided_out<T>(out), [f](T v) { return f(v); }); });
  return out;
}

// The same through the vectorised float32 kernel when x is dense float32 (the common case); f stays
// the reference for float64 and strided inputs.
template <typename F>
Tensor map1_fast(const char* name, const Tensor& x, kc::UnaryMath op, F f, float alpha = 1.0f) {
  check_floating(name, x);
  if (std::optional<Tensor> y = unary_math_fast(op, x, alpha)) return *std::move(y);
  return map1(name, x, f);
}

// dx = f(g, s) elementwise, where s is the saved tensor (input or output) the rule reads.
template <typename F>
Tensor map_grad(const char* name, const Tensor& g_in, const Tensor& s, F f) {
  Tensor g = g_in.dtype() == s.dtype() ? g_in : cast(g_in, s.dtype());
  if (g.shape() != s.shape()) g = expand(g, s.shape());
  Tensor dx = Tensor::empty(s.shape(), s.dtype());
  visit_floating(s.dtype(), name, [&]<typename T>() { kc::map_binary<T, T, T>(dx.shape(), strided_in<T>(g), strided_in<T>(s), strided_out<T>(dx), [f](T a, T b) { return f(a, b); }); });
  return dx;
}

// Stable logistic function: exp of a non-positive number only, so nothing overflows, and for v < 0
// e/(1+e) rather than 1 - 1/(1+e), which would lose the small result's relative precision. Written
// as a select, not a branch, so the loop vectorises.
template <typename T>
inline T stable_sigmoid(T v) {
  const T e = std::exp(-std::abs(v));
  const T r = T(1) / (T(1) + e);
  return v >= T(0) ? r : e * r;
}

}  // namespace

Tensor relu(const Tensor& x) {
  Tensor y = map1("relu", x, []<typename T>(T v) { return v > T(0) ? v : T(0); });
  return record("relu", {x}, y, [&] {
    return [sy = saved(y)](const Tensor& g) {
      // y > 0 exactly where x > 0.
      return Gradients{map_grad("relu", g, sy, []<typename T>(T gv, T yv) { return yv > T(0) ? gv : T(0); })};
    };
  });
}

Tensor leaky_relu(const Tensor& x, double alpha) {
  Tensor y = map1("leaky_relu", x, [alpha]<typename T>(T v) { return v > T(0) ? v : static_cast<T>(alpha) * v; });
  // Read from x, not y: for alpha <= 0 the sign of y does not tell the branch.
  return record("leaky_relu", {x}, y, [&] {
    return [sx = saved(x), alpha](const Tensor& g) {
      return Gradients{
          map_grad("leaky_relu", g, sx, [alpha]<typename T>(T gv, T xv) { return xv > T(0) ? gv : static_cast<T>(alpha) * gv; })};
    };
  });
}

Tensor elu(const Tensor& x, double alpha) {
  Tensor y = map1_fast("elu", x, kc::UnaryMath::elu,
                       [alpha]<typename T>(T v) { return v > T(0) ? v : static_cast<T>(alpha) * std::expm1(v); },
                       static_cast<float>(alpha));
  if (alpha > 0) {
    // For alpha > 0, y > 0 exactly where x > 0 and dy/dx = y + alpha elsewhere (TensorFlow's EluGrad).
    return record("elu", {x}, y, [&] {
      return [sy = saved(y), alpha](const Tensor& g) {
        return Gradients{map_grad("elu", g, sy, [alpha]<typename T>(T gv, T yv) {
          return yv > T(0) ? gv : gv * (yv + static_cast<T>(alpha));
        })};
      };
    });
  }
  return record("elu", {x}, y, [&] {
    return [sx = saved(x), alpha](const Tensor& g) {
      return Gradients{map_grad("elu", g, sx, [alpha]<typename T>(T gv, T xv) {
        return xv > T(0) ? gv : gv * static_cast<T>(alpha) * std::exp(xv);
      })};
    };
  });
}

Tensor sigmoid(const Tensor& x) {
  Tensor y = map1_fast("sigmoid", x, kc::UnaryMath::sigmoid, []<typename T>(T v) { return stable_sigmoid(v); });
  return record("sigmoid", {x}, y, [&] {
    return [sy = saved(y)](const Tensor& g) {
      return Gradients{map_grad("sigmoid", g, sy, []<typename T>(T gv, T yv) { return gv * yv * (T(1) - yv); })};
    };
  });
}

Tensor tanh(const Tensor& x) {
  Tensor y = map1_fast("tanh", x, kc::UnaryMath::tanh, []<typename T>(T v) { return std::tanh(v); });
  return record("tanh", {x}, y, [&] {
    return [sy = saved(y)](const Tensor& g) {
      return Gradients{map_grad("tanh", g, sy, []<typename T>(T gv, T yv) { return gv * (T(1) - yv * yv); })};
    };
  });
}

Tensor softplus(const Tensor& x) {
  Tensor y = map1_fast("softplus", x, kc::UnaryMath::softplus, []<typename T>(T v) {
    return std::log1p(std::exp(-std::abs(v))) + (v > T(0) ? v : T(0));
  });
  return record("softplus", {x}, y, [&] {
    return [sx = saved(x)](const Tensor& g) {
      return Gradients{map_grad("softplus", g, sx, []<typename T>(T gv, T xv) { return gv * stable_sigmoid(xv); })};
    };
  });
}

Tensor hard_sigmoid(const Tensor& x) {
  Tensor y = map1("hard_sigmoid", x, []<typename T>(T v) {
    const T s = static_cast<T>(0.2) * v + static_cast<T>(0.5);
    return s < T(0) ? T(0) : (s > T(1) ? T(1) : s);
  });
  return record("hard_sigmoid", {x}, y, [&] {
    return [sy = saved(y)](const Tensor& g) {
      // 0 < y < 1 exactly on the linear piece.
      return Gradients{map_grad("hard_sigmoid", g, sy, []<typename T>(T gv, T yv) {
        return (yv > T(0) && yv < T(1)) ? static_cast<T>(0.2) * gv : T(0);
      })};
    };
  });
}

Tensor swish(const Tensor& x) {
  check_floating("swish", x);
  return mul(x, sigmoid(x));
}

Tensor step(const Tensor& x) {
  return map1("step", x, []<typename T>(T v) { return v > T(0) ? T(1) : T(0); });
}

}  // namespace ember
