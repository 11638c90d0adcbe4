#pragma once
// The TensorFlow-1 MNIST helper the notes use (tensorflow.examples.tutorials.mnist.input_data):
//
//   auto mnist = data::read_data_sets("MNIST_data", {.one_hot = true});
//   auto [xs, ys] = mnist.train.next_batch(100);
//
// Same semantics: images float32 scaled to [0, 1], reshaped to [N, rows*cols] (or [N, rows, cols,
// 1] without reshape), labels u8 [N] or f32 one-hot [N, 10]; the validation set is the FIRST
// validation_size training examples, train the rest.
#include <string>
#include <utility>

#include "ember/core/generator.hpp"
#include "ember/core/tensor.hpp"

namespace ember::data {

// One split with TF1's epoch-aware batching (TF1 calls it DataSet; Ember's data::Dataset is the
// tf.data-style pipeline, hence the prefix).
class Tf1DataSet {
 public:
  Tf1DataSet(Tensor images, Tensor labels, uint64_t seed = 0);

  const Tensor& images() const { return images_; }  // in the current (shuffled) order
  const Tensor& labels() const { return labels_; }
  int64_t num_examples() const { return images_.size(0); }
  int64_t epochs_completed() const { return epochs_completed_; }

  // The next batch_size examples. TF1's algorithm: with shuffle, the data is permuted at the first
  // call and each time an epoch ends; a batch that crosses the end of an epoch is the rest of that
  // epoch followed by the start of the next (new) permutation. ValueError unless 1 <= batch_size
  // <= num_examples.
  std::pair<Tensor, Tensor> next_batch(int64_t batch_size, bool shuffle = true);

 private:
  void permute();
  Tensor images_, labels_;
  int64_t epochs_completed_ = 0, index_in_epoch_ = 0;
  Generator gen_;
};

struct ReadDataSetsOptions {
  bool one_hot = false;
  bool reshape = true;
  int64_t validation_size = 5000;
  uint64_t seed = 0;  // the shuffles of train, validation and test derive from it
};

struct Tf1DataSets {
  Tf1DataSet train, validation, test;
};

// The four IDX files of MNIST (or Fashion-MNIST) in `dir`, gzipped or not (data/idx.hpp's
// load_idx_dir). ValueError unless 0 <= validation_size <= the training set's size.
Tf1DataSets read_data_sets(const std::string& dir, const ReadDataSetsOptions& options = {});

}  // namespace ember::data
