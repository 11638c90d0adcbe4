// Dropout and batch normalisation: validation, kernel dispatch, backward beside.
#include "ember/ops/normalization.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "ember/autograd/autograd.hpp"
#include "ember/kernels/cpu/batch_norm.hpp"
#include "ember/kernels/cpu/loops.hpp"
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

std::string num(double v) {
  std::string s = std::to_string(v);
  return s;
}

template <typename T>
const T* ptr_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}
template <typename T>
T* mut_ptr_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

}  // namespace

// ------------------------------------------------------------------ dropout

Tensor dropout(const Tensor& x, double rate, bool training, Generator* gen) {
  require_defined("dropout", x);
  if (!(rate >= 0.0 && rate < 1.0)) {
    throw ValueError("dropout: rate must be in [0, 1), got " + num(rate) + ": x " + to_string(x.shape()));
  }
  require_floating("dropout", x);
  if (!training || rate == 0.0) return x;
  const double keep = 1.0 - rate;
  // keep[i] = uniform() < 1 - rate, drawn serially: the mask depends on the seed only.
  Tensor mask = bernoulli(x.shape(), keep, {.dtype = boolean, .generator = gen});
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  visit_floating(x.dtype(), "dropout", [&]<typename T>() {
    const T k = static_cast<T>(keep);
    kc::map_binary<T, T, bool>(y.shape(), strided_in<T>(x), strided_in<bool>(mask), strided_out<T>(y), [k](T v, bool m) { return m ? v / k : T(0); });
  });
  return record("dropout", {x}, y, [&] {
    return [mask, keep](const Tensor& g) {
      Tensor dx = Tensor::empty(g.shape(), g.dtype());
      Tensor m = g.shape() == mask.shape() ? mask : expand(mask, g.shape());
      visit_floating(g.dtype(), "dropout", [&]<typename T>() {
        const T k = static_cast<T>(keep);
        kc::map_binary<T, T, bool>(dx.shape(), strided_in<T>(g), strided_in<bool>(m), strided_out<T>(dx), [k](T v, bool b) { return b ? v / k : T(0); });
      });
      return Gradients{dx};
    };
  });
}

// ------------------------------------------------------------------ batch norm

namespace {

// batch_norm, and with `relu` batch_norm_relu (one node: the ReLU's mask is recomputed from x in the
// backward, not stored). `op` names the op in errors and in the graph.
Tensor batch_norm_impl(const char* op, const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& moving_mean,
                       const Tensor& moving_var, bool training, BatchNormOptions opt, bool relu) {
  require_defined(op, x);
  std::string ctx = "x " + to_string(x.shape());
  const std::pair<const char*, const Tensor*> params[] = {
      {"gamma", &gamma}, {"beta", &beta}, {"moving_mean", &moving_mean}, {"moving_var", &moving_var}};
  for (const auto& [name, t] : params) {
    if (t->defined()) ctx += std::string(", ") + name + " " + to_string(t->shape());
  }
  if (x.dim() < 2) throw ShapeError(std::string(op) + ": input must be at least 2-D [..., channels], got " + ctx);
  require_floating(op, x, nullptr, ctx);
  const int64_t C = x.size(-1);
  if (C < 1) throw ShapeError(std::string(op) + ": the channel (last) axis is empty: " + ctx);
  const int64_t rows = x.numel() / C;
  for (const auto& [name, t] : params) {
    if (!t->defined()) continue;
    if (t->shape() != Shape{C}) {
      throw ShapeError(std::string(op) + ": " + name + " must have shape [" + std::to_string(C) +
                       "] (the channel count), got " + to_string(t->shape()) + ": " + ctx);
    }
    require_floating(op, *t, name, ctx);
  }
  require_same_dtype(op, gamma.defined() ? gamma : x, "gamma", x, "x", ctx);
  require_same_dtype(op, beta.defined() ? beta : x, "beta", x, "x", ctx);
  if (!(opt.epsilon >= 0.0) || !std::isfinite(opt.epsilon)) {
    throw ValueError(std::string(op) + ": epsilon must be finite and >= 0, got " + num(opt.epsilon));
  }
  if (!(opt.momentum >= 0.0 && opt.momentum <= 1.0)) {
    throw ValueError(std::string(op) + ": momentum must be in [0, 1], got " + num(opt.momentum));
  }

  const DType dt = x.dtype();
  const double eps = opt.epsilon;
  Tensor xc = contiguous(x.detach());
  Tensor gc = gamma.defined() ? dense(gamma, dt) : Tensor();
  Tensor bc = beta.defined() ? dense(beta, dt) : Tensor();
  Tensor y = Tensor::empty(x.shape(), dt);

  if (!training) {
    if (!moving_mean.defined() || !moving_var.defined()) {
      throw ValueError(std::string(op) + ": inference needs moving_mean and moving_var: " + ctx);
    }
    Tensor mean = dense(moving_mean, dt), var = dense(moving_var, dt);
    if (rows > 0) {
      visit_floating(dt, op, [&]<typename T>() {
        (relu ? kc::batch_norm_relu_forward_inference<T> : kc::batch_norm_forward_inference<T>)(
            rows, C, xc.data<T>(), ptr_or_null<T>(gc), ptr_or_null<T>(bc), mean.data<T>(), var.data<T>(), static_cast<T>(eps),
            y.data<T>());
      });
    }
    return record(op, {x, gamma, beta}, y, [&] {
      const bool need_gamma = gamma.defined() && gamma.requires_grad();
      const bool need_beta = beta.defined() && beta.requires_grad();
      // The statistics are constants here, so y is affine in x, gamma and beta (before a ReLU, whose
      // gradient passes where y > 0). The gradients are returned at x's shape; the engine sums those
      // of gamma and beta down to [C].
      return [sx = need_gamma ? saved(xc) : Tensor(), sg = saved(gc), sy = relu ? saved(y) : Tensor(), mean, var, eps,
              need_gamma, need_beta](const Tensor& g_out) {
        const Tensor g = sy.defined() ? where(greater(sy, zeros_like(sy)), g_out, zeros_like(g_out)) : g_out;
        Tensor invstd = rsqrt(var + eps);
        Tensor dx = g * (sg.defined() ? sg * invstd : invstd);
        Tensor dgamma = need_gamma ? g * ((sx - mean) * invstd) : Tensor();
        Tensor dbeta = need_beta ? g : Tensor();
        return Gradients{dx, dgamma, dbeta};
      };
    });
  }

  if (rows < 1) throw ValueError(std::string(op) + ": training needs at least one row per channel: " + ctx);
  Tensor save_mean = Tensor::empty({C}, dt), save_invstd = Tensor::empty({C}, dt);
  // With the ReLU: the scale and shift the forward applied, for the backward's mask.
  Tensor save_scale = relu ? Tensor::empty({C}, dt) : Tensor(), save_shift = relu ? Tensor::empty({C}, dt) : Tensor();
  visit_floating(dt, op, [&]<typename T>() {
    if (relu) {
      kc::batch_norm_relu_forward_training<T>(rows, C, xc.data<T>(), ptr_or_null<T>(gc), ptr_or_null<T>(bc),
                                              static_cast<T>(eps), y.data<T>(), save_mean.data<T>(), save_invstd.data<T>(),
                                              save_scale.data<T>(), save_shift.data<T>());
    } else {
      kc::batch_norm_forward_training<T>(rows, C, xc.data<T>(), ptr_or_null<T>(gc), ptr_or_null<T>(bc), static_cast<T>(eps),
                                         y.data<T>(), save_mean.data<T>(), save_invstd.data<T>());
    }
  });

  if (moving_mean.defined() || moving_var.defined()) {
    autograd::NoGradGuard no_grad;
    // The kernel hands back 1/sqrt(var + eps); the biased variance is recovered in double.
    std::vector<double> mean_d = save_mean.to_vector<double>(), invstd_d = save_invstd.to_vector<double>();
    std::vector<double> var_unbiased(C);
    // TensorFlow's fused kernel: factor rows/(rows-1), taken as 1 for a single row.
    const double correction = static_cast<double>(rows) / static_cast<double>(std::max<int64_t>(rows - 1, 1));
    for (int64_t c = 0; c < C; ++c) {
      const double biased = std::max(1.0 / (invstd_d[c] * invstd_d[c]) - eps, 0.0);
      var_unbiased[c] = biased * correction;
    }
    const double m = opt.momentum;
    if (moving_mean.defined()) {
      Tensor mm = moving_mean;  // a handle to the caller's buffer: updated in place
      mm.mul_(m).add_(from_vector(mean_d, {C}, f64), 1.0 - m);
    }
    if (moving_var.defined()) {
      Tensor mv = moving_var;
      mv.mul_(m).add_(from_vector(var_unbiased, {C}, f64), 1.0 - m);
    }
  }

  return record(op, {x, gamma, beta}, y, [&] {
    const bool need_gamma = gamma.defined() && gamma.requires_grad();
    const bool need_beta = beta.defined() && beta.requires_grad();
    return [op, rows, C, dt, sx = saved(xc), sg = saved(gc), save_mean, save_invstd, save_scale, save_shift, need_gamma,
            need_beta](const Tensor& g) {
      Tensor dy = dense(g, dt);
      Tensor dx = Tensor::empty(sx.shape(), dt);
      Tensor dgamma = need_gamma ? Tensor::empty({C}, dt) : Tensor();
      Tensor dbeta = need_beta ? Tensor::empty({C}, dt) : Tensor();
      visit_floating(dt, op, [&]<typename T>() {
        if (save_scale.defined()) {
          kc::batch_norm_relu_backward<T>(rows, C, sx.data<T>(), dy.data<T>(), ptr_or_null<T>(sg), save_mean.data<T>(),
                                          save_invstd.data<T>(), save_scale.data<T>(), save_shift.data<T>(), dx.data<T>(),
                                          mut_ptr_or_null<T>(dgamma), mut_ptr_or_null<T>(dbeta));
        } else {
          kc::batch_norm_backward<T>(rows, C, sx.data<T>(), dy.data<T>(), ptr_or_null<T>(sg), save_mean.data<T>(),
                                     save_invstd.data<T>(), dx.data<T>(), mut_ptr_or_null<T>(dgamma), mut_ptr_or_null<T>(dbeta));
        }
      });
      return Gradients{dx, dgamma, dbeta};
    };
  });
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& moving_mean,
                  const Tensor& moving_var, bool training, BatchNormOptions opt) {
  return batch_norm_impl("batch_norm", x, gamma, beta, moving_mean, moving_var, training, opt, false);
}

Tensor batch_norm_relu(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& moving_mean,
                       const Tensor& moving_var, bool training, BatchNormOptions opt) {
  return batch_norm_impl("batch_norm_relu", x, gamma, beta, moving_mean, moving_var, training, opt, true);
}

}  // namespace ember
