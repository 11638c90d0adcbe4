// `ember train --data` with the readers of issue 12: an image folder resized to the built-in
// models' 28x28x1 input, and the one-line errors for a truncated CIFAR file, an empty folder and a
// CSV with a non-numeric cell (exit status 1; a bad --image-size is usage, 2).
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "test_support.hpp"

using namespace ember;
namespace fs = std::filesystem;
using ember::testing::make_png;
using ember::testing::run_ember;
using ember::testing::ToolRun;
using ember::testing::write_file;

namespace {

bool one_line(const std::string& s) { return !s.empty() && s.find('\n') == s.size() - 1; }

}  // namespace

TEST(DataCli, TrainsOnAnImageFolderResizedToTheModelInput) {
  fs::path d = ember::testing::fresh_temp_dir("data_cli_folder");
  // Two classes of 7x7 RGB images: bright top half or bright bottom half.
  for (int i = 0; i < 12; ++i) {
    for (int k = 0; k < 2; ++k) {
      std::vector<unsigned char> px(7 * 7 * 3);
      for (int y = 0; y < 7; ++y)
        for (int x = 0; x < 7 * 3; ++x) px[static_cast<std::size_t>(y * 21 + x)] = static_cast<unsigned char>(((y < 3) == (k == 0)) ? 200 + i : 10 + i);
      write_file(d / (k == 0 ? "top" : "bottom") / (std::to_string(i) + ".png"), make_png(7, 7, 3, px));
    }
  }
  write_file(d / "top" / "broken.png", "not a png");
  ToolRun r = run_ember("train --model mlp --data folder:" + d.string() +
                        " --image-size 28x28 --color grayscale --epochs 1 --batch-size 8 --threads 1 --verbose 2");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("warning: skipped 1 file(s)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("broken.png"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("has no test split"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("test_loss="), std::string::npos) << r.out;

  ToolRun bad = run_ember("train --model mlp --data folder:" + d.string() + " --image-size 28by28");
  EXPECT_EQ(bad.status, 2) << bad.err;
  EXPECT_NE(bad.err.find("--image-size"), std::string::npos) << bad.err;
  ToolRun colour = run_ember("train --model mlp --data folder:" + d.string() + " --color blue");
  EXPECT_EQ(colour.status, 2) << colour.err;
  fs::remove_all(d);
}

TEST(DataCli, BadDataIsOneLineAndStatusOne) {
  fs::path d = ember::testing::fresh_temp_dir("data_cli_bad");
  // A truncated CIFAR-10 directory: one byte short of one record in data_batch_1.bin.
  write_file(d / "cifar" / "data_batch_1.bin", std::string(3072, '\0'));
  ToolRun c = run_ember("train --model mlp --data cifar10:" + (d / "cifar").string());
  EXPECT_EQ(c.status, 1) << c.err;
  EXPECT_TRUE(one_line(c.err)) << c.err;
  EXPECT_NE(c.err.find("data_batch_1.bin"), std::string::npos) << c.err;

  fs::create_directories(d / "empty");
  ToolRun e = run_ember("train --model mlp --data folder:" + (d / "empty").string());
  EXPECT_EQ(e.status, 1) << e.err;
  EXPECT_TRUE(one_line(e.err)) << e.err;
  EXPECT_NE(e.err.find("no sub-folders"), std::string::npos) << e.err;

  write_file(d / "t.csv", "a,b,label\n1,2,0\n3,x7,1\n");
  ToolRun v = run_ember("train --model mlp --data csv:" + (d / "t.csv").string() + ":label=label");
  EXPECT_EQ(v.status, 1) << v.err;
  EXPECT_TRUE(one_line(v.err)) << v.err;
  EXPECT_NE(v.err.find((d / "t.csv").string() + ":3:2: expected a number, got 'x7'"), std::string::npos) << v.err;

  ToolRun u = run_ember("train --model mlp --data nosuch:thing");
  EXPECT_EQ(u.status, 1) << u.err;
  EXPECT_NE(u.err.find("folder:DIR"), std::string::npos) << u.err;
  fs::remove_all(d);
}
