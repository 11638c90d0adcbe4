#include <unistd.h>

#include <bit>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "ember/io/crc32c.hpp"
#include "ember/io/safetensors.hpp"
#include "test_support.hpp"

using namespace ember;
using ember::testing::message_of;

namespace {
std::string tmp(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("ember_st_" + std::to_string(::getpid()) + "_" + name)).string();
}
void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}
std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}
std::string le64(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[static_cast<std::size_t>(i)] = static_cast<char>(n >> (8 * i));
  return s;
}
std::string with_header(const std::string& json, const std::string& data) { return le64(json.size()) + json + data; }
std::string fixture(const std::string& name) { return std::string(EMBER_FIXTURE_DIR) + "/safetensors/" + name; }

// The FormatError message load_safetensors gives for these bytes; a test failure if it loads.
std::string load_error(const std::string& bytes) {
  static const std::string p = tmp("bad.safetensors");
  write_bytes(p, bytes);
  return message_of<FormatError>([&] { io::load_safetensors(p); });
}

io::TensorMap small_model() {
  io::TensorMap m;
  m["dense/kernel"] = from_vector(std::vector<float>{1.5f, -2, 3, 4, 5, 6}, {2, 3});
  m["dense/bias"] = from_vector(std::vector<double>{0.25, -0.5}, {2}, f64);
  m["step"] = from_vector(std::vector<int64_t>{42}, {});
  m["mask"] = from_vector(std::vector<double>{1, 0, 1}, {3}, boolean);
  m["ids"] = from_vector(std::vector<int32_t>{-7, 9}, {2});
  m["bytes"] = from_vector(std::vector<uint8_t>{0, 255}, {2});
  m["none"] = Tensor::empty({0, 4}, f32);
  return m;
}
}  // namespace

TEST(Safetensors, RoundTripsEveryDtypeAndMetadata) {
  io::TensorMap m = small_model();
  m["transposed"] = from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3}).t();  // non-contiguous
  std::string path = tmp("roundtrip.safetensors");
  io::save_safetensors(path, m, {{"epoch", "3"}, {"note", "\xc3\xa9t\xc3\xa9 \"q\"\n"}});
  io::SafetensorsFile f = io::load_safetensors(path);
  ASSERT_EQ(f.tensors.size(), m.size());
  EXPECT_TRUE(f.checksummed);
  EXPECT_EQ(f.metadata, (std::map<std::string, std::string>{{"epoch", "3"}, {"note", "\xc3\xa9t\xc3\xa9 \"q\"\n"}}));
  for (const auto& [k, t] : m) {
    ASSERT_TRUE(f.tensors.count(k)) << k;
    EXPECT_EQ(f.tensors[k].dtype(), t.dtype()) << k;
    EXPECT_EQ(f.tensors[k].shape(), t.shape()) << k;
    EXPECT_EQ(f.tensors[k].to_vector<double>(), t.to_vector<double>()) << k;
  }
  // A loaded file saves again to the same bytes (the checksum entry is not passed back in).
  std::string again = tmp("roundtrip2.safetensors");
  io::save_safetensors(again, f.tensors, f.metadata);
  EXPECT_EQ(read_bytes(again), read_bytes(path));
}

// The expected bytes come from tests/fixtures/gen/gen_safetensors.py, which lays the file out by the
// reference writer's rules with numpy/torch bytes and its own CRC-32C.
TEST(Safetensors, LayoutMatchesTheReferenceWriterByteForByte) {
  std::ifstream in(fixture("reference_layout.json"));
  nlohmann::json doc = nlohmann::json::parse(in);
  io::TensorMap m;
  const std::map<std::string, DType> dtypes = {{"F32", f32}, {"F64", f64}, {"I32", i32},
                                               {"I64", i64}, {"U8", u8},   {"BOOL", boolean}};
  for (const auto& t : doc["tensors"]) {
    Shape shape;
    for (const auto& d : t["shape"]) shape.push_back(d.get<int64_t>());
    m[t["name"].get<std::string>()] = from_vector(t["values"].get<std::vector<double>>(), shape, dtypes.at(t["dtype"]));
  }
  std::string path = tmp("layout.safetensors");
  io::save_safetensors(path, m, doc["metadata"].get<std::map<std::string, std::string>>());
  const std::string expected = read_bytes(fixture("reference_layout.safetensors"));
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(read_bytes(path), expected);
  // And the fixture loads, checksums verified.
  io::SafetensorsFile f = io::load_safetensors(fixture("reference_layout.safetensors"));
  EXPECT_TRUE(f.checksummed);
  EXPECT_EQ(f.tensors.size(), m.size());
  EXPECT_EQ(f.metadata.at("format"), "pt");
}

TEST(Safetensors, SameTensorsGiveSameBytes) {
  io::TensorMap a = small_model();
  io::TensorMap b;
  for (const auto& [k, t] : a) b[k] = t.clone();  // other storage, same values
  b["dense/kernel"] = from_vector(std::vector<float>{1.5f, 4, -2, 5, 3, 6}, {3, 2}).t();  // same values, strided
  io::save_safetensors(tmp("same1.safetensors"), a, {{"x", "1"}});
  io::save_safetensors(tmp("same2.safetensors"), b, {{"x", "1"}});
  EXPECT_EQ(read_bytes(tmp("same1.safetensors")), read_bytes(tmp("same2.safetensors")));
  // The header length is a multiple of 8 and the header ends in padding spaces, not other bytes.
  const std::string bytes = read_bytes(tmp("same1.safetensors"));
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
  EXPECT_EQ(n % 8, 0u);
  EXPECT_EQ(bytes.substr(8, 17), "{\"__metadata__\":{");
}

// Values written by numpy/torch in gen_safetensors.py, expected values converted by torch.
TEST(Safetensors, ReadsHalfBfloatAndNarrowIntegersFromOtherWriters) {
  std::ifstream in(fixture("dtypes.json"));
  nlohmann::json want = nlohmann::json::parse(in);
  io::SafetensorsFile f = io::load_safetensors(fixture("dtypes.safetensors"));
  EXPECT_FALSE(f.checksummed);
  ASSERT_EQ(f.tensors.size(), want.size());
  for (const auto& [name, w] : want.items()) {
    const Tensor& t = f.tensors.at(name);
    Shape shape;
    for (const auto& d : w["shape"]) shape.push_back(d.get<int64_t>());
    EXPECT_EQ(t.shape(), shape) << name;
    if (w.contains("f32_bits")) {
      ASSERT_EQ(t.dtype(), f32) << name;
      std::vector<float> got = t.to_vector<float>();
      std::vector<uint32_t> bits = w["f32_bits"].get<std::vector<uint32_t>>();
      ASSERT_EQ(got.size(), bits.size());
      for (std::size_t i = 0; i < got.size(); ++i) {
        const float e = std::bit_cast<float>(bits[i]);
        if (std::isnan(e)) {
          EXPECT_TRUE(std::isnan(got[i])) << name << "[" << i << "]";
        } else {
          EXPECT_EQ(std::bit_cast<uint32_t>(got[i]), bits[i]) << name << "[" << i << "] = " << got[i] << ", want " << e;
        }
      }
    } else {
      EXPECT_EQ(t.to_vector<int64_t>(), w["values"].get<std::vector<int64_t>>()) << name;
    }
  }
  EXPECT_EQ(f.tensors.at("u32").dtype(), i64);
  EXPECT_EQ(f.tensors.at("i8").dtype(), i32);
  EXPECT_EQ(f.tensors.at("flags").dtype(), boolean);
}

// Every class of bad file gives one FormatError that names the path and what is wrong.
TEST(Safetensors, EachMalformedFileClassIsOneCleanError) {
  auto expect_error = [](const std::string& bytes, const std::string& needle) {
    const std::string msg = load_error(bytes);
    EXPECT_NE(msg.find("bad.safetensors"), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << "want '" << needle << "' in: " << msg;
  };
  const std::string f8 = std::string(8, '\0');
  const std::string w = R"("w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  expect_error("abc", "too short");
  expect_error(le64(100'000'001) + "{}", "limit");
  expect_error(le64(UINT64_MAX) + "{}", "limit");
  expect_error(le64(64) + "{}", "exceeds");
  expect_error(with_header(" {}", ""), "begin with '{'");
  expect_error(with_header("[]", ""), "begin with '{'");
  expect_error(with_header("", ""), "begin with '{'");
  expect_error(with_header("{\"w\xff\":1}", ""), "UTF-8");
  expect_error(with_header("{\"a\":\xed\xa0\x80}", ""), "UTF-8");  // an encoded surrogate
  expect_error(with_header("{\"a\":", ""), "bad header JSON");
  expect_error(with_header(std::string("{}  \0   ", 8), ""), "NUL byte at offset 12");
  expect_error(with_header("{}x", ""), "bad header JSON");
  expect_error(with_header(R"({"__metadata__":[1]})", ""), "__metadata__ is not an object");
  expect_error(with_header(R"({"__metadata__":{"epoch":3}})", ""), "metadata 'epoch' is not a string");
  expect_error(with_header("{" + w + "," + w + "}", f8), "'w' twice");
  expect_error(with_header(R"({"__metadata__":{"a":"1","a":"2"}})", ""), "'a' twice");
  expect_error(with_header(R"({"w":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}})", f8), "'dtype' twice");
  expect_error(with_header(R"({"w":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}})", std::string(1, '\0')), "unknown dtype 'Q4'");
  expect_error(with_header(R"({"w":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})", std::string(1, '\0')), "cannot hold");
  expect_error(with_header(R"({"w":{"dtype":"F32","shape":[1]}})", std::string(4, '\0')), "'w' has no field 'data_offsets'");
  expect_error(with_header(R"({"w":{"dtype":"F32","shape":2,"data_offsets":[0,8]}})", f8), "'w' has a shape that is not an array");
  expect_error(with_header(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", f8), "'w' has a shape entry");
  expect_error(with_header(R"({"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", f8), "'w' has a shape entry");
  expect_error(with_header(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", f8), "'w' has data_offsets");
  expect_error(with_header(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,-8]}})", f8), "'w' has data_offsets");
  expect_error(with_header(R"({"w":[1]})", f8), "'w' is not an object");
  expect_error(with_header(R"({"w":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,4]}})", std::string(4, '\0')),
               "9 dimensions");
  // Element count × size overflows 64 bits.
  expect_error(with_header(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", f8), "overflows");
  expect_error(with_header(R"({"w":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,8]}})", f8), "overflows");
  expect_error(with_header(R"({"w":{"dtype":"F32","shape":[18446744073709551615,0],"data_offsets":[0,0]}})", ""), "too large");
  // Byte count against shape; gaps; overlaps; a start past the data; data after the last tensor.
  expect_error(with_header(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", f8), "need 12");
  expect_error(with_header(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", std::string(12, '\0')),
               "previous tensor ends at 0");
  expect_error(with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                           std::string(12, '\0')),
               "tensor 'b' has data_offsets [4, 12)");
  expect_error(with_header(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", f8), "'w'");
  expect_error(with_header("{" + w + "}", std::string(9, '\0')), "1 bytes after the last tensor");
  expect_error(with_header("{}", "x"), "1 bytes after the last tensor");
  // Offsets past the end of the data: a 1 TiB tensor declared in a tiny file fails before any
  // allocation (an allocation would be a MemoryError, not this FormatError).
  expect_error(with_header(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})", f8), "need 16 data bytes but the file holds 8");
  expect_error(with_header(R"({"w":{"dtype":"U8","shape":[1099511627776],"data_offsets":[0,1099511627776]}})", f8),
               "need 1099511627776 data bytes");
  // A deeply nested header is refused without recursion.
  expect_error(with_header("{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}", ""), "deeper");
  EXPECT_THROW(io::load_safetensors("/nonexistent/x.safetensors"), IOError);
  EXPECT_THROW(io::load_safetensors(std::filesystem::temp_directory_path().string()), IOError);
}

TEST(Safetensors, ReadsFilesWithoutEmberChecksumsAndNullMetadata) {
  const std::string p = tmp("plain.safetensors");
  write_bytes(p, with_header(R"({"__metadata__":null,"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]},"a":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}})",
                             std::string("\x05\x00\x00\x00\x07\x08", 6)));
  io::SafetensorsFile f = io::load_safetensors(p);
  EXPECT_FALSE(f.checksummed);
  EXPECT_TRUE(f.metadata.empty());
  EXPECT_EQ(f.tensors.at("a").to_vector<int64_t>(), (std::vector<int64_t>{5}));
  EXPECT_EQ(f.tensors.at("b").to_vector<int64_t>(), (std::vector<int64_t>{7, 8}));
}

TEST(Safetensors, ChecksumEntryProblemsAreErrors) {
  const std::string w = R"("w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]})";
  auto file = [&](const std::string& crc_value) {
    return with_header("{\"__metadata__\":{\"ember.crc32c\":" + nlohmann::json(crc_value).dump() + "}," + w + "}", "A");
  };
  // The correct checksums, computed by the documented rule with io::crc32c.
  std::string tensor_bytes = "A" + std::string("U8") + le64(1) + le64(1);
  char good[80];
  std::snprintf(good, sizeof good, "{\"__metadata__\":\"%08x\",\"w\":\"%08x\"}", io::crc32c("", 0), io::crc32c(tensor_bytes));
  const std::string p = tmp("crc.safetensors");
  write_bytes(p, file(good));
  EXPECT_TRUE(io::load_safetensors(p).checksummed);
  EXPECT_NE(load_error(file("{\"__metadata__\":\"00000000\",\"w\":\"00000000\"}")).find("tensor 'w' (data at offset"), std::string::npos);
  EXPECT_NE(load_error(file("{\"__metadata__\":\"00000001\"}")).find("checksums for 1 tensors"), std::string::npos);
  EXPECT_NE(load_error(file("{\"__metadata__\":\"00000000\",\"v\":\"00000000\"}")).find("no checksum for tensor 'w'"), std::string::npos);
  EXPECT_NE(load_error(file("{\"__metadata__\":\"00000000\",\"w\":\"0000000G\"}")).find("8 lowercase hex"), std::string::npos);
  EXPECT_NE(load_error(file("not json")).find("is not JSON"), std::string::npos);
  // A corrupted key does not hide the entry: the value still identifies it.
  std::string renamed = with_header("{\"__metadata__\":{\"ember.crc32b\":" + nlohmann::json(std::string(good)).dump() + "}," + w + "}", "A");
  EXPECT_NE(load_error(renamed).find("belong under 'ember.crc32c'"), std::string::npos);
}

TEST(Safetensors, BadSavesAreValueErrorsAndLeaveNoFile) {
  const std::string p = tmp("refused.safetensors");
  std::filesystem::remove(p);
  io::TensorMap m = small_model();
  EXPECT_THROW(io::save_safetensors(p, m, {{"ember.crc32c", "x"}}), ValueError);
  m["__metadata__"] = from_vector(std::vector<float>{1}, {1});
  EXPECT_THROW(io::save_safetensors(p, m), ValueError);
  io::TensorMap bad_name;
  bad_name["w\xff"] = from_vector(std::vector<float>{1}, {1});
  EXPECT_THROW(io::save_safetensors(p, bad_name), ValueError);
  EXPECT_THROW(io::save_safetensors(p, small_model(), {{"k", "\xc3"}}), ValueError);
  EXPECT_FALSE(std::filesystem::exists(p));
}

// Integrity: every single-bit flip anywhere in an Ember-written file — length prefix, header JSON,
// the checksum entry, the padding spaces and every data bit — is detected as a FormatError.
// Padding could in principle be harmless, but no one-bit change of a space (0x20) is JSON whitespace
// (0x09, 0x0A, 0x0D are two or more bits away), so a flipped padding byte is a JSON error too (0x00
// included: the reader refuses a raw NUL, which nlohmann alone would take for the end of input).
TEST(Safetensors, EveryBitFlipAnywhereInTheFileIsDetected) {
  io::TensorMap m = small_model();
  const std::string path = tmp("flip_src.safetensors");
  io::save_safetensors(path, m, {{"epoch", "7"}});
  const std::string good = read_bytes(path);
  ASSERT_GT(good.size(), 400u);
  const std::string flipped_path = tmp("flip.safetensors");
  std::size_t detected = 0, total = 0;
  std::vector<std::string> missed;
  for (std::size_t byte = 0; byte < good.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string b = good;
      b[byte] = static_cast<char>(b[byte] ^ (1 << bit));
      write_bytes(flipped_path, b);
      ++total;
      try {
        io::load_safetensors(flipped_path);
        if (missed.size() < 10) missed.push_back(std::to_string(byte) + ":" + std::to_string(bit));
      } catch (const FormatError&) {
        ++detected;
      }
    }
  }
  EXPECT_EQ(detected, total) << "undetected flips (byte:bit), first ones: " << ::testing::PrintToString(missed);
  EXPECT_EQ(total, good.size() * 8);
}
