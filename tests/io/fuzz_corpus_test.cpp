// Replays the committed libFuzzer corpus of the safetensors reader (fuzz/corpus/safetensors/: the
// seeds and every input a fuzzer finding was fixed for) in the ordinary test build, so a fixed crash
// stays fixed without clang: each file loads or throws an ember::Error, under the sanitizers too.
#include <filesystem>

#include "ember/io/safetensors.hpp"
#include "test_support.hpp"

using namespace ember;

TEST(SafetensorsFuzzCorpus, EveryInputLoadsOrIsAnEmberError) {
  const std::filesystem::path dir = ember::testing::source_dir() + "/fuzz/corpus/safetensors";
  int files = 0, loaded = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    ++files;
    try {
      io::SafetensorsFile f = io::load_safetensors(entry.path().string());
      for (const auto& kv : f.tensors) (void)kv.second.to_vector<double>();
      ++loaded;
    } catch (const Error&) {
    }
  }
  EXPECT_GE(files, 5);
  EXPECT_GE(loaded, 5);  // the seeds are valid files
}
