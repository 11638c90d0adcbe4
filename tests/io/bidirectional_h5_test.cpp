// Bidirectional models in Keras 2's .h5 layout (issue 15). A file written as tf.keras writes it
// (tests/fixtures/gen/bidirectional_h5.py: Bidirectional(LSTM) concat, Bidirectional(GRU) sum,
// Dense) loads and predicts what PyTorch computes from the same weights; a model built in Ember and
// saved has Keras's dataset names and shapes (read by h5py, tests/io/bidirectional_h5_check.py)
// and loads back bit for bit.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>

#include "ember/nn/layers/core.hpp"
#include "ember/nn/layers/recurrent.hpp"
#include "ember/nn/model.hpp"
#include "ember/train/training.hpp"
#include "test_support.hpp"

using namespace ember;
namespace fs = std::filesystem;

namespace {

const ember::testing::FixtureCase& fixture() {
  static const std::vector<ember::testing::FixtureCase> cases = ember::testing::load_fixture("bidirectional_h5.json");
  return cases.at(0);
}

// h5py lists the datasets and compares names and shapes with Keras's (exit status 0 when equal).
void expect_keras_layout(const std::string& path, int64_t features) {
  std::string cmd = "/usr/bin/python3 " + ember::testing::source_dir() + "/tests/io/bidirectional_h5_check.py '" + path + "' " +
                    std::to_string(features) + " 2>&1";
  int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "Ember's Bidirectional weights are not where Keras puts them (output above)";
}

// Every weight of `b` equals `a`'s, bit for bit, name by name.
void expect_same_weights(nn::Model& a, nn::Model& b) {
  auto wa = a.named_weights(), wb = b.named_weights();
  ASSERT_EQ(wa.size(), wb.size());
  for (std::size_t i = 0; i < wa.size(); ++i) {
    EXPECT_EQ(wa[i].name, wb[i].name);
    EXPECT_EQ(wa[i].weight->value().to_vector<float>(), wb[i].weight->value().to_vector<float>()) << wa[i].name;
  }
}

}  // namespace

TEST(BidirectionalH5, KerasFileLoadsAndPredictsLikePyTorch) {
  const auto& c = fixture();
  auto model = nn::load_model(ember::testing::source_dir() + "/tests/fixtures/" + c.attrs.at("file").get<std::string>());
  Tensor y = model->predict(c.at("x").to(f32), {.batch_size = 2});
  EXPECT_TRUE(ember::testing::all_close(y, c.at("y"), 1e-5, 1e-5));

  // Saved again by Ember: the same layout as the Keras file, and the same model back.
  fs::path dir = ember::testing::fresh_temp_dir("bidirectional_h5_again");
  model->save((dir / "again.h5").string());
  expect_keras_layout((dir / "again.h5").string(), 3);
  auto again = nn::load_model((dir / "again.h5").string());
  expect_same_weights(*model, *again);
  EXPECT_TRUE(ember::testing::all_close(again->predict(c.at("x").to(f32), {.batch_size = 2}), y, 0, 0));
  fs::remove_all(dir);
}

TEST(BidirectionalH5, EmberModelSavesInKerasLayoutAndLoadsBackBitIdentical) {
  manual_seed(12);
  nn::reset_layer_names();
  nn::Sequential model{
      nn::Input({6, 5}),
      nn::Bidirectional(nn::LSTM({.units = 4, .return_sequences = true})),
      nn::Bidirectional(nn::GRU({.units = 3, .return_sequences = true}), {.merge_mode = "ave"}),
      nn::Bidirectional(nn::SimpleRNN({.units = 2}), {.merge_mode = "concat"}),
      nn::Dense({.units = 2}),
  };
  Tensor x = ember::testing::random_f64({3, 6, 5}, 4).to(f32);
  Tensor y = model(x, false);
  fs::path dir = ember::testing::fresh_temp_dir("bidirectional_h5_save");
  model.save((dir / "m.h5").string());
  expect_keras_layout((dir / "m.h5").string(), 5);
  auto back = nn::load_model((dir / "m.h5").string());
  expect_same_weights(model, *back);
  EXPECT_EQ((*back)(x, false).to_vector<float>(), y.to_vector<float>());
  fs::remove_all(dir);
}
