// `ember predict` / `ember evaluate` on the .h5 files that crashed, hung or leaked inside libhdf5
// 1.10 (fuzz/known_*; fuzz/README.md): a one-line error on stderr naming the file, exit status 1,
// no signal, in seconds (the hang is cut at 3 s of CPU time by the child-process check).
#include <filesystem>
#include <fstream>

#include "test_support.hpp"

namespace fs = std::filesystem;
using ember::testing::run_ember;
using ember::testing::ToolRun;

TEST(DamagedH5Cli, PredictAndEvaluateGiveOneLineStatus1) {
  fs::path input = fs::temp_directory_path() / ("ember_damaged_h5_" + std::to_string(::getpid()) + ".npy");
  std::ofstream(input) << "x";  // never read: the model fails first
  fs::path data = ember::testing::make_idx_dir("damaged_h5", 16, 8);
  int files = 0;
  for (const char* dir : {"known_crashes", "known_hangs", "known_leaks"}) {
    for (const auto& e : fs::directory_iterator(fs::path(ember::testing::source_dir()) / "fuzz" / dir)) {
      ++files;
      const std::string model = "'" + e.path().string() + "'";
      for (const std::string& args : {"predict --model " + model + " --input " + input.string(),
                                      "evaluate --model " + model + " --data idx:" + data.string()}) {
        SCOPED_TRACE(args);
        ToolRun r = run_ember(args);
        EXPECT_EQ(r.status, 1) << r.err;
        ASSERT_FALSE(r.err.empty());
        EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;  // one line
        EXPECT_NE(r.err.find(e.path().filename().string()), std::string::npos) << r.err;
      }
    }
  }
  EXPECT_EQ(files, 4);
  fs::remove(input);
}
