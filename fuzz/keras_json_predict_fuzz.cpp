// libFuzzer target: the Keras-JSON model reader followed by a forward pass (nn::model_from_json,
// then predict on zeros, weights under a 16 MiB budget). keras_json_fuzz stops at materialising the
// weights, and keras_h5_fuzz reaches predict only through an HDF5 file at a few executions a second;
// here layer configurations that build but break a kernel are reached at about 1,000 a second.
// The contract (DESIGN.md, "Bad input"): any input either predicts or throws an ember::Error.
//
// Each input is also written to /dev/shm/ember-keras-json-predict-fuzz-PID.json before it runs, so
// that a crash whose report kills libFuzzer's own handler (a fault inside oneDNN's JIT code did:
// fuzz/README.md) still leaves the input behind for scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <string>

#include "ember/core/error.hpp"
#include "ember/nn/config.hpp"
#include "ember/nn/model.hpp"
#include "fuzz_file.hpp"
#include "fuzz_model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  static const bool budget_set = [] {
    ember::nn::set_param_memory_budget(int64_t{16} << 20, "fuzz budget");
    return true;
  }();
  (void)budget_set;
  static ember::fuzz::ShmFile kept("ember-keras-json-predict-fuzz", ".json");
  kept.hold(data, size);
  ember::nn::reset_layer_names();
  try {
    std::shared_ptr<ember::nn::Model> model = ember::nn::model_from_json(std::string(reinterpret_cast<const char*>(data), size));
    ember::fuzz::predict_on_zeros(*model);
  } catch (const ember::Error&) {
    // The documented outcome; anything else escapes and libFuzzer reports it as a crash.
  }
  return 0;
}
