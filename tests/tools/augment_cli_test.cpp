// `ember train` with the data options of issue 12 that the tool adds on top of the readers:
// folder:DIR with train/ and test/ sub-folders, --test-split for data without a test split, and
// --augment (ImageDataGenerator batches through the input pipeline).
#include <filesystem>

#include "test_support.hpp"

using namespace ember;
namespace fs = std::filesystem;
using ember::testing::make_png;
using ember::testing::run_ember;
using ember::testing::ToolRun;
using ember::testing::write_file;

namespace {

// Two classes of 28x28 grey images, `per_class` each: bright top half or bright bottom half.
void write_two_classes(const fs::path& dir, int per_class) {
  for (int i = 0; i < per_class; ++i) {
    for (int k = 0; k < 2; ++k) {
      std::vector<unsigned char> px(28 * 28);
      for (int y = 0; y < 28; ++y)
        for (int x = 0; x < 28; ++x) px[static_cast<std::size_t>(y * 28 + x)] = static_cast<unsigned char>(((y < 14) == (k == 0)) ? 200 + i : 10 + i);
      write_file(dir / (k == 0 ? "0_top" : "1_bottom") / (std::to_string(i) + ".png"), make_png(28, 28, 1, px));
    }
  }
}

}  // namespace

TEST(AugmentCli, FolderWithTrainAndTestSubfoldersHasATestSplit) {
  fs::path d = ember::testing::fresh_temp_dir("augment_cli_split_dirs");
  write_two_classes(d / "train", 12);
  write_two_classes(d / "test", 4);
  ToolRun r = run_ember("train --model mlp --data folder:" + d.string() + " --color grayscale --epochs 1 --batch-size 8 --threads 1 --verbose 0");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("test_loss="), std::string::npos) << r.out;
  EXPECT_EQ(r.err.find("no test split"), std::string::npos) << r.err;
  fs::remove_all(d);
}

TEST(AugmentCli, TestSplitHoldsOutAStratifiedFraction) {
  fs::path d = ember::testing::fresh_temp_dir("augment_cli_test_split");
  write_two_classes(d, 12);
  // 24 images, test_size 0.25: ceil(6) = 6 held out (scikit-learn's rounding), 3 per class.
  ToolRun r = run_ember("train --model mlp --data folder:" + d.string() + " --color grayscale --test-split 0.25 --epochs 1 --batch-size 8 --threads 1 --verbose 0");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("holding out 6 of 24 examples"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("test_loss="), std::string::npos) << r.out;

  // Data with its own test split refuses --test-split (usage error).
  ToolRun twice = run_ember("train --model mlp --data fashion-mnist --test-split 0.1 --epochs 1");
  EXPECT_EQ(twice.status, 2) << twice.err;
  EXPECT_NE(twice.err.find("has its own test split"), std::string::npos) << twice.err;
  fs::remove_all(d);
}

TEST(AugmentCli, AugmentedTrainingRunsAndBadSpecsAreUsageErrors) {
  fs::path d = ember::testing::fresh_temp_dir("augment_cli_augment");
  write_two_classes(d / "train", 12);
  write_two_classes(d / "test", 4);
  const std::string base = "train --model mlp --data folder:" + d.string() + " --color grayscale --epochs 2 --batch-size 8 --threads 1 --verbose 0";
  ToolRun r = run_ember(base + " --augment flip,rotate=10,shift=0.1,zoom=0.1");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("test_loss="), std::string::npos) << r.out;
  // Same seed, same augmented images: the same test metrics.
  ToolRun again = run_ember(base + " --augment flip,rotate=10,shift=0.1,zoom=0.1");
  ASSERT_EQ(again.status, 0) << again.err;
  EXPECT_EQ(r.out, again.out);

  for (const char* spec : {"spin=3", "rotate", "rotate=abc", "zoom=1.5", "flip=1", "fill=mirror"}) {
    ToolRun bad = run_ember(base + " --augment '" + spec + "'");
    EXPECT_EQ(bad.status, 2) << spec << ": " << bad.err;
    EXPECT_NE(bad.err.find("--augment"), std::string::npos) << spec << ": " << bad.err;
  }
  fs::remove_all(d);
}
