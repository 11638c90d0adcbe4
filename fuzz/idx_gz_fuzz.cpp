// libFuzzer target for the IDX reader behind gzip: the input (an IDX file, valid or not) is gzip-
// compressed by the harness, so every run reaches the IDX parser through zlib's inflate path with
// well-formed compression (idx_fuzz covers corrupt gzip streams).
// Build and run: see fuzz/README.md. Any input either loads or throws an ember::Error.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "ember/core/error.hpp"
#include "ember/data/idx.hpp"
#include "fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  static ember::fuzz::MemFile file;
  // windowBits 15 + 16: a gzip wrapper, as gzopen reads.
  z_stream z{};
  if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) std::abort();
  std::vector<unsigned char> gz(deflateBound(&z, size) + 32);
  z.next_in = const_cast<uint8_t*>(data);
  z.avail_in = static_cast<uInt>(size);
  z.next_out = gz.data();
  z.avail_out = static_cast<uInt>(gz.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) std::abort();
  gz.resize(z.total_out);
  deflateEnd(&z);
  const std::string& path = file.hold(gz.data(), gz.size());
  try {
    ember::Tensor t = ember::data::read_idx(path);
    (void)t.to_vector<double>();
  } catch (const ember::Error&) {
  }
  return 0;
}
