#pragma once
// Data sets named on the command line (DESIGN.md, "The ember command line").
#include <array>
#include <optional>
#include <string>

#include "ember/data/idx.hpp"
#include "ember/data/image_folder.hpp"

namespace ember::data {

struct DatasetOptions {
  // folder:DIR only: resize every image to {height, width} (nullopt: the files' own size, which
  // must then agree) and read it as RGB or grayscale.
  std::optional<std::array<int64_t, 2>> image_size = std::nullopt;
  ColorMode color_mode = ColorMode::RGB;
};

// DATA specs:
//   fashion-mnist                Debian's dataset-fashion-mnist (or fashion-mnist:DIR)
//   mnist:DIR, idx:DIR           the four IDX files, gzipped or not
//   cifar10:DIR                  data_batch_1..5.bin + test_batch.bin
//   csv:FILE[:label=COLUMN]      features f32 [N, F]; the label column by name or 0-based index
//                                (default: the last column); integer or categorical labels
//   npz:FILE                     x_train, y_train, x_test, y_test (keras.datasets' layout) or x, y
//   folder:DIR                   one sub-folder per class (data/image_folder.hpp), images skipped
//                                when undecodable (counted in warnings), f32 [0, 1]; a DIR with
//                                train/ and test/ sub-folders (each one folder per class) gives both splits
// CSV, npz with x/y, and folders without train/ + test/ have no test split (TrainTestData::test left undefined). Missing
// directories or files give IOError naming them; a malformed spec ValueError.
TrainTestData load_dataset(const std::string& spec, const DatasetOptions& options = {});

// Model inputs from a data set's images: u8 images become float32 in [0, 1] with a channel axis
// (u8 [N, H, W] -> f32 [N, H, W, 1]; [N, H, W, C] keeps its channels); float data (already scaled
// images, CSV features) is returned as it is, [N, H, W] given a channel axis.
Tensor images_to_float(const Tensor& images);

}  // namespace ember::data
