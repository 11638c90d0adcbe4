// Model::save / load_model of a compiled model (issue 11): training_config and /optimizer_weights
// in Keras 2's layout (checked by h5py: keras_h5_training_check.py), and the loaded model is
// compiled with the optimizer's iteration count and slots restored, so that fit continues as if
// never stopped: 2 epochs, save, load, 2 more == 4 straight, bit for bit.
#include <filesystem>

#include "ember/core/threads.hpp"
#include "ember/io/hdf5.hpp"
#include "ember/nn/layers/core.hpp"
#include "ember/nn/model.hpp"
#include "ember/optim/optim.hpp"
#include "ember/train/training.hpp"
#include "test_support.hpp"

using namespace ember;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir() {
  fs::path d = fs::temp_directory_path() / ("ember_h5_training_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

std::shared_ptr<nn::Sequential> compiled_model() {
  nn::reset_layer_names();
  manual_seed(11);
  auto m = std::make_shared<nn::Sequential>(std::initializer_list<nn::LayerRef>{
      nn::Input({4}), nn::Dense({.units = 5, .activation = Activation::ReLU, .name = "d1"}), nn::Dense({.units = 3, .name = "d2"})});
  m->compile({.optimizer = optim::Adam({.learning_rate = 0.01}),
              .loss = losses::SparseCategoricalCrossentropy({.from_logits = true}),
              .metrics = {"accuracy"}});
  return m;
}

struct Data {
  Tensor x, y;
};
Data make_data() {
  Generator g(5);
  Tensor y = Tensor::empty({32}, i64);
  for (int64_t i = 0; i < 32; ++i) y.data<int64_t>()[i] = (i * 7) % 3;
  return {randn({32, 4}, {.generator = &g}), y};
}

const train::FitOptions kFit{.batch_size = 8, .epochs = 2, .verbose = 0, .shuffle = false};

std::vector<std::vector<float>> weights_of(nn::Model& m) {
  std::vector<std::vector<float>> out;
  for (const auto& w : m.named_weights()) out.push_back(w.weight->value().to_vector<float>());
  return out;
}

}  // namespace

TEST(KerasH5Training, H5pyReadsTrainingConfigAndOptimizerWeights) {
  set_num_threads(1);
  auto m = compiled_model();
  Data d = make_data();
  m->fit(d.x, d.y, kFit);  // 2 epochs of 32 / 8 = 4 steps
  const fs::path p = temp_dir() / "compiled.h5";
  m->save(p.string());
  std::string cmd = "/usr/bin/python3 " + ember::testing::source_dir() + "/tests/train/keras_h5_training_check.py '" +
                    p.string() + "' 8 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

TEST(KerasH5Training, FitTwoSaveLoadFitTwoEqualsFitFour) {
  set_num_threads(1);
  const fs::path dir = temp_dir();
  Data d = make_data();
  // One starting point for both runs: a compiled, untrained model saved to a file.
  compiled_model()->save((dir / "start.h5").string());

  std::shared_ptr<nn::Model> straight = nn::load_model((dir / "start.h5").string());
  ASSERT_NE(straight->training_state(), nullptr) << "load_model did not compile the model";
  straight->fit(d.x, d.y, {.batch_size = 8, .epochs = 4, .verbose = 0, .shuffle = false});

  std::shared_ptr<nn::Model> first = nn::load_model((dir / "start.h5").string());
  first->fit(d.x, d.y, kFit);
  first->save((dir / "mid.h5").string());
  std::shared_ptr<nn::Model> resumed = nn::load_model((dir / "mid.h5").string());
  ASSERT_NE(resumed->training_state(), nullptr);
  EXPECT_EQ(resumed->training_state()->optimizer->iterations(), 8);
  EXPECT_EQ(resumed->training_state()->optimizer->slots().size(), 8u);  // m and v of 4 weights
  resumed->fit(d.x, d.y, kFit);

  EXPECT_EQ(weights_of(*resumed), weights_of(*straight));  // bit-identical
  // And the resume is not vacuous: without the optimizer state the weights differ.
  std::shared_ptr<nn::Model> fresh = nn::load_model((dir / "mid.h5").string());
  fresh->compile({.optimizer = optim::Adam({.learning_rate = 0.01}),
                  .loss = losses::SparseCategoricalCrossentropy({.from_logits = true})});
  fresh->fit(d.x, d.y, kFit);
  EXPECT_NE(weights_of(*fresh), weights_of(*straight));
  fs::remove_all(dir);
}

// Keras 2's own file (tests/fixtures/keras_h5/mlp_bn.h5, from keras_h5_fixtures.py): Adam with its
// iteration count and m / v slots by Keras's names.
TEST(KerasH5Training, LoadsKerasTwoOptimizerWeights) {
  auto m = nn::load_model(ember::testing::source_dir() + "/tests/fixtures/keras_h5/mlp_bn.h5");
  ASSERT_NE(m->training_state(), nullptr);
  const optim::Optimizer& opt = *m->training_state()->optimizer;
  EXPECT_EQ(opt.name(), "Adam");
  EXPECT_GT(opt.iterations(), 0);
  for (const auto& w : m->trainable_weights()) {
    EXPECT_EQ(opt.slot(w.name, "momentum").shape(), w.weight->shape) << w.name;
    EXPECT_EQ(opt.slot(w.name, "velocity").shape(), w.weight->shape) << w.name;
  }
}

TEST(KerasH5Training, BadTrainingConfigIsAFormatErrorNamingTheFile) {
  const fs::path p = temp_dir() / "bad_tc.h5";
  compiled_model()->save(p.string());
  {
    io::h5::File f(p.string(), "r+");
    f.attrs().set("training_config", "{\"loss\": 3, \"optimizer_config\": {\"class_name\": \"Adam\", \"config\": {}}}");
  }
  std::string e = ember::testing::message_of<FormatError>([&] { nn::load_model(p.string()); });
  EXPECT_NE(e.find(p.string()), std::string::npos) << e;
  EXPECT_NE(e.find("training_config"), std::string::npos) << e;
  fs::remove(p);
}
