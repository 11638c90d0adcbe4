#include "ember/core/dtype.hpp"

namespace ember {

std::size_t itemsize(DType dt) {
  switch (dt) {
    case DType::f32: return 4;
    case DType::f64: return 8;
    case DType::i32: return 4;
    case DType::i64: return 8;
    case DType::u8: return 1;
    case DType::b8: return 1;
  }
  throw DTypeError("itemsize: unknown dtype");
}

std::string_view dtype_name(DType dt) {
  switch (dt) {
    case DType::f32: return "float32";
    case DType::f64: return "float64";
    case DType::i32: return "int32";
    case DType::i64: return "int64";
    case DType::u8: return "uint8";
    case DType::b8: return "bool";
  }
  return "unknown";
}

bool is_floating(DType dt) { return dt == DType::f32 || dt == DType::f64; }
bool is_integral(DType dt) { return !is_floating(dt); }

DType promote_types(DType a, DType b) {
  if (a == b) return a;
  auto rank = [](DType d) {
    switch (d) {
      case DType::b8: return 0;
      case DType::u8: return 1;
      case DType::i32: return 2;
      case DType::i64: return 3;
      case DType::f32: return 4;
      case DType::f64: return 5;
    }
    return 0;
  };
  return rank(a) >= rank(b) ? a : b;
}

}  // namespace ember
