#pragma once
// Index-driven copies: gather along an axis, its adjoint scatter-add, and one-hot.
#include "ember/core/tensor.hpp"

namespace ember::kernels::cpu {

// x viewed as [outer, axis_len, inner] (contiguous), idx as flat int64 of count n (already
// validated to lie in [0, axis_len)); out is [outer, n, inner].
void gather_axis(const Tensor& x, const std::vector<int64_t>& idx, int64_t outer, int64_t axis_len, int64_t inner,
                 const Tensor& out);
// Adjoint of gather_axis: grad_x[outer, idx[j], inner] += g[outer, j, inner]; grad_x zero-filled first.
void scatter_add_axis(const Tensor& g, const std::vector<int64_t>& idx, int64_t outer, int64_t axis_len, int64_t inner,
                      const Tensor& grad_x);
// Reads any integer tensor as int64 values in row-major order.
std::vector<int64_t> read_indices(const Tensor& indices);

}  // namespace ember::kernels::cpu
