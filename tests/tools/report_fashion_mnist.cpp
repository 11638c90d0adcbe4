// The issue's own check of the HTML report: `ember train --data fashion-mnist --epochs 2 --out DIR`
// writes a report.html with two points per curve and a 10x10 confusion matrix over all 10,000 test
// images, labelled with Fashion-MNIST's class names, that `ember report DIR` rebuilds byte for byte
// and that renders in headless Chromium (screenshot in the build's tests/report_out/). Its own
// executable, labelled slow (mlp) and long (cnn) in tests/CMakeLists.txt.
#include <filesystem>

#include "report_browser.hpp"
#include "report_html_check.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using ember::testing::read_file;
using ember::testing::run_ember;
using ember::testing::ToolRun;

namespace {

void check_fashion_report(const std::string& model) {
  if (!fs::is_directory("/usr/share/datasets/fashion-mnist") && !std::getenv("EMBER_DATA")) {
    GTEST_SKIP() << "Fashion-MNIST not installed (Debian package dataset-fashion-mnist)";
  }
  fs::path out = ember::testing::fresh_temp_dir("report_fashion_" + model);
  ToolRun r = run_ember("train --model " + model + " --data fashion-mnist --epochs 2 --verbose 2 --out " + out.string());
  ASSERT_EQ(r.status, 0) << r.err;
  std::string html = read_file(out / "report.html");
  report_browser::expect_page(html, 5, 2, 10, 10000);
  for (const char* name : {"T-shirt/top", "Trouser", "Ankle boot"}) EXPECT_NE(html.find(name), std::string::npos) << name;
  EXPECT_EQ(report_check::png_images(html).size(), 16u);

  fs::rename(out / "report.html", out / "report_from_train.html");
  ToolRun again = run_ember("report " + out.string());
  ASSERT_EQ(again.status, 0) << again.err;
  EXPECT_EQ(read_file(out / "report.html"), read_file(out / "report_from_train.html"));

  report_browser::check_in_browser(out / "report.html", fs::current_path() / "report_out" / ("fashion_" + model + ".png"), 2, 10000);
}

}  // namespace

TEST(FashionMnistReport, Mlp) { check_fashion_report("mlp"); }
TEST(FashionMnistReport, Cnn) { check_fashion_report("cnn"); }
