#pragma once
// Reductions over a set of axes ({} = all axes), with keepdims as in NumPy.
#include "ember/core/tensor.hpp"

namespace ember {

Tensor sum(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
Tensor mean(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
Tensor max(const Tensor& x, const Axes& axes = {}, bool keepdims = false);  // gradient split among ties
Tensor min(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
Tensor prod(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
// Population variance by default (ddof = 0, NumPy/TensorFlow); ddof = 1 for the unbiased one.
Tensor var(const Tensor& x, const Axes& axes = {}, bool keepdims = false, int64_t ddof = 0);
Tensor std(const Tensor& x, const Axes& axes = {}, bool keepdims = false, int64_t ddof = 0);
Tensor argmax(const Tensor& x, int64_t axis, bool keepdims = false);  // int64, first on ties
Tensor argmin(const Tensor& x, int64_t axis, bool keepdims = false);
// log(sum(exp(x))) computed with the maximum subtracted, so it never overflows.
Tensor logsumexp(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
// Norms: ord 1 = sum |x|, ord 2 = sqrt(sum x²) over the axes (Frobenius over a matrix's two axes).
Tensor norm(const Tensor& x, int ord = 2, const Axes& axes = {}, bool keepdims = false);
inline Tensor frobenius_norm(const Tensor& x) { return norm(x, 2, {}, false); }

// Resolves an axes list against rank `ndim`: sorted, unique, normalised ({} = all).
SmallVector<int, kMaxDims> resolve_axes(const Axes& axes, int ndim, const char* what);
// The keepdims-form shape after reducing `axes`.
Shape reduced_shape(const Shape& shape, const SmallVector<int, kMaxDims>& axes, bool keepdims);

}  // namespace ember
