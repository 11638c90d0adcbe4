#pragma once
// The HTML report of a training run: one self-contained file (inline SVG, CSS and PNG data URIs;
// no scripts, nothing fetched) with the loss / accuracy / learning-rate curves over epochs, a
// diagnosis line (under- / over-fitting), the test metrics, the confusion matrix as a heat map with
// per-class precision / recall / F1, the most confidently misclassified test images, the model
// summary and the run's settings.
//
// `ember train --out DIR` fills a ReportData from memory and writes it with write_report_html; it
// also writes the run files (write_run_files) from which read_run_dir rebuilds the same ReportData
// later (`ember report DIR`):
//   history.csv           epoch,loss,accuracy,val_loss,val_accuracy,lr (one row per epoch)
//   run.json              title, settings (ordered), test metrics, class names
//   test_predictions.npy  f64 [N, 3]: true label, predicted label, probability of the prediction
//   misclassified.npy     the grid's images (most_confident_mistakes order), as the data set gives
//                         them: stored so the report needs neither the data set nor a re-run
//   model.json            the architecture (its summary table)
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ember/core/tensor.hpp"

namespace ember::callbacks {
class History;
}

namespace ember::train {

// One value per epoch for each of history.csv's columns; NaN where the run did not record it
// (no validation data: val_* are NaN).
struct ReportHistory {
  std::vector<int> epoch;  // 1-based
  std::vector<double> loss, accuracy, val_loss, val_accuracy, lr;
};

// From fit's History (keys loss, accuracy, val_loss, val_accuracy, lr; others ignored).
ReportHistory report_history(const callbacks::History& history);

// Reads history.csv as `ember train` writes it. IOError when unreadable; FormatError naming the
// file and line for a wrong header, a wrong field count or a field that is not a number.
ReportHistory read_history_csv(const std::string& path);

// Under- / over-fitting from the curves, after the notes' table of training vs test error.
struct Diagnosis {
  bool known = false;          // false: the history lacks what the rule needs (e.g. no validation)
  bool underfitting = false;
  bool overfitting = false;
  int best_epoch = 0;          // 1-based epoch of the lowest validation loss (0: no val_loss)
  std::string text;            // one sentence for the report
};
Diagnosis diagnose(const ReportHistory& history);

struct ReportData {
  std::string title = "Ember training run";
  ReportHistory history;
  std::vector<std::pair<std::string, double>> test_metrics;  // e.g. {"loss", 0.31}, {"accuracy", 0.89}
  // The test set, one entry per example: true class, predicted class (argmax), its probability.
  std::vector<int64_t> y_true, y_pred;
  std::vector<double> confidence;
  std::vector<std::string> class_names;  // empty: "0" .. "K-1"
  // The misclassified grid: row i is test example most_confident_mistakes(...)[i]. u8 (0..255) or
  // floating (0..1) pixels, [K, H, W] or [K, H, W, C] with C 1 or 3. Undefined: no grid.
  Tensor grid_images;
  std::string model_summary;                                  // nn::Model::summary_string()
  std::vector<std::pair<std::string, std::string>> settings;  // shown in this order
};

// Test indices of the wrong predictions, most confident first (ties: lower index first), at most n.
std::vector<int64_t> most_confident_mistakes(const std::vector<int64_t>& y_true, const std::vector<int64_t>& y_pred,
                                             const std::vector<double>& confidence, std::size_t n = 16);

// counts[t][p]: test examples of true class t predicted as p; classes = max(class_names.size(),
// 1 + the largest label). ValueError for negative labels or mismatched lengths.
std::vector<std::vector<int64_t>> confusion_matrix(const std::vector<int64_t>& y_true, const std::vector<int64_t>& y_pred,
                                                   std::size_t num_classes);

// The page; ValueError when the data disagree (lengths, grid size).
std::string report_html(const ReportData& data);
// report_html written atomically to `path`.
void write_report_html(const std::string& path, const ReportData& data);

// run.json, test_predictions.npy and misclassified.npy in `dir` (history.csv and model.json are
// written by the training run itself).
void write_run_files(const std::string& dir, const ReportData& data);
// The ReportData of a run directory. IOError naming a missing file; FormatError for malformed ones.
ReportData read_run_dir(const std::string& dir);

}  // namespace ember::train
