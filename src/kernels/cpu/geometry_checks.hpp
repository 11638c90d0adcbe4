#pragma once
// The argument check shared by the conv and pooling geometry builders (internal to kernels/cpu).
#include <cstdint>
#include <string>

#include "ember/core/error.hpp"

namespace ember::kernels::cpu::detail {

// ValueError "<name> must be positive, got <v>" unless v >= 1.
inline void check_positive(const char* name, int64_t v) {
  if (v <= 0) throw ValueError(std::string(name) + " must be positive, got " + std::to_string(v));
}

}  // namespace ember::kernels::cpu::detail
