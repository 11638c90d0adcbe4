// softmax / log_softmax: forward through the fused row kernels, backward rules recorded beside them.
#include "ember/ops/softmax.hpp"

#include "ember/autograd/autograd.hpp"
#include "ember/kernels/cpu/softmax.hpp"
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

kc::RowGeometry row_geometry(const Shape& shape, int axis) {
  kc::RowGeometry g;
  if (shape.empty()) return {1, 1, 1};
  for (int d = 0; d < axis; ++d) g.outer *= shape[d];
  g.len = shape[axis];
  for (std::size_t d = axis + 1; d < shape.size(); ++d) g.inner *= shape[d];
  return g;
}

// Dense row-major input of a floating dtype (integers compute in float32).
Tensor dense_floating(const Tensor& x) { return dense(x, is_floating(x.dtype()) ? x.dtype() : f32); }

enum class Kind { Softmax, LogSoftmax };

Tensor softmax_impl(const Tensor& x, int64_t axis, Kind kind) {
  const char* name = kind == Kind::Softmax ? "softmax" : "log_softmax";
  const int ax = normalize_axis(axis, x.dim(), name);
  const kc::RowGeometry geo = row_geometry(x.shape(), ax);
  Tensor in = dense_floating(x);
  Tensor out = Tensor::empty(x.shape(), in.dtype());
  visit_floating(in.dtype(), name, [&]<typename T>() {
    if (kind == Kind::Softmax) kc::softmax_forward<T>(geo, in.data<T>(), out.data<T>());
    else kc::log_softmax_forward<T>(geo, in.data<T>(), out.data<T>());
  });
  return record(name, {x}, out, [&] {
    return [so = saved(out), geo, kind, name](const Tensor& g) {
      Tensor dy = dense(g, so.dtype());
      Tensor dx = Tensor::empty(so.shape(), so.dtype());
      visit_floating(so.dtype(), name, [&]<typename T>() {
        if (kind == Kind::Softmax) kc::softmax_backward<T>(geo, so.data<T>(), dy.data<T>(), dx.data<T>());
        else kc::log_softmax_backward<T>(geo, so.data<T>(), dy.data<T>(), dx.data<T>());
      });
      return Gradients{dx};
    };
  });
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t axis) { return softmax_impl(x, axis, Kind::Softmax); }
Tensor log_softmax(const Tensor& x, int64_t axis) { return softmax_impl(x, axis, Kind::LogSoftmax); }

}  // namespace ember
