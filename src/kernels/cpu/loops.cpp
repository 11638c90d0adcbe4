#include "ember/kernels/cpu/loops.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace ember::kernels::cpu {

void copy_cast(const Tensor& src, const Tensor& dst) {
  if (src.shape() != dst.shape()) {
    throw ShapeError("copy: source shape " + to_string(src.shape()) + " differs from destination " + to_string(dst.shape()));
  }
  visit_dtype(dst.dtype(), [&]<typename TO>() {
    visit_dtype(src.dtype(), [&]<typename TI>() {
      map_unary<TO, TI>(src, dst, [](TI v) { return static_cast<TO>(v); });
    });
  });
}

namespace {

template <typename T>
using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

template <typename T>
struct Reducer {
  ReduceKind kind;
  using A = std::conditional_t<std::is_same_v<T, bool>, int64_t, T>;
  // Sums and products accumulate wider; max/min stay in T.
  using SumT = Acc<T>;
};

// Output dtype of a reduction.
DType reduce_out_dtype(DType in, ReduceKind kind) {
  if ((kind == ReduceKind::Sum || kind == ReduceKind::Prod) && is_integral(in)) return DType::i64;
  return in;
}

// The core: x is contiguous with logical layout [A, R, B]; out is [A, B].
template <typename TIn, typename TOut, typename AccT, typename Combine>
void reduce_arb(const TIn* x, TOut* out, int64_t A, int64_t R, int64_t B, AccT init, Combine combine) {
  constexpr int64_t kChunk = 1 << 16;  // fixed chunking: same result for every thread count
  if (A == 1 && B == 1) {
    int64_t chunks = (R + kChunk - 1) / kChunk;
    std::vector<AccT> partial(static_cast<std::size_t>(std::max<int64_t>(chunks, 1)), init);
#pragma omp parallel for schedule(static) if (R >= 2 * kChunk)
    for (int64_t c = 0; c < chunks; ++c) {
      AccT acc = init;
      int64_t e = std::min(R, (c + 1) * kChunk);
      for (int64_t r = c * kChunk; r < e; ++r) acc = combine(acc, static_cast<AccT>(x[r]));
      partial[static_cast<std::size_t>(c)] = acc;
    }
    AccT acc = init;
    for (AccT p : partial) acc = combine(acc, p);
    out[0] = static_cast<TOut>(acc);
    return;
  }
  if (B == 1) {  // reduce contiguous rows
#pragma omp parallel for schedule(static) if (A * R >= kParallelGrain && A > 1)
    for (int64_t a = 0; a < A; ++a) {
      const TIn* row = x + a * R;
      AccT acc = init;
      for (int64_t r = 0; r < R; ++r) acc = combine(acc, static_cast<AccT>(row[r]));
      out[a] = static_cast<TOut>(acc);
    }
    return;
  }
  // Column-style: accumulate whole rows of B into an accumulator, parallel over A or over B blocks.
  const int64_t block = 256;
  int64_t bblocks = (B + block - 1) / block;
#pragma omp parallel for collapse(2) schedule(static) if (A * R * B >= kParallelGrain)
  for (int64_t a = 0; a < A; ++a) {
    for (int64_t bb = 0; bb < bblocks; ++bb) {
      int64_t b0 = bb * block, b1 = std::min(B, b0 + block);
      AccT acc[block];
      for (int64_t b = b0; b < b1; ++b) acc[b - b0] = init;
      for (int64_t r = 0; r < R; ++r) {
        const TIn* row = x + (a * R + r) * B;
        for (int64_t b = b0; b < b1; ++b) acc[b - b0] = combine(acc[b - b0], static_cast<AccT>(row[b]));
      }
      for (int64_t b = b0; b < b1; ++b) out[a * B + b] = static_cast<TOut>(acc[b - b0]);
    }
  }
}

}  // namespace

Tensor reduce(const Tensor& x, const Shape& keep_shape, ReduceKind kind) {
  if (keep_shape.size() != x.shape().size()) {
    throw ShapeError("reduce: output rank differs from input " + to_string(x.shape()));
  }
  const int nd = x.dim();
  std::vector<bool> reduced(nd);
  for (int d = 0; d < nd; ++d) {
    if (keep_shape[d] == x.shape()[d]) reduced[d] = false;
    else if (keep_shape[d] == 1) reduced[d] = true;
    else throw ShapeError("reduce: cannot reduce " + to_string(x.shape()) + " to " + to_string(keep_shape));
  }
  DType out_dt = reduce_out_dtype(x.dtype(), kind);
  Tensor out = Tensor::empty(keep_shape, out_dt);
  if ((kind == ReduceKind::Max || kind == ReduceKind::Min) && x.numel() == 0 && out.numel() > 0) {
    throw ValueError("reduce: max/min of an empty tensor " + to_string(x.shape()) + " has no identity");
  }

  // Bring the reduced axes together: if they already form one block of a contiguous tensor, no copy.
  // Size-1 axes are neutral, so they are ignored when looking for the block.
  int first = -1, last = -1;
  for (int d = 0; d < nd; ++d) {
    if (reduced[d] && x.shape()[d] != 1) {
      if (first < 0) first = d;
      last = d;
    }
  }
  bool block = true;
  for (int d = first; first >= 0 && d <= last; ++d) {
    if (!reduced[d] && x.shape()[d] != 1) block = false;
  }
  Tensor src = x;
  int64_t A = 1, R = 1, B = 1;
  if (first < 0) {  // nothing really reduced
    A = x.numel();
    src = x.is_contiguous() ? x : Tensor::empty(x.shape(), x.dtype());
    if (!x.is_contiguous()) copy_cast(x, src);
  } else if (block && x.is_contiguous()) {
    for (int d = 0; d < first; ++d) A *= x.shape()[d];
    for (int d = first; d <= last; ++d) R *= x.shape()[d];
    for (int d = last + 1; d < nd; ++d) B *= x.shape()[d];
  } else {
    // Permute to [kept..., reduced...] and copy contiguous.
    Shape pshape;
    Strides pstrides;
    for (int d = 0; d < nd; ++d) {
      if (!reduced[d]) { pshape.push_back(x.shape()[d]); pstrides.push_back(x.strides()[d]); A *= x.shape()[d]; }
    }
    for (int d = 0; d < nd; ++d) {
      if (reduced[d]) { pshape.push_back(x.shape()[d]); pstrides.push_back(x.strides()[d]); R *= x.shape()[d]; }
    }
    Tensor view = x.as_strided(pshape, pstrides, x.offset());
    src = Tensor::empty(pshape, x.dtype());
    copy_cast(view, src);
  }

  visit_dtype(x.dtype(), [&]<typename T>() {
    using SumAcc = Acc<T>;
    const T* px = static_cast<const T*>(src.impl().storage->data()) + src.offset();
    visit_dtype(out_dt, [&]<typename TO>() {
      TO* po = out.data<TO>();
      switch (kind) {
        case ReduceKind::Sum:
          reduce_arb<T, TO, SumAcc>(px, po, A, R, B, SumAcc(0), [](SumAcc a, SumAcc b) { return a + b; });
          break;
        case ReduceKind::Prod:
          reduce_arb<T, TO, SumAcc>(px, po, A, R, B, SumAcc(1), [](SumAcc a, SumAcc b) { return a * b; });
          break;
        case ReduceKind::Max:
          // NaN propagates, as in NumPy and PyTorch.
          reduce_arb<T, TO, T>(px, po, A, R, B, std::numeric_limits<T>::lowest(), [](T a, T b) {
            if constexpr (std::is_floating_point_v<T>) { if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN(); }
            return a < b ? b : a;
          });
          break;
        case ReduceKind::Min:
          reduce_arb<T, TO, T>(px, po, A, R, B, std::numeric_limits<T>::max(), [](T a, T b) {
            if constexpr (std::is_floating_point_v<T>) { if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN(); }
            return b < a ? b : a;
          });
          break;
      }
    });
  });
  return out;
}

Tensor sum_to(const Tensor& grad, const Shape& shape) {
  if (grad.shape() == shape) return grad;
  const int gd = grad.dim(), sd = static_cast<int>(shape.size());
  if (sd > gd) throw ShapeError("sum_to: cannot reduce " + to_string(grad.shape()) + " to " + to_string(shape));
  Shape keep(gd, 1);
  for (int i = 0; i < sd; ++i) {
    int64_t g = grad.shape()[gd - sd + i], s = shape[i];
    if (s == g) keep[gd - sd + i] = g;
    else if (s != 1) throw ShapeError("sum_to: cannot reduce " + to_string(grad.shape()) + " to " + to_string(shape));
  }
  Tensor r = reduce(grad, keep, ReduceKind::Sum);
  return r.as_strided(shape, contiguous_strides(shape), 0);
}

Tensor arg_reduce(const Tensor& x, int axis, bool is_max) {
  const int nd = x.dim();
  if (x.shape()[axis] == 0) throw ValueError("argmax/argmin: empty axis in shape " + to_string(x.shape()));
  Shape out_shape = x.shape();
  out_shape[axis] = 1;
  Tensor out = Tensor::empty(out_shape, DType::i64);
  // Move `axis` last and copy contiguous, then scan rows.
  Shape pshape;
  Strides pstrides;
  for (int d = 0; d < nd; ++d) {
    if (d != axis) { pshape.push_back(x.shape()[d]); pstrides.push_back(x.strides()[d]); }
  }
  pshape.push_back(x.shape()[axis]);
  pstrides.push_back(x.strides()[axis]);
  Tensor src = Tensor::empty(pshape, x.dtype());
  copy_cast(x.as_strided(pshape, pstrides, x.offset()), src);
  int64_t R = x.shape()[axis], A = src.numel() / R;
  int64_t* po = out.data<int64_t>();
  visit_dtype(x.dtype(), [&]<typename T>() {
    const T* px = src.data<T>();
#pragma omp parallel for schedule(static) if (A * R >= kParallelGrain)
    for (int64_t a = 0; a < A; ++a) {
      const T* row = px + a * R;
      int64_t best = 0;
      for (int64_t r = 1; r < R; ++r) {
        if constexpr (std::is_floating_point_v<T>) {
          if (std::isnan(row[best])) break;
          if (std::isnan(row[r])) { best = r; break; }
        }
        if (is_max ? row[best] < row[r] : row[r] < row[best]) best = r;
      }
      po[a] = best;
    }
  });
  return out;
}

}  // namespace ember::kernels::cpu
