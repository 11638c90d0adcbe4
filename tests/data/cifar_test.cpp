// CIFAR-10/100 binary batches: synthetic files whose every byte is arithmetic of (record, channel,
// pixel), so the expected NHWC value of each element is known from the layout the CIFAR page
// documents (label byte(s), then 1024 R, 1024 G, 1024 B in row order). Truncated files, bad labels
// and missing batch files are one clean error.
#include "ember/data/cifar.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "ember/core/error.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace ember;
using ember::testing::message_of;

namespace {

uint8_t pixel(int r, int c, int i) { return static_cast<uint8_t>((r * 7 + c * 85 + i * 3) % 256); }

// n records starting at record number `first` (so batches differ); CIFAR-100 when coarse >= 0.
std::string records(int first, int n, bool hundred) {
  std::string s;
  for (int r = first; r < first + n; ++r) {
    if (hundred) {
      s += static_cast<char>(r % 20);
      s += static_cast<char>((r * 3) % 100);
    } else {
      s += static_cast<char>(r % 10);
    }
    for (int c = 0; c < 3; ++c)
      for (int i = 0; i < 1024; ++i) s += static_cast<char>(pixel(r, c, i));
  }
  return s;
}

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("ember_cifar_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

void write(const fs::path& p, const std::string& bytes) { std::ofstream(p, std::ios::binary) << bytes; }

void expect_records(const Tensor& images, const Tensor& labels, int first, int n, bool hundred) {
  ASSERT_EQ(images.shape(), Shape({n, 32, 32, 3}));
  ASSERT_EQ(labels.shape(), Shape({n}));
  const uint8_t* img = images.data<uint8_t>();
  for (int r = 0; r < n; ++r) {
    EXPECT_EQ(labels.data<uint8_t>()[r], hundred ? ((first + r) * 3) % 100 : (first + r) % 10);
    for (int y = 0; y < 32; ++y)
      for (int x = 0; x < 32; ++x)
        for (int c = 0; c < 3; ++c) {
          ASSERT_EQ(img[((r * 32 + y) * 32 + x) * 3 + c], pixel(first + r, c, y * 32 + x)) << r << " " << y << " " << x << " " << c;
        }
  }
}

}  // namespace

TEST(Cifar, BatchIsPlanarRgbToNhwc) {
  fs::path d = temp_dir("batch");
  write(d / "b.bin", records(0, 3, false));
  auto b = data::read_cifar_batch((d / "b.bin").string());
  expect_records(b.images, b.labels, 0, 3, false);
  EXPECT_FALSE(b.coarse_labels.defined());
  // The very first red, green and blue bytes of record 1 sit at offsets 3073+1, +1025, +2049.
  EXPECT_EQ(b.images.data<uint8_t>()[3072 + 0], pixel(1, 0, 0));
  EXPECT_EQ(b.images.data<uint8_t>()[3072 + 2], pixel(1, 2, 0));
  fs::remove_all(d);
}

TEST(Cifar, Cifar100CoarseAndFine) {
  fs::path d = temp_dir("c100");
  write(d / "train.bin", records(0, 4, true));
  write(d / "test.bin", records(4, 2, true));
  auto fine = data::cifar100::load_data(d.string());
  expect_records(fine.train.images, fine.train.labels, 0, 4, true);
  expect_records(fine.test.images, fine.test.labels, 4, 2, true);
  EXPECT_EQ(fine.num_classes, 100);
  auto coarse = data::cifar100::load_data(d.string(), data::cifar100::LabelMode::Coarse);
  EXPECT_EQ(coarse.num_classes, 20);
  for (int r = 0; r < 4; ++r) EXPECT_EQ(coarse.train.labels.data<uint8_t>()[r], r % 20);
  fs::remove_all(d);
}

TEST(Cifar, Cifar10LoadDataConcatenatesFiveBatches) {
  fs::path d = temp_dir("c10");
  for (int i = 1; i <= 5; ++i) write(d / ("data_batch_" + std::to_string(i) + ".bin"), records(2 * (i - 1), 2, false));
  write(d / "test_batch.bin", records(100, 3, false));
  auto ds = data::cifar10::load_data(d.string());
  expect_records(ds.train.images, ds.train.labels, 0, 10, false);
  expect_records(ds.test.images, ds.test.labels, 100, 3, false);
  EXPECT_EQ(ds.num_classes, 10);

  fs::remove(d / "data_batch_4.bin");
  std::string msg = message_of<IOError>([&] { data::cifar10::load_data(d.string()); });
  EXPECT_NE(msg.find("data_batch_4.bin"), std::string::npos) << msg;
  EXPECT_THROW(data::cifar10::load_data((d / "nope").string()), IOError);
  fs::remove_all(d);
}

TEST(Cifar, TruncatedFileIsOneClearError) {
  fs::path d = temp_dir("trunc");
  std::string good = records(0, 2, false);
  write(d / "t.bin", good.substr(0, good.size() - 1));
  std::string msg = message_of<FormatError>([&] { data::read_cifar_batch((d / "t.bin").string()); });
  EXPECT_NE(msg.find((d / "t.bin").string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("3073"), std::string::npos) << msg;
  // Every prefix of a valid file is refused or read as whole records, never out of bounds.
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{3072}, std::size_t{3074}}) {
    EXPECT_THROW(data::parse_cifar_batch(std::string_view(good).substr(0, n), data::CifarKind::Cifar10, "x"), FormatError);
  }
  // The same bytes are not a whole number of 3074-byte CIFAR-100 records either.
  EXPECT_THROW(data::parse_cifar_batch(good, data::CifarKind::Cifar100, "x"), FormatError);
  EXPECT_THROW(data::read_cifar_batch((d / "missing.bin").string()), IOError);
  fs::remove_all(d);
}

TEST(Cifar, LabelOutOfRangeNamesRecordAndOffset) {
  std::string bytes = records(0, 2, false);
  bytes[3073] = 10;  // record 1's label
  std::string msg = message_of<FormatError>([&] { data::parse_cifar_batch(bytes, data::CifarKind::Cifar10, "b.bin"); });
  EXPECT_NE(msg.find("record 1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("offset 3073"), std::string::npos) << msg;
  std::string h = records(0, 1, true);
  h[1] = 100;  // fine label
  EXPECT_THROW(data::parse_cifar_batch(h, data::CifarKind::Cifar100, "x"), FormatError);
}
