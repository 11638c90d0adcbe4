// The `ember` tool with a recurrent Keras JSON model (tests/fixtures/keras/sequential_lstm.json:
// images read as 28 steps of 28 pixels, LSTM(128) → Dense(10)): `summary` prints Keras's counts,
// `train` runs an epoch on a tiny IDX data set, saves the model and reports test metrics.
#include <filesystem>

#include "test_support.hpp"

namespace fs = std::filesystem;
using ember::testing::run_ember;
using ember::testing::ToolRun;

namespace {
std::string lstm_json() { return ember::testing::source_dir() + "/tests/fixtures/keras/sequential_lstm.json"; }
using ember::testing::contains;
}  // namespace

TEST(RecurrentCli, SummaryPrintsKerasCounts) {
  ToolRun r = run_ember("summary " + lstm_json());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "LSTM") && contains(r.out, "80,384") && contains(r.out, "Total params: 81,674")) << r.out;
}

TEST(RecurrentCli, TrainsFromKerasJson) {
  fs::path data = ember::testing::make_idx_dir("recurrent_cli", 64, 32);
  fs::path out = ember::testing::fresh_temp_dir("recurrent_cli_out");
  ToolRun r = run_ember("train --model " + lstm_json() + " --data idx:" + data.string() +
                        " --epochs 1 --batch-size 32 --threads 1 --verbose 0 --out " + out.string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "test_accuracy=")) << r.out;
  EXPECT_TRUE(fs::exists(out / "model.h5"));
  // The saved .h5 model (Keras layout, LSTM weights included) summarises the same.
  ToolRun s = run_ember("summary " + (out / "model.h5").string());
  ASSERT_EQ(s.status, 0) << s.err;
  EXPECT_TRUE(contains(s.out, "Total params: 81,674")) << s.out;
  fs::remove_all(out);
  fs::remove_all(data);
}
