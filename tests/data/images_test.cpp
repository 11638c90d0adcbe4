// data::read_image: a PNG written here byte by byte (zlib + CRC-32 from zlib) decodes to exactly its
// pixels; channel conversion; bad files are one clean error.
#include "ember/data/images.hpp"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ember/core/error.hpp"

namespace fs = std::filesystem;
using namespace ember;

namespace {

void put32(std::string& s, uint32_t v) {
  for (int i = 3; i >= 0; --i) s += static_cast<char>((v >> (8 * i)) & 0xFF);
}

void chunk(std::string& png, const char* type, const std::string& data) {
  put32(png, static_cast<uint32_t>(data.size()));
  std::string td = std::string(type, 4) + data;
  png += td;
  put32(png, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(td.data()), static_cast<uInt>(td.size()))));
}

// An 8-bit PNG of colour type 0 (grey) or 2 (RGB), filter 0 on every row.
std::string make_png(int w, int h, int channels, const std::vector<unsigned char>& pixels) {
  std::string png("\x89PNG\r\n\x1a\n", 8), ihdr;
  put32(ihdr, static_cast<uint32_t>(w));
  put32(ihdr, static_cast<uint32_t>(h));
  ihdr += std::string{8, static_cast<char>(channels == 1 ? 0 : 2), 0, 0, 0};
  chunk(png, "IHDR", ihdr);
  std::string raw;
  for (int y = 0; y < h; ++y) {
    raw += '\0';
    raw.append(reinterpret_cast<const char*>(pixels.data()) + y * w * channels, static_cast<std::size_t>(w * channels));
  }
  uLongf n = compressBound(static_cast<uLong>(raw.size()));
  std::string z(n, '\0');
  compress(reinterpret_cast<Bytef*>(z.data()), &n, reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()));
  z.resize(n);
  chunk(png, "IDAT", z);
  chunk(png, "IEND", "");
  return png;
}

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
