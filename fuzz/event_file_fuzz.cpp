// libFuzzer target for the TFRecord / TensorBoard event-file reader
// (io::tensorboard::parse_event_records) on arbitrary bytes. Build and run: see fuzz/README.md. Any
// input gives its complete records or throws an ember::Error; never a crash, a sanitizer report, or
// an allocation beyond what the input backs (a record's length is checked against the bytes left).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ember/core/error.hpp"
#include "ember/io/event_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  try {
    const auto r = ember::io::tensorboard::parse_event_records(
        std::string_view(reinterpret_cast<const char*>(data), size), "fuzz input");
    std::size_t total = 0;
    for (const auto& p : r.payloads) total += p.size() + 16;
    if (total != r.valid_bytes || total > size) __builtin_trap();  // the records tile the prefix they claim
  } catch (const ember::Error&) {
  }
  return 0;
}
