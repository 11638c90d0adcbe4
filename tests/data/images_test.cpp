// data::read_image: a PNG written byte by byte (testing::make_png: zlib + CRC-32 from zlib) decodes to exactly its
// pixels; channel conversion; bad files are one clean error.
#include "ember/data/images.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ember/core/error.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace ember;
using ember::testing::make_png;

namespace {

fs::path write(const std::string& name, const std::string& bytes) {
  fs::path p = fs::temp_directory_path() / ("ember_img_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(p, std::ios::binary) << bytes;
  return p;
}

}  // namespace

TEST(Images, DecodesPngPixelsExactly) {
  std::vector<unsigned char> grey = {0, 50, 100, 150, 200, 250};  // 3 wide, 2 high
  fs::path g = write("g.png", make_png(3, 2, 1, grey));
  Tensor t = data::read_image(g.string());
  ASSERT_EQ(t.shape(), (Shape{2, 3, 1}));
  EXPECT_EQ(t.dtype(), u8);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(t.data<uint8_t>()[i], grey[static_cast<std::size_t>(i)]);
  Tensor rgb = data::read_image(g.string(), 3);  // grey -> RGB repeats the value
  ASSERT_EQ(rgb.shape(), (Shape{2, 3, 3}));
  for (int i = 0; i < 6; ++i) {
    for (int c = 0; c < 3; ++c) EXPECT_EQ(rgb.data<uint8_t>()[i * 3 + c], grey[static_cast<std::size_t>(i)]);
  }
  std::vector<unsigned char> colour = {255, 0, 0, 0, 255, 0};  // 2 wide, 1 high: red, green
  fs::path c = write("c.png", make_png(2, 1, 3, colour));
  Tensor ct = data::read_image(c.string());
  ASSERT_EQ(ct.shape(), (Shape{1, 2, 3}));
  for (int i = 0; i < 6; ++i) EXPECT_EQ(ct.data<uint8_t>()[i], colour[static_cast<std::size_t>(i)]);
  fs::remove(g);
  fs::remove(c);
}

TEST(Images, BadFilesAreCleanErrors) {
  EXPECT_THROW(data::read_image("/nonexistent/x.png"), IOError);
  fs::path junk = write("junk.png", "this is not an image");
  EXPECT_THROW(data::read_image(junk.string()), FormatError);
  std::string png = make_png(3, 2, 1, {1, 2, 3, 4, 5, 6});
  for (std::size_t n : {8u, 20u, 33u, 40u}) {
    fs::path t = write("t.png", png.substr(0, n));
    EXPECT_THROW(data::read_image(t.string()), FormatError) << n;
  }
  EXPECT_THROW(data::read_image(junk.string(), 2), ValueError);
  fs::remove(junk);
}
