#include "ember/train/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace ember::train {

namespace {

void append_value(std::string& out, double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, std::abs(v) < 1e-3 && v != 0 ? "%.4e" : "%.4f", v);
  out += buf;
}

void append_duration(std::string& out, double seconds) {
  char buf[32];
  if (seconds >= 3600) std::snprintf(buf, sizeof buf, "%d:%02d:%02d", int(seconds / 3600), int(seconds / 60) % 60, int(seconds) % 60);
  else if (seconds >= 60) std::snprintf(buf, sizeof buf, "%d:%02d", int(seconds / 60), int(seconds) % 60);
  else std::snprintf(buf, sizeof buf, "%ds", int(std::round(seconds)));
  out += buf;
}

bool is_val(const std::string& k) { return k.rfind("val_", 0) == 0; }
bool is_train_metric(const std::string& k) { return k != "loss" && !is_val(k) && k != "lr"; }
// Whether `val_key` is "val_" + `key`.
bool validates(const std::string& val_key, const std::string& key) {
  return val_key.size() == key.size() + 4 && is_val(val_key) && val_key.compare(4, std::string::npos, key) == 0;
}

void append_entry(std::string& out, const std::string& k, double v) {
  out += " - ";
  out += k;
  out += ": ";
  append_value(out, v);
}

}  // namespace

std::string format_logs(const std::map<std::string, double>& logs) {
  std::string s;
  append_logs(s, logs);
  return s;
}

void append_logs(std::string& out, const std::map<std::string, double>& logs) {
  // Keras's order: loss, metrics, then the same for validation, then the learning rate. The logs
  // hold a handful of entries, so the quadratic matching below costs nothing and allocates nothing.
  auto loss = logs.find("loss");
  if (loss != logs.end()) append_entry(out, loss->first, loss->second);
  for (const auto& [k, v] : logs) {
    if (is_train_metric(k)) append_entry(out, k, v);
  }
  auto append_val_of = [&](const std::string& key) {
    for (const auto& [k, v] : logs) {
      if (validates(k, key)) append_entry(out, k, v);
    }
  };
  if (loss != logs.end()) append_val_of(loss->first);
  for (const auto& [k, v] : logs) {
    if (is_train_metric(k)) append_val_of(k);
  }
  // Validation entries without a training counterpart.
  for (const auto& [k, v] : logs) {
    if (!is_val(k)) continue;
    bool matched = false;
    for (const auto& [t, tv] : logs) matched = matched || ((t == "loss" || is_train_metric(t)) && validates(k, t));
    if (!matched) append_entry(out, k, v);
  }
  auto lr = logs.find("lr");
  if (lr != logs.end()) append_entry(out, lr->first, lr->second);
}

ProgressBar::ProgressBar(std::FILE* out, int verbose) : out_(out), verbose_(verbose), tty_(isatty(fileno(out)) != 0) {}

void ProgressBar::begin_epoch(int epoch, int epochs, int64_t steps) {
  epoch_ = epoch;
  epochs_ = epochs;
  steps_ = steps;
  last_step_ = 0;
  start_ = last_draw_ = std::chrono::steady_clock::now();
  if (verbose_ == 1 && tty_) {
    std::fprintf(out_, "Epoch %d/%d\n", epoch_ + 1, epochs_);
    std::fflush(out_);
  }
}

void ProgressBar::compose(int64_t step, const std::map<std::string, double>& logs, bool final) {
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  char head[64];
  const int width = std::snprintf(nullptr, 0, "%lld", static_cast<long long>(steps_));
  if (steps_ < 0)  // a Dataset of unknown length (Keras prints the same)
    std::snprintf(head, sizeof head, "%lld/Unknown", static_cast<long long>(step));
  else
    std::snprintf(head, sizeof head, "%*lld/%lld", width, static_cast<long long>(step), static_cast<long long>(steps_));
  line_.clear();
  line_ += head;
  if (verbose_ == 1 && steps_ >= 0) {
    const int bar = 30;
    int done = steps_ > 0 ? static_cast<int>(bar * step / steps_) : bar;
    line_ += " [";
    line_.append(static_cast<std::size_t>(done), '=');
    if (done < bar) {
      line_ += '>';
      line_.append(static_cast<std::size_t>(bar - done - 1), '.');
    }
    line_ += ']';
  }
  double per_step = step > 0 ? elapsed / static_cast<double>(step) : 0;
  if (final) {
    line_ += " - ";
    append_duration(line_, elapsed);
    char t[64];
    if (per_step >= 1) std::snprintf(t, sizeof t, " %.0fs/step", per_step);
    else std::snprintf(t, sizeof t, " %.0fms/step", per_step * 1e3);
    line_ += t;
  } else if (steps_ >= 0) {
    line_ += " - ETA: ";
    append_duration(line_, per_step * static_cast<double>(steps_ - step));
  }
  append_logs(line_, logs);
}

void ProgressBar::update(int64_t step, const std::map<std::string, double>& logs) {
  last_step_ = step;
  if (verbose_ != 1 || !tty_) return;
  auto now = std::chrono::steady_clock::now();
  if (step < steps_ && now - last_draw_ < std::chrono::milliseconds(50)) return;
  last_draw_ = now;
  compose(step, logs, false);
  std::fprintf(out_, "\r%s\033[K", line_.c_str());
  std::fflush(out_);
}

void ProgressBar::end_epoch(const std::map<std::string, double>& logs) {
  if (verbose_ == 0) return;
  compose(steps_ < 0 ? last_step_ : steps_, logs, true);
  if (verbose_ == 1 && tty_) {
    std::fprintf(out_, "\r%s\033[K\n", line_.c_str());
  } else {
    std::fprintf(out_, "Epoch %d/%d - %s\n", epoch_ + 1, epochs_, line_.c_str());
  }
  std::fflush(out_);
}

}  // namespace ember::train
