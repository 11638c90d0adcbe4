#include <filesystem>
#include <fstream>

#include "ember/io/safetensors.hpp"
#include "test_support.hpp"

using namespace ember;

namespace {
std::string tmp(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("ember_st_" + std::to_string(::getpid()) + "_" + name)).string();
}
void write_bytes(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }
std::string with_header(const std::string& json, const std::string& data) {
  std::string s(8, '\0');
  uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) s[static_cast<std::size_t>(i)] = static_cast<char>(n >> (8 * i));
  return s + json + data;
}
}  // namespace

TEST(Safetensors, RoundTripsEveryDtypeAndMetadata) {
  io::TensorMap m;
  m["dense/kernel"] = from_vector(std::vector<float>{1.5f, -2, 3, 4, 5, 6}, {2, 3});
  m["dense/bias"] = from_vector(std::vector<double>{0.25, -0.5}, {2}, f64);
  m["step"] = from_vector(std::vector<int64_t>{42}, {});
  m["mask"] = from_vector(std::vector<double>{1, 0, 1}, {3}, boolean);
  m["ids"] = from_vector(std::vector<int32_t>{-7, 9}, {2});
  m["bytes"] = from_vector(std::vector<uint8_t>{0, 255}, {2});
  m["transposed"] = from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3}).t();  // non-contiguous
  std::string path = tmp("roundtrip.safetensors");
  io::save_safetensors(path, m, {{"epoch", "3"}});
  io::SafetensorsFile f = io::load_safetensors(path);
  ASSERT_EQ(f.tensors.size(), m.size());
  EXPECT_EQ(f.metadata.at("epoch"), "3");
  for (const auto& [k, t] : m) {
    ASSERT_TRUE(f.tensors.count(k)) << k;
    EXPECT_EQ(f.tensors[k].dtype(), t.dtype()) << k;
    EXPECT_EQ(f.tensors[k].shape(), t.shape()) << k;
    EXPECT_EQ(f.tensors[k].to_vector<double>(), t.to_vector<double>()) << k;
  }
  // The header is 8-byte aligned JSON with data_offsets, as the format specifies.
  std::ifstream in(path, std::ios::binary);
  unsigned char le[8];
  in.read(reinterpret_cast<char*>(le), 8);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | le[i];
  EXPECT_EQ(n % 8, 0u);
}

TEST(Safetensors, MalformedFilesAreFormatErrors) {
  EXPECT_THROW(io::load_safetensors("/nonexistent/x.safetensors"), IOError);
  std::string p = tmp("bad.safetensors");
  write_bytes(p, "abc");
  EXPECT_THROW(io::load_safetensors(p), FormatError);
  write_bytes(p, with_header("{\"a\":", ""));  // truncated JSON
  EXPECT_THROW(io::load_safetensors(p), FormatError);
  std::string huge(8, '\xff');
  write_bytes(p, huge + "{}");  // header length beyond the file
  EXPECT_THROW(io::load_safetensors(p), FormatError);
  // Offsets past the end of the data.
  write_bytes(p, with_header(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})", std::string(8, '\0')));
  try {
    io::load_safetensors(p);
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("'w'"), std::string::npos) << e.what();
  }
  // Shape and byte count disagree; overlapping tensors; unknown dtype; missing field.
  write_bytes(p, with_header(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::string(8, '\0')));
  EXPECT_THROW(io::load_safetensors(p), FormatError);
  write_bytes(p, with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", std::string(12, '\0')));
  EXPECT_THROW(io::load_safetensors(p), FormatError);
  write_bytes(p, with_header(R"({"w":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}})", std::string(1, '\0')));
  EXPECT_THROW(io::load_safetensors(p), FormatError);
  write_bytes(p, with_header(R"({"w":{"dtype":"F32","shape":[1]}})", std::string(4, '\0')));
  EXPECT_THROW(io::load_safetensors(p), FormatError);
}
