#pragma once
#include "ember/core/tensor.hpp"

namespace ember {

// Matrix product with NumPy matmul semantics: 1-D operands are promoted to matrices and the added
// axis removed after; leading (batch) axes broadcast. transpose_a/b transpose the last two axes of
// the operand, folded into the BLAS call rather than copied. Inner dimensions must agree:
// "matmul: inner dimensions differ: [32,784] x [512,10]". float32 uses OpenBLAS sgemm.
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false, bool transpose_b = false);

}  // namespace ember
