#include "ember/data/image_folder.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "ember/core/generator.hpp"
#include "ember/data/images.hpp"
#include "ember/kernels/cpu/resize.hpp"

namespace fs = std::filesystem;

namespace ember::data {

namespace {

bool has_image_extension(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp" || ext == ".gif";
}

// "loading images: i/N" on a terminal, redrawn at most ten times a second, after the first half
// second (fast loads print nothing).
class Progress {
 public:
  Progress(bool enabled, std::size_t total) : on_(enabled && ::isatty(2) == 1), total_(total) {}
  void update(std::size_t done) {
    if (!on_) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - start_ < std::chrono::milliseconds(500) || now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    shown_ = true;
    std::fprintf(stderr, "\rloading images: %zu/%zu", done, total_);
  }
  ~Progress() {
    if (shown_) std::fprintf(stderr, "\rloading images: %zu/%zu\n", total_, total_);
  }
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

 private:
  bool on_;
  std::size_t total_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now(), last_{};
};

}  // namespace

ImageFolderListing list_image_folder(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw IOError("image folder '" + dir + "' does not exist or is not a directory");
  ImageFolderListing out;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_directory()) out.class_names.push_back(e.path().filename().string());
  }
  if (ec) throw IOError("cannot list image folder '" + dir + "': " + ec.message());
  std::sort(out.class_names.begin(), out.class_names.end());
  if (out.class_names.empty()) {
    throw ValueError("image folder '" + dir + "' has no sub-folders (expected one sub-folder of images per class)");
  }
  for (std::size_t k = 0; k < out.class_names.size(); ++k) {
    std::vector<std::string> files;
    for (const auto& e : fs::recursive_directory_iterator(fs::path(dir) / out.class_names[k],
                                                           fs::directory_options::follow_directory_symlink, ec)) {
      if (e.is_regular_file() && has_image_extension(e.path())) files.push_back(e.path().string());
    }
    if (ec) throw IOError("cannot list '" + (fs::path(dir) / out.class_names[k]).string() + "': " + ec.message());
    std::sort(files.begin(), files.end());
    for (auto& f : files) out.files.emplace_back(std::move(f), static_cast<int64_t>(k));
  }
  if (out.files.empty()) {
    throw ValueError("image folder '" + dir + "' has " + std::to_string(out.class_names.size()) +
                     " class sub-folders but no image files in them (expected .png, .jpg, .jpeg, .bmp or .gif)");
  }
  return out;
}

Tensor decode_image_for_folder(const std::string& path, const ImageFolderOptions& options) {
  const int channels = options.color_mode == ColorMode::Grayscale ? 1 : 3;
  Tensor img = read_image(path, channels);
  if (!options.target_size) return img;
  const auto [h, w] = *options.target_size;
  if (h < 1 || w < 1) {
    throw ValueError("target_size must be positive, got " + std::to_string(h) + "x" + std::to_string(w));
  }
  Tensor out = Tensor::empty({h, w, channels}, f32);
  kernels::cpu::resize_bilinear(img.data<uint8_t>(), out.data<float>(),
                                {.in_h = img.size(0), .in_w = img.size(1), .channels = channels, .out_h = h, .out_w = w});
  return out;
}

ImageFolderData load_image_folder(const std::string& dir, const ImageFolderOptions& options) {
  ImageFolderListing list = list_image_folder(dir);
  const auto k = static_cast<int64_t>(list.class_names.size());
  if (options.class_mode == ClassMode::Binary && k != 2) {
    throw ValueError("image folder '" + dir + "': class_mode binary needs exactly 2 class sub-folders, found " +
                     std::to_string(k));
  }
  ImageFolderData out;
  out.class_names = list.class_names;
  std::vector<Tensor> images;
  std::vector<int64_t> labels;
  if (options.shuffle) {
    Generator gen(options.seed);
    for (std::size_t i = list.files.size(); i > 1; --i) std::swap(list.files[i - 1], list.files[gen.below(i)]);
  }
  Progress progress(options.progress, list.files.size());
  for (std::size_t i = 0; i < list.files.size(); ++i) {
    const auto& [path, label] = list.files[i];
    progress.update(i);
    Tensor img;
    try {
      img = decode_image_for_folder(path, options);
    } catch (const Error&) {
      if (options.on_error == OnError::Fail) throw;
      ++out.skipped;
      out.skipped_files.push_back(path);
      continue;
    }
    if (!images.empty() && img.shape() != images.front().shape()) {
      throw ShapeError("image folder '" + dir + "': '" + path + "' is " + to_string(img.shape()) + " but '" + out.paths.front() +
                       "' is " + to_string(images.front().shape()) + " (give a target size to resize them all)");
    }
    images.push_back(std::move(img));
    labels.push_back(label);
    out.paths.push_back(path);
  }
  if (images.empty()) {
    throw ValueError("image folder '" + dir + "': none of its " + std::to_string(list.files.size()) +
                     " image files could be decoded (the first: '" + out.skipped_files.front() + "')");
  }
  const auto n = static_cast<int64_t>(images.size());
  Shape shape{n};
  for (int64_t d : images.front().shape()) shape.push_back(d);
  out.images = Tensor::empty(shape, images.front().dtype());
  const std::size_t bytes = static_cast<std::size_t>(images.front().numel()) * itemsize(images.front().dtype());
  auto* dst = static_cast<char*>(out.images.raw_data());
  for (int64_t i = 0; i < n; ++i) std::memcpy(dst + static_cast<std::size_t>(i) * bytes, images[static_cast<std::size_t>(i)].raw_data(), bytes);
  switch (options.class_mode) {
    case ClassMode::Int:
      out.labels = Tensor::empty({n}, i64);
      std::copy(labels.begin(), labels.end(), out.labels.data<int64_t>());
      break;
    case ClassMode::Categorical:
      out.labels = zeros({n, k}, f32);
      for (int64_t i = 0; i < n; ++i) out.labels.data<float>()[i * k + labels[static_cast<std::size_t>(i)]] = 1.0f;
      break;
    case ClassMode::Binary:
      out.labels = Tensor::empty({n}, f32);
      for (int64_t i = 0; i < n; ++i) out.labels.data<float>()[i] = static_cast<float>(labels[static_cast<std::size_t>(i)]);
      break;
    case ClassMode::None: break;
  }
  return out;
}

}  // namespace ember::data
