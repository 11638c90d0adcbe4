#pragma once
// tf.train.Saver for graph mode: the values of graph variables in a session, saved to and restored
// from TF1-style checkpoint directories.
//
//   tf::Saver saver({.max_to_keep = 5});
//   for (int epoch = 0; epoch < 10; ++epoch) {
//     ...train...
//     saver.save(sess, "ckpt/model", epoch);          // ckpt/model-<epoch>.safetensors + ckpt/checkpoint
//   }                                                 // leaves model-5 ... model-9
//   saver.restore(sess, *tf::latest_checkpoint("ckpt"));   // "ckpt/model-9"
//
// A checkpoint's data is one safetensors file, "<path>.safetensors" (io/safetensors.hpp: checksummed,
// written atomically), holding each variable under its graph name ("layer1/weights"), so PyTorch /
// Hugging Face tooling opens it; "global_step" is in its metadata when a step was given. The
// `checkpoint` index and the rotation are train::Saver's (io/checkpoint_index.hpp): the index
// never names an incomplete file, whenever the process is killed.
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ember/graph/graph.hpp"
#include "ember/graph/session.hpp"
#include "ember/io/checkpoint_index.hpp"

namespace ember::graph {

// max_to_keep (default 5), keep_checkpoint_every_n_hours, clock: train::Saver's options.
using SaverOptions = io::CheckpointKeepOptions;

class Saver {
 public:
  // tf.train.Saver(): the default graph's global variables, as they are now.
  explicit Saver(SaverOptions o = {});
  // tf.train.Saver(var_list): these variables only. ValueError when there are none (as TF) or they
  // come from different graphs.
  // (A span and an initializer list rather than a vector: `Saver({.max_to_keep = 5})` would be
  // ambiguous with a vector.)
  explicit Saver(std::span<const Variable> var_list, SaverOptions o = {});
  explicit Saver(std::initializer_list<Variable> var_list, SaverOptions o = {})
      : Saver(std::span<const Variable>(var_list.begin(), var_list.size()), std::move(o)) {}

  // Writes the checkpoint "<save_path>-<global_step>" ("<save_path>" without a step) of the
  // variables' values in `sess`, updates `dirname(save_path)/checkpoint` and deletes the checkpoints
  // beyond max_to_keep. Returns the checkpoint path. ValueError naming a variable without a value
  // in `sess` or when `sess` runs another graph; IOError when the directory does not exist.
  std::string save(Session& sess, const std::string& save_path, std::optional<int64_t> global_step = std::nullopt);

  // Loads every variable of the saver from the checkpoint at `save_path` (the prefix;
  // "<save_path>.safetensors" is accepted too) into `sess`; no initializer needs to run first. A
  // variable missing from the file, or there with another dtype or shape, is a FormatError naming
  // the file and the variable, and then no variable is changed. Tensors of the file that the saver
  // does not know are ignored (a Saver over a subset of the variables restores that subset, as TF).
  void restore(Session& sess, const std::string& save_path);

  // The checkpoints this saver keeps, oldest first, as the index names them (relative to its directory).
  const std::vector<std::string>& last_checkpoints() const { return keeper_.last_checkpoints(); }
  const std::vector<Variable>& var_list() const { return vars_; }

 private:
  std::vector<Variable> vars_;
  io::CheckpointKeeper keeper_;
};

// tf.train.latest_checkpoint(dir): the newest checkpoint's path, or nullopt when `dir` has no index.
using io::latest_checkpoint;
using io::get_checkpoint_state;

}  // namespace ember::graph
