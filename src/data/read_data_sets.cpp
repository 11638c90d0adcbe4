#include "ember/data/read_data_sets.hpp"

#include <numeric>
#include <vector>

#include "ember/data/idx.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/shape.hpp"

namespace ember::data {

Tf1DataSet::Tf1DataSet(Tensor images, Tensor labels, uint64_t seed) : images_(std::move(images)), labels_(std::move(labels)), gen_(seed) {
  if (images_.dim() < 1 || labels_.dim() < 1 || images_.size(0) != labels_.size(0)) {
    throw ShapeError("Tf1DataSet: images " + to_string(images_.shape()) + " and labels " + to_string(labels_.shape()) +
                     " must have the same first dimension");
  }
}

void Tf1DataSet::permute() {
  // Fisher-Yates with the seeded generator (numpy.random.shuffle's algorithm, Ember's RNG).
  std::vector<int64_t> perm(static_cast<std::size_t>(num_examples()));
  std::iota(perm.begin(), perm.end(), int64_t{0});
  for (std::size_t i = perm.size(); i > 1; --i) std::swap(perm[i - 1], perm[gen_.below(i)]);
  Tensor index = Tensor::empty({num_examples()}, i64);
  std::copy(perm.begin(), perm.end(), index.data<int64_t>());
  images_ = take(images_, index, 0).contiguous();
  labels_ = take(labels_, index, 0).contiguous();
}

std::pair<Tensor, Tensor> Tf1DataSet::next_batch(int64_t batch_size, bool shuffle) {
  const int64_t n = num_examples();
  if (batch_size < 1 || batch_size > n) {
    throw ValueError("next_batch: batch_size must be in [1, " + std::to_string(n) + "] (the number of examples), got " +
                     std::to_string(batch_size));
  }
  int64_t start = index_in_epoch_;
  if (epochs_completed_ == 0 && start == 0 && shuffle) permute();
  if (start + batch_size > n) {
    ++epochs_completed_;
    const int64_t rest = n - start;
    Tensor images_rest = slice(images_, 0, start, n), labels_rest = slice(labels_, 0, start, n);
    if (shuffle) permute();
    index_in_epoch_ = batch_size - rest;
    return {concat({images_rest, slice(images_, 0, 0, index_in_epoch_)}, 0),
            concat({labels_rest, slice(labels_, 0, 0, index_in_epoch_)}, 0)};
  }
  index_in_epoch_ += batch_size;
  return {slice(images_, 0, start, index_in_epoch_), slice(labels_, 0, start, index_in_epoch_)};
}

Tf1DataSets read_data_sets(const std::string& dir, const ReadDataSetsOptions& options) {
  TrainTestData raw = load_idx_dir(dir);
  const int64_t n_train = raw.train.images.size(0);
  if (options.validation_size < 0 || options.validation_size > n_train) {
    throw ValueError("read_data_sets: validation_size should be between 0 and " + std::to_string(n_train) + ". Received: " +
                     std::to_string(options.validation_size));
  }
  auto images = [&](const Tensor& u8_images) {
    Tensor x = u8_images.to(f32) * (1.0 / 255.0);  // TF1: numpy.multiply(images, 1.0 / 255.0) in float32
    const int64_t n = x.size(0);
    return options.reshape ? reshape(x, {n, -1}).contiguous() : reshape(x, {n, x.size(1), x.size(2), 1}).contiguous();
  };
  auto labels = [&](const Tensor& l) {
    if (!options.one_hot) return l;
    const int64_t n = l.size(0);
    Tensor hot = zeros({n, 10}, f32);
    Tensor li = l.to(i64).contiguous();
    for (int64_t i = 0; i < n; ++i) {
      const int64_t k = li.data<int64_t>()[i];
      if (k < 0 || k >= 10) throw FormatError("read_data_sets: label " + std::to_string(k) + " of example " + std::to_string(i) + " is not in [0, 10)");
      hot.data<float>()[i * 10 + k] = 1.0f;
    }
    return hot;
  };
  Tensor x_train = images(raw.train.images), y_train = labels(raw.train.labels);
  const int64_t v = options.validation_size;
  return {.train = Tf1DataSet(slice(x_train, 0, v, n_train), slice(y_train, 0, v, n_train), options.seed),
          .validation = Tf1DataSet(slice(x_train, 0, 0, v), slice(y_train, 0, 0, v), options.seed + 1),
          .test = Tf1DataSet(images(raw.test.images), labels(raw.test.labels), options.seed + 2)};
}

}  // namespace ember::data
