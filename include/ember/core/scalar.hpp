#pragma once
// A single number of any dtype, used for fills and tensor-scalar arithmetic.
#include <cstdint>
#include <type_traits>

#include "ember/core/dtype.hpp"

namespace ember {

class Scalar {
 public:
  Scalar() = default;
  template <typename T>
    requires std::is_arithmetic_v<T>
  Scalar(T v) {  // NOLINT: implicit on purpose, so x.mul(2) and x.add(0.5) read naturally
    if constexpr (std::is_same_v<T, bool>) {
      kind_ = Kind::Bool; i_ = v ? 1 : 0;
    } else if constexpr (std::is_integral_v<T>) {
      kind_ = Kind::Int; i_ = static_cast<int64_t>(v);
    } else {
      kind_ = Kind::Float; d_ = static_cast<double>(v);
    }
  }
  bool is_floating() const { return kind_ == Kind::Float; }
  bool is_bool() const { return kind_ == Kind::Bool; }
  double to_double() const { return kind_ == Kind::Float ? d_ : static_cast<double>(i_); }
  int64_t to_int() const { return kind_ == Kind::Float ? static_cast<int64_t>(d_) : i_; }
  template <typename T>
  T to() const {
    if constexpr (std::is_same_v<T, bool>) return kind_ == Kind::Float ? d_ != 0.0 : i_ != 0;
    else if constexpr (std::is_floating_point_v<T>) return static_cast<T>(to_double());
    else return kind_ == Kind::Float ? static_cast<T>(d_) : static_cast<T>(i_);
  }

 private:
  enum class Kind : uint8_t { Float, Int, Bool };
  Kind kind_ = Kind::Int;
  double d_ = 0.0;
  int64_t i_ = 0;
};

}  // namespace ember
