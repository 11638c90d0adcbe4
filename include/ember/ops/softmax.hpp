#pragma once
// Softmax and log-softmax over one axis (default: the last), computed with the row maximum
// subtracted so no input overflows. Both run fused row kernels (kernels/cpu/softmax.hpp) and carry
// their own backward rules:
//   softmax:     dx = y * (g - sum(g * y))
//   log_softmax: dx = g - exp(y) * sum(g)
// Integer inputs compute in float32 (as the other math functions). A NaN in a row makes that row
// NaN; a row containing +inf, or only -inf, is NaN too (as in TensorFlow and PyTorch).
// A 0-d tensor is one row of one element (softmax 1, log_softmax 0).
#include <cstdint>

#include "ember/core/tensor.hpp"

namespace ember {

Tensor softmax(const Tensor& x, int64_t axis = -1);
Tensor log_softmax(const Tensor& x, int64_t axis = -1);

}  // namespace ember
