#pragma once
// Shapes and strides: small vectors of int64 dimensions. Tensors have at most kMaxDims dimensions
// (check_shape), so a Shape keeps them inline and creating or copying one never allocates; longer
// lists (a Reshape target being validated, say) still work, on the heap.
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "ember/core/small_vector.hpp"

namespace ember {

inline constexpr int kMaxDims = 8;

using Shape = SmallVector<int64_t, kMaxDims>;
using Strides = SmallVector<int64_t, kMaxDims>;  // in elements, not bytes

int64_t numel(const Shape& shape);
std::string to_string(const Shape& shape);       // "[32,784]"
Strides contiguous_strides(const Shape& shape);  // row-major
// Whether (shape, strides) lays its elements out row-major without gaps; size-1 axes may have any stride.
bool is_contiguous(const Shape& shape, const Strides& strides);
// Normalises a possibly negative axis into [0, ndim); throws ValueError naming `what` otherwise.
int normalize_axis(int64_t axis, int ndim, const char* what);
// NumPy broadcasting of two shapes; throws ShapeError naming `what` and both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* what);
// Validates rank and non-negative dims; throws ShapeError.
void check_shape(const Shape& shape, const char* what);

}  // namespace ember
