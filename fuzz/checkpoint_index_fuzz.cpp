// libFuzzer target for the `checkpoint` index reader (train::parse_checkpoint_index): TensorFlow's
// CheckpointState text proto from arbitrary bytes. Build and run: see fuzz/README.md. The contract it
// checks: any input gives a CheckpointState or throws ember::FormatError — never a crash, a sanitizer
// report or another exception — and a parsed state, written back, reads back the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ember/core/error.hpp"
#include "ember/train/saver.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ember::train::CheckpointState st;
  try {
    st = ember::train::parse_checkpoint_index(text);
  } catch (const ember::FormatError&) {
    return 0;  // the documented outcome for a malformed index
  }
  // What parses must survive a round trip through the writer unchanged.
  ember::train::CheckpointState back = ember::train::parse_checkpoint_index(ember::train::format_checkpoint_index(st));
  if (back.model_checkpoint_path != st.model_checkpoint_path ||
      back.all_model_checkpoint_paths != st.all_model_checkpoint_paths ||
      back.all_model_checkpoint_timestamps != st.all_model_checkpoint_timestamps ||
      back.last_preserved_timestamp != st.last_preserved_timestamp) {
    std::abort();
  }
  return 0;
}
