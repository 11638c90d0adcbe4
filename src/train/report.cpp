// The HTML report (train/report.hpp): curves as inline SVG, the confusion matrix as a table whose
// cells are coloured by their row-normalised count, the misclassified images as PNG data URIs.
#include "ember/train/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <sstream>

#include "ember/core/error.hpp"
#include "ember/io/atomic_file.hpp"
#include "ember/io/summary.hpp"  // encode_png
#include "ember/train/callbacks.hpp"

namespace ember::train {

namespace {

const double kNaN = std::nan("");

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string base64(const std::string& bytes) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) v |= static_cast<uint8_t>(bytes[i + 2]);
    out += table[(v >> 18) & 63];
    out += table[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? table[(v >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? table[v & 63] : '=';
  }
  return out;
}

std::string class_name(const std::vector<std::string>& names, int64_t k) {
  return k >= 0 && static_cast<std::size_t>(k) < names.size() ? names[k] : std::to_string(k);
}

// ---- curves ----

struct Series {
  std::string name, color;
  const std::vector<double>* values;
  bool dashed = false;
};

// Round tick step: 1, 2 or 5 times a power of ten, giving about `target` ticks over [lo, hi].
double tick_step(double lo, double hi, int target) {
  double raw = (hi - lo) / target;
  if (!(raw > 0)) return 1;
  double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * p >= raw) return m * p;
  }
  return 10 * p;
}

// One chart: x = epochs 1..E, y from the series' finite values; one <path> per series with one
// point ("M"/"L") per epoch where the value is finite, and a circle on each point.
std::string svg_chart(const std::string& title, const std::string& y_label, const std::vector<int>& epochs,
                      const std::vector<Series>& all_series) {
  std::vector<Series> series;
  for (const Series& s : all_series) {
    if (std::any_of(s.values->begin(), s.values->end(), [](double v) { return std::isfinite(v); })) series.push_back(s);
  }
  if (series.empty() || epochs.empty()) return "";
  const double W = 460, H = 290, left = 62, right = 14, top = 46, bottom = 46;
  const double pw = W - left - right, ph = H - top - bottom;
  double lo = INFINITY, hi = -INFINITY;
  for (const Series& s : series) {
    for (double v : *s.values) {
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    }
  }
  if (hi - lo < 1e-12 * std::max(1.0, std::fabs(hi))) {
    double pad = std::max(std::fabs(hi) * 0.05, 1e-6);
    lo -= pad, hi += pad;
  }
  double step = tick_step(lo, hi, 5);
  lo = std::floor(lo / step) * step;
  hi = std::ceil(hi / step) * step;
  const int first = epochs.front(), last = epochs.back();
  auto X = [&](double e) { return left + (last == first ? pw / 2 : (e - first) / (last - first) * pw); };
  auto Y = [&](double v) { return top + (hi - v) / (hi - lo) * ph; };

  std::ostringstream o;
  o << "<figure class=\"chart\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
    << "\" viewBox=\"0 0 " << W << " " << H << "\" role=\"img\" aria-label=\"" << escape(title) << "\">\n";
  o << "<text x=\"" << W / 2 << "\" y=\"18\" text-anchor=\"middle\" class=\"title\">" << escape(title) << "</text>\n";
  // y grid and ticks
  for (double v = lo; v <= hi + step * 1e-6; v += step) {
    double y = Y(v);
    o << "<line class=\"grid\" x1=\"" << left << "\" x2=\"" << left + pw << "\" y1=\"" << fmt("%.2f", y) << "\" y2=\"" << fmt("%.2f", y)
      << "\"/><text class=\"tick\" x=\"" << left - 6 << "\" y=\"" << fmt("%.2f", y + 4) << "\" text-anchor=\"end\">" << fmt("%.4g", v)
      << "</text>\n";
  }
  // x ticks: every epoch, or a round step when there are many
  int xstep = static_cast<int>(std::max(1.0, tick_step(first, last, 8)));
  for (int e = first; e <= last; e += xstep) {
    double x = X(e);
    o << "<line class=\"axis\" x1=\"" << fmt("%.2f", x) << "\" x2=\"" << fmt("%.2f", x) << "\" y1=\"" << top + ph << "\" y2=\""
      << top + ph + 5 << "\"/><text class=\"tick\" x=\"" << fmt("%.2f", x) << "\" y=\"" << top + ph + 18
      << "\" text-anchor=\"middle\">" << e << "</text>\n";
  }
  o << "<line class=\"axis\" x1=\"" << left << "\" x2=\"" << left + pw << "\" y1=\"" << top + ph << "\" y2=\"" << top + ph << "\"/>";
  o << "<line class=\"axis\" x1=\"" << left << "\" x2=\"" << left << "\" y1=\"" << top << "\" y2=\"" << top + ph << "\"/>\n";
  o << "<text class=\"label\" x=\"" << left + pw / 2 << "\" y=\"" << H - 8 << "\" text-anchor=\"middle\">epoch</text>\n";
  o << "<text class=\"label\" transform=\"translate(14 " << top + ph / 2 << ") rotate(-90)\" text-anchor=\"middle\">"
    << escape(y_label) << "</text>\n";
  // series
  for (const Series& s : series) {
    std::string d, dots;
    for (std::size_t i = 0; i < epochs.size() && i < s.values->size(); ++i) {
      double v = (*s.values)[i];
      if (!std::isfinite(v)) continue;
      std::string xy = fmt("%.2f", X(epochs[i])) + " " + fmt("%.2f", Y(v));
      d += (d.empty() ? "M" : " L") + xy;
      dots += "<circle cx=\"" + fmt("%.2f", X(epochs[i])) + "\" cy=\"" + fmt("%.2f", Y(v)) + "\" r=\"3\" fill=\"" + s.color + "\"/>";
    }
    o << "<path class=\"series\" data-series=\"" << escape(s.name) << "\" d=\"" << d << "\" fill=\"none\" stroke=\"" << s.color
      << "\" stroke-width=\"2\"" << (s.dashed ? " stroke-dasharray=\"6 3\"" : "") << "/>" << dots << "\n";
  }
  // legend: one row between the title and the plot, where no curve can hide it
  double lx = left, ly = 34;
  for (const Series& s : series) {
    o << "<line x1=\"" << lx << "\" x2=\"" << lx + 22 << "\" y1=\"" << ly << "\" y2=\"" << ly << "\" stroke=\"" << s.color
      << "\" stroke-width=\"2\"" << (s.dashed ? " stroke-dasharray=\"6 3\"" : "") << "/><text class=\"legend\" x=\"" << lx + 28
      << "\" y=\"" << ly + 4 << "\">" << escape(s.name) << "</text>\n";
    lx += 40 + 7 * static_cast<double>(s.name.size());
  }
  o << "</svg></figure>\n";
  return o.str();
}

// ---- confusion matrix ----

std::string confusion_html(const ReportData& d, std::size_t classes) {
  auto cm = confusion_matrix(d.y_true, d.y_pred, classes);
  std::ostringstream o;
  o << "<div class=\"cm-wrap\"><table class=\"confusion\"><caption>Rows: true class; columns: predicted class. Colour: share of "
       "the row.</caption>\n<tr><th></th>";
  for (std::size_t p = 0; p < classes; ++p) o << "<th class=\"pred\">" << escape(class_name(d.class_names, p)) << "</th>";
  o << "</tr>\n";
  for (std::size_t t = 0; t < classes; ++t) {
    int64_t row = std::accumulate(cm[t].begin(), cm[t].end(), int64_t{0});
    o << "<tr><th class=\"true\">" << escape(class_name(d.class_names, t)) << "</th>";
    for (std::size_t p = 0; p < classes; ++p) {
      double share = row > 0 ? static_cast<double>(cm[t][p]) / row : 0.0;
      // Diagonal cells blue, off-diagonal ones red, opacity by the share of the row.
      const char* rgb = t == p ? "33,102,172" : "203,24,29";
      o << "<td class=\"cell\" data-count=\"" << cm[t][p] << "\" style=\"background:rgba(" << rgb << "," << fmt("%.3f", share)
        << ");color:" << (share > 0.55 ? "#fff" : "#111") << "\" title=\"" << fmt("%.1f", 100 * share) << " %\">" << cm[t][p]
        << "</td>";
    }
    o << "</tr>\n";
  }
  o << "</table></div>\n";

  // Per class: precision = tp / predicted as the class, recall = tp / truly the class, F1 their
  // harmonic mean (0 where undefined, as scikit-learn's zero_division=0).
  o << "<table class=\"prf\"><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>\n";
  for (std::size_t k = 0; k < classes; ++k) {
    int64_t tp = cm[k][k], support = 0, predicted = 0;
    for (std::size_t j = 0; j < classes; ++j) support += cm[k][j], predicted += cm[j][k];
    double precision = predicted ? static_cast<double>(tp) / predicted : 0.0;
    double recall = support ? static_cast<double>(tp) / support : 0.0;
    double f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
    o << "<tr><td>" << escape(class_name(d.class_names, k)) << "</td><td>" << fmt("%.4f", precision) << "</td><td>"
      << fmt("%.4f", recall) << "</td><td>" << fmt("%.4f", f1) << "</td><td>" << support << "</td></tr>\n";
  }
  o << "</table>\n";
  return o.str();
}

// ---- misclassified grid ----

std::string grid_html(const ReportData& d) {
  std::vector<int64_t> idx = most_confident_mistakes(d.y_true, d.y_pred, d.confidence, 16);
  if (idx.empty()) return "<p>No test example was misclassified.</p>\n";
  if (!d.grid_images.defined()) return "<p>No images stored for this run.</p>\n";
  const Tensor& g = d.grid_images;
  if ((g.dim() != 3 && g.dim() != 4) || g.size(0) < static_cast<int64_t>(idx.size())) {
    throw ValueError("report: the grid images must be [K, H, W] or [K, H, W, C] with K >= " + std::to_string(idx.size()) +
                     ", got " + to_string(g.shape()));
  }
  const int h = static_cast<int>(g.size(1)), w = static_cast<int>(g.size(2)), c = g.dim() == 4 ? static_cast<int>(g.size(3)) : 1;
  if (c != 1 && c != 3) throw ValueError("report: grid images need 1 or 3 channels, got " + std::to_string(c));
  if (h < 1 || w < 1 || h > 4096 || w > 4096) throw ValueError("report: grid image size " + std::to_string(h) + "x" + std::to_string(w));
  const bool is_u8 = g.dtype() == u8;
  std::vector<double> all = g.slice(0, 0, static_cast<int64_t>(idx.size())).to_vector<double>();
  const std::size_t per = static_cast<std::size_t>(h) * w * c;
  std::ostringstream o;
  o << "<div class=\"grid\">\n";
  for (std::size_t i = 0; i < idx.size(); ++i) {
    std::vector<uint8_t> px(per);
    for (std::size_t j = 0; j < per; ++j) {
      double v = all[i * per + j] * (is_u8 ? 1.0 : 255.0);
      px[j] = static_cast<uint8_t>(std::clamp(std::isfinite(v) ? std::lround(v) : 0L, 0L, 255L));
    }
    int64_t k = idx[i];
    o << "<figure class=\"mis\"><img alt=\"test example " << k << "\" width=\"" << std::max(84, w) << "\" src=\"data:image/png;base64,"
      << base64(io::encode_png(px.data(), h, w, c)) << "\"/><figcaption>#" << k << "<br/>true: " << escape(class_name(d.class_names, d.y_true[k]))
      << "<br/>pred: " << escape(class_name(d.class_names, d.y_pred[k])) << " (" << fmt("%.1f", 100 * d.confidence[k])
      << " %)</figcaption></figure>\n";
  }
  o << "</div>\n";
  return o.str();
}

const char* kStyle = R"(
body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;margin:24px;color:#111;background:#fff;max-width:1100px}
h1{font-size:22px;margin:0 0 6px}h2{font-size:17px;margin:26px 0 8px;border-bottom:1px solid #ccc}
.diagnosis{padding:8px 12px;background:#fff6d6;border-left:4px solid #e0a800;margin:10px 0}
.charts{display:flex;flex-wrap:wrap;gap:8px}.chart{margin:0}
svg text{font-size:11px;fill:#222}svg .title{font-size:13px;font-weight:bold}svg .label{font-size:12px}
svg .grid{stroke:#e4e4e4}svg .axis{stroke:#444}
table{border-collapse:collapse;font-size:12px;margin:6px 0}th,td{border:1px solid #ddd;padding:3px 6px;text-align:right}
th{background:#f4f4f4}table.confusion td{min-width:34px;text-align:center}table.confusion th.pred{writing-mode:vertical-rl;transform:rotate(180deg);text-align:left}
caption{caption-side:bottom;font-size:11px;color:#555;text-align:left}
.grid{display:flex;flex-wrap:wrap;gap:10px}.mis{margin:0;text-align:center;font-size:11px;width:96px}
.mis img{image-rendering:pixelated;border:1px solid #999;background:#000}
pre{background:#f7f7f7;padding:8px;font-size:11px;overflow-x:auto}
.settings td:first-child{text-align:left;font-weight:bold}.settings td{text-align:left}
)";

}  // namespace

ReportHistory report_history(const callbacks::History& h) {
  ReportHistory r;
  for (int e : h.epoch) r.epoch.push_back(e + 1);
  auto col = [&](const char* key, std::vector<double>& out) {
    auto it = h.history.find(key);
    out.assign(r.epoch.size(), kNaN);
    if (it == h.history.end()) return;
    for (std::size_t i = 0; i < out.size() && i < it->second.size(); ++i) out[i] = it->second[i];
  };
  col("loss", r.loss);
  col("accuracy", r.accuracy);
  col("val_loss", r.val_loss);
  col("val_accuracy", r.val_accuracy);
  col("lr", r.lr);
  return r;
}

// The notes' table (拟合度的判断) compares training and test error:
//               A      B      C      D
//   train     15 %   0.5 %   1 %    15 %     A under-fitting (training error too high)
//   test      16 %   1 %    11 %    30 %     B good fit, C over-fitting (gap too large), D both
// We judge the last epoch the same way with validation error for test error:
//   - under-fitting: training error above 5 % (between B/C's 0.5-1 % and A's 15 %; a rule of thumb
//     for image classification where people err a few percent), or, without accuracy, not judged;
//   - over-fitting: validation error more than 3 points above training error (A's 1-point gap is
//     fine, C's 10 points is not), or the validation loss ended more than 5 % above its minimum
//     reached at an earlier epoch (it has been rising since that epoch: the notes' early-stopping
//     point).
Diagnosis diagnose(const ReportHistory& h) {
  Diagnosis d;
  const std::size_t n = h.epoch.size();
  if (n == 0) {
    d.text = "No epochs recorded: nothing to diagnose.";
    return d;
  }
  auto last = [&](const std::vector<double>& v) { return v.size() == n ? v[n - 1] : kNaN; };
  double best = INFINITY;
  for (std::size_t i = 0; i < n && i < h.val_loss.size(); ++i) {
    if (std::isfinite(h.val_loss[i]) && h.val_loss[i] < best) best = h.val_loss[i], d.best_epoch = h.epoch[i];
  }
  double train_err = 1 - last(h.accuracy), val_err = 1 - last(h.val_accuracy), val_loss = last(h.val_loss);
  const bool loss_rising = d.best_epoch != 0 && d.best_epoch != h.epoch[n - 1] && std::isfinite(val_loss) && val_loss > best * 1.05;
  const bool gap = std::isfinite(train_err) && std::isfinite(val_err) && val_err - train_err > 0.03;
  if (!std::isfinite(train_err) && d.best_epoch == 0) {
    d.text = "Not enough data to diagnose (no accuracy and no validation loss recorded).";
    return d;
  }
  d.known = true;
  d.underfitting = std::isfinite(train_err) && train_err > 0.05;
  d.overfitting = gap || loss_rising;
  std::string errors;
  if (std::isfinite(train_err)) errors += "training error " + fmt("%.1f", 100 * train_err) + " %";
  if (std::isfinite(val_err)) errors += ", validation error " + fmt("%.1f", 100 * val_err) + " %";
  if (!errors.empty()) errors = " (" + errors + ")";
  std::string where = d.best_epoch ? " Validation loss was lowest at epoch " + std::to_string(d.best_epoch) + "." : "";
  if (d.underfitting && d.overfitting) {
    d.text = "Both under-fitting and over-fitting" + errors + ": training error is high and validation error is higher still." + where;
  } else if (d.underfitting) {
    d.text = "Under-fitting" + errors + ": training error is high; train longer or use a larger model." + where;
  } else if (d.overfitting) {
    d.text = "Over-fitting" + errors + (loss_rising ? ": validation loss has risen since epoch " + std::to_string(d.best_epoch) +
                                                          " (its minimum); stop there or regularize."
                                                    : ": validation error is well above training error; regularize or add data." + where);
  } else {
    d.text = "Good fit" + errors + ": training error is low and validation error close to it." + where;
  }
  return d;
}

std::vector<int64_t> most_confident_mistakes(const std::vector<int64_t>& y_true, const std::vector<int64_t>& y_pred,
                                             const std::vector<double>& confidence, std::size_t n) {
  if (y_true.size() != y_pred.size() || y_true.size() != confidence.size()) {
    throw ValueError("report: " + std::to_string(y_true.size()) + " true labels, " + std::to_string(y_pred.size()) +
                     " predictions and " + std::to_string(confidence.size()) + " confidences; expected equal counts");
  }
  std::vector<int64_t> wrong;
  for (std::size_t i = 0; i < y_true.size(); ++i) {
    if (y_true[i] != y_pred[i]) wrong.push_back(static_cast<int64_t>(i));
  }
  std::stable_sort(wrong.begin(), wrong.end(), [&](int64_t a, int64_t b) { return confidence[a] > confidence[b]; });
  if (wrong.size() > n) wrong.resize(n);
  return wrong;
}

std::vector<std::vector<int64_t>> confusion_matrix(const std::vector<int64_t>& y_true, const std::vector<int64_t>& y_pred,
                                                   std::size_t num_classes) {
  if (y_true.size() != y_pred.size()) {
    throw ValueError("confusion_matrix: " + std::to_string(y_true.size()) + " true labels but " + std::to_string(y_pred.size()) +
                     " predictions");
  }
  std::size_t k = num_classes;
  for (std::size_t i = 0; i < y_true.size(); ++i) {
    if (y_true[i] < 0 || y_pred[i] < 0) {
      throw ValueError("confusion_matrix: negative class at test example " + std::to_string(i));
    }
    k = std::max({k, static_cast<std::size_t>(y_true[i]) + 1, static_cast<std::size_t>(y_pred[i]) + 1});
  }
  if (k > 1000) throw ValueError("confusion_matrix: " + std::to_string(k) + " classes; at most 1000 are shown");
  std::vector<std::vector<int64_t>> cm(k, std::vector<int64_t>(k, 0));
  for (std::size_t i = 0; i < y_true.size(); ++i) ++cm[y_true[i]][y_pred[i]];
  return cm;
}

std::string report_html(const ReportData& d) {
  const std::size_t n = d.history.epoch.size();
  for (const auto* v : {&d.history.loss, &d.history.accuracy, &d.history.val_loss, &d.history.val_accuracy, &d.history.lr}) {
    if (!v->empty() && v->size() != n) {
      throw ValueError("report: a history series has " + std::to_string(v->size()) + " values for " + std::to_string(n) + " epochs");
    }
  }
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/><title>" << escape(d.title) << "</title><style>" << kStyle
    << "</style></head>\n<body>\n<h1>" << escape(d.title) << "</h1>\n";
  Diagnosis diag = diagnose(d.history);
  o << "<p class=\"diagnosis\"><b>Diagnosis:</b> " << escape(diag.text) << "</p>\n";

  o << "<h2>Training curves</h2>\n<div class=\"charts\">\n";
  const std::string blue = "#1f77b4", orange = "#ff7f0e", green = "#2ca02c";
  o << svg_chart("Loss", "loss", d.history.epoch, {{"training", blue, &d.history.loss}, {"validation", orange, &d.history.val_loss, true}});
  o << svg_chart("Accuracy", "accuracy", d.history.epoch,
                 {{"training", blue, &d.history.accuracy}, {"validation", orange, &d.history.val_accuracy, true}});
  o << svg_chart("Learning rate", "learning rate", d.history.epoch, {{"learning rate", green, &d.history.lr}});
  o << "</div>\n";

  if (!d.test_metrics.empty()) {
    o << "<h2>Test metrics</h2>\n<table class=\"metrics\"><tr>";
    for (const auto& [k, v] : d.test_metrics) o << "<th>" << escape(k) << "</th>";
    o << "</tr><tr>";
    for (const auto& [k, v] : d.test_metrics) o << "<td>" << fmt("%.4f", v) << "</td>";
    o << "</tr></table>\n";
  }
  if (!d.y_true.empty()) {
    if (d.y_pred.size() != d.y_true.size() || d.confidence.size() != d.y_true.size()) {
      throw ValueError("report: " + std::to_string(d.y_true.size()) + " true labels, " + std::to_string(d.y_pred.size()) +
                       " predictions and " + std::to_string(d.confidence.size()) + " confidences; expected equal counts");
    }
    o << "<h2>Confusion matrix (" << d.y_true.size() << " test examples)</h2>\n" << confusion_html(d, d.class_names.size());
    o << "<h2>Most confidently misclassified test images</h2>\n" << grid_html(d);
  }
  if (!d.model_summary.empty()) o << "<h2>Model</h2>\n<pre class=\"summary\">" << escape(d.model_summary) << "</pre>\n";
  if (!d.settings.empty()) {
    o << "<h2>Settings</h2>\n<table class=\"settings\">\n";
    for (const auto& [k, v] : d.settings) o << "<tr><td>" << escape(k) << "</td><td>" << escape(v) << "</td></tr>\n";
    o << "</table>\n";
  }
  o << "</body></html>\n";
  return o.str();
}

void write_report_html(const std::string& path, const ReportData& data) { io::write_file_atomically(path, report_html(data)); }

}  // namespace ember::train
