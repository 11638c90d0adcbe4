// `ember train --out DIR` writes report.html; `ember report DIR` rebuilds the same file from the run
// files; the report renders in headless Chromium (skipped, visibly, where it is not installed).
#include <filesystem>

#include "report_browser.hpp"
#include "report_html_check.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using ember::testing::read_file;
using ember::testing::run_ember;
using ember::testing::ToolRun;

namespace {

// A 3-epoch mlp run on a small IDX set (128 test examples), its --out directory.
fs::path trained_run(const std::string& name) {
  fs::path data = ember::testing::make_idx_dir(name + "_data", 512, 128);
  fs::path out = ember::testing::fresh_temp_dir(name + "_out");
  ToolRun r = run_ember("train --model mlp --data idx:" + data.string() + " --epochs 3 --batch-size 64 --seed 1 --threads 1 --verbose 0 --out " +
                        out.string());
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("report: " + (out / "report.html").string() + "\n"), std::string::npos) << r.out;
  return out;
}

}  // namespace

TEST(ReportCli, TrainWritesTheReportAndReportRebuildsIt) {
  fs::path out = trained_run("report_cli");
  for (const char* f : {"report.html", "run.json", "test_predictions.npy", "history.csv", "model.json"}) {
    EXPECT_TRUE(fs::exists(out / f)) << f;
  }
  std::string html = read_file(out / "report.html");
  // loss, accuracy (training + validation on the test split) and lr, one point per epoch; 10
  // outputs: a 10x10 matrix ("0".."9" without class names) over the 128 test examples.
  report_browser::expect_page(html, 5, 3, 10, 128);
  EXPECT_NE(html.find("<td>seed</td><td>1</td>"), std::string::npos);
  EXPECT_NE(html.find("<td>threads</td><td>1</td>"), std::string::npos);
  EXPECT_NE(html.find("Diagnosis:"), std::string::npos);
  // This toy set is learnt perfectly, so no image is misclassified (then misclassified.npy is absent).
  EXPECT_EQ(fs::exists(out / "misclassified.npy"), html.find("No test example was misclassified") == std::string::npos);

  fs::path copy = out / "report_from_train.html";
  fs::rename(out / "report.html", copy);
  ToolRun r = run_ember("report " + out.string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "report: " + (out / "report.html").string() + "\n");
  EXPECT_EQ(read_file(out / "report.html"), read_file(copy));
}

TEST(ReportCli, ErrorsAreOneLineWithStatus) {
  ToolRun none = run_ember("report");
  EXPECT_EQ(none.status, 2) << none.err;
  fs::path dir = ember::testing::fresh_temp_dir("report_cli_err");
  ToolRun missing = run_ember("report " + (dir / "nope").string());
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("nope"), std::string::npos) << missing.err;
  ToolRun empty = run_ember("report " + dir.string());
  EXPECT_EQ(empty.status, 1);
  EXPECT_NE(empty.err.find("history.csv"), std::string::npos) << empty.err;
  ember::testing::write_file(dir / "history.csv", "epoch,loss,accuracy,val_loss,val_accuracy,lr\n1,oops,,,,\n");
  ToolRun bad = run_ember("report " + dir.string());
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("line 2 column 2"), std::string::npos) << bad.err;
  for (const ToolRun* r : {&none, &missing, &empty, &bad}) {
    EXPECT_EQ(r->err.find('\n'), r->err.size() - 1) << r->err;
    EXPECT_EQ(r->err.rfind("ember: ", 0), 0u) << r->err;
  }
}

// The screenshot lands in the test's working directory (the build's tests/ folder), report_out/.
TEST(ReportCli, RendersInHeadlessChromium) {
  fs::path out = trained_run("report_chromium");
  report_browser::check_in_browser(out / "report.html", fs::current_path() / "report_out" / "report_idx.png", 3, 128);
}
