#include "ember/train/callbacks.hpp"

#include <cmath>
#include <cstdio>
#include <limits>

#include "ember/autograd/autograd.hpp"
#include "ember/io/safetensors.hpp"
#include "ember/nn/model.hpp"
#include "ember/optim/optimizer.hpp"
#include "ember/train/training.hpp"

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

void EarlyStopping::on_train_end(const Logs&) {
  if (o_.restore_best_weights && !best_weights_.empty()) restore(model(), best_weights_);
  if (stopped_epoch_ >= 0) std::fprintf(stdout, "Epoch %d: early stopping\n", stopped_epoch_ + 1);
}

// ------------------------------------------------------------------ ModelCheckpoint

ModelCheckpoint::ModelCheckpoint(ModelCheckpointOptions o) : o_(std::move(o)) {
  if (o_.filepath.empty()) throw ValueError("ModelCheckpoint: filepath is required");
  maximize_ = monitor_maximizes(o_.mode, o_.monitor);
}

void ModelCheckpoint::on_epoch_end(int epoch, Logs& logs) {
  if (o_.save_best_only) {
    std::optional<double> v = monitored(logs, o_.monitor, "ModelCheckpoint");
    if (!v) return;
    if (best_ && !improves(*v, *best_, maximize_)) return;  // Keras: no min_delta here
    best_ = *v;
  }
  std::string path = o_.filepath;
  auto pos = path.find("{epoch}");
  if (pos != std::string::npos) path.replace(pos, 7, std::to_string(epoch + 1));
  std::map<std::string, Tensor> weights;
  for (const auto& w : model().named_weights()) weights[w.name] = w.weight->value();
  io::save_safetensors(path, weights, {{"epoch", std::to_string(epoch + 1)}, {"format", "ember"}});
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
