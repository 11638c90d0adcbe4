// libFuzzer target for the CIFAR binary reader (data::parse_cifar_batch), both record layouts. Any
// input gives a batch or throws an ember::Error; never a crash or a sanitizer report.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ember/core/error.hpp"
#include "ember/data/cifar.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (auto kind : {ember::data::CifarKind::Cifar10, ember::data::CifarKind::Cifar100}) {
    try {
      (void)ember::data::parse_cifar_batch(bytes, kind, "fuzz input");
    } catch (const ember::Error&) {
    }
  }
  return 0;
}
