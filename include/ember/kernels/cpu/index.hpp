#pragma once
// Index-driven copies: gather along an axis and its adjoint scatter-add (raw pointers + geometry,
// as every kernel: kernels.hpp). The indices arrive validated: every idx[j] lies in [0, axis_len).
#include <cstddef>
#include <cstdint>

namespace ember::kernels::cpu {

// Dense x viewed as [outer, axis_len, inner] elements of `itemsize` bytes; out (dense) is
// [outer, n, inner] with out[o, j, :] = x[o, idx[j], :]. Any element type (a byte copy).
void gather_axis(const void* x, std::size_t itemsize, const int64_t* idx, int64_t n, int64_t outer, int64_t axis_len,
                 int64_t inner, void* out);

// Adjoint of gather_axis: grad_x (dense [outer, axis_len, inner]) is zero-filled, then
// grad_x[o, idx[j], :] += g[o, j, :] with j in order, so repeated indices sum deterministically.
// Instantiated for float, double, int32_t, int64_t, uint8_t and bool.
template <typename T>
void scatter_add_axis(const T* g, const int64_t* idx, int64_t n, int64_t outer, int64_t axis_len, int64_t inner,
                      T* grad_x);

}  // namespace ember::kernels::cpu
