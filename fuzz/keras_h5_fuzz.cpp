// libFuzzer target for the HDF5 reader and the Keras .h5 model loader: the input bytes become a
// file in /dev/shm (tmpfs: memory, not disk), then
//   1. io::h5::File + visititems over everything + read every dataset (the generic h5py-like reader),
//   2. nn::load_model (architecture from model_config, weights from model_weights) + predict on zeros.
// io::h5::File checks each input in a forked child first (src/io/hdf5_check.cpp), as it does for
// every file a user opens: a crash or hang inside libhdf5 there is a FormatError, not a finding.
// Build and run: see fuzz/README.md. The contract (DESIGN.md, "Bad input"): any input either loads or
// throws an ember::Error; never a crash, a sanitizer report, another exception, or an allocation the
// size of what the file declares.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>

#include "ember/core/error.hpp"
#include "ember/io/hdf5.hpp"
#include "ember/nn/config.hpp"
#include "ember/nn/model.hpp"
#include "fuzz_file.hpp"
#include "fuzz_model.hpp"

namespace {

// Reads every attribute that holds strings (the ones Keras's loader reads); others are skipped.
void read_strings(const ember::io::h5::Attributes& attrs) {
  for (const std::string& k : attrs.keys()) {
    try {
      attrs.get_strings(k);
    } catch (const ember::Error&) {
    }
  }
}

// Reads every dataset reachable from the root (h5py's visititems order).
void read_everything(const std::string& path) {
  ember::io::h5::File f(path, "r");
  read_strings(f.attrs());
  f.visititems([](const std::string&, const ember::io::h5::Object& obj) {
    read_strings(obj.attrs());
    if (!obj.is_dataset()) return;
    try {  // one unreadable dataset (a string type, a corrupt chunk) must not hide the others
      obj.as_dataset().read();
    } catch (const ember::Error&) {
    }
  });
}

void load_and_predict(const std::string& path) {
  ember::nn::reset_layer_names();
  std::shared_ptr<ember::nn::Model> model = ember::nn::load_model(path);
  ember::fuzz::predict_on_zeros(*model);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  static const bool budget_set = [] {
    ember::nn::set_param_memory_budget(int64_t{16} << 20, "fuzz budget");
    return true;
  }();
  (void)budget_set;
  static ember::fuzz::ShmFile file("ember-keras-h5-fuzz", ".h5");  // a named file: libhdf5 needs a real path
  const std::string& path = file.hold(data, size);
  // EMBER_FUZZ_VERBOSE=1 prints each error (to see what a seed reaches: build-fuzz/keras_h5_fuzz FILE).
  static const bool verbose = std::getenv("EMBER_FUZZ_VERBOSE") != nullptr;
  try {
    read_everything(path);
  } catch (const ember::Error& e) {
    // The documented outcome for a malformed file; anything else escapes and aborts (a finding).
    if (verbose) std::cerr << "h5 walk: " << e.what() << "\n";
  }
  try {
    load_and_predict(path);
  } catch (const ember::Error& e) {
    if (verbose) std::cerr << "load_model: " << e.what() << "\n";
  }
  return 0;
}
