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

// ---- row gradients (an embedding table's gradient kept as the rows a batch used) ----
// Instantiated for float and double.

// Sums rows with equal indices: g is [n, row_len] with row j belonging to idx[j] (any order,
// repeats allowed). Writes the m distinct indices sorted into out_idx[0, m) and, for each, the sum
// of its rows into out_rows [m, row_len], summed from zero in the order j — exactly the sums
// scatter_add_axis makes. scratch holds 2n + 1 entries. Returns m. Work O(n log n + n row_len);
// allocates nothing.
template <typename T>
int64_t coalesce_rows(const T* g, const int64_t* idx, int64_t n, int64_t row_len, int64_t* scratch, int64_t* out_idx,
                      T* out_rows);

// Merges two coalesced row sets (sorted distinct indices) into out (room for na + nb rows): an
// index in both gets a_row + b_row, one in a single set its row. Returns the number of rows.
template <typename T>
int64_t merge_rows(const int64_t* a_idx, const T* a_rows, int64_t na, const int64_t* b_idx, const T* b_rows, int64_t nb,
                   int64_t row_len, int64_t* out_idx, T* out_rows);

// dense[idx[j], :] += rows[j, :] for j in order (dense is [*, row_len]; no zero fill).
template <typename T>
void add_rows(const T* rows, const int64_t* idx, int64_t n, int64_t row_len, T* dense);

}  // namespace ember::kernels::cpu
