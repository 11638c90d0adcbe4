#include "ember/core/shape.hpp"

#include "ember/core/error.hpp"

namespace ember {

int64_t numel(const Shape& shape) {
  // The product of the non-zero dimensions must fit even when a zero makes the count 0: strides are
  // products of dimensions too, and [2^40, 2^40, 0] would overflow them.
  int64_t n = 1;
  bool empty = false;
  for (int64_t d : shape) {
    if (d == 0) {
      empty = true;
    } else if (__builtin_mul_overflow(n, d, &n)) {
      throw ShapeError("shape " + to_string(shape) + " has dimensions whose product does not fit in 64 bits");
    }
  }
  return empty ? 0 : n;
}

std::string to_string(const Shape& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

bool is_contiguous(const Shape& shape, const Strides& strides) {
  int64_t expect = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    if (shape[i] == 1) continue;
    if (strides[i] != expect) return false;
    expect *= shape[i];
  }
  return true;
}

Strides contiguous_strides(const Shape& shape) {
  Strides st(shape.size());
  int64_t acc = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    st[i] = acc;
    acc *= shape[i] > 0 ? shape[i] : 1;
  }
  return st;
}

int normalize_axis(int64_t axis, int ndim, const char* what) {
  // A 0-d tensor accepts axis 0/-1 as "its only position", like NumPy's keepdims cases.
  int64_t n = ndim == 0 ? 1 : ndim;
  if (axis < -n || axis >= n) {
    throw ValueError(std::string(what) + ": axis " + std::to_string(axis) + " is out of range for a tensor of rank " +
                     std::to_string(ndim));
  }
  return static_cast<int>(axis < 0 ? axis + n : axis);
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* what) {
  std::size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (std::size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1) {
      throw ShapeError(std::string(what) + ": shapes cannot be broadcast together: " + to_string(a) + " and " +
                       to_string(b));
    }
    out[i] = da == 1 ? db : da;
  }
  return out;
}

void check_shape(const Shape& shape, const char* what) {
  if (shape.size() > static_cast<std::size_t>(kMaxDims)) {
    throw ShapeError(std::string(what) + ": at most " + std::to_string(kMaxDims) + " dimensions are supported, got " +
                     std::to_string(shape.size()) + " " + to_string(shape));
  }
  for (int64_t d : shape) {
    if (d < 0) throw ShapeError(std::string(what) + ": negative dimension in shape " + to_string(shape));
  }
  // Guard against sizes whose byte count (or, with a zero dimension, whose strides) would overflow.
  double total = 1;
  for (int64_t d : shape) total *= d == 0 ? 1.0 : static_cast<double>(d);
  if (total > 9.0e15) throw ShapeError(std::string(what) + ": shape " + to_string(shape) + " is too large");
}

}  // namespace ember
