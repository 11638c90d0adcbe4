#pragma once
// Strided loops: the one place that walks N operands of the same logical shape element by element.
// Operands are described by (pointer to element 0, strides in elements) — StridedPtr — and one Shape;
// broadcast operands simply carry stride 0. (Raw pointers + geometry, as every kernel: kernels.hpp.)
// Dimensions are coalesced first, so contiguous tensors become one flat run, and the innermost
// run is handed to a body that the compiler can vectorise. Outer iterations are split across the
// OpenMP pool when there is enough work; each output element is written by exactly one thread,
// so results do not depend on the thread count.
#include <array>
#include <cstdint>
#include <vector>

#include "ember/core/dtype.hpp"
#include "ember/core/shape.hpp"
#include "ember/kernels/cpu/parallel.hpp"

namespace ember::kernels::cpu {

// One operand of a strided loop: its element 0 and its strides (in elements, 0 where broadcast).
// From a tensor t of dtype T: {t.data<T>(), &t.strides()}.
template <typename T>
struct StridedPtr {
  T* data = nullptr;
  const Strides* strides = nullptr;
};

template <std::size_t N>
struct LoopGeometry {
  Shape shape;                      // coalesced, innermost last (inline: no allocation)
  std::array<Strides, N> strides;   // per operand, in elements
};

template <std::size_t N>
LoopGeometry<N> coalesce(const Shape& shape, const std::array<const Strides*, N>& strides) {
  LoopGeometry<N> g;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;  // size-1 axes never move the pointers
    bool merge = !g.shape.empty();
    if (merge) {
      for (std::size_t k = 0; k < N; ++k) {
        if (g.strides[k].back() != (*strides[k])[d] * shape[d]) { merge = false; break; }
      }
    }
    if (merge) {
      g.shape.back() *= shape[d];
      for (std::size_t k = 0; k < N; ++k) g.strides[k].back() = (*strides[k])[d];
    } else {
      g.shape.push_back(shape[d]);
      for (std::size_t k = 0; k < N; ++k) g.strides[k].push_back((*strides[k])[d]);
    }
  }
  if (g.shape.empty()) {  // a single element
    g.shape.push_back(1);
    for (std::size_t k = 0; k < N; ++k) g.strides[k].push_back(0);
  }
  return g;
}

// Calls body(offsets, n, inner_strides) for every innermost run, where offsets[k] is the element
// offset of operand k at the start of the run. `parallel` allows splitting outer runs across threads
// (only when every output element is owned by one run).
template <std::size_t N, typename Body>
void for_each_run(const Shape& shape, const std::array<const Strides*, N>& strides, bool parallel, Body&& body) {
  int64_t total = numel(shape);
  if (total == 0) return;
  LoopGeometry<N> g = coalesce<N>(shape, strides);
  const int nd = static_cast<int>(g.shape.size());
  const int64_t inner = g.shape.back();
  std::array<int64_t, N> inner_strides;
  for (std::size_t k = 0; k < N; ++k) inner_strides[k] = g.strides[k].back();
  const int64_t outer = total / inner;

  auto run_range = [&](int64_t begin, int64_t end) {
    // multi-index of outer run `begin`
    SmallVector<int64_t, kMaxDims> idx(static_cast<std::size_t>(nd), 0);
    int64_t rem = begin;
    for (int d = nd - 2; d >= 0; --d) {
      idx[d] = rem % g.shape[d];
      rem /= g.shape[d];
    }
    std::array<int64_t, N> off{};
    for (std::size_t k = 0; k < N; ++k) {
      for (int d = 0; d < nd - 1; ++d) off[k] += idx[d] * g.strides[k][d];
    }
    for (int64_t r = begin; r < end; ++r) {
      body(off, inner, inner_strides);
      for (int d = nd - 2; d >= 0; --d) {
        ++idx[d];
        for (std::size_t k = 0; k < N; ++k) off[k] += g.strides[k][d];
        if (idx[d] < g.shape[d]) break;
        for (std::size_t k = 0; k < N; ++k) off[k] -= g.strides[k][d] * g.shape[d];
        idx[d] = 0;
      }
    }
  };

  if (!parallel) {
    run_range(0, outer);
  } else if (outer == 1) {
    // One long run: split it into pieces.
    parallel_for(0, inner, grain_for(1), [&](int64_t b, int64_t e) {
      std::array<int64_t, N> off{};
      for (std::size_t k = 0; k < N; ++k) off[k] = b * inner_strides[k];
      body(off, e - b, inner_strides);
    });
  } else {
    parallel_for(0, outer, grain_for(inner), run_range);
  }
}

// out[i] = f(x[i]) over `shape`; x may be strided or broadcast, out is written once per element.
template <typename TOut, typename TIn, typename F>
void map_unary(const Shape& shape, StridedPtr<const TIn> x, StridedPtr<TOut> out, F f) {
  const TIn* px = x.data;
  TOut* po = out.data;
  std::array<const Strides*, 2> st{out.strides, x.strides};
  for_each_run<2>(shape, st, true, [&](const std::array<int64_t, 2>& off, int64_t n, const std::array<int64_t, 2>& s) {
    TOut* o = po + off[0];
    const TIn* a = px + off[1];
    if (s[0] == 1 && s[1] == 1) {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) o[i] = f(a[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) o[i * s[0]] = f(a[i * s[1]]);
    }
  });
}

// out[i] = f(a[i], b[i]) over `shape` (a and b carry stride 0 where broadcast).
template <typename TOut, typename TA, typename TB, typename F>
void map_binary(const Shape& shape, StridedPtr<const TA> a, StridedPtr<const TB> b, StridedPtr<TOut> out, F f) {
  const TA* pa = a.data;
  const TB* pb = b.data;
  TOut* po = out.data;
  std::array<const Strides*, 3> st{out.strides, a.strides, b.strides};
  for_each_run<3>(shape, st, true, [&](const std::array<int64_t, 3>& off, int64_t n, const std::array<int64_t, 3>& s) {
    TOut* o = po + off[0];
    const TA* x = pa + off[1];
    const TB* y = pb + off[2];
    if (s[0] == 1 && s[1] == 1 && s[2] == 1) {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i]);
    } else if (s[0] == 1 && s[1] == 1 && s[2] == 0) {
      const TB yv = *y;
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], yv);
    } else if (s[0] == 1 && s[1] == 0 && s[2] == 1) {
      const TA xv = *x;
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) o[i] = f(xv, y[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) o[i * s[0]] = f(x[i * s[1]], y[i * s[2]]);
    }
  });
}

// out[i] = f(a[i], b[i], c[i]) over `shape`.
template <typename TOut, typename TA, typename TB, typename TC, typename F>
void map_ternary(const Shape& shape, StridedPtr<const TA> a, StridedPtr<const TB> b, StridedPtr<const TC> c,
                 StridedPtr<TOut> out, F f) {
  const TA* pa = a.data;
  const TB* pb = b.data;
  const TC* pc = c.data;
  TOut* po = out.data;
  std::array<const Strides*, 4> st{out.strides, a.strides, b.strides, c.strides};
  for_each_run<4>(shape, st, true, [&](const std::array<int64_t, 4>& off, int64_t n, const std::array<int64_t, 4>& s) {
    for (int64_t i = 0; i < n; ++i) {
      po[off[0] + i * s[0]] = f(pa[off[1] + i * s[1]], pb[off[2] + i * s[2]], pc[off[3] + i * s[3]]);
    }
  });
}

// Copies src into dst over `shape` (any strides, src may broadcast), converting between any dtypes.
void copy_cast(const Shape& shape, DType src_dtype, const void* src, const Strides& src_strides, DType dst_dtype,
               void* dst, const Strides& dst_strides);

// ---- reductions ----
enum class ReduceKind { Sum, Prod, Max, Min };
// The dtype a reduction writes: int64 for sums and products of integers and bools, else the input's.
DType reduce_dtype(DType in, ReduceKind kind);
// Reduces x (`shape`, any strides) over the axes where keepdims_shape has 1 and shape does not
// (keepdims_shape has x's rank), into `out`: dense, keepdims_shape, of reduce_dtype(dtype, kind).
// Sums accumulate float32 in float64 over fixed chunks: deterministic for any thread count.
// ShapeError if keepdims_shape is not such a shape; ValueError for max/min over an empty axis.
void reduce(const Shape& shape, DType dtype, const void* x, const Strides& strides, const Shape& keepdims_shape,
            ReduceKind kind, void* out);
// Index of the max/min along `axis` (first on ties; a NaN wins) into out: dense int64, x's shape with
// `axis` of size 1. ValueError for an empty axis.
void arg_reduce(const Shape& shape, DType dtype, const void* x, const Strides& strides, int axis, bool is_max,
                int64_t* out);

}  // namespace ember::kernels::cpu
