#include "ember/data/cifar.hpp"

#include <filesystem>
#include <vector>

#include "ember/ops/shape.hpp"
#include "file_bytes.hpp"

namespace ember::data {

namespace {

constexpr std::size_t kPixels = 32 * 32 * 3;

}  // namespace

CifarBatch parse_cifar_batch(std::string_view bytes, CifarKind kind, const std::string& what) {
  const std::size_t label_bytes = kind == CifarKind::Cifar10 ? 1 : 2;
  const std::size_t record = label_bytes + kPixels;
  const char* name = kind == CifarKind::Cifar10 ? "CIFAR-10" : "CIFAR-100";
  if (bytes.empty() || bytes.size() % record != 0) {
    throw FormatError("'" + what + "': " + std::to_string(bytes.size()) + " bytes is not a whole number of " + name +
                      " records of " + std::to_string(record) + " bytes (" + std::to_string(bytes.size() / record) +
                      " records and " + std::to_string(bytes.size() % record) + " bytes left over)");
  }
  const int64_t n = static_cast<int64_t>(bytes.size() / record);
  CifarBatch b;
  b.images = Tensor::empty({n, 32, 32, 3}, u8);
  b.labels = Tensor::empty({n}, u8);
  if (kind == CifarKind::Cifar100) b.coarse_labels = Tensor::empty({n}, u8);
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  uint8_t* img = b.images.data<uint8_t>();
  for (int64_t r = 0; r < n; ++r, p += record) {
    const std::size_t offset = static_cast<std::size_t>(r) * record;
    auto check = [&](unsigned v, unsigned limit, const char* which, std::size_t at) {
      if (v >= limit) {
        throw FormatError("'" + what + "': record " + std::to_string(r) + " (byte offset " + std::to_string(offset + at) +
                          "): " + which + " " + std::to_string(v) + " is not below " + std::to_string(limit));
      }
    };
    if (kind == CifarKind::Cifar10) {
      check(p[0], 10, "label", 0);
      b.labels.data<uint8_t>()[r] = p[0];
    } else {
      check(p[0], 20, "coarse label", 0);
      check(p[1], 100, "fine label", 1);
      b.coarse_labels.data<uint8_t>()[r] = p[0];
      b.labels.data<uint8_t>()[r] = p[1];
    }
    // Planar R, G, B (channel-major) to interleaved NHWC.
    const unsigned char* planes = p + label_bytes;
    for (std::size_t i = 0; i < 1024; ++i) {
      for (std::size_t c = 0; c < 3; ++c) img[3 * i + c] = planes[c * 1024 + i];
    }
    img += kPixels;
  }
  return b;
}

CifarBatch read_cifar_batch(const std::string& path, CifarKind kind) {
  // The size decides the record count, so it is checked (in parse) before the tensors are made.
  return parse_cifar_batch(detail::read_file_bytes(path), kind, path);
}

namespace {

std::string need_file(const std::string& dir, const std::string& name) {
  std::string p = dir + "/" + name;
  if (!std::filesystem::is_regular_file(p)) throw IOError("CIFAR directory '" + dir + "' has no " + name);
  return p;
}

Split concat_batches(const std::vector<CifarBatch>& batches) {
  std::vector<Tensor> images, labels;
  for (const auto& b : batches) {
    images.push_back(b.images);
    labels.push_back(b.labels);
  }
  return {.images = concat(images, 0), .labels = concat(labels, 0)};
}

}  // namespace

namespace cifar10 {
TrainTestData load_data(const std::string& dir) {
  if (!std::filesystem::is_directory(dir)) throw IOError("CIFAR-10 directory '" + dir + "' does not exist");
  std::vector<CifarBatch> train;
  for (int i = 1; i <= 5; ++i) {
    train.push_back(read_cifar_batch(need_file(dir, "data_batch_" + std::to_string(i) + ".bin"), CifarKind::Cifar10));
  }
  CifarBatch test = read_cifar_batch(need_file(dir, "test_batch.bin"), CifarKind::Cifar10);
  return {.train = concat_batches(train), .test = {.images = test.images, .labels = test.labels}, .num_classes = 10};
}
}  // namespace cifar10

namespace cifar100 {
TrainTestData load_data(const std::string& dir, LabelMode label_mode) {
  if (!std::filesystem::is_directory(dir)) throw IOError("CIFAR-100 directory '" + dir + "' does not exist");
  const bool fine = label_mode == LabelMode::Fine;
  auto split = [&](const char* name) {
    CifarBatch b = read_cifar_batch(need_file(dir, name), CifarKind::Cifar100);
    return Split{.images = b.images, .labels = fine ? b.labels : b.coarse_labels};
  };
  return {.train = split("train.bin"), .test = split("test.bin"), .num_classes = fine ? 100 : 20};
}
}  // namespace cifar100

}  // namespace ember::data
