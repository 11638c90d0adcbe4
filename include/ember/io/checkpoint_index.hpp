#pragma once
// TensorFlow-1 style checkpoint directories, shared by train::Saver (models) and graph::Saver
// (graph variables): the `checkpoint` index and the rotation of the checkpoints it lists.
//
// The `checkpoint` index is TensorFlow's CheckpointState text proto, so TensorFlow's tooling reads
// it too:
//   model_checkpoint_path: "model-9"
//   all_model_checkpoint_paths: "model-5"   ... (oldest first, the latest last)
//   all_model_checkpoint_timestamps: 1764680000.25   ... (seconds since the epoch, one per path)
//   last_preserved_timestamp: 1764679000.5
// Paths in the same directory as the index are written relative to it. A checkpoint path is a
// prefix ("ckpt/model-9"); its data is the file "<path>.safetensors".
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ember::io {

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

// The file a checkpoint path refers to: "<path>.safetensors", or `path` itself when it already ends so.
std::string checkpoint_file(const std::string& path);

struct CheckpointKeepOptions {
  int max_to_keep = 5;                           // <= 0: keep every checkpoint
  double keep_checkpoint_every_n_hours = 10000;  // of the checkpoints beyond max_to_keep, keep one per this many hours
  std::function<double()> clock = nullptr;       // seconds since the epoch (the system clock when null; tests set it)
};

// The bookkeeping of a TF1 Saver: which checkpoints of a directory are kept. ValueError for a
// non-positive keep_checkpoint_every_n_hours.
class CheckpointKeeper {
 public:
  explicit CheckpointKeeper(CheckpointKeepOptions o = {});

  // Saves the checkpoint "<prefix>-<global_step>" ("<prefix>" without a step): calls
  // `write_data(file)`, which must write "<path>.safetensors" atomically, then replaces
  // `dirname(prefix)/checkpoint` atomically, then deletes the checkpoints beyond max_to_keep (oldest
  // first; keep_checkpoint_every_n_hours spares one per period) — so the index never names a file
  // that is not complete, whenever the process is killed. Returns the checkpoint path. IOError when
  // the directory does not exist; ValueError when the prefix has no file name. `who` starts messages.
  // The first save in a directory adopts the checkpoints its index already lists there (entries
  // naming files elsewhere are dropped, never deleted) and removes the temporary files an
  // interrupted save of this prefix left there.
  std::string save(const std::string& prefix, std::optional<int64_t> global_step,
                   const std::function<void(const std::string& file)>& write_data, const std::string& who);

  // The checkpoints kept, oldest first, as the index names them (relative to its directory).
  const std::vector<std::string>& last_checkpoints() const { return paths_; }

 private:
  double now() const;

  CheckpointKeepOptions o_;
  std::string dir_;                 // the directory of the checkpoints kept, once one is saved
  std::vector<std::string> paths_;  // as written in the index (relative to dir_ when inside it)
  std::vector<double> times_;
  double last_preserved_ = 0;
};

}  // namespace ember::io
