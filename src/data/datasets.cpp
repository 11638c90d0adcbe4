#include "ember/data/datasets.hpp"

#include <algorithm>
#include <filesystem>

#include "ember/data/cifar.hpp"
#include "ember/data/csv.hpp"
#include "ember/data/npy.hpp"
#include "ember/kernels/cpu/parallel.hpp"
#include "ember/ops/reduce.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/shape.hpp"

namespace ember::data {

namespace {

int64_t label_count(const Tensor& a, const Tensor& b) {
  int64_t hi = -1;
  for (const Tensor* t : {&a, &b}) {
    if (!t->defined() || t->numel() == 0) continue;
    hi = std::max(hi, max(t->to(i64)).item<int64_t>());
  }
  return hi + 1;
}

TrainTestData from_csv(const std::string& spec, const std::string& rest) {
  std::string file = rest, column;
  if (auto at = rest.rfind(":label="); at != std::string::npos) {
    file = rest.substr(0, at);
    column = rest.substr(at + 7);
    if (column.empty()) throw ValueError("data '" + spec + "': expected csv:FILE:label=COLUMN, the column is empty");
  }
  if (file.empty()) throw ValueError("data '" + spec + "': expected csv:FILE[:label=COLUMN]");
  CsvData d = read_csv(file, {.label = column.empty() ? CsvColumn(-1) : CsvColumn(column)});
  if (d.labels.dtype() != i64) {
    throw ValueError("data '" + spec + "': the label column holds non-integer numbers (a regression target); " +
                     "expected class labels (integers or category names)");
  }
  TrainTestData ds;
  ds.train = {.images = d.features, .labels = d.labels};
  ds.class_names = d.class_names;
  ds.num_classes = d.class_names.empty() ? label_count(d.labels, Tensor()) : static_cast<int64_t>(d.class_names.size());
  return ds;
}

Split npz_split(const NamedArrays& arrays, const std::string& file, const char* x_name, const char* y_name) {
  const Tensor* x = find_array(arrays, x_name);
  const Tensor* y = find_array(arrays, y_name);
  if (!x || !y) return {};
  if (x->dim() < 1 || y->dim() != 1 || x->size(0) != y->size(0)) {
    throw FormatError("'" + file + "': " + x_name + " " + to_string(x->shape()) + " and " + y_name + " " +
                      to_string(y->shape()) + " do not match (expected [N, ...] and [N])");
  }
  if (!is_integral(y->dtype())) {
    throw FormatError("'" + file + "': " + y_name + " has dtype " + std::string(dtype_name(y->dtype())) + ", expected integer class labels");
  }
  return {.images = *x, .labels = *y};
}

TrainTestData from_npz(const std::string& spec, const std::string& file) {
  if (file.empty()) throw ValueError("data '" + spec + "': expected npz:FILE");
  NamedArrays arrays = load_npz(file);
  TrainTestData ds;
  ds.train = npz_split(arrays, file, "x_train", "y_train");
  if (ds.train.images.defined()) {
    ds.test = npz_split(arrays, file, "x_test", "y_test");
  } else {
    ds.train = npz_split(arrays, file, "x", "y");
  }
  if (!ds.train.images.defined()) {
    std::string keys;
    for (const auto& [k, v] : arrays) keys += (keys.empty() ? "" : ", ") + k;
    throw FormatError("'" + file + "': expected arrays x_train, y_train (and x_test, y_test) or x, y; found: " +
                      (keys.empty() ? "none" : keys));
  }
  ds.num_classes = label_count(ds.train.labels, ds.test.labels);
  return ds;
}

TrainTestData from_folder(const std::string& spec, const std::string& dir, const DatasetOptions& options) {
  if (dir.empty()) throw ValueError("data '" + spec + "': expected folder:DIR");
  TrainTestData ds;
  auto load = [&](const std::string& folder, Split& split) {
    ImageFolderData f = load_image_folder(folder, {.target_size = options.image_size, .color_mode = options.color_mode,
                                                    .class_mode = ClassMode::Int, .on_error = OnError::Skip, .shuffle = true});
    // Resized images are f32 0..255 (as Keras gives them): scaled to [0, 1] like the u8 readers'.
    split = {.images = f.images.dtype() == u8 ? images_to_float(f.images) : f.images / 255.0, .labels = f.labels};
    if (f.skipped > 0) {
      ds.warnings.push_back("skipped " + std::to_string(f.skipped) + " file(s) in '" + folder +
                            "' that are not readable images (the first: '" + f.skipped_files.front() + "')");
    }
    return f.class_names;
  };
  // DIR/train and DIR/test, each with the same class folders: the two splits (the layout
  // bench/make_png_folder.py writes). Otherwise DIR's class folders are the training data.
  const std::filesystem::path train_dir = std::filesystem::path(dir) / "train", test_dir = std::filesystem::path(dir) / "test";
  std::error_code ec;
  if (std::filesystem::is_directory(train_dir, ec) && std::filesystem::is_directory(test_dir, ec)) {
    ds.class_names = load(train_dir.string(), ds.train);
    std::vector<std::string> test_classes = load(test_dir.string(), ds.test);
    if (test_classes != ds.class_names) {
      throw FormatError("data '" + spec + "': '" + test_dir.string() + "' and '" + train_dir.string() +
                        "' must hold the same class folders (" + std::to_string(test_classes.size()) + " vs " +
                        std::to_string(ds.class_names.size()) + ")");
    }
  } else {
    ds.class_names = load(dir, ds.train);
  }
  ds.num_classes = static_cast<int64_t>(ds.class_names.size());
  return ds;
}

}  // namespace

TrainTestData load_dataset(const std::string& spec, const DatasetOptions& options) {
  if (spec == "fashion-mnist" || spec == "fashion_mnist") return load_fashion_mnist();
  auto colon = spec.find(':');
  std::string kind = colon == std::string::npos ? spec : spec.substr(0, colon);
  std::string dir = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (kind == "fashion-mnist" && !dir.empty()) return load_fashion_mnist(dir);
  if (kind == "mnist" || kind == "idx" || kind == "cifar10") {
    if (dir.empty()) throw ValueError("data '" + spec + "': expected " + kind + ":DIR");
    return kind == "cifar10" ? cifar10::load_data(dir) : load_idx_dir(dir);
  }
  if (kind == "csv") return from_csv(spec, dir);
  if (kind == "npz") return from_npz(spec, dir);
  if (kind == "folder") return from_folder(spec, dir, options);
  throw ValueError("unknown data '" + spec +
                   "'; expected fashion-mnist, mnist:DIR, idx:DIR, cifar10:DIR, csv:FILE[:label=COLUMN], npz:FILE or folder:DIR");
}

Tensor images_to_float(const Tensor& images) {
  if (is_floating(images.dtype())) return images.dim() == 3 ? unsqueeze(images, 3) : images;
  if (images.dim() != 3 && images.dim() != 4) {
    throw ShapeError("images_to_float: expected [N, H, W] or [N, H, W, C] images, got " + to_string(images.shape()));
  }
  Tensor x;
  if (images.dtype() == u8 && images.is_contiguous()) {
    // One pass over the pixels instead of the two of `to(f32) / 255.0` (with an intermediate tensor
    // as large as the result), and the same floats: both round the exact quotient once (IEEE
    // division), so the result is bit-identical. The loop is vectorised (widen, convert, divide); it
    // runs per batch when fit keeps images as bytes (FitOptions::x_transform).
    x = Tensor::empty(images.shape(), f32);
    const uint8_t* src = images.data<uint8_t>();
    float* dst = x.data<float>();
    const int64_t n = images.numel();
    kernels::cpu::parallel_for(0, n, kernels::cpu::grain_for(1), [&](int64_t b, int64_t e) {
      // (simd: a byte pointer may alias the floats as far as the compiler knows.)
#pragma omp simd
      for (int64_t i = b; i < e; ++i) dst[i] = static_cast<float>(src[i]) / 255.0f;
    });
  } else {
    x = images.to(f32) / 255.0;
  }
  return images.dim() == 3 ? unsqueeze(x, 3) : x;
}

}  // namespace ember::data
