// libFuzzer target for the IDX reader (data::read_idx) on arbitrary bytes: plain IDX, or gzip when
// the bytes begin with gzip's magic (zlib decides by content, as it does for real files). The
// fuzzer rarely forms valid deflate data, so idx_gz_fuzz compresses its input first.
// Build and run: see fuzz/README.md. Any input either loads or throws an ember::Error.
#include <cstddef>
#include <cstdint>

#include "ember/core/error.hpp"
#include "ember/data/idx.hpp"
#include "fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  static ember::fuzz::MemFile file;
  const std::string& path = file.hold(data, size);
  try {
    ember::Tensor t = ember::data::read_idx(path);
    (void)t.to_vector<double>();
  } catch (const ember::Error&) {
  }
  return 0;
}
