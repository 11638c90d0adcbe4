// `ember train` / `ember evaluate` end to end on a small IDX data set written by the test, plus the
// tool's error contract (one line on stderr, exit status 1 or 2, never a crash).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "test_support.hpp"

using namespace ember;
namespace fs = std::filesystem;

namespace {

using ember::testing::ToolRun;

ToolRun run_tool(const std::string& args) { return ember::testing::run_ember(args); }

using ember::testing::make_idx_dir;

}  // namespace

TEST(TrainCli, TrainsWritesHistoryAndEvaluates) {
  fs::path data = make_idx_dir("ok", 512, 128);
  fs::path out = fs::temp_directory_path() / ("ember_cli_out_" + std::to_string(::getpid()));
  fs::remove_all(out);
  ToolRun r = run_tool("train --model mlp --data idx:" + data.string() + " --epochs 3 --batch-size 64 --seed 1 --threads 1 --out " + out.string());
  ASSERT_EQ(r.status, 0) << r.err;
  // The run ends with the test metrics line.
  std::string last = r.out.substr(r.out.rfind("test_loss="));
  double loss = 0, acc = 0;
  ASSERT_EQ(std::sscanf(last.c_str(), "test_loss=%lf test_accuracy=%lf", &loss, &acc), 2) << r.out;
  EXPECT_GT(acc, 0.9) << r.out;
  // One progress line per epoch when stdout is not a terminal.
  std::size_t epoch_lines = 0;
  for (std::size_t p = r.out.find("Epoch "); p != std::string::npos; p = r.out.find("Epoch ", p + 1)) ++epoch_lines;
  EXPECT_EQ(epoch_lines, 3u) << r.out;
  std::ifstream h(out / "history.csv");
  std::string header;
  std::getline(h, header);
  EXPECT_EQ(header, "epoch,loss,accuracy,val_loss,val_accuracy,lr");
  int rows = 0;
  for (std::string line; std::getline(h, line);) ++rows;
  EXPECT_EQ(rows, 3);
  ASSERT_TRUE(fs::exists(out / "model.safetensors"));
  ASSERT_TRUE(fs::exists(out / "model.json"));

  ToolRun e = run_tool("evaluate --model " + out.string() + " --data idx:" + data.string());
  ASSERT_EQ(e.status, 0) << e.err;
  double loss2 = 0, acc2 = 0;
  ASSERT_EQ(std::sscanf(e.out.substr(e.out.rfind("test_loss=")).c_str(), "test_loss=%lf test_accuracy=%lf", &loss2, &acc2), 2);
  EXPECT_NEAR(acc2, acc, 1e-9);
  EXPECT_NEAR(loss2, loss, 1e-4);
}

TEST(TrainCli, SameSeedAndThreadsGiveBitIdenticalHistory) {
  fs::path data = make_idx_dir("det", 256, 64);
  std::string outs[2];
  for (int i = 0; i < 2; ++i) {
    fs::path out = fs::temp_directory_path() / ("ember_cli_det_" + std::to_string(::getpid()) + "_" + std::to_string(i));
    fs::remove_all(out);
    ToolRun r = run_tool("train --model mlp --data idx:" + data.string() + " --epochs 2 --batch-size 32 --seed 7 --threads 2 --out " + out.string());
    ASSERT_EQ(r.status, 0) << r.err;
    std::ifstream in(out / "history.csv");
    std::stringstream ss;
    ss << in.rdbuf();
    outs[i] = ss.str();
  }
  EXPECT_EQ(outs[0], outs[1]);
  EXPECT_GT(outs[0].size(), 60u);
}

namespace {
void expect_one_line_error(const ToolRun& r, int status) {
  EXPECT_EQ(r.status, status) << r.out << r.err;
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "expected exactly one line on stderr, got: " << r.err;
}
}  // namespace

TEST(TrainCli, BadInputIsAOneLineErrorWithStatus1Or2) {
  fs::path data = make_idx_dir("bad", 64, 16);
  expect_one_line_error(run_tool("train --model mlp --data idx:" + data.string() + " --optimizer nosuch"), 2);
  expect_one_line_error(run_tool("train --model nosuchmodel --data idx:" + data.string()), 1);
  expect_one_line_error(run_tool("train --model mlp --data idx:/nonexistent/dir"), 1);
  expect_one_line_error(run_tool("train --model mlp"), 2);
  expect_one_line_error(run_tool("train --model mlp --data idx:" + data.string() + " --epochs 0"), 2);
  fs::path wide = make_idx_dir("labels", 64, 16, /*label_max=*/12);  // labels up to 12, 10 outputs
  ToolRun r = run_tool("train --model mlp --data idx:" + wide.string() + " --epochs 1");
  expect_one_line_error(r, 1);
  EXPECT_NE(r.err.find("12"), std::string::npos) << r.err;
  fs::path mismatch = make_idx_dir("mismatch", 64, 16, 9, /*label_count_delta=*/-3);  // 64 images, 61 labels
  expect_one_line_error(run_tool("train --model mlp --data idx:" + mismatch.string() + " --epochs 1"), 1);
  expect_one_line_error(run_tool("evaluate --model /nonexistent --data idx:" + data.string()), 1);
}

TEST(TrainCli, BadNumbersAndAnUnwritableOutDirFailBeforeTraining) {
  fs::path data = make_idx_dir("badargs", 64, 16);
  const std::string base = "train --model mlp --data idx:" + data.string() + " --epochs 1 ";
  struct Case {
    std::string args, option;
  };
  for (const Case& c : {Case{"--threads 0", "--threads"}, Case{"--learning-rate inf", "--learning-rate"},
                        Case{"--learning-rate nan", "--learning-rate"}, Case{"--batch-size -5", "--batch-size"}}) {
    ToolRun r = run_tool(base + c.args);
    expect_one_line_error(r, 2);
    EXPECT_NE(r.err.find(c.option), std::string::npos) << c.args << ": " << r.err;
    EXPECT_EQ(r.out.find("Epoch"), std::string::npos) << c.args << ": trained anyway";
  }
  // An --out that cannot be a directory (a regular file stands in its way) fails before any epoch.
  fs::path blocker = fs::temp_directory_path() / ("ember_cli_blocker_" + std::to_string(::getpid()));
  std::ofstream(blocker) << "x";
  ToolRun r = run_tool(base + "--out " + (blocker / "sub").string());
  expect_one_line_error(r, 1);
  EXPECT_NE(r.err.find("--out"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("Epoch"), std::string::npos) << "trained before finding --out unusable: " << r.out;
  fs::remove(blocker);
  expect_one_line_error(run_tool("evaluate --model mlp --data idx:" + data.string() + " --batch-size 0"), 2);
}

// Fuzz finding (issue 9): a model file declaring more weights than there is memory was allocated
// until the OOM killer ended the process. It is refused before allocation, in one line.
TEST(TrainCli, AModelOverTheParameterBudgetIsRefusedBeforeAllocation) {
  fs::path data = make_idx_dir("budget", 64, 16);
  const std::string tera = "'" + ember::testing::source_dir() + "/tests/fixtures/keras/tera_params.json'";
  ToolRun r = run_tool("train --model " + tera + " --data idx:" + data.string() + " --epochs 1");
  expect_one_line_error(r, 1);
  // The largest weight: 1000 x 10^9 float32 = 4e12 bytes = 3.64 TiB.
  EXPECT_NE(r.err.find("layer 'huge' (Dense): kernel [1000,1000000000] float32 needs 3.64 TiB; the parameter budget is "),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("(memory available)"), std::string::npos) << r.err;

  // An explicit budget, also for a model that would fit in memory: mlp's 235,146 float32 weights,
  // none over 784 KiB alone.
  ToolRun small = run_tool("train --model mlp --data idx:" + data.string() + " --epochs 1 --max-param-memory 900K");
  expect_one_line_error(small, 1);
  EXPECT_NE(small.err.find("its 235146 parameters not yet in memory need 918.54 KiB; the parameter budget is "
                           "900.00 KiB (--max-param-memory)"),
            std::string::npos)
      << small.err;
  ToolRun fits = run_tool("train --model mlp --data idx:" + data.string() + " --epochs 1 --max-param-memory 1MiB");
  EXPECT_EQ(fits.status, 0) << fits.err;
  for (const char* bad : {"lots", "-1G", "1Q", "nan", "1e30T"}) {
    SCOPED_TRACE(bad);
    ToolRun b = run_tool("train --model mlp --data idx:" + data.string() + " --epochs 1 --max-param-memory " + bad);
    expect_one_line_error(b, 2);
    EXPECT_NE(b.err.find("--max-param-memory"), std::string::npos) << b.err;
  }
}
