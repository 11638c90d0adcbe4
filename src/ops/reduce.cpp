#include "ember/ops/reduce.hpp"

#include <algorithm>
#include <cmath>

#include "ember/autograd/autograd.hpp"
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

SmallVector<int, kMaxDims> resolve_axes(const Axes& axes, int ndim, const char* what) {
  SmallVector<int, kMaxDims> out;
  if (axes.empty()) {
    for (int i = 0; i < ndim; ++i) out.push_back(i);
    return out;
  }
  for (int64_t a : axes) {
    if (ndim == 0) {
      normalize_axis(a, ndim, what);  // validates 0 / -1
      continue;
    }
    out.push_back(normalize_axis(a, ndim, what));
  }
  std::sort(out.begin(), out.end());
  if (std::adjacent_find(out.begin(), out.end()) != out.end()) {
    throw ValueError(std::string(what) + ": an axis is repeated");
  }
  return out;
}

Shape reduced_shape(const Shape& shape, const SmallVector<int, kMaxDims>& axes, bool keepdims) {
  Shape out;
  for (int d = 0; d < static_cast<int>(shape.size()); ++d) {
    bool r = std::binary_search(axes.begin(), axes.end(), d);
    if (!r) out.push_back(shape[d]);
    else if (keepdims) out.push_back(1);
  }
  return out;
}

namespace {

struct Reduction {
  Tensor keep;  // keepdims-form result
  Tensor out;   // what the caller asked for
  Shape keep_shape;
};

Reduction run_reduce(const Tensor& x, const Axes& axes, bool keepdims, kc::ReduceKind kind, const char* what) {
  SmallVector<int, kMaxDims> ax = resolve_axes(axes, x.dim(), what);
  Shape keep_shape = reduced_shape(x.shape(), ax, true);
  Tensor keep = reduce_keepdims(x, keep_shape, kind);
  Shape out_shape = reduced_shape(x.shape(), ax, keepdims);
  Tensor out = keepdims ? keep : keep.as_strided(out_shape, contiguous_strides(out_shape), 0);
  return {keep, out, keep_shape};
}

int64_t reduced_count(const Tensor& x, const Axes& axes, const char* what) {
  int64_t n = 1;
  for (int a : resolve_axes(axes, x.dim(), what)) n *= x.shape()[a];
  return n;
}

}  // namespace

Tensor sum(const Tensor& x, const Axes& axes, bool keepdims) {
  Reduction r = run_reduce(x, axes, keepdims, kc::ReduceKind::Sum, "sum");
  return record("sum", {x}, r.out, [&] {
    return [keep_shape = r.keep_shape, in_shape = x.shape()](const Tensor& g) {
      return Gradients{expand(reshape(g, keep_shape), in_shape)};
    };
  });
}

Tensor mean(const Tensor& x, const Axes& axes, bool keepdims) {
  int64_t n = reduced_count(x, axes, "mean");
  Tensor s = sum(is_floating(x.dtype()) ? x : cast(x, f32), axes, keepdims);
  return s / static_cast<double>(n);
}

namespace {
// Gradient of max/min: shared equally among the elements equal to the extreme (PyTorch's rule for
// full reductions; it makes the check against finite differences well defined).
Tensor extreme(const Tensor& x, const Axes& axes, bool keepdims, bool is_max) {
  const char* name = is_max ? "max" : "min";
  Reduction r = run_reduce(x, axes, keepdims, is_max ? kc::ReduceKind::Max : kc::ReduceKind::Min, name);
  return record(name, {x}, r.out, [&] {
    return [sx = saved(x), keep = saved(r.keep), keep_shape = r.keep_shape](const Tensor& g) {
      Tensor mask = cast(equal(sx, keep), g.dtype());
      Tensor count = reduce_keepdims(mask, keep_shape, kc::ReduceKind::Sum);
      return Gradients{mask * reshape(g, keep_shape) / count};
    };
  });
}
}  // namespace

Tensor max(const Tensor& x, const Axes& axes, bool keepdims) { return extreme(x, axes, keepdims, true); }
Tensor min(const Tensor& x, const Axes& axes, bool keepdims) { return extreme(x, axes, keepdims, false); }

Tensor prod(const Tensor& x, const Axes& axes, bool keepdims) {
  Reduction r = run_reduce(x, axes, keepdims, kc::ReduceKind::Prod, "prod");
  // d prod / d x_i = product of the other elements: prod / x_i where x_i != 0 (0 when another element
  // is zero); where x_i == 0 it is the product of the non-zero elements if x_i is the only zero, else 0.
  // (prod / x_i alone gives 0/0 = NaN at a zero.)
  return record("prod", {x}, r.out, [&] {
    return [sx = saved(x), keep = saved(r.keep), keep_shape = r.keep_shape](const Tensor& g) {
      Tensor zero = zeros({}, sx.dtype());
      Tensor is_zero = equal(sx, zero);
      Tensor nonzero = where(is_zero, ones({}, sx.dtype()), sx);
      Tensor prod_nonzero = reduce_keepdims(nonzero, keep_shape, kc::ReduceKind::Prod);
      Tensor single_zero = equal(reduce_keepdims(is_zero, keep_shape, kc::ReduceKind::Sum), scalar_tensor(1, i64));
      Tensor others = where(is_zero, where(single_zero, prod_nonzero, zero), keep / nonzero);
      return Gradients{reshape(g, keep_shape) * others};
    };
  });
}

Tensor var(const Tensor& x, const Axes& axes, bool keepdims, int64_t ddof) {
  int64_t n = reduced_count(x, axes, "var");
  if (n - ddof <= 0) {
    throw ValueError("var: " + std::to_string(n) + " elements are too few for ddof " + std::to_string(ddof));
  }
  Tensor xf = is_floating(x.dtype()) ? x : cast(x, f32);
  Tensor centered = xf - mean(xf, axes, true);
  return sum(square(centered), axes, keepdims) / static_cast<double>(n - ddof);
}

Tensor std(const Tensor& x, const Axes& axes, bool keepdims, int64_t ddof) { return sqrt(var(x, axes, keepdims, ddof)); }

Tensor argmax(const Tensor& x, int64_t axis, bool keepdims) {
  if (x.dim() == 0) return zeros({}, i64);
  int ax = normalize_axis(axis, x.dim(), "argmax");
  Tensor r = arg_reduce_keepdims(x, ax, true);
  return keepdims ? r : squeeze(r, ax);
}

Tensor argmin(const Tensor& x, int64_t axis, bool keepdims) {
  if (x.dim() == 0) return zeros({}, i64);
  int ax = normalize_axis(axis, x.dim(), "argmin");
  Tensor r = arg_reduce_keepdims(x, ax, false);
  return keepdims ? r : squeeze(r, ax);
}

Tensor logsumexp(const Tensor& x, const Axes& axes, bool keepdims) {
  // m is a constant shift: the result is exact for any m, so its gradient path is not needed.
  Tensor m = max(x.detach(), axes, true);
  m = where(logical_not(equal(abs(m), scalar_like(INFINITY, m))), m, zeros({}, m.dtype()));
  Tensor s = log(sum(exp(x - m), axes, true)) + m;
  if (keepdims) return s;
  return reshape(s, reduced_shape(x.shape(), resolve_axes(axes, x.dim(), "logsumexp"), false));
}

Tensor norm(const Tensor& x, int ord, const Axes& axes, bool keepdims) {
  if (ord == 1) return sum(abs(x), axes, keepdims);
  if (ord == 2) return sqrt(sum(square(x), axes, keepdims));
  throw ValueError("norm: ord must be 1 or 2, got " + std::to_string(ord));
}

}  // namespace ember
