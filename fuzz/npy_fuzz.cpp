// libFuzzer target for the .npy reader (data::parse_npy) on arbitrary bytes. Build and run: see
// fuzz/README.md. Any input either gives a tensor or throws an ember::Error; never a crash, a
// sanitizer report, another exception, or an allocation larger than the input backs up.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ember/core/error.hpp"
#include "ember/data/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  try {
    ember::Tensor t = ember::data::parse_npy(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz input");
    (void)ember::data::npy_bytes(t);  // whatever was read can be written back
  } catch (const ember::Error&) {
  }
  return 0;
}
