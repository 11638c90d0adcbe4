#pragma once
// Callbacks: hooks into Model::fit, with Keras's names, defaults and semantics.
// Logs are name -> value maps ("loss", "accuracy", "val_loss", "lr", ...).
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ember/core/tensor.hpp"
#include "ember/optim/schedules.hpp"

namespace ember::nn {
class Model;
}

namespace ember::callbacks {

using Logs = std::map<std::string, double>;

// What a callback carries across a checkpoint (train/saver.hpp): a small JSON object (as text) and
// named tensors (EarlyStopping's best weights). Empty for a stateless callback.
struct CallbackState {
  std::string json;  // a JSON object, or empty
  std::map<std::string, Tensor> tensors;
};

class Callback {
 public:
  virtual ~Callback() = default;
  virtual void on_train_begin(const Logs&) {}
  virtual void on_train_end(const Logs&) {}
  virtual void on_epoch_begin(int /*epoch*/, const Logs&) {}
  // May change `logs` (e.g. add "lr"); may stop training through model().stop_training = true.
  virtual void on_epoch_end(int /*epoch*/, Logs&) {}
  virtual void on_train_batch_begin(int /*batch*/, const Logs&) {}
  virtual void on_train_batch_end(int /*batch*/, const Logs&) {}

  void set_model(nn::Model* m) { model_ = m; }
  nn::Model& model() const;

  // Checkpoints (exact resume): a checkpoint keys each callback's state by class_name() and its
  // position among the fit's callbacks of that class; a resumed fit hands it back to set_state
  // after on_train_begin. set_state checks what it reads (FormatError naming the field).
  virtual std::string class_name() const { return "Callback"; }
  virtual CallbackState get_state() const { return {}; }
  virtual void set_state(const CallbackState& /*state*/) {}

 private:
  nn::Model* model_ = nullptr;
};

using CallbackPtr = std::shared_ptr<Callback>;

// A callback handle that converts from any Callback value (moved in) or shared_ptr, so options
// read `.callbacks = {callbacks::EarlyStopping({.patience = 2})}`.
class CallbackRef {
 public:
  template <typename C>
    requires std::derived_from<std::remove_cvref_t<C>, Callback> && (!std::is_lvalue_reference_v<C>)
  CallbackRef(C&& c) : ptr_(std::make_shared<std::remove_cvref_t<C>>(std::move(c))) {}  // NOLINT
  template <typename C>
    requires std::derived_from<C, Callback>
  CallbackRef(std::shared_ptr<C> p) : ptr_(std::move(p)) {}  // NOLINT
  const CallbackPtr& ptr() const { return ptr_; }

 private:
  CallbackPtr ptr_;
};

// Per-epoch logs, in order; fit() returns it.
class History : public Callback {
 public:
  void on_train_begin(const Logs&) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  std::vector<int> epoch;                           // 0-based epoch numbers, as Keras
  std::map<std::string, std::vector<double>> history;  // metric -> one value per epoch
};

// "auto" picks "max" for accuracy-like monitors, else "min".
enum class Mode { Auto, Min, Max };

// The one "did the monitored value improve" rule, shared by EarlyStopping, ReduceLROnPlateau and
// ModelCheckpoint (Keras's semantics):
//  - monitor_maximizes: Max -> true, Min -> false; Auto -> true when the monitor's name contains
//    "acc" (so also "accuracy"), "auc", "precision" or "recall" (the metrics Keras 3 marks as
//    increasing), else false (losses and errors).
//  - improves: min_delta is taken as |min_delta|; in max mode current improves on best when
//    current > best + |min_delta|, in min mode when current < best - |min_delta|. NaN never improves.
bool monitor_maximizes(Mode mode, const std::string& monitor);
bool improves(double current, double best, bool maximize, double min_delta = 0);

struct EarlyStoppingOptions {
  std::string monitor = "val_loss";
  double min_delta = 0;  // an improvement must exceed |min_delta| (see improves)
  int patience = 0;
  Mode mode = Mode::Auto;
  std::optional<double> baseline = std::nullopt;
  bool restore_best_weights = false;
  int start_from_epoch = 0;
};

// Stops when `monitor` has not improved by more than min_delta for `patience` epochs; with
// restore_best_weights the best epoch's weights are put back when it stops (or at the end).
class EarlyStopping : public Callback {
 public:
  explicit EarlyStopping(EarlyStoppingOptions o = {});
  void on_train_begin(const Logs&) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_train_end(const Logs&) override;
  std::string class_name() const override { return "EarlyStopping"; }
  CallbackState get_state() const override;
  void set_state(const CallbackState& state) override;
  int stopped_epoch() const { return stopped_epoch_; }  // -1 if it never stopped training
  int best_epoch() const { return best_epoch_; }

 private:
  EarlyStoppingOptions o_;
  bool maximize_ = false;
  double best_ = 0;
  int wait_ = 0, stopped_epoch_ = -1, best_epoch_ = -1;
  std::map<std::string, Tensor> best_weights_;
};

struct ModelCheckpointOptions {
  // Python format placeholders as Keras fills them: {epoch} (1-based), any log key ({val_loss},
  // {accuracy}, ...), with an optional spec: {epoch:02d}, {val_loss:.2f}, {loss:.4e}; {{ and }} are
  // literal braces. Checked when constructed (ValueError).
  std::string filepath;
  std::string monitor = "val_loss";
  bool save_best_only = false;
  // true: the weights only, in the format of the extension (.safetensors, or Keras's .h5 weights
  // file); false: a full checkpoint (.safetensors: train/saver.hpp's weights, optimizer, RNG and fit
  // state, which train::Saver::restore reads) or, for .h5, the whole Keras model (Model::save:
  // architecture and weights, not yet the optimizer).
  bool save_weights_only = false;
  Mode mode = Mode::Auto;
};

// Saves after each epoch, or only when `monitor` improves (save_best_only). Put it after the other
// callbacks when it writes full checkpoints, so that their state includes the epoch just ended.
class ModelCheckpoint : public Callback {
 public:
  explicit ModelCheckpoint(ModelCheckpointOptions o);
  void on_epoch_end(int epoch, Logs& logs) override;
  std::string class_name() const override { return "ModelCheckpoint"; }
  CallbackState get_state() const override;
  void set_state(const CallbackState& state) override;

 private:
  ModelCheckpointOptions o_;
  bool maximize_ = false;
  std::optional<double> best_;
};

// Fills a ModelCheckpoint filepath as Keras does (Python's str.format with epoch = the 1-based
// `epoch` and the logs): "w-{epoch:02d}-{val_loss:.2f}.safetensors" -> "w-03-0.41.safetensors".
// ValueError for a malformed pattern or a key the logs lack. check_only: checks the syntax and
// specs only (the logs are not consulted).
std::string format_filepath(const std::string& pattern, int epoch, const Logs& logs, bool check_only = false);

// Sets the learning rate at the start of each epoch from schedule(epoch, current_lr).
class LearningRateScheduler : public Callback {
 public:
  explicit LearningRateScheduler(std::function<double(int epoch, double lr)> schedule);
  void on_epoch_begin(int epoch, const Logs&) override;
  void on_epoch_end(int epoch, Logs& logs) override;

 private:
  std::function<double(int, double)> schedule_;
};

struct ReduceLROnPlateauOptions {
  std::string monitor = "val_loss";
  double factor = 0.1;
  int patience = 10;
  Mode mode = Mode::Auto;
  double min_delta = 1e-4;  // an improvement must exceed |min_delta| (see improves)
  int cooldown = 0;
  double min_lr = 0;
};

// Multiplies the learning rate by `factor` when `monitor` stops improving.
class ReduceLROnPlateau : public Callback {
 public:
  explicit ReduceLROnPlateau(ReduceLROnPlateauOptions o = {});
  void on_train_begin(const Logs&) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  std::string class_name() const override { return "ReduceLROnPlateau"; }
  CallbackState get_state() const override;
  void set_state(const CallbackState& state) override;

 private:
  ReduceLROnPlateauOptions o_;
  bool maximize_ = false;
  std::optional<double> best_;
  int wait_ = 0, cooldown_left_ = 0;
};

// Stops training as soon as a batch loss is NaN or infinite, and says so on stderr.
class TerminateOnNaN : public Callback {
 public:
  void on_train_batch_end(int batch, const Logs& logs) override;
  bool terminated() const { return terminated_; }

 private:
  bool terminated_ = false;
};

struct CSVLoggerOptions {
  std::string filename;
  char separator = ',';
  bool append = false;
};

// Writes one row per epoch: epoch followed by the logs' keys in sorted order.
class CSVLogger : public Callback {
 public:
  explicit CSVLogger(CSVLoggerOptions o);
  void on_train_begin(const Logs&) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_train_end(const Logs&) override;

 private:
  CSVLoggerOptions o_;
  std::ofstream out_;
  std::vector<std::string> keys_;
};

struct SWAOptions {
  int start_epoch = 0;     // 0-based: the weights at the end of this epoch and of every later one are averaged
  Tensor bn_data;          // training inputs for the batch-norm pass at the end (undefined: no pass)
  int64_t batch_size = 128;  // of that pass
};

// Stochastic weight averaging (Izmailov et al. 2018; PyTorch's swa_utils.AveragedModel + update_bn):
// the trainable weights at the end of epochs start_epoch, start_epoch + 1, ... are averaged with
// equal weights; when training ends the model gets the average, and, given bn_data, its batch-norm
// statistics are recomputed for the averaged weights (train::update_bn), since the moving ones
// belong to the last weights. Pair it with a learning rate that stays high enough to move between
// snapshots (ember train: --swa-epochs with --lr-floor). A fit that ends before start_epoch leaves
// the weights alone. set_start_epoch lets a planner move the start while training (ember train's
// --time-limit). ValueError: start_epoch < 0 or batch_size < 1.
class SWA : public Callback {
 public:
  explicit SWA(SWAOptions o = {});
  void on_train_begin(const Logs&) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_train_end(const Logs&) override;
  std::string class_name() const override { return "SWA"; }
  CallbackState get_state() const override;
  void set_state(const CallbackState& state) override;
  void set_start_epoch(int epoch);
  int start_epoch() const { return o_.start_epoch; }
  int averaged() const { return count_; }  // snapshots in the average so far

 private:
  SWAOptions o_;
  int count_ = 0;
  std::map<std::string, Tensor> average_;
};

// A callback built from lambdas; unset hooks do nothing.
struct LambdaCallbackOptions {
  std::function<void(const Logs&)> on_train_begin;
  std::function<void(const Logs&)> on_train_end;
  std::function<void(int, const Logs&)> on_epoch_begin;
  std::function<void(int, Logs&)> on_epoch_end;
  std::function<void(int, const Logs&)> on_batch_begin;
  std::function<void(int, const Logs&)> on_batch_end;
};
class LambdaCallback : public Callback {
 public:
  explicit LambdaCallback(LambdaCallbackOptions o) : o_(std::move(o)) {}
  void on_train_begin(const Logs& l) override { if (o_.on_train_begin) o_.on_train_begin(l); }
  void on_train_end(const Logs& l) override { if (o_.on_train_end) o_.on_train_end(l); }
  void on_epoch_begin(int e, const Logs& l) override { if (o_.on_epoch_begin) o_.on_epoch_begin(e, l); }
  void on_epoch_end(int e, Logs& l) override { if (o_.on_epoch_end) o_.on_epoch_end(e, l); }
  void on_train_batch_begin(int b, const Logs& l) override { if (o_.on_batch_begin) o_.on_batch_begin(b, l); }
  void on_train_batch_end(int b, const Logs& l) override { if (o_.on_batch_end) o_.on_batch_end(b, l); }

 private:
  LambdaCallbackOptions o_;
};

}  // namespace ember::callbacks
