#include "ember/train/callbacks.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>

#include "ember/autograd/autograd.hpp"
#include "ember/io/safetensors.hpp"
#include "ember/nn/model.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/optim/optimizer.hpp"
#include "ember/train/saver.hpp"
#include "ember/train/training.hpp"
#include "state_json.hpp"

namespace ember::callbacks {

nn::Model& Callback::model() const {
  if (!model_) throw ValueError("callback used outside Model::fit (no model set)");
  return *model_;
}

bool monitor_maximizes(Mode mode, const std::string& monitor) {
  if (mode == Mode::Max) return true;
  if (mode == Mode::Min) return false;
  return monitor.find("acc") != std::string::npos || monitor.find("auc") != std::string::npos ||
         monitor.find("precision") != std::string::npos || monitor.find("recall") != std::string::npos;
}

bool improves(double current, double best, bool maximize, double min_delta) {
  const double delta = std::abs(min_delta);
  return maximize ? current > best + delta : current < best - delta;
}

namespace {

std::optional<double> monitored(const Logs& logs, const std::string& key, const char* who) {
  auto it = logs.find(key);
  if (it == logs.end()) {
    std::string available;
    for (const auto& [k, v] : logs) available += (available.empty() ? "" : ",") + k;
    std::fprintf(stderr, "%s: metric '%s' is not available (available: %s); skipping\n", who, key.c_str(), available.c_str());
    return std::nullopt;
  }
  return it->second;
}

optim::Optimizer& optimizer_of(nn::Model& m) {
  train::TrainingState* st = m.training_state();
  if (!st) throw ValueError("callback needs a compiled model");
  return *st->optimizer;
}

std::map<std::string, Tensor> snapshot(nn::Model& m) {
  std::map<std::string, Tensor> out;
  for (const auto& w : m.named_weights()) out[w.name] = w.weight->value().detach().clone();
  return out;
}

void restore(nn::Model& m, const std::map<std::string, Tensor>& weights) {
  autograd::NoGradGuard no_grad;
  for (const auto& w : m.named_weights()) {
    auto it = weights.find(w.name);
    if (it != weights.end()) w.weight->value().copy_(it->second);
  }
}

// A callback's JSON state, read back with the one StateReader wording.
nlohmann::json parse_state(const CallbackState& s, const std::string& who) {
  if (s.json.empty()) throw FormatError("checkpoint: callback " + who + ": no state");
  return parse_json(s.json, "checkpoint: callback " + who + " state");
}

std::optional<double> optional_number(const train::detail::StateReader& r, const char* key) {
  if (!r.has(key)) return std::nullopt;
  return r.number(key);
}

}  // namespace

// ------------------------------------------------------------------ History

void History::on_train_begin(const Logs&) {}

void History::on_epoch_end(int e, Logs& logs) {
  epoch.push_back(e);
  for (const auto& [k, v] : logs) history[k].push_back(v);
}

// ------------------------------------------------------------------ EarlyStopping

EarlyStopping::EarlyStopping(EarlyStoppingOptions o) : o_(std::move(o)) {
  if (o_.patience < 0) throw ValueError("EarlyStopping: patience must be >= 0");
  maximize_ = monitor_maximizes(o_.mode, o_.monitor);
}

void EarlyStopping::on_train_begin(const Logs&) {
  wait_ = 0;
  stopped_epoch_ = -1;
  best_epoch_ = -1;
  best_weights_.clear();
  best_ = o_.baseline ? *o_.baseline : (maximize_ ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity());
}

void EarlyStopping::on_epoch_end(int epoch, Logs& logs) {
  std::optional<double> v = monitored(logs, o_.monitor, "EarlyStopping");
  if (!v || epoch < o_.start_from_epoch) return;
  ++wait_;
  if (improves(*v, best_, maximize_, o_.min_delta) || (best_epoch_ < 0 && !o_.baseline && std::isfinite(*v) && !std::isfinite(best_))) {
    best_ = *v;
    best_epoch_ = epoch;
    if (o_.restore_best_weights) best_weights_ = snapshot(model());
    wait_ = 0;
    return;
  }
  if (wait_ >= o_.patience && epoch > 0) {
    stopped_epoch_ = epoch;
    model().stop_training = true;
  }
}

CallbackState EarlyStopping::get_state() const {
  nlohmann::json j = {{"best", train::detail::number_json(best_)},
                      {"wait", wait_},
                      {"stopped_epoch", stopped_epoch_},
                      {"best_epoch", best_epoch_}};
  return {j.dump(), best_weights_};
}

void EarlyStopping::set_state(const CallbackState& s) {
  nlohmann::json j = parse_state(s, "EarlyStopping");
  train::detail::StateReader r(j, "checkpoint: callback EarlyStopping state");
  best_ = r.number("best");
  wait_ = static_cast<int>(r.integer("wait", 0, INT32_MAX));
  stopped_epoch_ = static_cast<int>(r.integer("stopped_epoch", -1, INT32_MAX));
  best_epoch_ = static_cast<int>(r.integer("best_epoch", -1, INT32_MAX));
  best_weights_.clear();
  for (const auto& [k, v] : s.tensors) best_weights_[k] = v.clone();
}

void EarlyStopping::on_train_end(const Logs&) {
  if (o_.restore_best_weights && !best_weights_.empty()) restore(model(), best_weights_);
  if (stopped_epoch_ >= 0) std::fprintf(stdout, "Epoch %d: early stopping\n", stopped_epoch_ + 1);
}

// ------------------------------------------------------------------ SWA

SWA::SWA(SWAOptions o) : o_(std::move(o)) {
  if (o_.start_epoch < 0) throw ValueError("SWA: start_epoch must be >= 0, got " + std::to_string(o_.start_epoch));
  if (o_.batch_size < 1) throw ValueError("SWA: batch_size must be at least 1, got " + std::to_string(o_.batch_size));
}

void SWA::set_start_epoch(int epoch) {
  if (epoch < 0) throw ValueError("SWA: start_epoch must be >= 0, got " + std::to_string(epoch));
  o_.start_epoch = epoch;
}

void SWA::on_train_begin(const Logs&) {
  count_ = 0;
  average_.clear();
}

void SWA::on_epoch_end(int epoch, Logs&) {
  if (epoch < o_.start_epoch) return;
  autograd::NoGradGuard no_grad;
  // average += (w - average) / (n + 1): the running mean of the snapshots, in the weights' dtype.
  const double k = 1.0 / static_cast<double>(count_ + 1);
  for (const auto& w : model().trainable_weights()) {
    const Tensor& v = w.weight->value();
    auto it = average_.find(w.name);
    if (it == average_.end()) average_[w.name] = v.detach().clone();
    else it->second.copy_(it->second + (v.detach() - it->second) * k);
  }
  ++count_;
}

void SWA::on_train_end(const Logs&) {
  if (count_ == 0) return;
  restore(model(), average_);
  if (o_.bn_data.defined()) train::update_bn(model(), o_.bn_data, o_.batch_size);
  std::fprintf(stdout, "SWA: the model holds the mean of %d epoch-end weights (from epoch %d)%s\n", count_, o_.start_epoch + 1,
               o_.bn_data.defined() ? "; batch-norm statistics recomputed for them" : "");
}

CallbackState SWA::get_state() const {
  nlohmann::json j = {{"count", count_}, {"start_epoch", o_.start_epoch}};
  return {j.dump(), average_};
}

void SWA::set_state(const CallbackState& s) {
  nlohmann::json j = parse_state(s, "SWA");
  train::detail::StateReader r(j, "checkpoint: callback SWA state");
  count_ = static_cast<int>(r.integer("count", 0, INT32_MAX));
  o_.start_epoch = static_cast<int>(r.integer("start_epoch", 0, INT32_MAX));
  average_.clear();
  for (const auto& [k, v] : s.tensors) average_[k] = v.clone();
  if ((count_ == 0) != average_.empty()) {
    throw FormatError("checkpoint: callback SWA state: " + std::to_string(count_) + " snapshots averaged but " +
                      std::to_string(average_.size()) + " averaged weights");
  }
}

// ------------------------------------------------------------------ ModelCheckpoint

ModelCheckpoint::ModelCheckpoint(ModelCheckpointOptions o) : o_(std::move(o)) {
  if (o_.filepath.empty()) throw ValueError("ModelCheckpoint: filepath is required");
  maximize_ = monitor_maximizes(o_.mode, o_.monitor);
  // A malformed pattern fails here, not after the first epoch: every placeholder's spec is checked
  // with a value of each kind ({epoch} is an integer, the logs are numbers).
  Logs probe;
  format_filepath(o_.filepath, 1, probe, /*check_only=*/true);
}

namespace {

// Weights by extension: the one place that picks the file format of a weights file.
void save_weights_by_extension(nn::Model& model, const std::string& path, int epoch) {
  std::string ext = std::filesystem::path(path).extension().string();
  if (ext == ".safetensors") {
    io::TensorMap weights;
    for (const auto& w : model.named_weights()) weights[w.name] = w.weight->value();
    io::save_safetensors(path, weights, {{"epoch", std::to_string(epoch)}, {"format", "ember"}});
  } else if (ext == ".h5" || ext == ".hdf5") {
    model.save_weights(path);  // Keras's weights layout (io/keras_h5.hpp)
  } else {
    throw ValueError("ModelCheckpoint: cannot tell the weights format of '" + path +
                     "' from its extension; use .safetensors or .h5");
  }
}

}  // namespace

void ModelCheckpoint::on_epoch_end(int epoch, Logs& logs) {
  if (o_.save_best_only) {
    std::optional<double> v = monitored(logs, o_.monitor, "ModelCheckpoint");
    if (!v) return;
    if (best_ && !improves(*v, *best_, maximize_)) return;  // Keras: no min_delta here
    best_ = *v;
  }
  std::string path = format_filepath(o_.filepath, epoch + 1, logs);
  if (o_.save_weights_only) {
    save_weights_by_extension(model(), path, epoch + 1);
  } else {
    std::string ext = std::filesystem::path(path).extension().string();
    if (ext == ".h5" || ext == ".hdf5") {
      model().save(path);  // the whole model in Keras's .h5 layout (architecture and weights)
    } else if (ext == ".safetensors") {
      train::write_checkpoint_file(path, model(), nullptr, epoch + 1);
    } else {
      throw ValueError("ModelCheckpoint: a full checkpoint is a .safetensors (or Keras .h5) file, got '" + path + "'");
    }
  }
}

CallbackState ModelCheckpoint::get_state() const {
  nlohmann::json j = nlohmann::json::object();
  if (best_) j["best"] = train::detail::number_json(*best_);
  return {j.dump(), {}};
}

void ModelCheckpoint::set_state(const CallbackState& s) {
  nlohmann::json j = parse_state(s, "ModelCheckpoint");
  best_ = optional_number(train::detail::StateReader(j, "checkpoint: callback ModelCheckpoint state"), "best");
}

// ------------------------------------------------------------------ filepath placeholders

namespace {

// One Python format spec, [sign][#][0][width][.precision][type], applied to a number; `integer`
// says whether the value is an int (Python refuses 'd' for a float).
std::string format_value(double v, bool integer, const std::string& spec, const std::string& key, bool check_only) {
  auto bad = [&](const std::string& why) -> std::string {
    throw ValueError("ModelCheckpoint filepath: placeholder {" + key + ":" + spec + "}: " + why);
  };
  std::size_t i = 0;
  std::string flags;
  if (i < spec.size() && (spec[i] == '+' || spec[i] == '-' || spec[i] == ' ')) {
    if (spec[i] != '-') flags += spec[i];
    ++i;
  }
  if (i < spec.size() && spec[i] == '#') flags += spec[i++];
  if (i < spec.size() && spec[i] == '0') flags += spec[i++];
  int width = -1, precision = -1;
  auto digits = [&](int& out) {
    std::size_t start = i;
    while (i < spec.size() && spec[i] >= '0' && spec[i] <= '9' && i - start < 3) ++i;
    if (i > start) out = std::stoi(spec.substr(start, i - start));
    return i > start;
  };
  digits(width);
  if (i < spec.size() && spec[i] == '.') {
    ++i;
    if (!digits(precision)) bad("expected digits after '.'");
  }
  char type = 0;
  if (i < spec.size()) type = spec[i++];
  if (i != spec.size()) bad("unsupported format spec (supported: [sign][#][0][width][.precision][d|f|F|e|E|g|G|%])");
  if (type != 0 && std::string("dfFeEgG%").find(type) == std::string::npos) bad(std::string("unknown format code '") + type + "'");
  if (type == 'd' && !integer) bad("format code 'd' needs an integer, and '" + key + "' is a float (Python refuses it too)");
  if (type == 'd' && precision >= 0) bad("precision is not allowed with 'd'");
  if (check_only) return "";
  std::string f = "%" + flags + (width >= 0 ? std::to_string(width) : "");
  char buf[512];
  if (type == 'd' || (type == 0 && integer)) {
    std::snprintf(buf, sizeof buf, (f + "lld").c_str(), static_cast<long long>(v));
    return buf;
  }
  if (type == 0) {
    // Python's str(float): the shortest text that reads back, with ".0" on whole numbers.
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    char s[64];
    auto [end, ec] = std::to_chars(s, s + sizeof s, v);
    std::string out(s, end);
    if (out.find_first_of(".e") == std::string::npos) out += ".0";
    if (flags.find('+') != std::string::npos && v >= 0) out = "+" + out;
    if (width > static_cast<int>(out.size())) out = std::string(static_cast<std::size_t>(width) - out.size(), ' ') + out;
    return out;
  }
  double x = v;
  std::string suffix;
  if (type == '%') {
    x *= 100;
    type = 'f';
    suffix = "%";
    if (width > 0) --width;
    f = "%" + flags + (width >= 0 ? std::to_string(width) : "");
  }
  if (precision < 0) precision = 6;  // Python's default for f/e/g
  std::snprintf(buf, sizeof buf, (f + "." + std::to_string(precision) + type).c_str(), x);
  return buf + suffix;
}

}  // namespace

std::string format_filepath(const std::string& pattern, int epoch, const Logs& logs, bool check_only) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '}') {
      if (i + 1 < pattern.size() && pattern[i + 1] == '}') {
        out += '}';
        ++i;
        continue;
      }
      throw ValueError("ModelCheckpoint filepath '" + pattern + "': single '}' at offset " + std::to_string(i) + " (write }} for a brace)");
    }
    if (c != '{') {
      out += c;
      continue;
    }
    if (i + 1 < pattern.size() && pattern[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    std::size_t close = pattern.find('}', i);
    if (close == std::string::npos) {
      throw ValueError("ModelCheckpoint filepath '" + pattern + "': '{' at offset " + std::to_string(i) + " is never closed");
    }
    std::string field = pattern.substr(i + 1, close - i - 1);
    std::size_t colon = field.find(':');
    std::string key = field.substr(0, colon), spec = colon == std::string::npos ? "" : field.substr(colon + 1);
    if (key.empty() || key.find_first_of("{[.!") != std::string::npos) {
      throw ValueError("ModelCheckpoint filepath '" + pattern + "': placeholder {" + field + "} must be {name} or {name:spec}");
    }
    bool integer = key == "epoch";
    double value = epoch;
    if (!integer && !check_only) {
      auto it = logs.find(key);
      if (it == logs.end()) {
        std::string available = "epoch";
        for (const auto& [k, v] : logs) available += ", " + k;
        throw ValueError("ModelCheckpoint filepath '" + pattern + "': no value for {" + key + "} (available: " + available + ")");
      }
      value = it->second;
    }
    out += format_value(value, integer, spec, key, check_only);
    i = close;
  }
  return out;
}

// ------------------------------------------------------------------ LearningRateScheduler

LearningRateScheduler::LearningRateScheduler(std::function<double(int, double)> schedule) : schedule_(std::move(schedule)) {
  if (!schedule_) throw ValueError("LearningRateScheduler: schedule is empty");
}

void LearningRateScheduler::on_epoch_begin(int epoch, const Logs&) {
  optim::Optimizer& opt = optimizer_of(model());
  double lr = schedule_(epoch, opt.current_learning_rate());
  if (!std::isfinite(lr) || lr < 0) throw ValueError("LearningRateScheduler: schedule returned " + std::to_string(lr));
  opt.set_learning_rate(lr);
}

void LearningRateScheduler::on_epoch_end(int, Logs& logs) { logs["lr"] = optimizer_of(model()).current_learning_rate(); }

// ------------------------------------------------------------------ ReduceLROnPlateau

ReduceLROnPlateau::ReduceLROnPlateau(ReduceLROnPlateauOptions o) : o_(std::move(o)) {
  if (!(o_.factor < 1.0) || o_.factor <= 0) throw ValueError("ReduceLROnPlateau: factor must be in (0, 1)");
  maximize_ = monitor_maximizes(o_.mode, o_.monitor);
}

void ReduceLROnPlateau::on_train_begin(const Logs&) {
  best_.reset();
  wait_ = 0;
  cooldown_left_ = 0;
}

void ReduceLROnPlateau::on_epoch_end(int epoch, Logs& logs) {
  std::optional<double> v = monitored(logs, o_.monitor, "ReduceLROnPlateau");
  if (!v) return;
  optim::Optimizer& opt = optimizer_of(model());
  if (cooldown_left_ > 0) {
    --cooldown_left_;
    wait_ = 0;
  }
  bool better = !best_ || improves(*v, *best_, maximize_, o_.min_delta);
  if (better) {
    best_ = *v;
    wait_ = 0;
  } else if (cooldown_left_ == 0 && ++wait_ >= o_.patience) {
    double old_lr = opt.current_learning_rate();
    if (old_lr > o_.min_lr) {
      double new_lr = std::max(old_lr * o_.factor, o_.min_lr);
      opt.set_learning_rate(new_lr);
      std::fprintf(stdout, "Epoch %d: ReduceLROnPlateau reducing learning rate to %g.\n", epoch + 1, new_lr);
      cooldown_left_ = o_.cooldown;
      wait_ = 0;
    }
  }
  logs["lr"] = opt.current_learning_rate();
}

CallbackState ReduceLROnPlateau::get_state() const {
  nlohmann::json j = {{"wait", wait_}, {"cooldown_left", cooldown_left_}};
  if (best_) j["best"] = train::detail::number_json(*best_);
  return {j.dump(), {}};
}

void ReduceLROnPlateau::set_state(const CallbackState& s) {
  nlohmann::json j = parse_state(s, "ReduceLROnPlateau");
  train::detail::StateReader r(j, "checkpoint: callback ReduceLROnPlateau state");
  best_ = optional_number(r, "best");
  wait_ = static_cast<int>(r.integer("wait", 0, INT32_MAX));
  cooldown_left_ = static_cast<int>(r.integer("cooldown_left", 0, INT32_MAX));
}

// ------------------------------------------------------------------ TerminateOnNaN

void TerminateOnNaN::on_train_batch_end(int batch, const Logs& logs) {
  auto it = logs.find("batch_loss");
  if (it == logs.end()) it = logs.find("loss");
  if (it != logs.end() && !std::isfinite(it->second)) {
    std::fprintf(stderr, "Batch %d: Invalid loss, terminating training\n", batch);
    terminated_ = true;
    model().stop_training = true;
  }
}

// ------------------------------------------------------------------ CSVLogger

CSVLogger::CSVLogger(CSVLoggerOptions o) : o_(std::move(o)) {
  if (o_.filename.empty()) throw ValueError("CSVLogger: filename is required");
}

void CSVLogger::on_train_begin(const Logs&) {
  bool had = o_.append && std::ifstream(o_.filename).good();
  out_.open(o_.filename, o_.append ? std::ios::app : std::ios::trunc);
  if (!out_) throw IOError("CSVLogger: cannot write '" + o_.filename + "'");
  keys_.clear();
  if (had) keys_ = {"<appending>"};
}

void CSVLogger::on_epoch_end(int epoch, Logs& logs) {
  if (keys_.empty() || keys_[0] == "<appending>") {
    bool header = keys_.empty();
    keys_.clear();
    for (const auto& [k, v] : logs) keys_.push_back(k);
    if (header) {
      out_ << "epoch";
      for (const auto& k : keys_) out_ << o_.separator << k;
      out_ << "\n";
    }
  }
  out_ << epoch;
  char buf[64];
  for (const auto& k : keys_) {
    auto it = logs.find(k);
    if (it == logs.end()) {
      out_ << o_.separator << "NA";
    } else {
      std::snprintf(buf, sizeof buf, "%.17g", it->second);
      out_ << o_.separator << buf;
    }
  }
  out_ << "\n";
  out_.flush();
}

void CSVLogger::on_train_end(const Logs&) { out_.close(); }

}  // namespace ember::callbacks
