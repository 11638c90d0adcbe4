// libFuzzer target: the Keras-JSON model reader followed by a forward pass (nn::model_from_json,
// then predict on zeros, weights under a 16 MiB budget). keras_json_fuzz stops at materialising the
// weights, and keras_h5_fuzz reaches predict only through an HDF5 file at a few executions a second;
// here layer configurations that build but break a kernel are reached at about 1,000 a second.
// The contract (DESIGN.md, "Bad input"): any input either predicts or throws an ember::Error.
//
// EMBER_FUZZ_LAST_INPUT=FILE: each input is written to FILE before it runs, so that a crash whose
// report kills libFuzzer's own handler (a fault inside oneDNN's JIT code did: fuzz/README.md) still
// leaves the input behind.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "ember/core/error.hpp"
#include "ember/nn/config.hpp"
#include "ember/nn/model.hpp"
#include "fuzz_model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  static const bool budget_set = [] {
    ember::nn::set_param_memory_budget(int64_t{16} << 20, "fuzz budget");
    return true;
  }();
  (void)budget_set;
  static const char* const last_input = std::getenv("EMBER_FUZZ_LAST_INPUT");
  if (last_input != nullptr) {
    if (std::FILE* f = std::fopen(last_input, "wb")) {
      std::fwrite(data, 1, size, f);
      std::fclose(f);
    }
  }
  ember::nn::reset_layer_names();
  try {
    std::shared_ptr<ember::nn::Model> model = ember::nn::model_from_json(std::string(reinterpret_cast<const char*>(data), size));
    ember::fuzz::predict_on_zeros(*model);
  } catch (const ember::Error&) {
    // The documented outcome; anything else escapes and libFuzzer reports it as a crash.
  }
  return 0;
}
