// .npy files: Ember reads what numpy.save wrote (tests/fixtures/gen/npy_fixtures.py, values as numpy
// sees them) and numpy reads what Ember writes; malformed files give one FormatError each.
#include "ember/io/npy.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace ember;
using ember::testing::message_of;

namespace {

const std::string kDir = std::string(EMBER_FIXTURE_DIR) + "/npy/";

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace

TEST(Npy, ReadsEveryNumpyFixtureAsNumpySeesIt) {
  std::ifstream in(kDir + "expected.json");
  ASSERT_TRUE(in) << kDir;
  nlohmann::json expected = nlohmann::json::parse(in);
  ASSERT_GE(expected.size(), 16u);
  for (const auto& [name, want] : expected.items()) {
    SCOPED_TRACE(name);
    Tensor t = io::load_npy(kDir + name + ".npy");
    Shape shape;
    for (int64_t d : want["shape"]) shape.push_back(d);
    EXPECT_EQ(t.shape(), shape);
    std::vector<double> got = t.to(f64).to_vector<double>();
    std::vector<double> values = want["values"].get<std::vector<double>>();
    ASSERT_EQ(got.size(), values.size());
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], values[i]) << "element " << i;
  }
  // Widened dtypes, as documented.
  EXPECT_EQ(io::load_npy(kDir + "i8.npy").dtype(), i32);
  EXPECT_EQ(io::load_npy(kDir + "u32.npy").dtype(), i64);
  EXPECT_EQ(io::load_npy(kDir + "f16.npy").dtype(), f32);
  EXPECT_EQ(io::load_npy(kDir + "bool.npy").dtype(), boolean);
  EXPECT_EQ(io::load_npy(kDir + "u8_image.npy").dtype(), u8);
}

TEST(Npy, RefusesPicklesStructuredComplexAndUint64) {
  for (const char* name : {"bad_object", "bad_structured", "bad_complex", "bad_u64"}) {
    SCOPED_TRACE(name);
    std::string msg = message_of<FormatError>([&] { io::load_npy(kDir + name + ".npy"); });
    EXPECT_NE(msg.find("not supported"), std::string::npos) << msg;
    EXPECT_THROW(io::load_npy(kDir + name + ".npy"), FormatError);
  }
  EXPECT_NE(message_of<FormatError>([&] { io::load_npy(kDir + "bad_object.npy"); }).find("never runs code"), std::string::npos);
}

TEST(Npy, NumpyReadsWhatEmberWrites) {
  fs::path dir = fs::temp_directory_path() / ("ember_npy_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  Tensor a = arange(int64_t{12}, f32).reshape({3, 4}).div(8);
  Tensor b = arange(int64_t{5}, i64).sub(2);
  Tensor c = arange(int64_t{6}, f64).reshape({2, 3}).transpose(0, 1);  // not contiguous
  io::save_npy((dir / "a.npy").string(), a);
  io::save_npy((dir / "b.npy").string(), b);
  io::save_npy((dir / "c.npy").string(), c);
  // The same bytes back, and numpy agrees on dtype, shape and values.
  for (const auto& [name, t] : {std::pair{"a", a}, std::pair{"b", b}, std::pair{"c", c}}) {
    Tensor back = io::load_npy((dir / (std::string(name) + ".npy")).string());
    EXPECT_EQ(back.shape(), t.shape());
    EXPECT_EQ(back.to(f64).to_vector<double>(), t.to(f64).contiguous().to_vector<double>());
  }
  const std::string check = (dir / "check.py").string();
  {
    std::ofstream py(check);
    py << "import numpy as np, sys\n"
          "d = sys.argv[1]\n"
          "a, b, c = (np.load(d + '/' + n + '.npy', allow_pickle=False) for n in 'abc')\n"
          "assert a.dtype == np.float32 and a.shape == (3, 4) and (a == np.arange(12).reshape(3, 4) / 8).all(), a\n"
          "assert b.dtype == np.int64 and b.shape == (5,) and (b == np.arange(5) - 2).all(), b\n"
          "assert c.dtype == np.float64 and c.shape == (3, 2) and (c == np.arange(6.).reshape(2, 3).T).all(), c\n"
          "import io\n"
          "for n, arr in (('a', a), ('b', b)):\n"
          "    buf = io.BytesIO(); np.save(buf, arr)\n"
          "    assert open(d + '/' + n + '.npy', 'rb').read() == buf.getvalue(), n + ': not numpy.save bytes'\n"
          "print('numpy ok')\n";
  }
  const std::string cmd = "/usr/bin/python3 " + check + " " + dir.string();
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  fs::remove_all(dir);
}

TEST(Npy, MalformedBytesGiveFormatErrorsWithoutAllocating) {
  const std::string good = bytes_of(kDir + "f32_2x3.npy");
  ASSERT_GT(good.size(), 64u);
  EXPECT_THROW(io::parse_npy(""), FormatError);
  EXPECT_THROW(io::parse_npy("\x93NUMPX\x01\x00\x10\x00"), FormatError);
  // Every truncation of a good file fails cleanly.
  for (std::size_t n = 0; n < good.size(); ++n) EXPECT_THROW(io::parse_npy(good.substr(0, n)), FormatError) << n;
  // One byte too many.
  EXPECT_THROW(io::parse_npy(good + "x"), FormatError);
  // A header that declares a terabyte: refused by the size check, before any allocation.
  auto with_header = [](const std::string& dict) {
    std::string h = dict;
    while ((10 + h.size() + 1) % 64 != 0) h += ' ';
    h += '\n';
    std::string out("\x93NUMPY\x01\x00", 8);
    out += static_cast<char>(h.size() & 0xFF);
    out += static_cast<char>(h.size() >> 8);
    return out + h;
  };
  std::string huge = with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }");
  std::string msg = message_of<FormatError>([&] { io::parse_npy(huge, "huge.npy"); });
  EXPECT_NE(msg.find("huge.npy"), std::string::npos) << msg;
  EXPECT_NE(msg.find("needs"), std::string::npos) << msg;
  EXPECT_THROW(io::parse_npy(with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }")),
               FormatError);
  for (const char* dict : {"{'descr': '<f4', 'fortran_order': False}",                       // no shape
                           "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}",  // unknown key
                           "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': ()}",
                           "{'descr': '<f4', 'fortran_order': Maybe, 'shape': ()}",
                           "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}",
                           "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,)}",
                           "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1)}",
                           "{'descr': 'f4', 'fortran_order': False, 'shape': ()}",
                           "{'descr': '<f3', 'fortran_order': False, 'shape': ()}",
                           "{'descr': '<f4', 'fortran_order': False, 'shape': ()} trailing",
                           "['descr', '<f4']", "{'descr': '<f4\\n', 'fortran_order': False, 'shape': ()}"}) {
    SCOPED_TRACE(dict);
    EXPECT_THROW(io::parse_npy(with_header(dict) + std::string(4, '\0')), FormatError);
  }
  EXPECT_THROW(io::load_npy("/nonexistent/x.npy"), IOError);
}
