// Image folders: class sub-folders in sorted order, files sorted and filtered by extension, exact
// pixels (PNGs written by hand), bilinear resizing values worked out by hand, the three label
// encodings, and corrupt/empty/mismatched folders as counted skips or one clear error.
#include "ember/data/image_folder.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "ember/core/error.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace ember;
using ember::testing::make_png;
using ember::testing::message_of;
using ember::testing::write_file;

namespace {

// Two classes, 2x1 grey images whose two pixels are (10 * id, 10 * id + 5).
fs::path two_classes(const std::string& name) {
  fs::path d = ember::testing::fresh_temp_dir("folder_" + std::string(name));
  auto img = [](int id) { return make_png(2, 1, 1, {static_cast<unsigned char>(10 * id), static_cast<unsigned char>(10 * id + 5)}); };
  write_file(d / "b_dog" / "2.png", img(4));
  write_file(d / "b_dog" / "1.PNG", img(3));
  write_file(d / "a_cat" / "z.png", img(2));
  write_file(d / "a_cat" / "sub" / "a.png", img(1));  // nested files count, sorted by path
  write_file(d / "a_cat" / "notes.txt", "not an image, and not an image extension: ignored");
  return d;
}

}  // namespace

TEST(ImageFolder, ListsClassesAndFilesSorted) {
  fs::path d = two_classes("list");
  auto list = data::list_image_folder(d.string());
  EXPECT_EQ(list.class_names, (std::vector<std::string>{"a_cat", "b_dog"}));
  ASSERT_EQ(list.files.size(), 4u);
  EXPECT_EQ(list.files[0], std::make_pair((d / "a_cat" / "sub" / "a.png").string(), int64_t{0}));
  EXPECT_EQ(list.files[1], std::make_pair((d / "a_cat" / "z.png").string(), int64_t{0}));
  EXPECT_EQ(list.files[2], std::make_pair((d / "b_dog" / "1.PNG").string(), int64_t{1}));
  EXPECT_EQ(list.files[3], std::make_pair((d / "b_dog" / "2.png").string(), int64_t{1}));
  fs::remove_all(d);
}

TEST(ImageFolder, LoadsExactPixelsAndEveryClassMode) {
  fs::path d = two_classes("load");
  auto ds = data::load_image_folder(d.string(), {.target_size = std::nullopt, .color_mode = data::ColorMode::Grayscale});
  ASSERT_EQ(ds.images.shape(), Shape({4, 1, 2, 1}));
  EXPECT_EQ(ds.images.dtype(), u8);
  const uint8_t want[] = {10, 15, 20, 25, 30, 35, 40, 45};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(ds.images.data<uint8_t>()[i], want[i]) << i;
  EXPECT_EQ(ds.labels.dtype(), i64);
  EXPECT_EQ(ds.labels.to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 1, 1}));
  EXPECT_EQ(ds.skipped, 0);

  auto cat = data::load_image_folder(d.string(), {.target_size = std::nullopt, .class_mode = data::ClassMode::Categorical});
  EXPECT_EQ(cat.images.shape(), Shape({4, 1, 2, 3}));  // grey repeated into RGB
  EXPECT_EQ(cat.labels.to_vector<float>(), (std::vector<float>{1, 0, 1, 0, 0, 1, 0, 1}));
  auto bin = data::load_image_folder(d.string(), {.target_size = std::nullopt, .class_mode = data::ClassMode::Binary});
  EXPECT_EQ(bin.labels.to_vector<float>(), (std::vector<float>{0, 0, 1, 1}));
  auto none = data::load_image_folder(d.string(), {.target_size = std::nullopt, .class_mode = data::ClassMode::None});
  EXPECT_FALSE(none.labels.defined());
  write_file(d / "c_eel" / "x.png", make_png(2, 1, 1, {0, 0}));
  EXPECT_THROW(data::load_image_folder(d.string(), {.target_size = std::nullopt, .class_mode = data::ClassMode::Binary}),
               ValueError);
  fs::remove_all(d);
}

TEST(ImageFolder, ResizesBilinearWithHalfPixelCentres) {
  fs::path d = ember::testing::fresh_temp_dir("folder_resize");
  write_file(d / "only" / "a.png", make_png(2, 1, 1, {0, 10}));
  // 1x2 -> 1x4 samples x = -0.25 (clamped to 0), 0.25, 0.75, 1.25 (right neighbour clamped).
  auto ds = data::load_image_folder(d.string(), {.target_size = std::array<int64_t, 2>{1, 4}});
  ASSERT_EQ(ds.images.shape(), Shape({1, 1, 4, 3}));
  EXPECT_EQ(ds.images.dtype(), f32);
  const float want[] = {0, 2.5f, 7.5f, 10};
  for (int x = 0; x < 4; ++x)
    for (int c = 0; c < 3; ++c) EXPECT_FLOAT_EQ(ds.images.data<float>()[x * 3 + c], want[x]);
  // stb's luma for pure red: (255 * 77) >> 8 = 76.
  write_file(d / "only" / "b.png", make_png(1, 1, 3, {255, 0, 0}));
  Tensor red = data::decode_image_for_folder((d / "only" / "b.png").string(),
                                              {.target_size = std::nullopt, .color_mode = data::ColorMode::Grayscale});
  EXPECT_EQ(red.shape(), Shape({1, 1, 1}));
  EXPECT_EQ(red.data<uint8_t>()[0], 76);
  fs::remove_all(d);
}

TEST(ImageFolder, CorruptFilesSkippedAndCountedOrFatal) {
  fs::path d = two_classes("corrupt");
  const std::string png = make_png(2, 1, 1, {1, 2});
  write_file(d / "a_cat" / "broken.png", png.substr(0, 40));
  write_file(d / "b_dog" / "text.jpg", "this is text with an image extension");
  auto ds = data::load_image_folder(d.string(), {.target_size = std::nullopt});
  EXPECT_EQ(ds.images.size(0), 4);
  EXPECT_EQ(ds.skipped, 2);
  EXPECT_EQ(ds.skipped_files, (std::vector<std::string>{(d / "a_cat" / "broken.png").string(), (d / "b_dog" / "text.jpg").string()}));
  std::string msg = message_of<FormatError>([&] { data::load_image_folder(d.string(), {.on_error = data::OnError::Fail}); });
  EXPECT_NE(msg.find("broken.png"), std::string::npos) << msg;
  // Files of different sizes need a target size.
  write_file(d / "b_dog" / "wide.png", make_png(3, 1, 1, {1, 2, 3}));
  msg = message_of<ShapeError>([&] { data::load_image_folder(d.string(), {.target_size = std::nullopt}); });
  EXPECT_NE(msg.find("wide.png"), std::string::npos) << msg;
  fs::remove_all(d);
}

TEST(ImageFolder, EmptyOrMissingFolderIsOneError) {
  fs::path d = ember::testing::fresh_temp_dir("folder_empty");
  std::string msg = message_of<ValueError>([&] { data::load_image_folder(d.string()); });
  EXPECT_NE(msg.find(d.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("sub-folder"), std::string::npos) << msg;
  fs::create_directories(d / "cls");
  write_file(d / "cls" / "readme.txt", "x");
  EXPECT_THROW(data::load_image_folder(d.string()), ValueError);
  write_file(d / "cls" / "bad.png", "garbage");
  msg = message_of<ValueError>([&] { data::load_image_folder(d.string()); });
  EXPECT_NE(msg.find("could be decoded"), std::string::npos) << msg;
  EXPECT_THROW(data::load_image_folder((d / "missing").string()), IOError);
  fs::remove_all(d);
}

TEST(ImageFolder, ShuffleIsASeededPermutation) {
  fs::path d = two_classes("shuffle");
  auto sorted = data::load_image_folder(d.string(), {.target_size = std::nullopt});
  auto a = data::load_image_folder(d.string(), {.target_size = std::nullopt, .shuffle = true, .seed = 5});
  auto b = data::load_image_folder(d.string(), {.target_size = std::nullopt, .shuffle = true, .seed = 5});
  EXPECT_EQ(a.paths, b.paths);
  auto p = a.paths, q = sorted.paths;
  std::sort(p.begin(), p.end());
  EXPECT_EQ(p, q);
  // Each image still carries its own file's label: class 0 files are under a_cat.
  for (std::size_t i = 0; i < a.paths.size(); ++i) {
    EXPECT_EQ(a.labels.data<int64_t>()[i], a.paths[i].find("/a_cat/") != std::string::npos ? 0 : 1) << a.paths[i];
  }
  fs::remove_all(d);
}
