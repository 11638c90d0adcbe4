#pragma once
// Element types and compile-time dispatch over them.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ember/core/error.hpp"

namespace ember {

enum class DType : uint8_t { f32, f64, i32, i64, u8, b8 };

inline constexpr DType f32 = DType::f32;
inline constexpr DType f64 = DType::f64;
inline constexpr DType i32 = DType::i32;
inline constexpr DType i64 = DType::i64;
inline constexpr DType u8 = DType::u8;
inline constexpr DType boolean = DType::b8;  // `bool` is a keyword; stored as one byte 0/1

std::size_t itemsize(DType dt);
std::string_view dtype_name(DType dt);  // "float32", "float64", "int32", "int64", "uint8", "bool"
bool is_floating(DType dt);
bool is_integral(DType dt);  // integers and bool
// NumPy-style promotion for binary ops: bool < u8 < i32 < i64 < f32 < f64 (ints with f32 give f32).
DType promote_types(DType a, DType b);

template <typename T>
struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::f32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::f64; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::i32; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::i64; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::u8; };
template <> struct dtype_of<bool> { static constexpr DType value = DType::b8; };
template <typename T>
inline constexpr DType dtype_v = dtype_of<T>::value;

// Calls f.template operator()<T>() with T the C++ type of `dt`:
//   visit_dtype(dt, [&]<typename T>() { ... });
template <typename F>
decltype(auto) visit_dtype(DType dt, F&& f) {
  switch (dt) {
    case DType::f32: return f.template operator()<float>();
    case DType::f64: return f.template operator()<double>();
    case DType::i32: return f.template operator()<int32_t>();
    case DType::i64: return f.template operator()<int64_t>();
    case DType::u8: return f.template operator()<uint8_t>();
    case DType::b8: return f.template operator()<bool>();
  }
  throw DTypeError("unknown dtype");
}

// Same, restricted to f32/f64; other dtypes throw DTypeError naming `what`.
template <typename F>
decltype(auto) visit_floating(DType dt, std::string_view what, F&& f) {
  switch (dt) {
    case DType::f32: return f.template operator()<float>();
    case DType::f64: return f.template operator()<double>();
    default: break;
  }
  throw DTypeError(std::string(what) + ": expected a floating dtype (float32 or float64), got " +
                   std::string(dtype_name(dt)));
}

}  // namespace ember
