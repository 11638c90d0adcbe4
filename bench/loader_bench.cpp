// Ember's side of the loader benchmark (bench/loader_bench.sh; its PyTorch peer is torch_loader.py):
// one pass over a folder of PNGs (bench/make_png_folder.py) through the input pipeline — decode
// with stb, ONE random affine transform per image (flip, rotation ±15°, shift ±10 %, zoom 0.9–1.1,
// bilinear, zero fill), /255 to float, batches of 128 — on W worker threads. No training: this
// measures the loader alone. Prints one JSON line like torch_loader.py's.
//
//   bench_loader_bench DIR/train [--workers W] [--epochs E] [--batch-size B]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "ember/core/error.hpp"
#include "ember/core/threads.hpp"
#include "ember/data/dataset.hpp"
#include "ember/data/image_data_generator.hpp"
#include "ember/data/image_folder.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/shape.hpp"

using namespace ember;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR [--workers W] [--epochs E] [--batch-size B]\n", argv[0]);
    return 2;
  }
  std::string dir = argv[1];
  int workers = 2, epochs = 1;
  int64_t batch_size = 128;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    long v = std::strtol(argv[i + 1], nullptr, 10);
    if (flag == "--workers") workers = static_cast<int>(v);
    else if (flag == "--epochs") epochs = static_cast<int>(v);
    else if (flag == "--batch-size") batch_size = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", flag.c_str());
      return 2;
    }
  }
  try {
    set_num_threads(1);  // the consumer only counts; all work is the workers'
    data::ImageFolderListing listing = data::list_image_folder(dir);
    const int64_t n = static_cast<int64_t>(listing.files.size());
    Tensor index = Tensor::empty({n}, i64), labels = Tensor::empty({n}, i64);
    for (int64_t i = 0; i < n; ++i) {
      index.data<int64_t>()[i] = i;
      labels.data<int64_t>()[i] = listing.files[static_cast<std::size_t>(i)].second;
    }
    data::ImageDataGenerator augment({.rotation_range = 15, .width_shift_range = 0.1, .height_shift_range = 0.1,
                                      .zoom_range = 0.1, .fill_mode = FillMode::Constant, .horizontal_flip = true});
    const data::ImageFolderOptions decode{.target_size = std::nullopt, .color_mode = data::ColorMode::Grayscale};
    data::Dataset pipeline =
        data::Dataset::from_tensor_slices({index, labels})
            .shuffle(n, {.seed = 1})
            .map(
                [&](data::Element e, Generator& g) {
                  const std::string& path = listing.files[static_cast<std::size_t>(e[0].item<int64_t>())].first;
                  Tensor image = data::decode_image_for_folder(path, decode).to(f32) / 255.0;
                  e[0] = augment.random_transform(image, g);
                  return e;
                },
                {.num_parallel_calls = workers, .seed = 2})
            .batch(batch_size)
            .prefetch(2);
    auto start = std::chrono::steady_clock::now();
    int64_t seen = 0;
    for (int e = 0; e < epochs; ++e) {
      for (data::Element& batch : pipeline) seen += batch[0].size(0);
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("{\"program\": \"ember-dataset\", \"images\": %lld, \"seconds\": %.3f, \"images_per_s\": %.1f, \"workers\": %d}\n",
                static_cast<long long>(seen), seconds, static_cast<double>(seen) / seconds, workers);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
