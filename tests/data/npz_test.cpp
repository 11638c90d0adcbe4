// .npz archives: Ember reads what numpy.savez and numpy.savez_compressed wrote
// (tests/fixtures/gen/npz_fixtures.py; values as numpy.load sees them). Truncated, corrupted and
// lying archives give one FormatError each, never an out-of-bounds read.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "ember/core/error.hpp"
#include "ember/data/npy.hpp"
#include "test_support.hpp"

using namespace ember;
using ember::testing::message_of;

namespace {

const std::string kDir = std::string(EMBER_FIXTURE_DIR) + "/npz/";

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace

TEST(Npz, ReadsNumpyArchivesAsNumpySeesThem) {
  std::ifstream in(kDir + "expected.json");
  ASSERT_TRUE(in) << kDir;
  nlohmann::json expected = nlohmann::json::parse(in);
  ASSERT_EQ(expected.size(), 4u);
  for (const auto& [file, members] : expected.items()) {
    SCOPED_TRACE(file);
    data::NamedArrays arrays = data::load_npz(kDir + file + ".npz");
    ASSERT_EQ(arrays.size(), members.size());
    for (std::size_t i = 0; i < arrays.size(); ++i) {
      const auto& want = members[i];
      SCOPED_TRACE(want["key"].get<std::string>());
      EXPECT_EQ(arrays[i].first, want["key"].get<std::string>());
      Shape shape;
      for (int64_t d : want["shape"]) shape.push_back(d);
      const Tensor& t = arrays[i].second;
      ASSERT_EQ(t.shape(), shape);
      Tensor f = t.to(f64).contiguous();
      const auto& values = want["values"];
      ASSERT_EQ(static_cast<std::size_t>(f.numel()), values.size());
      for (std::size_t k = 0; k < values.size(); ++k) EXPECT_EQ(f.data<double>()[k], values[k].get<double>()) << k;
    }
  }
  data::NamedArrays keras = data::load_npz(kDir + "keras_style.npz");
  ASSERT_NE(data::find_array(keras, "x_train"), nullptr);
  EXPECT_EQ(data::find_array(keras, "x_train")->dtype(), u8);
  EXPECT_EQ(data::find_array(keras, "nope"), nullptr);
}

TEST(Npz, EveryTruncationIsAFormatError) {
  for (const char* file : {"savez.npz", "savez_compressed.npz"}) {
    const std::string good = bytes_of(kDir + file);
    ASSERT_GT(good.size(), 100u);
    for (std::size_t n = 0; n < good.size(); ++n) {
      EXPECT_THROW(data::parse_npz(std::string_view(good).substr(0, n), file), FormatError) << file << " " << n;
    }
  }
}

TEST(Npz, CorruptMemberIsCaughtByItsCrc) {
  std::string z = bytes_of(kDir + "savez.npz");
  // The first member's data starts after the 30-byte local header, its name and extra field; flip
  // a byte in the middle of its array data (stored, so the zip structure is unchanged).
  const std::size_t name_len = static_cast<unsigned char>(z[26]) | (static_cast<unsigned char>(z[27]) << 8);
  const std::size_t extra_len = static_cast<unsigned char>(z[28]) | (static_cast<unsigned char>(z[29]) << 8);
  z[30 + name_len + extra_len + 130] ^= 0x40;
  std::string msg = message_of<FormatError>([&] { data::parse_npz(z, "bad.npz"); });
  EXPECT_NE(msg.find("bad.npz"), std::string::npos) << msg;
  EXPECT_NE(msg.find("CRC"), std::string::npos) << msg;
}

TEST(Npz, NotAZipAndMissingFile) {
  std::string msg = message_of<FormatError>([&] { data::parse_npz(std::string(100, 'x'), "x.npz"); });
  EXPECT_NE(msg.find("x.npz"), std::string::npos) << msg;
  EXPECT_THROW(data::load_npz("/nonexistent/a.npz"), IOError);
  // An .npy file is not an .npz archive.
  EXPECT_THROW(data::load_npz(std::string(EMBER_FIXTURE_DIR) + "/npy/f32_2x3.npy"), FormatError);
}
