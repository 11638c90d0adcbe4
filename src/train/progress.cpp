#include "ember/train/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace ember::train {

namespace {
std::string fmt_value(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, std::abs(v) < 1e-3 && v != 0 ? "%.4e" : "%.4f", v);
  return buf;
}

std::string fmt_duration(double seconds) {
  char buf[32];
  if (seconds >= 3600) std::snprintf(buf, sizeof buf, "%d:%02d:%02d", int(seconds / 3600), int(seconds / 60) % 60, int(seconds) % 60);
  else if (seconds >= 60) std::snprintf(buf, sizeof buf, "%d:%02d", int(seconds / 60), int(seconds) % 60);
  else std::snprintf(buf, sizeof buf, "%ds", int(std::round(seconds)));
  return buf;
}
}  // namespace

std::string format_logs(const std::map<std::string, double>& logs) {
  // Keras's order: loss, metrics, then the same for validation, then the learning rate.
  std::vector<std::string> keys;
  if (logs.count("loss")) keys.push_back("loss");
  for (const auto& [k, v] : logs) {
    if (k != "loss" && k.rfind("val_", 0) != 0 && k != "lr") keys.push_back(k);
  }
  std::size_t train_keys = keys.size();
  for (std::size_t i = 0; i < train_keys; ++i) {
    if (logs.count("val_" + keys[i])) keys.push_back("val_" + keys[i]);
  }
  for (const auto& [k, v] : logs) {
    if (k.rfind("val_", 0) == 0 && std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
  }
  if (logs.count("lr")) keys.push_back("lr");
  std::string s;
  for (const std::string& k : keys) s += " - " + k + ": " + fmt_value(logs.at(k));
  return s;
}

ProgressBar::ProgressBar(std::FILE* out, int verbose) : out_(out), verbose_(verbose), tty_(isatty(fileno(out)) != 0) {}

void ProgressBar::begin_epoch(int epoch, int epochs, int64_t steps) {
  epoch_ = epoch;
  epochs_ = epochs;
  steps_ = steps;
  start_ = last_draw_ = std::chrono::steady_clock::now();
  if (verbose_ == 1 && tty_) {
    std::fprintf(out_, "Epoch %d/%d\n", epoch_ + 1, epochs_);
    std::fflush(out_);
  }
}

std::string ProgressBar::line(int64_t step, const std::map<std::string, double>& logs, bool final) const {
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::string width = std::to_string(steps_);
  char head[64];
  std::snprintf(head, sizeof head, "%*lld/%lld", static_cast<int>(width.size()), static_cast<long long>(step),
                static_cast<long long>(steps_));
  std::string s = head;
  if (verbose_ == 1) {
    const int bar = 30;
    int done = steps_ > 0 ? static_cast<int>(bar * step / steps_) : bar;
    std::string b(static_cast<std::size_t>(done), '=');
    if (done < bar) b += '>' + std::string(static_cast<std::size_t>(bar - done - 1), '.');
    s += " [" + b + "]";
  }
  double per_step = step > 0 ? elapsed / static_cast<double>(step) : 0;
  if (final) {
    char t[64];
    if (per_step >= 1) std::snprintf(t, sizeof t, " - %s %.0fs/step", fmt_duration(elapsed).c_str(), per_step);
    else std::snprintf(t, sizeof t, " - %s %.0fms/step", fmt_duration(elapsed).c_str(), per_step * 1e3);
    s += t;
  } else {
    s += " - ETA: " + fmt_duration(per_step * static_cast<double>(steps_ - step));
  }
  return s + format_logs(logs);
}

void ProgressBar::update(int64_t step, const std::map<std::string, double>& logs) {
  if (verbose_ != 1 || !tty_) return;
  auto now = std::chrono::steady_clock::now();
  if (step < steps_ && now - last_draw_ < std::chrono::milliseconds(50)) return;
  last_draw_ = now;
  std::fprintf(out_, "\r%s\033[K", line(step, logs, false).c_str());
  std::fflush(out_);
}

void ProgressBar::end_epoch(const std::map<std::string, double>& logs) {
  if (verbose_ == 0) return;
  if (verbose_ == 1 && tty_) {
    std::fprintf(out_, "\r%s\033[K\n", line(steps_, logs, true).c_str());
  } else {
    std::fprintf(out_, "Epoch %d/%d - %s\n", epoch_ + 1, epochs_, line(steps_, logs, true).c_str());
  }
  std::fflush(out_);
}

}  // namespace ember::train
