// Tensor handle basics, creation functions and printing. Element loops here only fill or read
// freshly made tensors; all computation lives in kernels/.
#include "ember/core/tensor.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iomanip>
#include <numeric>
#include <ostream>
#include <sstream>

#include "ember/core/pool.hpp"

namespace ember {

TensorImpl& Tensor::impl() const {
  if (!impl_) throw ValueError("operation on an undefined tensor");
  return *impl_;
}

void Tensor::check_dtype_(DType want) const {
  if (impl().dtype != want) {
    throw DTypeError("data<" + std::string(dtype_name(want)) + ">: tensor has dtype " +
                     std::string(dtype_name(impl().dtype)));
  }
}

Tensor Tensor::empty(const Shape& shape, DType dtype) {
  check_shape(shape, "empty");
  auto impl = make_pooled<TensorImpl>();
  const std::size_t nbytes = static_cast<std::size_t>(ember::numel(shape)) * itemsize(dtype);
  try {
    impl->storage = make_pooled<Storage>(nbytes);
  } catch (const std::bad_alloc&) {
    const double gib = static_cast<double>(nbytes) / (1024.0 * 1024.0 * 1024.0);
    char size[32];
    if (gib >= 1024) {
      std::snprintf(size, sizeof size, "%.4g TiB", gib / 1024);
    } else {
      std::snprintf(size, sizeof size, "%.4g GiB", gib);
    }
    throw MemoryError("out of memory: cannot allocate " + std::string(size) + " for a " + std::string(dtype_name(dtype)) +
                      " tensor of shape " + ember::to_string(shape));
  }
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->offset = 0;
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::as_strided(const Shape& shape, const Strides& strides, int64_t offset) const {
  check_shape(shape, "as_strided");
  if (strides.size() != shape.size()) {
    throw ShapeError("as_strided: " + std::to_string(strides.size()) + " strides for shape " + ember::to_string(shape));
  }
  // Bounds check: the lowest and highest element addressed must lie inside the storage.
  int64_t capacity = static_cast<int64_t>(impl().storage->nbytes() / itemsize(impl().dtype));
  if (ember::numel(shape) > 0) {
    int64_t lo = offset, hi = offset;
    for (std::size_t i = 0; i < shape.size(); ++i) {
      int64_t span = (shape[i] - 1) * strides[i];
      (span < 0 ? lo : hi) += span;
    }
    if (lo < 0 || hi >= capacity) {
      throw ShapeError("as_strided: view " + ember::to_string(shape) + " with offset " + std::to_string(offset) +
                       " reaches outside a storage of " + std::to_string(capacity) + " elements");
    }
  }
  auto v = make_pooled<TensorImpl>();
  v->storage = impl().storage;
  v->shape = shape;
  v->strides = strides;
  v->offset = offset;
  v->dtype = impl().dtype;
  return Tensor(std::move(v));
}

int64_t Tensor::size(int64_t axis) const {
  int a = normalize_axis(axis, dim(), "size");
  return dim() == 0 ? 1 : shape()[a];
}

bool Tensor::is_contiguous() const { return ember::is_contiguous(shape(), strides()); }

bool Tensor::shares_storage(const Tensor& other) const {
  return defined() && other.defined() && impl().storage == other.impl().storage;
}

void* Tensor::raw_data() const {
  return static_cast<char*>(impl().storage->data()) + impl().offset * static_cast<int64_t>(itemsize(dtype()));
}

namespace {

// Offset (in elements) of a multi-index.
int64_t element_offset(const Tensor& t, const std::vector<int64_t>& idx) {
  int64_t off = t.offset();
  for (std::size_t i = 0; i < idx.size(); ++i) off += idx[i] * t.strides()[i];
  return off;
}

// Calls f(offset) for every element in row-major order.
template <typename F>
void for_each_offset(const Tensor& t, F&& f) {
  int64_t n = t.numel();
  if (n == 0) return;
  int nd = t.dim();
  std::vector<int64_t> idx(nd, 0);
  for (int64_t k = 0; k < n; ++k) {
    f(element_offset(t, idx));
    for (int d = nd - 1; d >= 0; --d) {
      if (++idx[d] < t.shape()[d]) break;
      idx[d] = 0;
    }
  }
}

template <typename T>
T read_as(const Tensor& t, int64_t off) {
  return visit_dtype(t.dtype(), [&]<typename S>() -> T {
    S v = static_cast<const S*>(t.impl().storage->data())[off];
    return static_cast<T>(v);
  });
}

}  // namespace

template <typename T>
T Tensor::item() const {
  if (numel() != 1) {
    throw ValueError("item: expected a tensor with one element, got shape " + ember::to_string(shape()));
  }
  std::vector<int64_t> idx(dim(), 0);
  return read_as<T>(*this, element_offset(*this, idx));
}

template <typename T>
T Tensor::at(std::initializer_list<int64_t> index) const {
  if (static_cast<int>(index.size()) != dim()) {
    throw ShapeError("at: " + std::to_string(index.size()) + " indices for a tensor of shape " +
                     ember::to_string(shape()));
  }
  std::vector<int64_t> idx(index);
  for (int i = 0; i < dim(); ++i) {
    if (idx[i] < -shape()[i] || idx[i] >= shape()[i]) {
      throw ShapeError("at: index " + std::to_string(idx[i]) + " out of range for axis " + std::to_string(i) +
                       " of shape " + ember::to_string(shape()));
    }
    if (idx[i] < 0) idx[i] += shape()[i];
  }
  return read_as<T>(*this, element_offset(*this, idx));
}

template <typename T>
std::vector<T> Tensor::to_vector() const {
  std::vector<T> out;
  out.reserve(static_cast<std::size_t>(numel()));
  for_each_offset(*this, [&](int64_t off) { out.push_back(read_as<T>(*this, off)); });
  return out;
}

#define EMBER_INSTANTIATE_READERS(T)                                     \
  template T Tensor::item<T>() const;                                    \
  template T Tensor::at<T>(std::initializer_list<int64_t>) const;        \
  template std::vector<T> Tensor::to_vector<T>() const;
EMBER_INSTANTIATE_READERS(float)
EMBER_INSTANTIATE_READERS(double)
EMBER_INSTANTIATE_READERS(int32_t)
EMBER_INSTANTIATE_READERS(int64_t)
EMBER_INSTANTIATE_READERS(uint8_t)
EMBER_INSTANTIATE_READERS(bool)
#undef EMBER_INSTANTIATE_READERS

// ---------------------------------------------------------------- creation

namespace {
template <typename Fn>
Tensor make_filled(const Shape& shape, DType dtype, Fn&& value_at) {
  Tensor t = Tensor::empty(shape, dtype);
  int64_t n = t.numel();
  visit_dtype(dtype, [&]<typename T>() {
    T* p = t.data<T>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(value_at(i));
  });
  return t;
}
}  // namespace

Tensor full(const Shape& shape, Scalar value, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype);
  visit_dtype(dtype, [&]<typename T>() {
    T v = value.to<T>();
    std::fill_n(t.data<T>(), t.numel(), v);
  });
  return t;
}
Tensor zeros(const Shape& shape, DType dtype) { return full(shape, 0, dtype); }
Tensor ones(const Shape& shape, DType dtype) { return full(shape, 1, dtype); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype()); }
Tensor scalar_tensor(Scalar value, DType dtype) { return full({}, value, dtype); }

Tensor arange(double start, double stop, double step, DType dtype) {
  if (step == 0 || !std::isfinite(start) || !std::isfinite(stop) || !std::isfinite(step)) {
    throw ValueError("arange: expected finite start/stop and a non-zero step, got step " + std::to_string(step));
  }
  double count = std::ceil((stop - start) / step);
  // Checked before the conversion: a double beyond int64's range would make the cast undefined.
  if (!(count < 9.0e15)) {
    char msg[200];
    std::snprintf(msg, sizeof msg, "arange: [%g, %g) in steps of %g would have %g elements, too many", start, stop,
                  step, count);
    throw ShapeError(msg);
  }
  int64_t n = count > 0 ? static_cast<int64_t>(count) : 0;
  return make_filled({n}, dtype, [&](int64_t i) { return start + static_cast<double>(i) * step; });
}

Tensor arange(int64_t n, DType dtype) {
  if (n < 0) throw ValueError("arange: expected n >= 0, got " + std::to_string(n));
  return make_filled({n}, dtype, [](int64_t i) { return i; });
}

Tensor linspace(double start, double stop, int64_t num, DType dtype) {
  if (num < 0) throw ValueError("linspace: expected num >= 0, got " + std::to_string(num));
  double step = num > 1 ? (stop - start) / static_cast<double>(num - 1) : 0.0;
  return make_filled({num}, dtype, [&](int64_t i) { return num > 1 && i == num - 1 ? stop : start + static_cast<double>(i) * step; });
}

Tensor eye(int64_t n, std::optional<int64_t> m, DType dtype) {
  int64_t cols = m.value_or(n);
  if (n < 0 || cols < 0) throw ValueError("eye: expected non-negative sizes");
  return make_filled({n, cols}, dtype, [&](int64_t i) { return i / cols == i % cols ? 1 : 0; });
}

namespace {
template <typename V>
Tensor from_values(const std::vector<V>& values, const Shape& shape, DType dtype) {
  check_shape(shape, "from_vector");
  if (static_cast<int64_t>(values.size()) != numel(shape)) {
    throw ShapeError("from_vector: " + std::to_string(values.size()) + " values do not fill shape " +
                     to_string(shape) + " (" + std::to_string(numel(shape)) + " elements)");
  }
  return make_filled(shape, dtype, [&](int64_t i) { return values[static_cast<std::size_t>(i)]; });
}
}  // namespace

Tensor from_vector(const std::vector<double>& v, const Shape& s, DType dt) { return from_values(v, s, dt); }
Tensor from_vector(const std::vector<float>& v, const Shape& s) { return from_values(v, s, f32); }
Tensor from_vector(const std::vector<int64_t>& v, const Shape& s, DType dt) { return from_values(v, s, dt); }
Tensor from_vector(const std::vector<int32_t>& v, const Shape& s) { return from_values(v, s, i32); }
Tensor from_vector(const std::vector<uint8_t>& v, const Shape& s) { return from_values(v, s, u8); }

namespace {
Generator& pick(Generator* gen) { return gen ? *gen : default_generator(); }
void require_floating(DType dt, const char* what) {
  if (!is_floating(dt)) {
    throw DTypeError(std::string(what) + ": expected a floating dtype, got " + std::string(dtype_name(dt)));
  }
}
}  // namespace

Tensor randn(const Shape& shape, RandnOptions opt) {
  require_floating(opt.dtype, "randn");
  Generator& g = pick(opt.generator);
  return make_filled(shape, opt.dtype, [&](int64_t) { return opt.mean + opt.stddev * g.normal(); });
}

Tensor rand(const Shape& shape, RandOptions opt) {
  const DType dtype = opt.dtype;
  const double low = opt.low, high = opt.high;
  require_floating(dtype, "rand");
  if (!(high >= low)) {
    throw ValueError("rand: expected low <= high, got low " + std::to_string(low) + ", high " + std::to_string(high));
  }
  Generator& g = pick(opt.generator);
  Tensor t = Tensor::empty(shape, dtype);
  visit_floating(dtype, "rand", [&]<typename T>() {
    // Rounding low + (high - low) * u to T can give exactly `high` (u just below 1 narrowed to
    // float32 is 1.0f); keep the interval half-open by stepping back to the largest T below high.
    const T top = high > low ? std::nextafter(static_cast<T>(high), static_cast<T>(low)) : static_cast<T>(low);
    T* p = t.data<T>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = std::min(static_cast<T>(low + (high - low) * g.uniform()), top);
  });
  return t;
}

Tensor truncated_normal(const Shape& shape, RandnOptions opt) {
  require_floating(opt.dtype, "truncated_normal");
  Generator& g = pick(opt.generator);
  const double mean = opt.mean, stddev = opt.stddev;
  return make_filled(shape, opt.dtype, [&](int64_t) {
    double z;
    do z = g.normal();
    while (std::abs(z) > 2.0);
    return mean + stddev * z;
  });
}

Tensor bernoulli(const Shape& shape, double p, BernoulliOptions opt) {
  if (!(p >= 0.0 && p <= 1.0)) throw ValueError("bernoulli: expected 0 <= p <= 1, got " + std::to_string(p));
  Generator& g = pick(opt.generator);
  return make_filled(shape, opt.dtype, [&](int64_t) { return g.uniform() < p ? 1 : 0; });
}

Tensor randperm(int64_t n, Generator* gen) {
  if (n < 0) throw ValueError("randperm: expected n >= 0, got " + std::to_string(n));
  Generator& g = pick(gen);
  Tensor t = arange(n, i64);
  int64_t* p = t.data<int64_t>();
  for (int64_t i = n - 1; i > 0; --i) std::swap(p[i], p[g.below(static_cast<uint64_t>(i + 1))]);  // Fisher-Yates
  return t;
}

// ---------------------------------------------------------------- printing

namespace {

constexpr int64_t kSummariseAbove = 1000;  // NumPy's threshold
constexpr int64_t kEdgeItems = 3;

std::string format_value(const Tensor& t, int64_t off) {
  std::ostringstream os;
  switch (t.dtype()) {
    case DType::f32:
    case DType::f64: {
      double v = read_as<double>(t, off);
      if (std::isnan(v)) return "nan";
      if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
      if (v == std::floor(v) && std::abs(v) < 1e16) {
        os << static_cast<long long>(v) << ".";
      } else {
        os << std::setprecision(t.dtype() == DType::f32 ? 4 : 8) << v;
      }
      break;
    }
    case DType::b8: return read_as<bool>(t, off) ? "True" : "False";
    default: os << read_as<int64_t>(t, off);
  }
  return os.str();
}

void print_rec(std::ostream& os, const Tensor& t, std::vector<int64_t>& idx, int axis, bool summarise, int indent,
               std::size_t width) {
  int64_t n = t.shape()[axis];
  bool last = axis == t.dim() - 1;
  os << "[";
  for (int64_t i = 0; i < n; ++i) {
    if (summarise && n > 2 * kEdgeItems && i == kEdgeItems) {
      os << (last ? "..., " : "...,\n" + std::string(indent + axis + 1, ' '));
      i = n - kEdgeItems - 1;
      continue;
    }
    idx[axis] = i;
    if (last) {
      std::string s = format_value(t, element_offset(t, idx));
      os << std::string(width > s.size() ? width - s.size() : 0, ' ') << s;
    } else {
      print_rec(os, t, idx, axis + 1, summarise, indent, width);
    }
    if (i + 1 < n) os << (last ? ", " : ",\n" + std::string(t.dim() - axis - 2, '\n') + std::string(indent + axis + 1, ' '));
  }
  os << "]";
}

}  // namespace

std::string Tensor::to_string() const {
  if (!defined()) return "tensor(undefined)";
  std::ostringstream os;
  os << "tensor(";
  if (dim() == 0) {
    os << format_value(*this, offset());
  } else {
    bool summarise = numel() > kSummariseAbove;
    std::size_t width = 0;
    if (numel() <= kSummariseAbove) {
      for_each_offset(*this, [&](int64_t off) { width = std::max(width, format_value(*this, off).size()); });
    }
    std::vector<int64_t> idx(dim(), 0);
    if (numel() == 0) os << "[]";
    else print_rec(os, *this, idx, 0, summarise, 7, width);
  }
  os << ", shape=" << ember::to_string(shape()) << ", dtype=" << dtype_name(dtype()) << ")";
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.to_string(); }

}  // namespace ember
