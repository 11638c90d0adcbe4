// `ember train --tensorboard DIR`: the event files, read by the independent reader
// (tests/io/tfevents_check.py), hold per-epoch train and validation loss and accuracy equal to
// history.csv (to float precision), the learning rate, a histogram of every weight and a graph node
// for every layer.
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "test_support.hpp"

namespace fs = std::filesystem;

namespace {

// Trains the built-in `model` for 2 epochs with --tensorboard and runs the reader's `run` check.
void check_run(const std::string& model, int n_train, const std::string& layers) {
  const fs::path data = ember::testing::make_idx_dir("tensorboard_" + model, n_train, 64);
  const fs::path root = fs::temp_directory_path() / ("ember_tb_cli_" + model + "_" + std::to_string(::getpid()));
  fs::remove_all(root);
  const fs::path logs = root / "logs", out = root / "out";
  auto r = ember::testing::run_ember("train --model " + model + " --data idx:" + data.string() +
                                     " --epochs 2 --batch-size 32 --seed 1 --threads 1 --verbose 0 --tensorboard " +
                                     logs.string() + " --out " + out.string());
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string cmd = "/usr/bin/python3 " + ember::testing::source_dir() + "/tests/io/tfevents_check.py run '" +
                          logs.string() + "' '" + out.string() + "' " + layers + " 2>&1";
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the event files disagree with history.csv (output above)";
  // --out DIR has its own event file too (DESIGN.md's contract): the history and the graph.
  const std::string out_cmd = "/usr/bin/python3 " + ember::testing::source_dir() + "/tests/io/tfevents_check.py out '" +
                              out.string() + "' 2>&1";
  const int out_status = std::system(out_cmd.c_str());
  ASSERT_TRUE(WIFEXITED(out_status));
  EXPECT_EQ(WEXITSTATUS(out_status), 0) << "--out's event file disagrees with history.csv (output above)";
  fs::remove_all(root);
}

}  // namespace

// The built-in models' layers (nn/builtin_models.cpp), under Keras's auto names.
TEST(TensorBoardCli, MlpEventsMatchHistoryCsv) { check_run("mlp", 256, "dense,dense_1,dense_2"); }
TEST(TensorBoardCli, CnnEventsMatchHistoryCsv) {
  check_run("cnn", 96, "input_1,conv2d,max_pooling2d,conv2d_1,max_pooling2d_1,flatten,dense,dropout,dense_1");
}

TEST(TensorBoardCli, UnwritableLogDirIsOneLineError) {
  const fs::path data = ember::testing::make_idx_dir("tensorboard_bad", 32, 8);
  auto r = ember::testing::run_ember("train --model mlp --data idx:" + data.string() +
                                     " --epochs 1 --verbose 0 --tensorboard /proc/no/such/dir");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("/proc/no/such/dir"), std::string::npos) << r.err;
}
