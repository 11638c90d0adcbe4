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
// The `checkpoint` index is TensorFlow's CheckpointState text proto (io/checkpoint_index.hpp).
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

#include "ember/io/checkpoint_index.hpp"
#include "ember/nn/model.hpp"
#include "ember/optim/optimizer.hpp"

namespace ember::train {

// The index and its helpers live in io/ (graph::Saver uses them too); train:: names them as before.
using io::CheckpointState;
using io::checkpoint_file;
using io::format_checkpoint_index;
using io::get_checkpoint_state;
using io::latest_checkpoint;
using io::parse_checkpoint_index;

// max_to_keep, keep_checkpoint_every_n_hours, clock (tests set it).
using SaverOptions = io::CheckpointKeepOptions;

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
  const std::vector<std::string>& last_checkpoints() const { return keeper_.last_checkpoints(); }

 private:
  std::string save_impl(nn::Model& model, optim::Optimizer* optimizer, const std::string& prefix,
                        std::optional<int64_t> global_step);
  io::CheckpointKeeper keeper_;
};

// Writes one full checkpoint file (the layout above) atomically; `optimizer` may be null (then the
// model's compiled one is used, if any). ModelCheckpoint and Saver call it.
void write_checkpoint_file(const std::string& file, nn::Model& model, optim::Optimizer* optimizer,
                           std::optional<int64_t> global_step);
// Reads a checkpoint file into `model` (see Saver::restore); `optimizer` may be null (then the model's).
void read_checkpoint_file(const std::string& file, nn::Model& model, optim::Optimizer* optimizer);

}  // namespace ember::train
