// train/report.hpp: the HTML report's parts checked against hand-computed values (confusion
// counts, precision / recall / F1, one curve point per epoch, the notes' table of train/test error
// for the diagnosis), the PNG grid decoded back to the input pixels, and the run files' round trip
// and errors.
#include "ember/train/report.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <regex>

#include "ember/core/error.hpp"
#include "ember/data/images.hpp"
#include "ember/io/npy.hpp"
#include "report_html_check.hpp"
#include "test_support.hpp"

using namespace ember;
namespace fs = std::filesystem;
using ember::testing::write_file;

namespace {

const double NaN = std::nan("");

train::ReportHistory history_of(std::vector<double> loss, std::vector<double> acc, std::vector<double> val_loss,
                                std::vector<double> val_acc) {
  train::ReportHistory h;
  for (std::size_t i = 0; i < loss.size(); ++i) h.epoch.push_back(static_cast<int>(i) + 1);
  h.loss = loss, h.accuracy = acc, h.val_loss = val_loss, h.val_accuracy = val_acc;
  h.lr.assign(loss.size(), 1e-3);
  return h;
}

// Five test examples of three classes, worked by hand:
//   true 0 0 1 1 2, predicted 0 1 1 1 0
//   confusion rows (true) 0: [1 1 0]  1: [0 2 0]  2: [1 0 0]
//   class 0: precision 1/2, recall 1/2, F1 .5; class 1: precision 2/3, recall 1, F1 .8;
//   class 2: precision 0 (never predicted), recall 0, F1 0.
train::ReportData small_data() {
  train::ReportData d;
  d.title = "small <run>";
  d.history = history_of({1.0, 0.6, 0.5}, {0.5, 0.7, 0.8}, {1.1, 0.8, 0.9}, {0.45, 0.6, 0.55});
  d.test_metrics = {{"loss", 0.9}, {"accuracy", 0.6}};
  d.y_true = {0, 0, 1, 1, 2};
  d.y_pred = {0, 1, 1, 1, 0};
  d.confidence = {0.9, 0.7, 0.8, 0.6, 0.95};
  d.class_names = {"zero", "one", "<two>"};
  // Two mistakes (examples 4 then 1, most confident first), 2x3 grey images.
  d.grid_images = from_vector(std::vector<uint8_t>{0, 50, 100, 150, 200, 250, 255, 0, 255, 0, 255, 0}, {2, 2, 3});
  d.model_summary = "Model: \"sequential\"\n dense (Dense)  (None, 3)  15";
  d.settings = {{"data", "idx:/tmp/x"}, {"seed", "7"}};
  return d;
}

}  // namespace

TEST(Report, ConfusionMatrixByHand) {
  auto cm = train::confusion_matrix({0, 0, 1, 1, 2}, {0, 1, 1, 1, 0}, 3);
  std::vector<std::vector<int64_t>> expect = {{1, 1, 0}, {0, 2, 0}, {1, 0, 0}};
  EXPECT_EQ(cm, expect);
  // More classes than labels seen: the matrix has class_names' size; labels beyond it widen it.
  EXPECT_EQ(train::confusion_matrix({0}, {0}, 4).size(), 4u);
  EXPECT_EQ(train::confusion_matrix({5}, {0}, 2).size(), 6u);
  EXPECT_THROW(train::confusion_matrix({0, 1}, {0}, 2), ValueError);
  EXPECT_THROW(train::confusion_matrix({-1}, {0}, 2), ValueError);
}

TEST(Report, MostConfidentMistakesOrder) {
  // Wrong: 1 (.7), 3 (.99), 4 (.7), 5 (.2); ties keep test order.
  std::vector<int64_t> t = {0, 0, 1, 1, 2, 2}, p = {0, 1, 1, 0, 0, 0};
  std::vector<double> c = {0.99, 0.7, 0.5, 0.99, 0.7, 0.2};
  EXPECT_EQ(train::most_confident_mistakes(t, p, c), (std::vector<int64_t>{3, 1, 4, 5}));
  EXPECT_EQ(train::most_confident_mistakes(t, p, c, 2), (std::vector<int64_t>{3, 1}));
  EXPECT_THROW(train::most_confident_mistakes(t, p, {0.5}), ValueError);
}

TEST(Report, HtmlHasOnePointPerEpochAndTheMatrix) {
  train::ReportData d = small_data();
  std::string html = train::report_html(d);
  report_check::Page page = report_check::parse(html);
  // Loss, accuracy (training and validation) and learning rate: 5 series of 3 points.
  ASSERT_EQ(page.series.size(), 5u) << html.substr(0, 2000);
  for (const auto& s : page.series) EXPECT_EQ(s.points, 3) << s.name;
  ASSERT_EQ(page.cells.size(), 9u);
  std::vector<int64_t> expect = {1, 1, 0, 0, 2, 0, 1, 0, 0};
  EXPECT_EQ(page.cells, expect);
  // Precision / recall / F1 rows, from the hand computation above.
  EXPECT_NE(html.find("<tr><td>zero</td><td>0.5000</td><td>0.5000</td><td>0.5000</td><td>2</td></tr>"), std::string::npos);
  EXPECT_NE(html.find("<tr><td>one</td><td>0.6667</td><td>1.0000</td><td>0.8000</td><td>2</td></tr>"), std::string::npos);
  EXPECT_NE(html.find("<tr><td>&lt;two&gt;</td><td>0.0000</td><td>0.0000</td><td>0.0000</td><td>1</td></tr>"), std::string::npos);
  // Text is escaped; nothing is fetched, no script.
  EXPECT_EQ(html.find("<two>"), std::string::npos);
  EXPECT_NE(html.find("small &lt;run&gt;"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg"));
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_NE(html.find("<td>seed</td><td>7</td>"), std::string::npos);
  EXPECT_NE(html.find("dense (Dense)"), std::string::npos);
  // The row-normalised colour: true class 1 is all on the diagonal (share 1).
  EXPECT_NE(html.find("data-count=\"2\" style=\"background:rgba(33,102,172,1.000)"), std::string::npos);
}

TEST(Report, SeriesWithoutValuesAreLeftOut) {
  train::ReportData d;
  d.history = history_of({1.0, 0.5}, {NaN, NaN}, {NaN, NaN}, {NaN, NaN});
  report_check::Page page = report_check::parse(train::report_html(d));
  ASSERT_EQ(page.series.size(), 2u);  // training loss and learning rate
  for (const auto& s : page.series) EXPECT_EQ(s.points, 2);
  EXPECT_TRUE(page.cells.empty());
}

TEST(Report, GridImagesDecodeToTheirPixels) {
  train::ReportData d = small_data();
  std::string html = train::report_html(d);
  std::vector<std::string> pngs = report_check::png_images(html);
  ASSERT_EQ(pngs.size(), 2u);
  // Order: example 4 (confidence .95) is grid row 0, example 1 (.7) row 1.
  EXPECT_NE(html.find("#4<br/>true: &lt;two&gt;<br/>pred: zero (95.0 %)"), std::string::npos);
  EXPECT_LT(html.find("#4<br/>"), html.find("#1<br/>"));
  fs::path dir = ember::testing::fresh_temp_dir("report_png");
  for (int i = 0; i < 2; ++i) {
    fs::path p = dir / ("g" + std::to_string(i) + ".png");
    write_file(p, pngs[i]);
    Tensor img = data::read_image(p.string());
    ASSERT_EQ(img.shape(), (Shape{2, 3, 1}));
    EXPECT_EQ(img.to_vector<int64_t>(), d.grid_images.slice(0, i, i + 1).to_vector<int64_t>());
  }
  // Float images in [0, 1] are scaled to 0..255.
  d.grid_images = from_vector(std::vector<float>{0, 0.2f, 1, 0.5f, 0, 0, 1, 1, 1, 1, 1, 1}, {2, 2, 3, 1});
  pngs = report_check::png_images(train::report_html(d));
  write_file(dir / "f.png", pngs[0]);
  EXPECT_EQ(data::read_image((dir / "f.png").string()).to_vector<int64_t>(), (std::vector<int64_t>{0, 51, 255, 128, 0, 0}));
  // Too few images for the mistakes: an error, not a read past the end.
  d.grid_images = d.grid_images.slice(0, 0, 1);
  EXPECT_THROW(train::report_html(d), ValueError);
}

// The notes' table (拟合度的判断): training / test error of four runs and their verdicts.
TEST(Report, DiagnosisFollowsTheNotesTable) {
  auto at_end = [](double train_err, double test_err) {
    return train::diagnose(history_of({0.5, 0.4}, {0.5, 1 - train_err}, {0.6, 0.5}, {0.5, 1 - test_err}));
  };
  train::Diagnosis a = at_end(0.15, 0.16), b = at_end(0.005, 0.01), c = at_end(0.01, 0.11), d = at_end(0.15, 0.30);
  EXPECT_TRUE(a.known && a.underfitting && !a.overfitting) << a.text;
  EXPECT_TRUE(b.known && !b.underfitting && !b.overfitting) << b.text;
  EXPECT_TRUE(c.known && !c.underfitting && c.overfitting) << c.text;
  EXPECT_TRUE(d.known && d.underfitting && d.overfitting) << d.text;
  EXPECT_EQ(a.text.rfind("Under-fitting", 0), 0u) << a.text;
  EXPECT_EQ(b.text.rfind("Good fit", 0), 0u) << b.text;
  EXPECT_EQ(c.text.rfind("Over-fitting", 0), 0u) << c.text;
  EXPECT_EQ(d.text.rfind("Both", 0), 0u) << d.text;
}

TEST(Report, DiagnosisNamesTheEpochOfLowestValidationLoss) {
  // Training fits (error 1 %), validation loss lowest at epoch 2, then rising 25 %: over-fitting
  // from epoch 2, although the final accuracy gap (2 points) alone would not say so.
  train::Diagnosis d = train::diagnose(history_of({0.5, 0.3, 0.1, 0.05}, {0.9, 0.95, 0.98, 0.99}, {0.5, 0.4, 0.45, 0.5},
                                                  {0.9, 0.95, 0.96, 0.97}));
  EXPECT_TRUE(d.overfitting && !d.underfitting) << d.text;
  EXPECT_EQ(d.best_epoch, 2);
  EXPECT_NE(d.text.find("since epoch 2"), std::string::npos) << d.text;
  // Without validation and accuracy there is nothing to judge by.
  train::Diagnosis none = train::diagnose(history_of({0.5, 0.4}, {NaN, NaN}, {NaN, NaN}, {NaN, NaN}));
  EXPECT_FALSE(none.known);
  EXPECT_FALSE(train::diagnose({}).known);
}

TEST(Report, RunFilesRoundTrip) {
  fs::path dir = ember::testing::fresh_temp_dir("report_run");
  train::ReportData d = small_data();
  d.model_summary.clear();  // no model.json in this directory
  write_file(dir / "history.csv",
             "epoch,loss,accuracy,val_loss,val_accuracy,lr\n1,1,0.5,1.1,0.45,0.001\n2,0.6,0.7,0.8,0.6,0.001\n3,0.5,0.8,0.9,0.55,0.001\n");
  train::write_run_files(dir.string(), d);
  train::ReportData back = train::read_run_dir(dir.string());
  EXPECT_EQ(train::report_html(back), train::report_html(d));
  EXPECT_EQ(back.settings, d.settings);
  EXPECT_EQ(back.class_names, d.class_names);
  // numpy's view of the predictions: f64 [N, 3].
  Tensor p = io::load_npy((dir / "test_predictions.npy").string());
  EXPECT_EQ(p.shape(), (Shape{5, 3}));
  EXPECT_EQ(p.to_vector<double>()[3 * 4 + 2], 0.95);
}

TEST(Report, HistoryCsvKeepsMissingValuesAsNaN) {
  fs::path dir = ember::testing::fresh_temp_dir("report_csv");
  write_file(dir / "h.csv", "epoch,loss,accuracy,val_loss,val_accuracy,lr\n1,0.5,0.8,,,0.001\n2,0.25,0.9,,,0.0005\n");
  train::ReportHistory h = train::read_history_csv((dir / "h.csv").string());
  EXPECT_EQ(h.epoch, (std::vector<int>{1, 2}));
  EXPECT_EQ(h.loss, (std::vector<double>{0.5, 0.25}));
  EXPECT_TRUE(std::isnan(h.val_loss[1]));
  EXPECT_EQ(h.lr[1], 0.0005);
}

TEST(Report, BadRunFilesAreNamedErrors) {
  auto expect_error = [](auto fn, const std::string& needle) {
    try {
      fn();
      ADD_FAILURE() << "no error; expected one mentioning " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  fs::path dir = ember::testing::fresh_temp_dir("report_bad");
  expect_error([&] { train::read_run_dir((dir / "missing").string()); }, "not a directory");
  expect_error([&] { train::read_run_dir(dir.string()); }, "history.csv");
  const std::string header = "epoch,loss,accuracy,val_loss,val_accuracy,lr\n";
  write_file(dir / "history.csv", "epoch,loss\n1,2\n");
  EXPECT_THROW(train::read_run_dir(dir.string()), FormatError);
  write_file(dir / "history.csv", header + "1,0.5,x,,,0.1\n");
  expect_error([&] { train::read_run_dir(dir.string()); }, "line 2 column 3");
  write_file(dir / "history.csv", header + "1,0.5,0.5,,\n");
  expect_error([&] { train::read_run_dir(dir.string()); }, "6 comma-separated fields");
  write_file(dir / "history.csv", header + "0.5,0.5,0.5,,,\n");
  expect_error([&] { train::read_run_dir(dir.string()); }, "epoch number");
  write_file(dir / "history.csv", header + "1,0.5,0.5,,,0.1\n");
  expect_error([&] { train::read_run_dir(dir.string()); }, "run.json");
  write_file(dir / "run.json", "{\"settings\": [1, 2]");
  EXPECT_THROW(train::read_run_dir(dir.string()), FormatError);
  write_file(dir / "run.json", "{\"settings\": {\"seed\": 1}}");
  expect_error([&] { train::read_run_dir(dir.string()); }, "settings \"seed\" must be a string");
  write_file(dir / "run.json", "[]");
  expect_error([&] { train::read_run_dir(dir.string()); }, "expected a JSON object");
  write_file(dir / "run.json", "{}");
  io::save_npy((dir / "test_predictions.npy").string(), from_vector(std::vector<double>{0, 1}, {1, 2}, f64));
  expect_error([&] { train::read_run_dir(dir.string()); }, "expected shape [N, 3]");
  io::save_npy((dir / "test_predictions.npy").string(), from_vector(std::vector<double>{0, 1, 1.5}, {1, 3}, f64));
  expect_error([&] { train::read_run_dir(dir.string()); }, "row 0");
  io::save_npy((dir / "test_predictions.npy").string(), from_vector(std::vector<double>{0, 1, 0.5}, {1, 3}, f64));
  io::save_npy((dir / "misclassified.npy").string(), from_vector(std::vector<double>{0, 1}, {2}, f64));
  expect_error([&] { train::read_run_dir(dir.string()); }, "misclassified.npy");
  fs::remove(dir / "misclassified.npy");
  train::ReportData ok = train::read_run_dir(dir.string());
  EXPECT_EQ(ok.y_pred, (std::vector<int64_t>{1}));
}
