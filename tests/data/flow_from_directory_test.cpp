// ImageDataGenerator::flow_from_directory: batches decoded from DIR/<class>/<file>, labels in
// Keras's class modes, Keras's per-class validation split. Pixel values are written by the test
// (each image one grey value), so the expected batches follow from the files alone.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "ember/core/error.hpp"
#include "ember/data/image_data_generator.hpp"
#include "test_support.hpp"

using namespace ember;
using namespace ember::data;
namespace fs = std::filesystem;

namespace {

// Class "a": 5 images of grey 10, 11, ..., 14; class "b": 3 images of grey 100, 101, 102. 4x4 pixels.
fs::path make_folder(const char* name) {
  fs::path d = ember::testing::fresh_temp_dir(name);
  auto write = [&](const char* cls, int i, int grey) {
    std::vector<unsigned char> px(16, static_cast<unsigned char>(grey));
    ember::testing::write_file(d / cls / ("img" + std::to_string(i) + ".png"), ember::testing::make_png(4, 4, 1, px));
  };
  for (int i = 0; i < 5; ++i) write("a", i, 10 + i);
  for (int i = 0; i < 3; ++i) write("b", i, 100 + i);
  return d;
}

}  // namespace

TEST(FlowFromDirectory, BatchesHoldTheFilesInSortedOrderWithOneHotLabels) {
  fs::path d = make_folder("flow_dir_sorted");
  ImageDataGenerator gen;  // no augmentation
  Dataset ds = gen.flow_from_directory(d.string(), {.target_size = {4, 4}, .color_mode = ColorMode::Grayscale,
                                                     .batch_size = 3, .shuffle = false});
  std::vector<float> greys, label_b;
  int batches = 0;
  for (Element& batch : ds) {
    ASSERT_EQ(batch.size(), 2U);
    EXPECT_EQ(batch[0].dim(), 4);
    EXPECT_EQ(batch[0].size(1), 4);
    EXPECT_EQ(batch[0].size(3), 1);
    EXPECT_EQ(batch[1].size(1), 2);  // categorical: 2 classes
    for (int64_t i = 0; i < batch[0].size(0); ++i) {
      greys.push_back(batch[0].at<float>({i, 2, 1, 0}));
      label_b.push_back(batch[1].at<float>({i, 1}));
      EXPECT_EQ(batch[1].at<float>({i, 0}) + batch[1].at<float>({i, 1}), 1.0F);
    }
    ++batches;
  }
  EXPECT_EQ(batches, 3);  // 8 files in batches of 3: 3, 3, 2
  EXPECT_EQ(greys, (std::vector<float>{10, 11, 12, 13, 14, 100, 101, 102}));
  EXPECT_EQ(label_b, (std::vector<float>{0, 0, 0, 0, 0, 1, 1, 1}));
  fs::remove_all(d);
}

TEST(FlowFromDirectory, ValidationSplitIsPerClassAndLabelModesFollowKeras) {
  fs::path d = make_folder("flow_dir_split");
  ImageDataGenerator gen({.validation_split = 0.4});
  auto greys_of = [&](Subset subset, ClassMode mode) {
    std::multiset<float> greys;
    for (Element& batch : gen.flow_from_directory(d.string(), {.target_size = {4, 4}, .color_mode = ColorMode::Grayscale,
                                                               .class_mode = mode, .batch_size = 2, .seed = 3, .subset = subset})) {
      EXPECT_EQ(batch.size(), mode == ClassMode::None ? 1U : 2U);
      if (mode == ClassMode::Int) { EXPECT_EQ(batch[1].dtype(), i64); }
      if (mode == ClassMode::Binary) { EXPECT_EQ(batch[1].dtype(), f32); }
      for (int64_t i = 0; i < batch[0].size(0); ++i) {
        float g = batch[0].at<float>({i, 0, 0, 0});
        greys.insert(g);
        if (mode == ClassMode::Int) { EXPECT_EQ(batch[1].at<int64_t>({i}), g >= 100 ? 1 : 0); }
        if (mode == ClassMode::Binary) { EXPECT_EQ(batch[1].at<float>({i}), g >= 100 ? 1.0F : 0.0F); }
      }
    }
    return greys;
  };
  // Keras: per class, the first int(n * 0.4) sorted files validate: a: int(2.0) = 2, b: int(1.2) = 1.
  EXPECT_EQ(greys_of(Subset::Validation, ClassMode::Int), (std::multiset<float>{10, 11, 100}));
  EXPECT_EQ(greys_of(Subset::Training, ClassMode::Binary), (std::multiset<float>{12, 13, 14, 101, 102}));
  EXPECT_EQ(greys_of(Subset::All, ClassMode::None).size(), 8U);

  ImageDataGenerator no_split;
  EXPECT_THROW(no_split.flow_from_directory(d.string(), {.subset = Subset::Training}), ValueError);
  fs::create_directories(d / "c");
  std::vector<unsigned char> px(16, 7);
  ember::testing::write_file(d / "c" / "x.png", ember::testing::make_png(4, 4, 1, px));
  EXPECT_THROW(no_split.flow_from_directory(d.string(), {.class_mode = ClassMode::Binary}), ValueError);
  EXPECT_THROW(no_split.flow_from_directory((d / "missing").string()), IOError);
  fs::remove_all(d);
}

TEST(FlowFromDirectory, ACorruptFileIsAnErrorNamingItWhenRead) {
  fs::path d = make_folder("flow_dir_corrupt");
  ember::testing::write_file(d / "a" / "zz_broken.png", "not a png");
  ImageDataGenerator gen;
  Dataset ds = gen.flow_from_directory(d.string(), {.target_size = {4, 4}, .batch_size = 16, .shuffle = false});
  try {
    for (Element& batch : ds) (void)batch;
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("zz_broken.png"), std::string::npos) << e.what();
  }
  fs::remove_all(d);
}
