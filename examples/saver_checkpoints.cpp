// The notes' TensorFlow-1 Saver loop in Ember: train a small network for 10 epochs, save a
// checkpoint after each one with global_step = the epoch, keep the last 5 (TF's default max_to_keep),
// then restore "model-9" into a new model and check that it predicts exactly what the trained one does.
//
//   saver = tf.train.Saver()                              train::Saver saver({.max_to_keep = 5});
//   for i in range(10): ...                               for (int i = 0; i < 10; ++i) { ...
//       saver.save(s, save_path='./cnn/model',              saver.save(*model, dir + "/model", i);
//                  global_step=i)                         }
//   saver.restore(s, './cnn/model-9')                     saver.restore(*fresh, dir + "/model-9");
//
// Exits 1 unless the directory then holds exactly model-5 ... model-9 and the `checkpoint` index,
// and the restored model matches. Usage: example_saver_checkpoints [DIR]   (default: a temporary one)
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include "ember/ember.hpp"

using namespace ember;
namespace fs = std::filesystem;

namespace {

std::shared_ptr<nn::Sequential> make_model() {
  nn::reset_layer_names();  // the same layer names, so the checkpoint's weight names match
  auto m = std::make_shared<nn::Sequential>();
  m->add(nn::Input({4}));
  m->add(nn::Dense({.units = 16, .activation = Activation::ReLU}));
  m->add(nn::Dense({.units = 3}));
  m->compile({.optimizer = optim::Adam({.learning_rate = 0.01}), .loss = losses::SparseCategoricalCrossentropy({.from_logits = true}), .metrics = {"accuracy"}});
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  fs::path dir = argc > 1 ? fs::path(argv[1]) : fs::temp_directory_path() / ("ember_saver_example_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);  // as in TF, the directory must exist

  // Three classes told apart by which of the first three features is largest.
  manual_seed(1);
  Tensor x = randn({300, 4});
  Tensor y = argmax(slice(x, 1, 0, 3), -1);

  auto model = make_model();
  train::Saver saver({.max_to_keep = 5});
  for (int i = 0; i < 10; ++i) {
    auto h = model->fit(x, y, {.batch_size = 30, .epochs = i + 1, .verbose = 0, .initial_epoch = i});
    std::string path = saver.save(*model, (dir / "model").string(), i);
    std::printf("epoch %d: loss %.4f accuracy %.4f -> %s\n", i + 1, h.history.at("loss").back(), h.history.at("accuracy").back(),
                path.c_str());
  }

  std::set<std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) files.insert(e.path().filename().string());
  std::cout << "\nfiles:";
  for (const auto& f : files) std::cout << " " << f;
  std::cout << "\n\n" << dir.string() << "/checkpoint:\n";
  std::ifstream index(dir / "checkpoint");
  std::cout << index.rdbuf() << "\n";

  std::set<std::string> expected = {"checkpoint"};
  for (int i = 5; i < 10; ++i) expected.insert("model-" + std::to_string(i) + ".safetensors");
  bool ok = files == expected;

  std::string latest = train::latest_checkpoint(dir.string()).value_or("");
  auto fresh = make_model();
  saver.restore(*fresh, latest);
  Tensor a = model->predict(x, {}), b = fresh->predict(x, {});
  bool same = a.to_vector<float>() == b.to_vector<float>();
  std::printf("latest_checkpoint: %s; restored predictions %s\n", latest.c_str(), same ? "identical" : "DIFFER");
  ok = ok && same && latest == (dir / "model-9").string();
  if (argc <= 1) fs::remove_all(dir);
  std::printf("%s\n", ok ? "saver example passed" : "saver example FAILED");
  return ok ? 0 : 1;
}
