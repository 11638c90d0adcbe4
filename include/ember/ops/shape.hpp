#pragma once
// Shape ops. Views (reshape of contiguous data, transpose, permute, slice, expand, squeeze,
// unsqueeze) share storage with their input; the others copy. All are differentiable.
#include <optional>
#include <vector>

#include "ember/core/tensor.hpp"

namespace ember {

Tensor reshape(const Tensor& x, const Shape& shape);  // one -1 is inferred
Tensor flatten(const Tensor& x, int64_t start_axis = 0, int64_t end_axis = -1);
Tensor transpose(const Tensor& x, int64_t a, int64_t b);
Tensor permute(const Tensor& x, const Axes& axes);
// Elements start, start+step, ... < stop along `axis` (negative start/stop count from the end and
// are clamped like Python slices); step >= 1.
Tensor slice(const Tensor& x, int64_t axis, int64_t start, int64_t stop, int64_t step = 1);
Tensor expand(const Tensor& x, const Shape& shape);  // NumPy broadcast_to
inline Tensor broadcast_to(const Tensor& x, const Shape& shape) { return expand(x, shape); }
Tensor squeeze(const Tensor& x, std::optional<int64_t> axis = std::nullopt);
Tensor unsqueeze(const Tensor& x, int64_t axis);
Tensor contiguous(const Tensor& x);  // x itself when already contiguous
Tensor clone(const Tensor& x);

Tensor concat(const std::vector<Tensor>& xs, int64_t axis);
Tensor stack(const std::vector<Tensor>& xs, int64_t axis = 0);
// Splits into pieces of the given sizes (which must add up to the axis length).
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t axis);
// Splits into `sections` equal pieces.
std::vector<Tensor> split(const Tensor& x, int64_t sections, int64_t axis);
// Constant padding: pads[i] = {before, after} for axis i (fewer pairs than axes pad the leading ones).
Tensor pad(const Tensor& x, const std::vector<std::pair<int64_t, int64_t>>& pads, Scalar value = 0);
// Takes indices (any integer dtype and shape) along `axis`: out.shape = x.shape[:axis] + idx.shape + x.shape[axis+1:].
Tensor gather(const Tensor& x, const Tensor& indices, int64_t axis = 0);
inline Tensor take(const Tensor& x, const Tensor& indices, int64_t axis = 0) { return gather(x, indices, axis); }
// An embedding lookup: the rows table[indices] (indices of any integer dtype and shape, each in
// [0, rows); out.shape = indices.shape + table.shape[1:]). The forward is gather on axis 0; the
// gradient of a LEAF table is not a dense scatter-add but accumulated as rows
// (autograd::accumulate_row_grad), so a backward pass costs O(rows used), and SGD without
// momentum and Adagrad then update only those rows (optim/optimizer.hpp). A table with history
// gets gather's dense gradient. ValueError for an index out of range (no wrapping of negatives).
Tensor embedding_lookup(const Tensor& table, const Tensor& indices);
// For each index a row of `depth` with on_value at the index (out-of-range indices give all off_value, as TF).
Tensor one_hot(const Tensor& indices, int64_t depth, DType dtype = f32, double on_value = 1, double off_value = 0);
Tensor tile(const Tensor& x, const std::vector<int64_t>& reps);
// tf.boolean_mask on axis 0: `mask` (bool, or any dtype read as != 0) has the shape of x's first
// mask.dim() axes; the result keeps the masked positions in row-major order: shape
// [count] + x.shape[mask.dim():]. Differentiable w.r.t. x (a gather). ShapeError on a shape mismatch.
Tensor boolean_mask(const Tensor& x, const Tensor& mask);

}  // namespace ember
