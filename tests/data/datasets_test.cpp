// load_dataset(spec) for the readers of issue 12: npz (keras.datasets layout, from numpy via
// tests/fixtures/gen/npz_fixtures.py), csv with the label column, image folders; malformed specs.
#include "ember/data/datasets.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "ember/core/error.hpp"
#include "ember/data/npy.hpp"
#include "test_support.hpp"

using namespace ember;
namespace fs = std::filesystem;

TEST(LoadDataset, NpzInKerasLayout) {
  const std::string file = std::string(EMBER_FIXTURE_DIR) + "/npz/keras_style.npz";
  auto ds = data::load_dataset("npz:" + file);
  EXPECT_EQ(ds.train.images.shape(), Shape({6, 4, 4}));
  EXPECT_EQ(ds.test.images.shape(), Shape({3, 4, 4}));
  // y_train = [0, 1, 2, 0, 1, 2] (the generator script): three classes.
  EXPECT_EQ(ds.num_classes, 3);
  EXPECT_EQ(ds.train.labels.to(i64).to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 0, 1, 2}));
  // An archive without x/y names is refused naming what it has.
  std::string msg = ember::testing::message_of<FormatError>(
      [] { data::load_dataset("npz:" + std::string(EMBER_FIXTURE_DIR) + "/npz/positional.npz"); });
  EXPECT_NE(msg.find("arr_0"), std::string::npos) << msg;
}

TEST(LoadDataset, CsvLabelColumnDefaultsToTheLast) {
  fs::path p = fs::temp_directory_path() / ("ember_ds_" + std::to_string(::getpid()) + ".csv");
  std::ofstream(p) << "f1,f2,kind\n0.5,1,b\n2,3,a\n";
  auto ds = data::load_dataset("csv:" + p.string());
  EXPECT_EQ(ds.train.images.shape(), Shape({2, 2}));
  EXPECT_EQ(ds.class_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ds.num_classes, 2);
  EXPECT_EQ(ds.train.labels.to_vector<int64_t>(), (std::vector<int64_t>{1, 0}));
  EXPECT_FALSE(ds.test.images.defined());
  // Floats are passed to the model as they are.
  EXPECT_EQ(data::images_to_float(ds.train.images).to_vector<float>(), (std::vector<float>{0.5f, 1, 2, 3}));
  // The other columns are features, so they must be numbers: 'kind' is not.
  EXPECT_THROW(data::load_dataset("csv:" + p.string() + ":label=f2"), FormatError);
  std::ofstream(p) << "f1,f2\n0.5,1\n2,3\n";
  auto by_name = data::load_dataset("csv:" + p.string() + ":label=f2");
  EXPECT_EQ(by_name.train.labels.to_vector<int64_t>(), (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(by_name.num_classes, 4);
  EXPECT_THROW(data::load_dataset("csv:" + p.string() + ":label=f1"), ValueError);  // 0.5: not a class
  fs::remove(p);
}

TEST(LoadDataset, FolderScaledToUnitRange) {
  fs::path d = fs::temp_directory_path() / ("ember_ds_folder_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d / "x");
  std::ofstream(d / "x" / "a.png", std::ios::binary) << ember::testing::make_png(2, 1, 1, {0, 255});
  auto ds = data::load_dataset("folder:" + d.string(), {.image_size = std::array<int64_t, 2>{1, 4}, .color_mode = data::ColorMode::Grayscale});
  ASSERT_EQ(ds.train.images.shape(), Shape({1, 1, 4, 1}));
  // 1x2 -> 1x4: 0, 0.25, 0.75, 1 of the range.
  EXPECT_EQ(ds.train.images.to_vector<float>(), (std::vector<float>{0, 0.25f, 0.75f, 1}));
  EXPECT_EQ(ds.class_names, (std::vector<std::string>{"x"}));
  fs::remove_all(d);
}

TEST(LoadDataset, MalformedSpecs) {
  EXPECT_THROW(data::load_dataset("cifar10:"), ValueError);
  EXPECT_THROW(data::load_dataset("csv:"), ValueError);
  EXPECT_THROW(data::load_dataset("npz:"), ValueError);
  EXPECT_THROW(data::load_dataset("folder:"), ValueError);
  EXPECT_THROW(data::load_dataset("what"), ValueError);
  EXPECT_THROW(data::load_dataset("cifar10:/nonexistent"), IOError);
}
