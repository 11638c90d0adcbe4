// Pooling ops: validation, kernel dispatch (float and double share the templated kernels), backward
// beside. Max pooling keeps the forward argmax indices so backward is a scatter, not a re-search.
#include "ember/ops/pool.hpp"

#include <string>

#include "ember/autograd/autograd.hpp"
#include "ember/kernels/cpu/pool.hpp"
#include "ember/ops/elementwise.hpp"
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

std::string pair_str(const std::array<int64_t, 2>& p) {
  return "[" + std::to_string(p[0]) + "," + std::to_string(p[1]) + "]";
}

void check_input(const char* op, const Tensor& x, int rank, const char* layout) {
  require_defined(op, x, "input");
  if (x.dim() != rank) {
    throw ShapeError(std::string(op) + ": input must be " + std::to_string(rank) + "-D " + layout + ", got rank " +
                     std::to_string(x.dim()) + ": x " + to_string(x.shape()));
  }
  require_floating(op, x, nullptr, [&] { return "x " + to_string(x.shape()); });
}

// `ctx`: a string, or a callable giving it (built only for an error message).
template <typename Ctx>
kc::Pool2dGeometry pool_geometry(const char* op, const Tensor& x, const Pool2dOptions& opt, const Ctx& ctx) {
  const std::array<int64_t, 2> strides = opt.strides.value_or(opt.pool_size);
  if (opt.pool_size[0] < 1 || opt.pool_size[1] < 1) {
    throw ValueError(std::string(op) + ": pool_size must be >= 1, got " + pair_str(opt.pool_size) + ": " + context_text(ctx));
  }
  if (strides[0] < 1 || strides[1] < 1) {
    throw ValueError(std::string(op) + ": strides must be >= 1, got " + pair_str(strides) + ": " + context_text(ctx));
  }
  return with_op_context(op, ctx, [&] {
    return kc::make_pool2d_geometry({.batch = x.size(0), .in_h = x.size(1), .in_w = x.size(2), .channels = x.size(3),
                                     .k_h = opt.pool_size[0], .k_w = opt.pool_size[1], .stride_h = strides[0],
                                     .stride_w = strides[1], .padding = opt.padding});
  });
}

}  // namespace

Tensor max_pool2d(const Tensor& x, Pool2dOptions opt) {
  check_input("max_pool2d", x, 4, "NHWC [batch, height, width, channels]");
  const kc::Pool2dGeometry g = pool_geometry("max_pool2d", x, opt, [&] { return "x " + to_string(x.shape()); });
  const DType dt = x.dtype();
  Tensor xc = contiguous(x.detach());
  Tensor y = Tensor::empty({g.batch, g.out_h, g.out_w, g.channels}, dt);
  const bool want_grad = autograd::needs_grad({&x});
  Tensor argmax = want_grad ? Tensor::empty(y.shape(), i64) : Tensor();
  if (y.numel() > 0) {
    visit_floating(dt, "max_pool2d", [&]<typename T>() {
      kc::max_pool2d_forward<T>(g, xc.data<T>(), y.data<T>(), want_grad ? argmax.data<int64_t>() : nullptr);
    });
  }
  return record("max_pool2d", {x}, y, [&] {
    return [g, dt, argmax](const Tensor& gy) {
      Tensor dy = dense(gy, dt);
      Tensor dx = Tensor::empty({g.batch, g.in_h, g.in_w, g.channels}, dt);
      visit_floating(dt, "max_pool2d", [&]<typename T>() {
        if (dy.numel() > 0) kc::max_pool2d_backward<T>(g, dy.data<T>(), argmax.data<int64_t>(), dx.data<T>());
      });
      return Gradients{dx};
    };
  });
}

Tensor avg_pool2d(const Tensor& x, Pool2dOptions opt) {
  check_input("avg_pool2d", x, 4, "NHWC [batch, height, width, channels]");
  const kc::Pool2dGeometry g = pool_geometry("avg_pool2d", x, opt, [&] { return "x " + to_string(x.shape()); });
  const DType dt = x.dtype();
  Tensor xc = contiguous(x.detach());
  Tensor y = Tensor::empty({g.batch, g.out_h, g.out_w, g.channels}, dt);
  if (y.numel() > 0) {
    visit_floating(dt, "avg_pool2d", [&]<typename T>() { kc::avg_pool2d_forward<T>(g, xc.data<T>(), y.data<T>()); });
  }
  return record("avg_pool2d", {x}, y, [&] {
    return [g, dt](const Tensor& gy) {
      Tensor dy = dense(gy, dt);
      Tensor dx = Tensor::empty({g.batch, g.in_h, g.in_w, g.channels}, dt);
      visit_floating(dt, "avg_pool2d", [&]<typename T>() {
        if (dy.numel() > 0) kc::avg_pool2d_backward<T>(g, dy.data<T>(), dx.data<T>());
      });
      return Gradients{dx};
    };
  });
}

namespace {

// A 1-D pooling as the 2-D one over a height-1 view; errors speak of the 1-D shape and sizes.
Tensor pool1d(const char* op, Tensor (*pool2d)(const Tensor&, Pool2dOptions), const Tensor& x, int64_t pool_size,
              std::optional<int64_t> stride, Padding padding) {
  check_input(op, x, 3, "[batch, width, channels]");
  const int64_t s = stride.value_or(pool_size);
  if (pool_size < 1 || s < 1) {
    throw ValueError(std::string(op) + ": pool_size and stride must be >= 1, got pool_size " + std::to_string(pool_size) +
                     ", stride " + std::to_string(s) + ": x " + to_string(x.shape()));
  }
  Pool2dOptions o2{.pool_size = {1, pool_size}, .strides = std::array<int64_t, 2>{1, s}, .padding = padding};
  Tensor x4 = unsqueeze(x, 1);  // [N, 1, W, C]
  (void)pool_geometry(op, x4, o2, "x " + to_string(x.shape()) + ", pool_size " + std::to_string(pool_size) +
                                      ", stride " + std::to_string(s));
  return squeeze(pool2d(x4, o2), 1);
}

}  // namespace

Tensor max_pool1d(const Tensor& x, int64_t pool_size, std::optional<int64_t> stride, Padding padding) {
  return pool1d("max_pool1d", max_pool2d, x, pool_size, stride, padding);
}

Tensor avg_pool1d(const Tensor& x, int64_t pool_size, std::optional<int64_t> stride, Padding padding) {
  return pool1d("avg_pool1d", avg_pool2d, x, pool_size, stride, padding);
}

Tensor global_avg_pool2d(const Tensor& x) {
  check_input("global_avg_pool2d", x, 4, "NHWC [batch, height, width, channels]");
  return mean(x, {1, 2});
}

Tensor global_avg_pool1d(const Tensor& x) {
  check_input("global_avg_pool1d", x, 3, "[batch, steps, channels]");
  return mean(x, {1});
}

Tensor global_max_pool1d(const Tensor& x) {
  check_input("global_max_pool1d", x, 3, "[batch, steps, channels]");
  if (x.size(1) == 0) throw ShapeError("global_max_pool1d: the number of steps must be non-zero: x " + to_string(x.shape()));
  return max(x, {1});
}

Tensor global_max_pool2d(const Tensor& x) {
  check_input("global_max_pool2d", x, 4, "NHWC [batch, height, width, channels]");
  if (x.size(1) == 0 || x.size(2) == 0) {
    throw ShapeError("global_max_pool2d: the spatial size must be non-zero: x " + to_string(x.shape()));
  }
  return max(x, {1, 2});
}

}  // namespace ember
