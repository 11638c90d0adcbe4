#pragma once
#include "ember/core/tensor.hpp"

namespace ember {

// Matrix product with NumPy matmul semantics: 1-D operands are promoted to matrices and the added
// axis removed after; leading (batch) axes broadcast. transpose_a/b transpose the last two axes of
// the operand, folded into the BLAS call rather than copied: matmul(a, b, {.transpose_b = true}).
// Inner dimensions must agree: "matmul: inner dimensions differ: [32,784] x [512,10]".
// float32 uses oneDNN's sgemm, float64 OpenBLAS, integers the reference loop; bool is a DTypeError.
struct MatmulOptions {
  bool transpose_a = false;  // use a's last two axes swapped (a must be at least 2-D)
  bool transpose_b = false;  // use b's last two axes swapped (b must be at least 2-D)
};

Tensor matmul(const Tensor& a, const Tensor& b, MatmulOptions opt = {});

}  // namespace ember
