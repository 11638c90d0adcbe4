#pragma once
// Small JSON state of checkpoints (train/saver.hpp, the callbacks' get_state/set_state): numbers
// that may be NaN or infinite (JSON has neither: written as the strings "nan", "inf", "-inf"), and
// one reader whose every error is a FormatError "<what>: field 'key': expected ..., got ...".
// Internal to train/.
#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "ember/core/config_fields.hpp"
#include "ember/core/error.hpp"

namespace ember::train::detail {

inline nlohmann::json number_json(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

class StateReader {
 public:
  // `j` must be an object (FormatError naming `what` otherwise).
  StateReader(const nlohmann::json& j, std::string what) : j_(j), what_(std::move(what)) {
    if (!j_.is_object()) fail_top("expected a JSON object, got " + short_dump(j_));
  }

  bool has(const char* key) const { return j_.contains(key) && !j_.at(key).is_null(); }
  const nlohmann::json& at(const char* key) const {
    if (!j_.contains(key)) fail(key, "expected a value, got nothing");
    return j_.at(key);
  }
  // A number, or "nan" / "inf" / "-inf".
  double number(const char* key) const { return number_of(at(key), key); }
  double number_of(const nlohmann::json& v, const char* key) const {
    if (v.is_number()) return v.get<double>();
    if (v.is_string()) {
      const auto& s = v.get_ref<const std::string&>();
      if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
      if (s == "inf") return std::numeric_limits<double>::infinity();
      if (s == "-inf") return -std::numeric_limits<double>::infinity();
    }
    fail(key, "expected a number, got " + short_dump(v));
  }
  int64_t integer(const char* key, int64_t lo = INT64_MIN, int64_t hi = INT64_MAX) const {
    const nlohmann::json& v = at(key);
    if (v.is_number_integer()) {
      if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
        fail(key, "expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + short_dump(v));
      }
      int64_t x = v.get<int64_t>();
      if (x >= lo && x <= hi) return x;
    }
    fail(key, "expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + short_dump(v));
  }
  bool boolean(const char* key) const {
    const nlohmann::json& v = at(key);
    if (!v.is_boolean()) fail(key, "expected true or false, got " + short_dump(v));
    return v.get<bool>();
  }
  std::string string(const char* key) const {
    const nlohmann::json& v = at(key);
    if (!v.is_string()) fail(key, "expected a string, got " + short_dump(v));
    return v.get<std::string>();
  }
  const nlohmann::json& object(const char* key) const {
    const nlohmann::json& v = at(key);
    if (!v.is_object()) fail(key, "expected an object, got " + short_dump(v));
    return v;
  }
  const nlohmann::json& array(const char* key) const {
    const nlohmann::json& v = at(key);
    if (!v.is_array()) fail(key, "expected an array, got " + short_dump(v));
    return v;
  }
  [[noreturn]] void fail(const std::string& key, const std::string& message) const {
    throw FormatError(what_ + ": field '" + key + "': " + message);
  }
  [[noreturn]] void fail_top(const std::string& message) const { throw FormatError(what_ + ": " + message); }
  const std::string& what() const { return what_; }

 private:
  const nlohmann::json& j_;
  std::string what_;
};

}  // namespace ember::train::detail
