// Shape ops: views built with Tensor::as_strided, copies through kernels::cpu.
#include "ember/ops/shape.hpp"

#include <algorithm>
#include <numeric>

#include "ember/autograd/autograd.hpp"
#include "ember/kernels/cpu/index.hpp"
#include "ember/kernels/cpu/loops.hpp"
#include "ember/ops/elementwise.hpp"
#include "op_support.hpp"

namespace ember {

using autograd::record;
using autograd::saved;
using autograd::Gradients;
namespace kc = kernels::cpu;
using namespace ops_detail;

namespace {

Shape infer_shape(const Shape& requested, int64_t count, const Shape& from) {
  Shape shape = requested;
  int infer = -1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0) throw ShapeError("reshape: only one -1 allowed, got " + to_string(requested));
      infer = static_cast<int>(i);
    } else if (shape[i] < 0) {
      throw ShapeError("reshape: invalid dimension in " + to_string(requested));
    }
  }
  if (infer >= 0) {
    shape[infer] = 1;
    const int64_t known = numel(shape);  // of the other dimensions; throws ShapeError on overflow
    if (known == 0 || count % known != 0) {
      throw ShapeError("reshape: cannot reshape " + to_string(from) + " (" + std::to_string(count) + " elements) into " +
                       to_string(requested));
    }
    shape[infer] = count / known;
  }
  if (numel(shape) != count) {
    throw ShapeError("reshape: cannot reshape " + to_string(from) + " (" + std::to_string(count) + " elements) into " +
                     to_string(requested));
  }
  check_shape(shape, "reshape");
  return shape;
}

// Records the gradient of a view: it is simply the same view relation reversed by `back`.
template <typename Back>
Tensor view_op(const char* name, const Tensor& x, Tensor out, Back back) {
  return record(name, {x}, out, [&] {
    return [back](const Tensor& g) { return Gradients{back(g)}; };
  });
}

}  // namespace

Tensor contiguous(const Tensor& x) {
  if (x.is_contiguous()) return x;
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  copy_into(x, out);
  return record("contiguous", {x}, out, [] { return [](const Tensor& g) { return Gradients{g}; }; });
}

Tensor clone(const Tensor& x) {
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  copy_into(x, out);
  return record("clone", {x}, out, [] { return [](const Tensor& g) { return Gradients{g}; }; });
}

Tensor reshape(const Tensor& x, const Shape& requested) {
  Shape shape = infer_shape(requested, x.numel(), x.shape());
  Tensor src = x.is_contiguous() ? x.detach() : contiguous(x.detach());
  Tensor out = src.as_strided(shape, contiguous_strides(shape), src.offset());
  Shape in_shape = x.shape();
  return view_op("reshape", x, out, [in_shape](const Tensor& g) { return reshape(g, in_shape); });
}

Tensor flatten(const Tensor& x, int64_t start_axis, int64_t end_axis) {
  if (x.dim() == 0) return reshape(x, {1});
  int s = normalize_axis(start_axis, x.dim(), "flatten"), e = normalize_axis(end_axis, x.dim(), "flatten");
  if (s > e) throw ValueError("flatten: start axis " + std::to_string(s) + " is after end axis " + std::to_string(e));
  Shape shape(x.shape().begin(), x.shape().begin() + s);
  int64_t n = 1;
  for (int i = s; i <= e; ++i) n *= x.shape()[i];
  shape.push_back(n);
  shape.insert(shape.end(), x.shape().begin() + e + 1, x.shape().end());
  return reshape(x, shape);
}

Tensor permute(const Tensor& x, const Axes& axes) {
  const int nd = x.dim();
  if (static_cast<int>(axes.size()) != nd) {
    throw ShapeError("permute: " + std::to_string(axes.size()) + " axes given for a tensor of shape " + to_string(x.shape()));
  }
  SmallVector<int, kMaxDims> perm(static_cast<std::size_t>(nd));
  SmallVector<bool, kMaxDims> seen(static_cast<std::size_t>(nd), false);
  for (int i = 0; i < nd; ++i) {
    perm[i] = normalize_axis(axes[i], nd, "permute");
    if (seen[perm[i]]) throw ValueError("permute: axis " + std::to_string(perm[i]) + " repeated");
    seen[perm[i]] = true;
  }
  Shape shape(nd);
  Strides strides(nd);
  Axes inverse(nd);
  for (int i = 0; i < nd; ++i) {
    shape[i] = x.shape()[perm[i]];
    strides[i] = x.strides()[perm[i]];
    inverse[perm[i]] = i;
  }
  Tensor out = x.as_strided(shape, strides, x.offset());
  return view_op("permute", x, out, [inverse](const Tensor& g) { return permute(g, inverse); });
}

Tensor transpose(const Tensor& x, int64_t a, int64_t b) {
  const int nd = x.dim();
  int ia = normalize_axis(a, nd, "transpose"), ib = normalize_axis(b, nd, "transpose");
  Axes axes(nd);
  std::iota(axes.begin(), axes.end(), 0);
  std::swap(axes[ia], axes[ib]);
  return permute(x, axes);
}

Tensor slice(const Tensor& x, int64_t axis, int64_t start, int64_t stop, int64_t step) {
  int ax = normalize_axis(axis, x.dim(), "slice");
  if (x.dim() == 0) throw ShapeError("slice: cannot slice a 0-d tensor");
  if (step < 1) throw ValueError("slice: step must be >= 1, got " + std::to_string(step));
  int64_t n = x.shape()[ax];
  auto clamp = [n](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + n : v, 0, n); };
  int64_t b = clamp(start), e = clamp(stop);
  int64_t len = e > b ? (e - b + step - 1) / step : 0;
  Shape shape = x.shape();
  Strides strides = x.strides();
  shape[ax] = len;
  strides[ax] *= step;
  Tensor out = x.as_strided(shape, strides, x.offset() + b * x.strides()[ax]);
  Shape in_shape = x.shape();
  DType dt = x.dtype();
  return view_op("slice", x, out, [in_shape, dt, ax, b, step, len](const Tensor& g) {
    // Scatter the gradient into a zero tensor of the input's shape through the same slice view.
    Tensor gx = zeros(in_shape, g.dtype());
    Shape s = in_shape;
    s[ax] = len;
    Strides st = gx.strides();
    int64_t off = b * st[ax];
    st[ax] *= step;
    copy_into(g, gx.as_strided(s, st, off));
    (void)dt;
    return gx;
  });
}

Tensor expand(const Tensor& x, const Shape& shape) {
  check_shape(shape, "expand");
  if (shape.size() < x.shape().size()) {
    throw ShapeError("expand: cannot broadcast " + to_string(x.shape()) + " to the lower-rank shape " + to_string(shape));
  }
  std::size_t lead = shape.size() - x.shape().size();
  Strides strides(shape.size(), 0);
  for (std::size_t i = 0; i < x.shape().size(); ++i) {
    int64_t have = x.shape()[i], want = shape[lead + i];
    if (have == want) strides[lead + i] = x.strides()[i];
    else if (have != 1) throw ShapeError("expand: cannot broadcast " + to_string(x.shape()) + " to " + to_string(shape));
  }
  if (shape == x.shape()) return x;
  Tensor out = x.as_strided(shape, strides, x.offset());
  // The engine reduces the gradient back to x's shape (sum over broadcast axes).
  return view_op("expand", x, out, [](const Tensor& g) { return g; });
}

Tensor squeeze(const Tensor& x, std::optional<int64_t> axis) {
  // Built directly as a view (not through reshape), so a strided input stays a view too.
  Shape shape;
  Strides strides;
  if (axis) {
    int ax = normalize_axis(*axis, x.dim(), "squeeze");
    if (x.dim() == 0) return x;
    if (x.shape()[ax] != 1) {
      throw ShapeError("squeeze: axis " + std::to_string(ax) + " of shape " + to_string(x.shape()) + " is not 1");
    }
    shape = x.shape();
    strides = x.strides();
    shape.erase(shape.begin() + ax);
    strides.erase(strides.begin() + ax);
  } else {
    for (int d = 0; d < x.dim(); ++d) {
      if (x.shape()[d] != 1) { shape.push_back(x.shape()[d]); strides.push_back(x.strides()[d]); }
    }
  }
  Tensor out = x.as_strided(shape, strides, x.offset());
  Shape in_shape = x.shape();
  return view_op("squeeze", x, out, [in_shape](const Tensor& g) { return reshape(g, in_shape); });
}

Tensor unsqueeze(const Tensor& x, int64_t axis) {
  int ax = normalize_axis(axis, x.dim() + 1, "unsqueeze");
  Shape shape = x.shape();
  Strides strides = x.strides();
  int64_t stride = ax < x.dim() ? x.strides()[ax] * x.shape()[ax] : 1;  // any value works for a size-1 axis
  shape.insert(shape.begin() + ax, 1);
  strides.insert(strides.begin() + ax, stride);
  Tensor out = x.as_strided(shape, strides, x.offset());  // checks the rank limit
  Shape in_shape = x.shape();
  return view_op("unsqueeze", x, out, [in_shape](const Tensor& g) { return reshape(g, in_shape); });
}

Tensor concat(const std::vector<Tensor>& xs, int64_t axis) {
  if (xs.empty()) throw ValueError("concat: needs at least one tensor");
  const int nd = xs[0].dim();
  if (nd == 0) throw ShapeError("concat: cannot concatenate 0-d tensors; use stack");
  int ax = normalize_axis(axis, nd, "concat");
  Shape shape = xs[0].shape();
  DType dt = xs[0].dtype();
  int64_t total = 0;
  for (const Tensor& t : xs) {
    bool ok = t.dim() == nd;
    for (int d = 0; ok && d < nd; ++d) ok = d == ax || t.shape()[d] == shape[d];
    if (!ok) {
      throw ShapeError("concat: shapes " + to_string(xs[0].shape()) + " and " + to_string(t.shape()) +
                       " differ outside axis " + std::to_string(ax));
    }
    dt = promote_types(dt, t.dtype());
    total += t.shape()[ax];
  }
  shape[ax] = total;
  Tensor out = Tensor::empty(shape, dt);
  std::vector<int64_t> sizes;
  int64_t at = 0;
  for (const Tensor& t : xs) {
    Shape s = shape;
    s[ax] = t.shape()[ax];
    copy_into(t, out.as_strided(s, out.strides(), at * out.strides()[ax]));
    sizes.push_back(t.shape()[ax]);
    at += t.shape()[ax];
  }
  return record("concat", xs, out, [&] {
    return [sizes, ax](const Tensor& g) {
      Gradients parts;
      int64_t b = 0;
      for (int64_t s : sizes) {
        parts.push_back(slice(g, ax, b, b + s));
        b += s;
      }
      return parts;
    };
  });
}

Tensor stack(const std::vector<Tensor>& xs, int64_t axis) {
  if (xs.empty()) throw ValueError("stack: needs at least one tensor");
  int ax = normalize_axis(axis, xs[0].dim() + 1, "stack");
  std::vector<Tensor> parts;
  for (const Tensor& t : xs) {
    if (t.shape() != xs[0].shape()) {
      throw ShapeError("stack: all tensors must have the same shape, got " + to_string(xs[0].shape()) + " and " +
                       to_string(t.shape()));
    }
    parts.push_back(unsqueeze(t, ax));
  }
  return concat(parts, ax);
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t axis) {
  int ax = normalize_axis(axis, x.dim(), "split");
  int64_t total = 0;
  for (int64_t s : sizes) {
    if (s < 0) throw ValueError("split: negative section size");
    total += s;
  }
  if (x.dim() == 0 || total != x.shape()[ax]) {
    throw ShapeError("split: sizes add up to " + std::to_string(total) + " but axis " + std::to_string(ax) +
                     " of " + to_string(x.shape()) + " differs");
  }
  std::vector<Tensor> out;
  int64_t b = 0;
  for (int64_t s : sizes) {
    out.push_back(slice(x, ax, b, b + s));
    b += s;
  }
  return out;
}

std::vector<Tensor> split(const Tensor& x, int64_t sections, int64_t axis) {
  int ax = normalize_axis(axis, x.dim(), "split");
  if (sections <= 0 || x.dim() == 0 || x.shape()[ax] % sections != 0) {
    throw ShapeError("split: axis " + std::to_string(ax) + " of " + to_string(x.shape()) + " does not divide into " +
                     std::to_string(sections) + " equal sections");
  }
  return split(x, std::vector<int64_t>(static_cast<std::size_t>(sections), x.shape()[ax] / sections), ax);
}

Tensor pad(const Tensor& x, const std::vector<std::pair<int64_t, int64_t>>& pads, Scalar value) {
  const int nd = x.dim();
  if (static_cast<int>(pads.size()) > nd) {
    throw ShapeError("pad: " + std::to_string(pads.size()) + " padding pairs for a tensor of shape " + to_string(x.shape()));
  }
  Shape shape = x.shape();
  int64_t off = 0;
  Tensor out;
  std::vector<std::pair<int64_t, int64_t>> full_pads(nd, {0, 0});
  for (std::size_t i = 0; i < pads.size(); ++i) {
    if (pads[i].first < 0 || pads[i].second < 0) throw ValueError("pad: negative padding");
    full_pads[i] = pads[i];
    shape[i] += pads[i].first + pads[i].second;
  }
  out = full(shape, value, x.dtype());
  for (int i = 0; i < nd; ++i) off += full_pads[i].first * out.strides()[i];
  copy_into(x, out.as_strided(x.shape(), out.strides(), off));
  return record("pad", {x}, out, [&] {
    return [full_pads, in_shape = x.shape()](const Tensor& g) {
      Tensor r = g;
      for (std::size_t i = 0; i < full_pads.size(); ++i) {
        r = slice(r, static_cast<int64_t>(i), full_pads[i].first, full_pads[i].first + in_shape[i]);
      }
      return Gradients{r};
    };
  });
}

Tensor gather(const Tensor& x, const Tensor& indices, int64_t axis) {
  int ax = normalize_axis(axis, x.dim(), "gather");
  if (x.dim() == 0) throw ShapeError("gather: cannot index a 0-d tensor");
  Tensor idx_values = read_indices(indices);
  int64_t* const idx = idx_values.data<int64_t>();
  const int64_t count = idx_values.numel();
  int64_t len = x.shape()[ax];
  for (int64_t k = 0; k < count; ++k) {
    int64_t& i = idx[k];
    if (i < -len || i >= len) {
      throw ValueError("gather: index " + std::to_string(i) + " is out of range for axis " + std::to_string(ax) +
                       " of size " + std::to_string(len));
    }
    if (i < 0) i += len;
  }
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < ax; ++d) outer *= x.shape()[d];
  for (int d = ax + 1; d < x.dim(); ++d) inner *= x.shape()[d];
  Shape shape(x.shape().begin(), x.shape().begin() + ax);
  shape.insert(shape.end(), indices.shape().begin(), indices.shape().end());
  shape.insert(shape.end(), x.shape().begin() + ax + 1, x.shape().end());
  Tensor src = contiguous(x.detach());
  Tensor out = Tensor::empty(shape, x.dtype());
  kc::gather_axis(src.raw_data(), itemsize(src.dtype()), idx, count, outer, len, inner, out.raw_data());
  return record("gather", {x}, out, [&] {
    return [idx_values, count, outer, len, inner, in_shape = x.shape()](const Tensor& g) {
      Tensor gx = Tensor::empty(in_shape, g.dtype());
      Tensor gc = contiguous(g);
      visit_dtype(gc.dtype(), [&]<typename T>() {
        kc::scatter_add_axis<T>(gc.data<T>(), idx_values.data<int64_t>(), count, outer, len, inner, gx.data<T>());
      });
      return Gradients{gx};
    };
  });
}

Tensor embedding_lookup(const Tensor& table, const Tensor& indices) {
  if (table.dim() < 1) throw ShapeError("embedding_lookup: the table must have at least one dimension, got a scalar");
  Tensor idx = read_indices(indices);
  const int64_t rows = table.shape()[0];
  const int64_t* ip = idx.data<int64_t>();
  for (int64_t k = 0; k < idx.numel(); ++k) {
    if (ip[k] < 0 || ip[k] >= rows) {
      throw ValueError("embedding_lookup: index " + std::to_string(ip[k]) + " is outside [0, " + std::to_string(rows) +
                       ") (the table has shape " + to_string(table.shape()) + ")");
    }
  }
  if (!table.requires_grad() || !table.is_leaf() || !autograd::grad_enabled()) return gather(table, idx, 0);
  Tensor out = gather(table.detach(), idx, 0);
  return record("embedding_lookup", {table}, out, [&] {
    // The closure holds the leaf itself (not a history-free alias): its gradient is what it adds
    // to. A leaf has no grad_fn, so this makes no reference cycle.
    return [idx, leaf = table](const Tensor& g) {
      autograd::accumulate_row_grad(leaf, idx, g);
      return Gradients{Tensor()};
    };
  });
}

Tensor one_hot(const Tensor& indices, int64_t depth, DType dtype, double on_value, double off_value) {
  if (depth < 0) throw ValueError("one_hot: depth must be >= 0, got " + std::to_string(depth));
  Tensor idx_values = read_indices(indices);
  const int64_t* idx = idx_values.data<int64_t>();
  Shape shape = indices.shape();
  shape.push_back(depth);
  Tensor out = full(shape, off_value, dtype);
  // Rows are written through a gather-style copy of an [on] row; out-of-range indices stay "off".
  Tensor on_row = full({1}, on_value, dtype);
  for (int64_t r = 0; r < idx_values.numel(); ++r) {
    if (idx[r] < 0 || idx[r] >= depth) continue;
    int64_t off = r * depth + idx[r];
    copy_into(on_row, out.as_strided({1}, {1}, off));
  }
  return out;
}

Tensor tile(const Tensor& x, const std::vector<int64_t>& reps) {
  for (int64_t r : reps) if (r < 0) throw ValueError("tile: negative repetition");
  // Align ranks as NumPy does, then tile = reshape to [1,a,1,b,...], expand to [r1,a,r2,b,...], merge.
  std::size_t nd = std::max<std::size_t>(reps.size(), x.shape().size());
  Shape xs(nd - x.shape().size(), 1);
  xs.insert(xs.end(), x.shape().begin(), x.shape().end());
  std::vector<int64_t> rs(nd - reps.size(), 1);
  rs.insert(rs.end(), reps.begin(), reps.end());
  Shape inter, big, fin;
  for (std::size_t i = 0; i < nd; ++i) {
    inter.insert(inter.end(), {1, xs[i]});
    big.insert(big.end(), {rs[i], xs[i]});
    fin.push_back(rs[i] * xs[i]);
  }
  return reshape(contiguous(expand(reshape(x, inter), big)), fin);
}

Tensor boolean_mask(const Tensor& x, const Tensor& mask) {
  const int k = mask.dim();
  bool fits = k >= 1 && k <= x.dim();
  for (int d = 0; fits && d < k; ++d) fits = mask.shape()[d] == x.shape()[d];
  if (!fits) {
    throw ShapeError("boolean_mask: mask of shape " + to_string(mask.shape()) +
                     " must match the leading axes of x, of shape " + to_string(x.shape()) + " (rank 1 or more)");
  }
  // Flatten the masked axes into one and gather the true positions along it.
  Shape flat{mask.numel()};
  flat.insert(flat.end(), x.shape().begin() + k, x.shape().end());
  std::vector<int64_t> keep;
  const std::vector<double> m = mask.to_vector<double>();
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (m[i] != 0.0) keep.push_back(static_cast<int64_t>(i));
  }
  return gather(reshape(x, flat), from_vector(keep, {static_cast<int64_t>(keep.size())}), 0);
}

}  // namespace ember
