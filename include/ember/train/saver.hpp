#pragma once
// Checkpoints, TensorFlow-1 style, for exact resume.
//
//   train::Saver saver({.max_to_keep = 5});
//   for (int epoch = 0; epoch < 10; ++epoch) {
//     model.fit(x, y, {.epochs = epoch + 1, .initial_epoch = epoch});
//     saver.save(model, "ckpt/model", epoch);       // ckpt/model-<epoch>.safetensors + ckpt/checkpoint
//   }                                               // leaves model-5 ... model-9
//   saver.restore(model, *train::latest_checkpoint("ckpt"));   // "ckpt/model-9"
//
// A checkpoint path is a prefix ("ckpt/model-9", as TF names them); its data is one safetensors
// file, "<path>.safetensors", that PyTorch / Hugging Face tooling can open:
//   - every weight of the model (trainable and not: BatchNormalization's moving statistics) under
//     its hierarchical name ("dense/kernel"),
//   - the optimizer's slots as "optimizer/<param>/<slot>",
//   - callback tensors (EarlyStopping's best weights) as "callbacks/<Class>#<k>/<name>",
//   - and in __metadata__: "global_step", and "ember_checkpoint", a JSON object with the optimizer's
//     class, iteration count and learning rate, the state of every random generator (the default
//     one, the fit's shuffle generator, each layer's own), the fit's progress (epochs completed, the
//     history so far, whether a callback stopped training) and each callback's state.
// Restoring it into a model compiled like the saved one and calling fit with the same `epochs`
// continues the run exactly where it was saved: the same weights, history and random draws as a
// run that never stopped (same thread count).
//
// Checkpoints are taken between epochs (in an epoch-end callback, or after fit returns); a save in
// the middle of an epoch is refused (ValueError). Put a checkpointing callback after the others, so
// that their state includes the epoch just ended.
//
// The `checkpoint` index is TensorFlow's CheckpointState text proto, so TensorFlow's tooling reads
// it too:
//   model_checkpoint_path: "model-9"
//   all_model_checkpoint_paths: "model-5"   ... (oldest first, the latest last)
//   all_model_checkpoint_timestamps: 1764680000.25   ... (seconds since the epoch, one per path)
//   last_preserved_timestamp: 1764679000.5
// Paths in the same directory as the index are written relative to it.
//
// Durability: the data file is written atomically (io/atomic_file.hpp) before the index, the index
// is replaced atomically, and old checkpoints are deleted last — so the index never names a file
// that is not complete, whenever the process is killed.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ember/nn/model.hpp"
#include "ember/optim/optimizer.hpp"

namespace ember::train {

// TensorFlow's CheckpointState (tensorflow/python/training/checkpoint_state.proto).
struct CheckpointState {
  std::string model_checkpoint_path;
  std::vector<std::string> all_model_checkpoint_paths;    // oldest first; the last is model_checkpoint_path
  std::vector<double> all_model_checkpoint_timestamps;    // empty, or one per path
  double last_preserved_timestamp = 0;
};

// Parses the text of a `checkpoint` index: protobuf text format of CheckpointState (fields in any
// order, '#' comments, strings in double or single quotes with C escapes, adjacent strings joined).
// Untrusted input: FormatError "checkpoint index: line L, column C: ..." for anything else — an
// unknown field, a repeated singular field, an empty model_checkpoint_path, a path that is not
// UTF-8 or holds a NUL, a timestamp that is not a finite number, a timestamp count that differs
// from the path count, a path list whose last entry is not model_checkpoint_path, more than 1 MiB.
CheckpointState parse_checkpoint_index(std::string_view text);
// The text parse_checkpoint_index reads back (the format TensorFlow writes).
std::string format_checkpoint_index(const CheckpointState& state);

// The index `dir/checkpoint` with relative paths resolved against `dir`; nullopt when there is no
// index file. IOError if it cannot be read, FormatError (with its path) if it is malformed.
std::optional<CheckpointState> get_checkpoint_state(const std::string& dir);
// The latest checkpoint's path in `dir` ("dir/model-9"); nullopt when `dir` has no index.
// IOError when the index names a checkpoint whose file is missing.
std::optional<std::string> latest_checkpoint(const std::string& dir);

struct SaverOptions {
  int max_to_keep = 5;                        // <= 0: keep every checkpoint
  double keep_checkpoint_every_n_hours = 10000;  // of the checkpoints beyond max_to_keep, keep one per this many hours
  std::function<double()> clock = nullptr;    // seconds since the epoch (the system clock when null; tests set it)
};

class Saver {
 public:
  explicit Saver(SaverOptions o = {});

  // Writes the checkpoint "<prefix>-<global_step>" ("<prefix>" without a step) of `model` — and of
  // its compiled optimizer and fit state, when it has them — updates `dirname(prefix)/checkpoint`
  // and deletes the checkpoints beyond max_to_keep (oldest first; keep_checkpoint_every_n_hours
  // spares one per period). Returns the checkpoint path. The directory must exist (IOError).
  // The first save in a directory adopts the checkpoints its index already lists there (so a
  // resumed run keeps counting max_to_keep; entries naming files in other directories are dropped,
  // never deleted) and removes the temporary files an interrupted save of this prefix left there.
  std::string save(nn::Model& model, const std::string& prefix, std::optional<int64_t> global_step = std::nullopt);
  // The same for a custom training loop: the weights of `model` and the state of `optimizer`.
  std::string save(nn::Model& model, optim::Optimizer& optimizer, const std::string& prefix,
                   std::optional<int64_t> global_step = std::nullopt);

  // Restores the checkpoint at `path` (the prefix; "<path>.safetensors" is accepted too) into
  // `model`: every weight (FormatError naming it when missing, of another shape or dtype, or when
  // the checkpoint holds weights the model does not have), the layers' and the default random
  // generators and, when `model` is compiled and the checkpoint has them, the optimizer (same class,
  // else ValueError) and the fit state, which the next fit() continues from (train/training.hpp).
  void restore(nn::Model& model, const std::string& path);
  void restore(nn::Model& model, optim::Optimizer& optimizer, const std::string& path);

  // The checkpoints this saver keeps, oldest first, as the index names them (relative to its directory).
  const std::vector<std::string>& last_checkpoints() const { return paths_; }

 private:
  std::string save_impl(nn::Model& model, optim::Optimizer* optimizer, const std::string& prefix,
                        std::optional<int64_t> global_step);
  double now() const;

  SaverOptions o_;
  std::string dir_;                 // the directory of the checkpoints kept, once one is saved
  std::vector<std::string> paths_;  // as written in the index (relative to dir_ when inside it)
  std::vector<double> times_;
  double last_preserved_ = 0;
};

// The file a checkpoint path refers to: "<path>.safetensors", or `path` itself when it already ends so.
std::string checkpoint_file(const std::string& path);
// Writes one full checkpoint file (the layout above) atomically; `optimizer` may be null (then the
// model's compiled one is used, if any). ModelCheckpoint and Saver call it.
void write_checkpoint_file(const std::string& file, nn::Model& model, optim::Optimizer* optimizer,
                           std::optional<int64_t> global_step);
// Reads a checkpoint file into `model` (see Saver::restore); `optimizer` may be null (then the model's).
void read_checkpoint_file(const std::string& file, nn::Model& model, optim::Optimizer* optimizer);

}  // namespace ember::train
