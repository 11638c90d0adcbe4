#pragma once
// The Keras TensorBoard callback: event files under log_dir/train and log_dir/validation that
// TensorBoard reads (io/summary.hpp writes them).
#include <cstdint>
#include <memory>
#include <string>
#include <variant>

#include "ember/train/callbacks.hpp"

namespace ember::io {
class SummaryWriter;
}

namespace ember::callbacks {

struct TensorBoardOptions {
  std::string log_dir = "logs";
  // Every histogram_freq epochs (0: never), a histogram of every weight, tagged as Keras 2 does
  // ("dense/kernel_0"), at step = epoch.
  int histogram_freq = 0;
  bool write_graph = true;   // the model's graph (io::model_graph_def) once, at the start
  // The first layer with a 4-D kernel (a convolution's HWIO filters) as images, one per output
  // filter (the first 16), each scaled from the kernel's min..max to black..white.
  bool write_images = false;
  // "epoch": scalars once per epoch ("epoch_loss", "epoch_accuracy", "epoch_learning_rate"; the
  // validation run gets "epoch_loss" etc. from val_*); "batch": also "batch_loss", ... after every
  // batch (step = the batch's number counted over the whole run); an integer N: every N batches.
  std::variant<std::string, int64_t> update_freq = std::string("epoch");
  double flush_secs = 120;  // events reach the file at least this often, and at every epoch's end
};

// Writes as tf.keras.callbacks.TensorBoard (TF 2) does: steps are 0-based epochs. At the default
// update_freq the per-batch hook does nothing (no system call, no allocation). ValueError for an
// update_freq other than "epoch", "batch" or N >= 1, or histogram_freq < 0.
class TensorBoard : public Callback {
 public:
  explicit TensorBoard(TensorBoardOptions o = {});
  TensorBoard(TensorBoard&&) noexcept;
  ~TensorBoard() override;
  void on_train_begin(const Logs&) override;
  void on_train_batch_end(int batch, const Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_train_end(const Logs&) override;
  std::string class_name() const override { return "TensorBoard"; }

 private:
  io::SummaryWriter& train_writer();
  io::SummaryWriter& val_writer();
  void write_weight_images(int epoch);

  TensorBoardOptions o_;
  int64_t batch_every_ = 0;  // 0: per epoch only
  int64_t global_batch_ = 0;
  std::unique_ptr<io::SummaryWriter> train_, val_;
};

}  // namespace ember::callbacks
