#pragma once
// Folders of images with one sub-folder per class, as Keras's image_dataset_from_directory and
// ImageDataGenerator.flow_from_directory read them:
//
//   DIR/cat/001.png  DIR/cat/002.jpg  DIR/dog/a.bmp ...
//
// Class names are the sub-folder names in sorted order (label i = class_names[i]); files are the
// ones with an image extension (.png .jpg .jpeg .bmp .gif, any case; others are ignored, as Keras
// does), found recursively under each class folder, sorted by path within the class.
#include <array>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ember/core/tensor.hpp"

namespace ember::data {

enum class ClassMode { Int, Categorical, Binary, None };
enum class ColorMode { RGB, Grayscale };
enum class OnError { Skip, Fail };

struct ImageFolderOptions {
  // Every image is resized to {height, width} with bilinear interpolation (kernels/cpu/resize.hpp,
  // tf.image.resize semantics) and comes back f32 with values 0..255 (as Keras gives them). nullopt
  // keeps the files' own size (then all must agree, and images stay u8).
  std::optional<std::array<int64_t, 2>> target_size = std::array<int64_t, 2>{256, 256};
  ColorMode color_mode = ColorMode::RGB;  // grayscale uses stb's luma weights (77, 150, 29)/256
  ClassMode class_mode = ClassMode::Int;
  // A file that cannot be decoded (not an image, corrupt): skipped and counted, or the load fails
  // with the decoder's error naming the file.
  OnError on_error = OnError::Skip;
  // Shuffle the files (seeded): Keras's image_dataset_from_directory does by default; here the
  // default keeps the sorted listing order, so that images[i] is paths[i] in a known order.
  bool shuffle = false;
  uint64_t seed = 0;
  // Progress ("loading images: i/N") on stderr while loading, only when stderr is a terminal.
  bool progress = true;
};

struct ImageFolderListing {
  std::vector<std::string> class_names;
  std::vector<std::pair<std::string, int64_t>> files;  // (path, label), class by class
};

// IOError if `dir` is not a directory; ValueError if it has no class sub-folders or no image files
// in them (the message names the folder and what was expected).
ImageFolderListing list_image_folder(const std::string& dir);

// One file as the folder loader decodes it: [H, W, C] (C = 3 for RGB, 1 for grayscale), resized
// and f32 when options.target_size is set, else u8. Throws the decoder's IOError / FormatError
// naming the file (on_error is the caller's business).
Tensor decode_image_for_folder(const std::string& path, const ImageFolderOptions& options = {});

struct ImageFolderData {
  Tensor images;                         // [N, H, W, C]: f32 0..255 with target_size, else u8
  Tensor labels;                         // Int: i64 [N]; Categorical: f32 [N, K] one-hot;
                                         // Binary: f32 [N] (0 or 1); None: undefined
  std::vector<std::string> class_names;  // sorted sub-folder names
  std::vector<std::string> paths;        // the files loaded, in the order of images (sorted, or shuffled)
  int64_t skipped = 0;                   // files that could not be decoded (OnError::Skip)
  std::vector<std::string> skipped_files;
};

// Loads the whole folder eagerly. Errors: as list_image_folder; ValueError for Binary with other
// than 2 classes or when every file was skipped; ShapeError naming the first file whose size
// differs when target_size is nullopt; with OnError::Fail the first decoding error.
ImageFolderData load_image_folder(const std::string& dir, const ImageFolderOptions& options = {});

}  // namespace ember::data
