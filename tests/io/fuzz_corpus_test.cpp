// Replays the committed libFuzzer corpora of the safetensors reader and the .h5 loader
// (fuzz/corpus/safetensors/, fuzz/corpus/keras_h5/: the seeds and every input a fuzzer finding was
// fixed for) in the ordinary test build, so a fixed crash
// stays fixed without clang: each file loads or throws an ember::Error, under the sanitizers too.
#include <filesystem>

#include "ember/io/hdf5.hpp"
#include "ember/io/safetensors.hpp"
#include "ember/nn/model.hpp"
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

// What fuzz/keras_h5_fuzz.cpp does with each input, without the predict: the HDF5 walk reading
// every dataset, then load_model.
TEST(KerasH5FuzzCorpus, EveryInputLoadsOrIsAnEmberError) {
  const std::filesystem::path dir = ember::testing::source_dir() + "/fuzz/corpus/keras_h5";
  int files = 0, walked = 0, models = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    ++files;
    try {
      io::h5::File f(entry.path().string(), "r");
      f.visititems([](const std::string&, const io::h5::Object& obj) {
        if (obj.is_dataset()) (void)obj.as_dataset().read();
      });
      ++walked;
    } catch (const Error&) {
    }
    try {
      nn::load_model(entry.path().string());
      ++models;
    } catch (const Error&) {
    }
  }
  EXPECT_GE(files, 7);
  EXPECT_GE(walked, 4);  // the well-formed seeds
  EXPECT_GE(models, 2);  // cnn_functional.h5, mlp_bn.h5
}
