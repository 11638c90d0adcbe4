#pragma once
// Readers for the IDX format of MNIST-style data sets (gzipped or plain) and the standard
// train/test layouts built on it.
#include <array>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ember/core/tensor.hpp"

namespace ember::data {

// Reads one IDX file (ubyte, byte, short, int, float or double; big-endian; any rank <= 8),
// decompressing it first when gzipped. Unsigned bytes give u8, signed bytes and shorts give i32,
// ints i32, floats f32, doubles f64. Throws IOError if the file cannot be read and FormatError
// (with the offending byte offset or sizes) if it is not well-formed IDX.
Tensor read_idx(const std::string& path);

struct Split {
  Tensor images;  // u8 [N, 28, 28] for IDX, [N, H, W, C] for other readers
  Tensor labels;  // u8 [N] (i32/i64 where a reader's labels need it)
};

// A data set with its training and test splits (what Keras's load_data() returns). The name
// `Dataset` belongs to the tf.data-style pipeline.
struct TrainTestData {
  Split train;
  Split test;  // undefined tensors when the data has no test split (CSV, npz x/y, image folders)
  int64_t num_classes = 10;
  std::vector<std::string> class_names = {};  // when the data names its classes (Fashion-MNIST, CSV categories, folders)
  std::vector<std::string> warnings = {};     // for the user (e.g. image files skipped), one line each
};

// Loads train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
// t10k-labels-idx1-ubyte (each optionally .gz) from `dir`. Throws IOError naming the directory
// and the missing file. A gzipped file of bytes (1 MiB or more inflated) is inflated once and kept,
// as plain IDX, under $EMBER_CACHE_DIR/idx (default $XDG_CACHE_HOME/ember/idx, else
// ~/.cache/ember/idx), keyed by its path, size and modification time; later loads read that copy.
// Copies unused for 30 days are removed when a new one is written. EMBER_CACHE=0 turns this off.
TrainTestData load_idx_dir(const std::string& dir);

// Fashion-MNIST from `dir`, else $EMBER_DATA/fashion-mnist, else Debian's dataset-fashion-mnist
// package (/usr/share/datasets/fashion-mnist).
TrainTestData load_fashion_mnist(std::optional<std::string> dir = std::nullopt);

// Class names of Fashion-MNIST, in label order.
const std::array<const char*, 10>& fashion_mnist_classes();

// Keras-style spellings: keras.datasets.mnist.load_data() reads MNIST's four IDX files from `dir`;
// fashion_mnist::load_data() is load_fashion_mnist().
namespace mnist {
inline TrainTestData load_data(const std::string& dir) { return load_idx_dir(dir); }
}  // namespace mnist
namespace fashion_mnist {
inline TrainTestData load_data(std::optional<std::string> dir = std::nullopt) { return load_fashion_mnist(std::move(dir)); }
}  // namespace fashion_mnist

}  // namespace ember::data
