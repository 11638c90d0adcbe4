// libFuzzer target for the CSV reader (data::parse_csv) with and without a label column. Any input
// gives data or throws an ember::Error; never a crash or a sanitizer report.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ember/core/error.hpp"
#include "ember/data/csv.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (int label : {-1, 0, 1}) {
    try {
      ember::data::CsvOptions o;
      if (label >= 0) o.label = label;
      (void)ember::data::parse_csv(text, o, "fuzz input");
    } catch (const ember::Error&) {
    }
  }
  return 0;
}
