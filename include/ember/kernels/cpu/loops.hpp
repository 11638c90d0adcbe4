#pragma once
// Strided loops: the one place that walks N tensors of the same logical shape element by element.
// Operands are described by (base pointer, strides); broadcast operands simply carry stride 0.
// Dimensions are coalesced first, so contiguous tensors become one flat run, and the innermost
// run is handed to a body that the compiler can vectorise. Outer iterations are split across the
// OpenMP pool when there is enough work; each output element is written by exactly one thread,
// so results do not depend on the thread count.
#include <omp.h>

#include <array>
#include <cstdint>
#include <vector>

#include "ember/core/tensor.hpp"

namespace ember::kernels::cpu {

// Below this many elements a loop stays on the calling thread (thread start-up costs ~µs).
inline constexpr int64_t kParallelGrain = 32768;

template <std::size_t N>
struct LoopGeometry {
  std::vector<int64_t> shape;                       // coalesced, innermost last
  std::array<std::vector<int64_t>, N> strides;      // per operand, in elements
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
    std::vector<int64_t> idx(nd, 0);
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

  int threads = omp_get_max_threads();
  if (!parallel || threads == 1 || total < kParallelGrain || omp_in_parallel()) {
    run_range(0, outer);
    return;
  }
  if (outer == 1) {
    // One long run: split it into chunks.
#pragma omp parallel num_threads(threads)
    {
      int t = omp_get_thread_num(), nt = omp_get_num_threads();
      int64_t b = inner * t / nt, e = inner * (t + 1) / nt;
      std::array<int64_t, N> off{};
      for (std::size_t k = 0; k < N; ++k) off[k] = b * inner_strides[k];
      if (e > b) body(off, e - b, inner_strides);
    }
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    int t = omp_get_thread_num(), nt = omp_get_num_threads();
    int64_t b = outer * t / nt, e = outer * (t + 1) / nt;
    if (e > b) run_range(b, e);
  }
}

// out[i] = f(x[i]); out must be contiguous with x's shape (x may be strided or broadcast).
template <typename TOut, typename TIn, typename F>
void map_unary(const Tensor& x, const Tensor& out, F f) {
  const TIn* px = static_cast<const TIn*>(x.impl().storage->data()) + x.offset();
  TOut* po = out.data<TOut>();
  std::array<const Strides*, 2> st{&out.strides(), &x.strides()};
  for_each_run<2>(out.shape(), st, true, [&](const std::array<int64_t, 2>& off, int64_t n, const std::array<int64_t, 2>& s) {
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

// out[i] = f(a[i], b[i]); a and b already expanded to out's shape (stride 0 where broadcast).
template <typename TOut, typename TA, typename TB, typename F>
void map_binary(const Tensor& a, const Tensor& b, const Tensor& out, F f) {
  const TA* pa = static_cast<const TA*>(a.impl().storage->data()) + a.offset();
  const TB* pb = static_cast<const TB*>(b.impl().storage->data()) + b.offset();
  TOut* po = out.data<TOut>();
  std::array<const Strides*, 3> st{&out.strides(), &a.strides(), &b.strides()};
  for_each_run<3>(out.shape(), st, true, [&](const std::array<int64_t, 3>& off, int64_t n, const std::array<int64_t, 3>& s) {
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

// out[i] = f(a[i], b[i], c[i]); all expanded to out's shape.
template <typename TOut, typename TA, typename TB, typename TC, typename F>
void map_ternary(const Tensor& a, const Tensor& b, const Tensor& c, const Tensor& out, F f) {
  const TA* pa = static_cast<const TA*>(a.impl().storage->data()) + a.offset();
  const TB* pb = static_cast<const TB*>(b.impl().storage->data()) + b.offset();
  const TC* pc = static_cast<const TC*>(c.impl().storage->data()) + c.offset();
  TOut* po = out.data<TOut>();
  std::array<const Strides*, 4> st{&out.strides(), &a.strides(), &b.strides(), &c.strides()};
  for_each_run<4>(out.shape(), st, true, [&](const std::array<int64_t, 4>& off, int64_t n, const std::array<int64_t, 4>& s) {
    for (int64_t i = 0; i < n; ++i) {
      po[off[0] + i * s[0]] = f(pa[off[1] + i * s[1]], pb[off[2] + i * s[2]], pc[off[3] + i * s[3]]);
    }
  });
}

// Copies src (any strides, broadcast allowed, any dtype) into dst (any strides, same shape), casting.
void copy_cast(const Tensor& src, const Tensor& dst);

// ---- reductions ----
enum class ReduceKind { Sum, Prod, Max, Min };
// Reduces x over the axes where out_shape has 1 and x does not (out_shape has x's rank: keepdims
// form). Sums accumulate f32 in f64. Deterministic for any thread count.
Tensor reduce(const Tensor& x, const Shape& keepdims_shape, ReduceKind kind);
// Sums a gradient down to `shape` (NumPy broadcasting in reverse): the central broadcast reduction.
Tensor sum_to(const Tensor& grad, const Shape& shape);
// Index of the max/min along `axis` (first on ties), as i64 with the axis kept (size 1).
Tensor arg_reduce(const Tensor& x, int axis, bool is_max);

}  // namespace ember::kernels::cpu
