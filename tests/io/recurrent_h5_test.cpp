// A Keras 2 .h5 model with recurrent layers (tests/fixtures/keras_h5/recurrent.h5, written by
// tests/fixtures/gen/recurrent_golden.py the way tf.keras saves: cell-scoped weight names such as
// "lstm/lstm_cell/kernel:0"): Ember loads it and predicts what PyTorch computes from the same
// weights; saved again by Ember (Keras's names) and reloaded, it predicts the same.
#include <filesystem>

#include "ember/nn/model.hpp"
#include "ember/train/training.hpp"
#include "test_support.hpp"

using namespace ember;

namespace {

const ember::testing::FixtureCase& h5_case() {
  static const std::vector<ember::testing::FixtureCase> cases = ember::testing::load_fixture("recurrent.json");
  for (const auto& c : cases) {
    if (c.name == "keras_h5_recurrent") return c;
  }
  throw ValueError("recurrent.json lacks the case keras_h5_recurrent");
}

}  // namespace

TEST(RecurrentH5, KerasFileLoadsAndPredictsLikePyTorch) {
  const auto& c = h5_case();
  auto model = nn::load_model(ember::testing::source_dir() + "/tests/fixtures/" + c.attrs.at("file").get<std::string>());
  Tensor y = model->predict(c.at("x").to(f32), {.batch_size = 2});
  EXPECT_TRUE(ember::testing::all_close(y, c.at("y"), 1e-5, 1e-5));

  // Ember's own save (now with the same cell-scoped names as Keras) loads back to the same predictions.
  std::filesystem::path dir = ember::testing::fresh_temp_dir("recurrent_h5");
  model->save((dir / "again.h5").string());
  auto again = nn::load_model((dir / "again.h5").string());
  EXPECT_TRUE(ember::testing::all_close(again->predict(c.at("x").to(f32), {.batch_size = 2}), y, 0, 0));
  std::filesystem::remove_all(dir);
}
