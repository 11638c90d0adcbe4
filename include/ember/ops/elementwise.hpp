#pragma once
// Elementwise ops with NumPy broadcasting and type promotion (bool < uint8 < int32 < int64 <
// float32 < float64). A Scalar operand takes the tensor's dtype (a floating scalar with an integer
// tensor gives float32), as PyTorch does with Python numbers.
// Math functions (exp, log, sqrt, ...) of integer tensors compute in float32.
// Gradients: every differentiable op here records its backward rule next to its forward.
#include "ember/core/tensor.hpp"

namespace ember {

Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);  // true division (integers give float32)
Tensor pow(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, Scalar exponent);
Tensor maximum(const Tensor& a, const Tensor& b);  // gradient goes to a where a >= b (TensorFlow)
Tensor minimum(const Tensor& a, const Tensor& b);  // gradient goes to a where a <= b

Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor sign(const Tensor& x);  // gradient 0
Tensor square(const Tensor& x);
// Clamps to [low, high]; the gradient passes where low <= x <= high.
Tensor clip(const Tensor& x, Scalar low, Scalar high);
// Elementwise select: cond ? a : b (cond cast to bool; all three broadcast).
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

// Comparisons and logic give bool tensors and carry no gradient.
Tensor equal(const Tensor& a, const Tensor& b);
Tensor not_equal(const Tensor& a, const Tensor& b);
Tensor less(const Tensor& a, const Tensor& b);
Tensor less_equal(const Tensor& a, const Tensor& b);
Tensor greater(const Tensor& a, const Tensor& b);
Tensor greater_equal(const Tensor& a, const Tensor& b);
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
Tensor logical_not(const Tensor& x);

// Conversion to another dtype (differentiable between floating types).
Tensor cast(const Tensor& x, DType dtype);

// A 0-d tensor holding `s`, typed to combine with `like` (see the promotion note above).
Tensor scalar_like(Scalar s, const Tensor& like);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& x);
Tensor operator+(const Tensor& a, Scalar b);
Tensor operator-(const Tensor& a, Scalar b);
Tensor operator*(const Tensor& a, Scalar b);
Tensor operator/(const Tensor& a, Scalar b);
Tensor operator+(Scalar a, const Tensor& b);
Tensor operator-(Scalar a, const Tensor& b);
Tensor operator*(Scalar a, const Tensor& b);
Tensor operator/(Scalar a, const Tensor& b);

}  // namespace ember
