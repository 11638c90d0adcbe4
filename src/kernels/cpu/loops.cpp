#include "ember/kernels/cpu/loops.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <span>

#include "ember/core/storage.hpp"

namespace ember::kernels::cpu {

void copy_cast(const Shape& shape, DType src_dtype, const void* src, const Strides& src_strides, DType dst_dtype,
               void* dst, const Strides& dst_strides) {
  visit_dtype(dst_dtype, [&]<typename TO>() {
    visit_dtype(src_dtype, [&]<typename TI>() {
      map_unary<TO, TI>(shape, StridedPtr<const TI>{static_cast<const TI*>(src), &src_strides},
                        StridedPtr<TO>{static_cast<TO*>(dst), &dst_strides}, [](TI v) { return static_cast<TO>(v); });
    });
  });
}

DType reduce_dtype(DType in, ReduceKind kind) {
  if ((kind == ReduceKind::Sum || kind == ReduceKind::Prod) && is_integral(in)) return DType::i64;
  return in;
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

// x viewed with (shape, strides) copied row-major into a buffer of its own dtype. The buffer is a
// Storage, so it comes from (and goes back to) the caching allocator.
const void* dense_copy(const Shape& shape, const Strides& strides, DType dtype, const void* x,
                       std::optional<Storage>& buf) {
  buf.emplace(static_cast<std::size_t>(numel(shape)) * itemsize(dtype));
  copy_cast(shape, dtype, x, strides, dtype, buf->data(), contiguous_strides(shape));
  return buf->data();
}

// The core: x is contiguous with logical layout [A, R, B]; out is [A, B].
template <typename TIn, typename TOut, typename AccT, typename Combine>
void reduce_arb(const TIn* x, TOut* out, int64_t A, int64_t R, int64_t B, AccT init, Combine combine) {
  constexpr int64_t kChunk = 1 << 16;  // fixed chunking: same result for every thread count
  if (A == 1 && B == 1) {
    int64_t chunks = (R + kChunk - 1) / kChunk;
    // Per-chunk results, from the caching allocator (no system allocation once warm).
    Storage partial_buf(static_cast<std::size_t>(std::max<int64_t>(chunks, 1)) * sizeof(AccT));
    const std::span<AccT> partial(static_cast<AccT*>(partial_buf.data()), static_cast<std::size_t>(std::max<int64_t>(chunks, 1)));
    std::fill(partial.begin(), partial.end(), init);
    parallel_for(0, chunks, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        AccT acc = init;
        int64_t e = std::min(R, (c + 1) * kChunk);
        for (int64_t r = c * kChunk; r < e; ++r) acc = combine(acc, static_cast<AccT>(x[r]));
        partial[static_cast<std::size_t>(c)] = acc;
      }
    });
    AccT acc = init;
    for (AccT p : partial) acc = combine(acc, p);
    out[0] = static_cast<TOut>(acc);
    return;
  }
  if (B == 1) {  // reduce contiguous rows
    parallel_for(0, A, grain_for(R), [&](int64_t a0, int64_t a1) {
      for (int64_t a = a0; a < a1; ++a) {
        const TIn* row = x + a * R;
        AccT acc = init;
        for (int64_t r = 0; r < R; ++r) acc = combine(acc, static_cast<AccT>(row[r]));
        out[a] = static_cast<TOut>(acc);
      }
    });
    return;
  }
  // Column-style: accumulate whole rows of B into an accumulator, parallel over A or over B blocks.
  const int64_t block = 256;
  int64_t bblocks = (B + block - 1) / block;
  // One task per (a, column block): each output column is summed over r in order by one thread.
  parallel_for(0, A * bblocks, grain_for(R * std::min(B, block)), [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t a = t / bblocks, bb = t % bblocks;
      int64_t b0 = bb * block, b1 = std::min(B, b0 + block);
      AccT acc[block];
      for (int64_t b = b0; b < b1; ++b) acc[b - b0] = init;
      for (int64_t r = 0; r < R; ++r) {
        const TIn* row = x + (a * R + r) * B;
        for (int64_t b = b0; b < b1; ++b) acc[b - b0] = combine(acc[b - b0], static_cast<AccT>(row[b]));
      }
      for (int64_t b = b0; b < b1; ++b) out[a * B + b] = static_cast<TOut>(acc[b - b0]);
    }
  });
}

}  // namespace

void reduce(const Shape& shape, DType dtype, const void* x, const Strides& strides, const Shape& keep_shape,
            ReduceKind kind, void* out) {
  if (keep_shape.size() != shape.size()) {
    throw ShapeError("reduce: output rank differs from input " + to_string(shape));
  }
  const int nd = static_cast<int>(shape.size());
  SmallVector<bool, kMaxDims> reduced(static_cast<std::size_t>(nd));
  for (int d = 0; d < nd; ++d) {
    if (keep_shape[d] == shape[d]) reduced[d] = false;
    else if (keep_shape[d] == 1) reduced[d] = true;
    else throw ShapeError("reduce: cannot reduce " + to_string(shape) + " to " + to_string(keep_shape));
  }
  const DType out_dt = reduce_dtype(dtype, kind);
  if ((kind == ReduceKind::Max || kind == ReduceKind::Min) && numel(shape) == 0 && numel(keep_shape) > 0) {
    throw ValueError("reduce: max/min of an empty tensor " + to_string(shape) + " has no identity");
  }

  // Bring the reduced axes together: if they already form one block of a contiguous input, no copy.
  // Size-1 axes are neutral, so they are ignored when looking for the block.
  int first = -1, last = -1;
  for (int d = 0; d < nd; ++d) {
    if (reduced[d] && shape[d] != 1) {
      if (first < 0) first = d;
      last = d;
    }
  }
  bool block = true;
  for (int d = first; first >= 0 && d <= last; ++d) {
    if (!reduced[d] && shape[d] != 1) block = false;
  }
  const bool dense = is_contiguous(shape, strides);
  std::optional<Storage> scratch;  // the dense (or permuted) copy when one is needed
  const void* src = x;
  int64_t A = 1, R = 1, B = 1;
  if (first < 0) {  // nothing really reduced
    A = numel(shape);
    if (!dense) src = dense_copy(shape, strides, dtype, x, scratch);
  } else if (block && dense) {
    for (int d = 0; d < first; ++d) A *= shape[d];
    for (int d = first; d <= last; ++d) R *= shape[d];
    for (int d = last + 1; d < nd; ++d) B *= shape[d];
  } else {
    // Permute to [kept..., reduced...] and copy dense.
    Shape pshape;
    Strides pstrides;
    for (int d = 0; d < nd; ++d) {
      if (!reduced[d]) { pshape.push_back(shape[d]); pstrides.push_back(strides[d]); A *= shape[d]; }
    }
    for (int d = 0; d < nd; ++d) {
      if (reduced[d]) { pshape.push_back(shape[d]); pstrides.push_back(strides[d]); R *= shape[d]; }
    }
    src = dense_copy(pshape, pstrides, dtype, x, scratch);
  }

  visit_dtype(dtype, [&]<typename T>() {
    using SumAcc = Acc<T>;
    const T* px = static_cast<const T*>(src);
    visit_dtype(out_dt, [&]<typename TO>() {
      TO* po = static_cast<TO*>(out);
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
}

void arg_reduce(const Shape& shape, DType dtype, const void* x, const Strides& strides, int axis, bool is_max,
                int64_t* po) {
  const int nd = static_cast<int>(shape.size());
  if (shape[axis] == 0) throw ValueError("argmax/argmin: empty axis in shape " + to_string(shape));
  // Move `axis` last and copy dense, then scan rows.
  Shape pshape;
  Strides pstrides;
  for (int d = 0; d < nd; ++d) {
    if (d != axis) { pshape.push_back(shape[d]); pstrides.push_back(strides[d]); }
  }
  pshape.push_back(shape[axis]);
  pstrides.push_back(strides[axis]);
  std::optional<Storage> scratch;
  const void* src = dense_copy(pshape, pstrides, dtype, x, scratch);
  const int64_t R = shape[axis], A = numel(shape) / R;
  visit_dtype(dtype, [&]<typename T>() {
    const T* px = static_cast<const T*>(src);
    parallel_for(0, A, grain_for(R), [&](int64_t a0, int64_t a1) {
      for (int64_t a = a0; a < a1; ++a) {
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
  });
}

}  // namespace ember::kernels::cpu
