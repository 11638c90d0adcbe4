// libFuzzer target for the safetensors reader (io::load_safetensors) on arbitrary bytes.
// Build and run: see fuzz/README.md. The contract it checks (DESIGN.md, "Bad input"): any input
// either loads or throws an ember::Error; never a crash, a sanitizer report, another exception, or an
// allocation larger than the bytes the file holds (a header can declare any size).
#include <cstddef>
#include <cstdint>

#include "ember/core/error.hpp"
#include "ember/io/safetensors.hpp"
#include "fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  static ember::fuzz::MemFile file;
  const std::string& path = file.hold(data, size);
  try {
    ember::io::SafetensorsFile f = ember::io::load_safetensors(path);
    // What loaded must be consistent: every tensor readable end to end.
    for (const auto& kv : f.tensors) (void)kv.second.to_vector<double>();
  } catch (const ember::Error&) {
    // The documented outcome for a malformed file.
  }
  return 0;
}
