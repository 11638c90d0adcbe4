// libFuzzer target for the Keras-JSON model reader: nn::model_from_json + summary + materialising the
// weights (under a 16 MiB budget) on arbitrary bytes.
// Build and run: see fuzz/README.md. The contract it checks (DESIGN.md, "Bad input"): any input
// either gives a model or throws an ember::Error; never a crash, a sanitizer report, any other
// exception, or an allocation the size of what the file declares (summary works from shapes).
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "ember/core/error.hpp"
#include "ember/nn/config.hpp"
#include "ember/nn/model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  // A small budget, so that materialising the weights (initializers, the budget check) is
  // exercised too without letting an input allocate much.
  static const bool budget_set = [] {
    ember::nn::set_param_memory_budget(int64_t{16} << 20, "fuzz budget");
    return true;
  }();
  (void)budget_set;
  std::string text(reinterpret_cast<const char*>(data), size);
  ember::nn::reset_layer_names();
  try {
    std::shared_ptr<ember::nn::Model> model = ember::nn::model_from_json(text);
    std::ostringstream os;
    model->summary(os);
    model->count_params();
    model->materialize_weights();  // MemoryError over the budget
  } catch (const ember::Error&) {
    // The documented outcome for a malformed or unsupported file. Anything else escapes and
    // libFuzzer reports it as a crash (an uncaught exception aborts).
  }
  return 0;
}
