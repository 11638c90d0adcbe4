// libFuzzer target for the .npz reader (data::parse_npz: zip structure, inflate, CRC, .npy members).
// Any input gives arrays or throws an ember::Error; never a crash, a sanitizer report, or an
// allocation larger than the input backs up.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ember/core/error.hpp"
#include "ember/data/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  try {
    (void)ember::data::parse_npz(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz input");
  } catch (const ember::Error&) {
  }
  return 0;
}
