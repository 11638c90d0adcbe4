// A run directory's report files (train/report.hpp): run.json, test_predictions.npy,
// misclassified.npy and the reader of history.csv, so `ember report DIR` rebuilds the report
// without retraining.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "ember/core/config_fields.hpp"
#include "ember/core/error.hpp"
#include "ember/io/atomic_file.hpp"
#include "ember/io/npy.hpp"
#include "ember/nn/model.hpp"
#include "ember/train/model_files.hpp"
#include "ember/train/report.hpp"

namespace ember::train {

namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw IOError("cannot read '" + p.string() + "'" + (fs::exists(p) ? "" : ": no such file"));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out(1);
  for (char c : line) {
    if (c == sep) out.emplace_back();
    else if (c != '\r') out.back() += c;
  }
  return out;
}

}  // namespace

ReportHistory read_history_csv(const std::string& path) {
  std::istringstream in(read_text(path));
  std::string line;
  const std::string header = "epoch,loss,accuracy,val_loss,val_accuracy,lr";
  if (!std::getline(in, line) || split(line, ',') != split(header, ',')) {
    throw FormatError("'" + path + "' line 1: expected the header '" + header + "', got '" + line.substr(0, 80) + "'");
  }
  ReportHistory h;
  std::vector<double>* cols[] = {&h.loss, &h.accuracy, &h.val_loss, &h.val_accuracy, &h.lr};
  for (int row = 2; std::getline(in, line); ++row) {
    if (line.empty() || line == "\r") continue;
    std::vector<std::string> f = split(line, ',');
    if (f.size() != 6) {
      throw FormatError("'" + path + "' line " + std::to_string(row) + ": expected 6 comma-separated fields, got " +
                        std::to_string(f.size()));
    }
    auto number = [&](const std::string& s, int col) {
      if (s.empty()) return std::nan("");
      char* end = nullptr;
      double v = std::strtod(s.c_str(), &end);
      if (end != s.c_str() + s.size()) {
        throw FormatError("'" + path + "' line " + std::to_string(row) + " column " + std::to_string(col + 1) + ": expected a number, got '" +
                          s.substr(0, 40) + "'");
      }
      return v;
    };
    double e = number(f[0], 0);
    if (!(e >= 1 && e <= 1e9) || e != std::floor(e)) {
      throw FormatError("'" + path + "' line " + std::to_string(row) + ": expected a positive whole epoch number, got '" + f[0] + "'");
    }
    h.epoch.push_back(static_cast<int>(e));
    for (int c = 0; c < 5; ++c) cols[c]->push_back(number(f[c + 1], c + 1));
  }
  return h;
}

void write_run_files(const std::string& dir, const ReportData& d) {
  nlohmann::ordered_json j;
  j["title"] = d.title;
  j["settings"] = nlohmann::ordered_json::object();
  for (const auto& [k, v] : d.settings) j["settings"][k] = v;
  j["test_metrics"] = nlohmann::ordered_json::object();
  for (const auto& [k, v] : d.test_metrics) j["test_metrics"][k] = v;
  j["class_names"] = d.class_names;
  io::write_file_atomically((fs::path(dir) / "run.json").string(), j.dump(2) + "\n");

  const std::size_t n = d.y_true.size();
  if (d.y_pred.size() != n || d.confidence.size() != n) {
    throw ValueError("write_run_files: " + std::to_string(n) + " true labels, " + std::to_string(d.y_pred.size()) +
                     " predictions and " + std::to_string(d.confidence.size()) + " confidences; expected equal counts");
  }
  std::vector<double> rows(n * 3);
  for (std::size_t i = 0; i < n; ++i) {
    rows[3 * i] = static_cast<double>(d.y_true[i]);
    rows[3 * i + 1] = static_cast<double>(d.y_pred[i]);
    rows[3 * i + 2] = d.confidence[i];
  }
  io::save_npy((fs::path(dir) / "test_predictions.npy").string(), from_vector(rows, {static_cast<int64_t>(n), 3}, f64));
  fs::path grid = fs::path(dir) / "misclassified.npy";
  if (d.grid_images.defined()) io::save_npy(grid.string(), d.grid_images.contiguous());
  else fs::remove(grid);
}

ReportData read_run_dir(const std::string& dir) {
  if (!fs::is_directory(dir)) throw IOError("'" + dir + "' is not a directory (expected a run directory from ember train --out)");
  const fs::path root(dir);
  ReportData d;
  d.history = read_history_csv((root / "history.csv").string());

  const std::string run_path = (root / "run.json").string();
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(read_text(run_path));
  } catch (const nlohmann::json::exception& e) {
    throw FormatError("'" + run_path + "': not valid JSON: " + e.what());
  }
  auto field = [&](const char* key, auto check, const char* what) -> const nlohmann::ordered_json* {
    if (!j.is_object()) throw FormatError("'" + run_path + "': expected a JSON object");
    if (!j.contains(key)) return nullptr;
    if (!check(j[key])) throw FormatError("'" + run_path + "': \"" + key + "\" must be " + what);
    return &j[key];
  };
  if (auto* t = field("title", [](const auto& v) { return v.is_string(); }, "a string")) d.title = t->template get<std::string>();
  if (auto* s = field("settings", [](const auto& v) { return v.is_object(); }, "an object of strings")) {
    for (const auto& [k, v] : s->items()) {
      if (!v.is_string()) throw FormatError("'" + run_path + "': settings \"" + k + "\" must be a string");
      d.settings.emplace_back(k, v.template get<std::string>());
    }
  }
  if (auto* m = field("test_metrics", [](const auto& v) { return v.is_object(); }, "an object of numbers")) {
    for (const auto& [k, v] : m->items()) {
      if (!v.is_number()) throw FormatError("'" + run_path + "': test_metrics \"" + k + "\" must be a number");
      d.test_metrics.emplace_back(k, v.template get<double>());
    }
  }
  if (auto* c = field("class_names", [](const auto& v) { return v.is_array(); }, "an array of strings")) {
    for (const auto& v : *c) {
      if (!v.is_string()) throw FormatError("'" + run_path + "': class_names must hold strings");
      d.class_names.push_back(v.template get<std::string>());
    }
  }

  const std::string pred_path = (root / "test_predictions.npy").string();
  if (fs::exists(pred_path)) {
    Tensor p = io::load_npy(pred_path);
    if (p.dim() != 2 || p.size(1) != 3) {
      throw FormatError("'" + pred_path + "': expected shape [N, 3] (true label, predicted label, confidence), got " + to_string(p.shape()));
    }
    std::vector<double> v = p.to_vector<double>();
    for (int64_t i = 0; i < p.size(0); ++i) {
      double t = v[3 * i], q = v[3 * i + 1], c = v[3 * i + 2];
      if (!(t >= 0 && t < 1e6 && t == std::floor(t) && q >= 0 && q < 1e6 && q == std::floor(q) && c >= 0 && c <= 1)) {
        throw FormatError("'" + pred_path + "' row " + std::to_string(i) + ": expected whole labels in [0, 1e6) and a probability, got " +
                          std::to_string(t) + ", " + std::to_string(q) + ", " + std::to_string(c));
      }
      d.y_true.push_back(static_cast<int64_t>(t));
      d.y_pred.push_back(static_cast<int64_t>(q));
      d.confidence.push_back(c);
    }
  }
  const fs::path grid = root / "misclassified.npy";
  if (fs::exists(grid)) {
    d.grid_images = io::load_npy(grid.string());
    std::size_t need = most_confident_mistakes(d.y_true, d.y_pred, d.confidence, 16).size();
    if ((d.grid_images.dim() != 3 && d.grid_images.dim() != 4) || d.grid_images.size(0) < static_cast<int64_t>(need)) {
      throw FormatError("'" + grid.string() + "': expected [K, H, W] or [K, H, W, C] images with K >= " + std::to_string(need) + ", got " +
                        to_string(d.grid_images.shape()));
    }
  }
  const fs::path model = root / "model.json";
  if (fs::exists(model)) d.model_summary = load_model_architecture(model.string())->summary_string();
  return d;
}

}  // namespace ember::train
