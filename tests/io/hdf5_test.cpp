// io::h5, the h5py way. Expected values come from h5py (tests/fixtures/gen/h5py_fixtures.py wrote
// tests/fixtures/h5/ and the JSON of what h5py reads there), from mathematics (np.arange(100) in
// the notes' example), and from h5py reading what Ember wrote (tests/io/h5py_check.py).
#include "ember/io/hdf5.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace ember;
namespace h5 = ember::io::h5;
using ember::testing::message_of;

namespace {

std::string fixture(const std::string& name) { return std::string(EMBER_FIXTURE_DIR) + "/h5/" + name; }

fs::path fresh_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("ember_h5_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

const nlohmann::json& expected() {
  static const nlohmann::json j = [] {
    std::ifstream in(fixture("h5py_data.json"));
    return nlohmann::json::parse(in);
  }();
  return j;
}

std::vector<std::string> dir_entries(const fs::path& d) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(d)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> visit_names(const h5::Group& g) {
  std::vector<std::string> names;
  g.visit([&](const std::string& n) { names.push_back(n); });
  return names;
}

}  // namespace

// ---- files written by h5py ----

TEST(Hdf5FromH5py, EveryDatasetReadsAsH5pyReadsIt) {
  h5::File f(fixture("h5py_data.h5"));
  int checked = 0;
  for (const auto& [name, want] : expected()["datasets"].items()) {
    SCOPED_TRACE(name);
    h5::Dataset d = f.dataset(name);
    EXPECT_EQ(d.name(), name);
    EXPECT_EQ(dtype_name(d.dtype()), want["dtype"].get<std::string>());
    EXPECT_EQ(d.type_name(), want["type_name"].get<std::string>());
    Shape shape;
    for (int64_t v : want["shape"]) shape.push_back(v);
    EXPECT_EQ(d.shape(), shape);
    Shape chunks, maxshape;
    for (int64_t v : want["chunks"]) chunks.push_back(v);
    for (int64_t v : want["maxshape"]) maxshape.push_back(v);
    EXPECT_EQ(d.chunks(), chunks);
    EXPECT_EQ(d.maxshape(), maxshape);
    EXPECT_EQ(d.compression(), want["compression"].get<std::string>());
    Tensor t = d.read();
    EXPECT_EQ(t.shape(), shape);
    EXPECT_EQ(t.dtype(), d.dtype());
    if (t.dtype() == boolean) {
      EXPECT_EQ(t.to_vector<bool>(), want["data"].get<std::vector<bool>>());
    } else if (is_integral(t.dtype())) {
      EXPECT_EQ(t.to_vector<int64_t>(), want["data"].get<std::vector<int64_t>>());
    } else {
      EXPECT_EQ(t.to_vector<double>(), want["data"].get<std::vector<double>>());  // exact: all values representable
    }
    ++checked;
  }
  EXPECT_EQ(checked, 17);  // 11 dtypes + chunked, resizable, scalar, empty, deep/data, b_second
}

TEST(Hdf5FromH5py, HyperslabOfTheFirstAxis) {
  h5::File f(fixture("h5py_data.h5"));
  h5::Dataset d = f.dataset("chunked");  // (arange(200).reshape(50, 4) - 100) / 8, gzip, chunks (10, 4)
  Tensor rows = d.read(13, 4);
  ASSERT_EQ(rows.shape(), (Shape{4, 4}));
  std::vector<double> want;
  for (int i = 13 * 4; i < 17 * 4; ++i) want.push_back((i - 100) / 8.0);
  EXPECT_EQ(rows.to_vector<double>(), want);
  EXPECT_EQ(d.read(50, 0).shape(), (Shape{0, 4}));
  EXPECT_NE(message_of<ValueError>([&] { d.read(48, 3); }).find("rows [48, 51) outside the dataset's 50 rows"), std::string::npos);
  EXPECT_THROW(d.read(-1, 1), ValueError);
  EXPECT_THROW(f.dataset("scalar").read(0, 1), ValueError);
}

TEST(Hdf5FromH5py, AttributesOfEveryKind) {
  h5::File f(fixture("h5py_data.h5"));
  int checked = 0;
  for (const auto& a : expected()["attributes"]) {
    std::string obj = a["object"], name = a["name"], kind = a["kind"];
    SCOPED_TRACE(obj + " @" + name);
    h5::Attributes attrs = f.get(obj).attrs();
    ASSERT_TRUE(attrs.contains(name));
    h5::AttrValue v = attrs.get(name);
    if (kind == "int") {
      EXPECT_EQ(std::get<int64_t>(v), a["value"].get<int64_t>());
      EXPECT_EQ(attrs.get_int(name), a["value"].get<int64_t>());
    } else if (kind == "double") {
      EXPECT_EQ(std::get<double>(v), a["value"].get<double>());
      EXPECT_EQ(attrs.get_double(name), a["value"].get<double>());
    } else if (kind == "string") {
      EXPECT_EQ(std::get<std::string>(v), a["value"].get<std::string>());
      EXPECT_EQ(attrs.get_string(name), a["value"].get<std::string>());
    } else if (kind == "ints") {
      EXPECT_EQ(std::get<std::vector<int64_t>>(v), a["value"].get<std::vector<int64_t>>());
    } else if (kind == "doubles") {
      EXPECT_EQ(std::get<std::vector<double>>(v), a["value"].get<std::vector<double>>());
      EXPECT_EQ(attrs.get_doubles(name), a["value"].get<std::vector<double>>());
    } else {
      ASSERT_EQ(kind, "strings");
      EXPECT_EQ(std::get<std::vector<std::string>>(v), a["value"].get<std::vector<std::string>>());
      EXPECT_EQ(attrs.get_strings(name), a["value"].get<std::vector<std::string>>());
    }
    ++checked;
  }
  EXPECT_EQ(checked, 39);  // 13 kinds on the file, a group and a dataset
  EXPECT_EQ(f.attrs().keys(), expected()["attr_keys"].get<std::vector<std::string>>());
  // Typed getters refuse other kinds, naming the attribute; the empty array reads as an empty list.
  EXPECT_NE(message_of<FormatError>([&] { f.attrs().get_int("str_vlen_utf8"); }).find("attribute 'str_vlen_utf8': expected an integer, found a string"),
            std::string::npos);
  EXPECT_THROW(f.attrs().get_string("ints"), FormatError);
  EXPECT_TRUE(f.attrs().get_strings("empty").empty());
  EXPECT_EQ(f.attrs().get_double("int"), 42.0);
  EXPECT_THROW(f.attrs().get("no_such"), IOError);
}

TEST(Hdf5FromH5py, KeysAndVisitInH5pysOrder) {
  h5::File f(fixture("h5py_data.h5"));
  for (const auto& [group, keys] : expected()["keys"].items()) {
    EXPECT_EQ(f.group(group).keys(), keys.get<std::vector<std::string>>()) << group;
  }
  EXPECT_EQ(visit_names(f), expected()["visit"].get<std::vector<std::string>>());
  EXPECT_EQ(visit_names(f.group("grp")), expected()["visit_grp"].get<std::vector<std::string>>());
  std::vector<std::string> datasets;
  f.visititems([&](const std::string& name, const h5::Object& o) {
    if (o.is_dataset()) datasets.push_back(o.name());
    EXPECT_EQ(o.name(), "/" + name);
  });
  EXPECT_EQ(datasets.size(), 19u);  // the 17 above and the two refused ones
  EXPECT_TRUE(f.contains("grp/sub/deep/data"));
  EXPECT_TRUE(f.contains("/grp/sub"));
  EXPECT_FALSE(f.contains("grp/sub/nope"));
  EXPECT_FALSE(f.contains("scalar/x"));  // a path through a dataset
  EXPECT_TRUE(f.group("grp").contains("sub/deep"));
}

TEST(Hdf5FromH5py, RefusedTypesAndWrongKindsAreFormatErrors) {
  h5::File f(fixture("h5py_data.h5"));
  std::string m = message_of<FormatError>([&] { f.dataset("refused/uint64").read(); });
  EXPECT_NE(m.find("h5py_data.h5"), std::string::npos) << m;
  EXPECT_NE(m.find("/refused/uint64"), std::string::npos) << m;
  EXPECT_NE(m.find("uint64"), std::string::npos) << m;
  m = message_of<FormatError>([&] { f.dataset("refused/strings").dtype(); });
  EXPECT_NE(m.find("unsupported element type (string)"), std::string::npos) << m;
  m = message_of<FormatError>([&] { f.dataset("grp"); });
  EXPECT_NE(m.find("object '/grp': expected a dataset, found a group"), std::string::npos) << m;
  EXPECT_THROW(f.group("scalar"), FormatError);
  m = message_of<IOError>([&] { f.get("grp/missing"); });
  EXPECT_NE(m.find("object '/grp/missing': no such object"), std::string::npos) << m;
}

// ---- the notes' example ----

TEST(Hdf5Notes, ArangeAtThreePathsReadBackAndListed) {
  fs::path dir = fresh_dir("notes");
  std::string path = (dir / "test.h5").string();
  Tensor x = arange(100);  // np.arange(100): int64
  {
    h5::File f(path, "w");
    f.create_dataset("test_numpy", x);
    h5::Group subgroup = f.create_group("subgroup");
    subgroup.create_dataset("test_numpy", x);
    h5::Group subsub = subgroup.create_group("subsub");
    subsub.create_dataset("test_numpy", x);
  }
  std::vector<int64_t> want(100);
  for (int i = 0; i < 100; ++i) want[static_cast<std::size_t>(i)] = i;
  // Ember's file and the file h5py wrote for the notes read the same.
  for (const std::string& p : {path, fixture("notes_test.h5")}) {
    SCOPED_TRACE(p);
    h5::File f(p, "r");
    EXPECT_EQ(visit_names(f), (std::vector<std::string>{"subgroup", "subgroup/subsub", "subgroup/subsub/test_numpy",
                                                        "subgroup/test_numpy", "test_numpy"}));
    EXPECT_EQ(f.group("subgroup").keys(), (std::vector<std::string>{"subsub", "test_numpy"}));
    for (const char* name : {"test_numpy", "subgroup/test_numpy", "subgroup/subsub/test_numpy"}) {
      h5::Dataset d = f.dataset(name);
      EXPECT_EQ(d.shape(), (Shape{100}));
      EXPECT_EQ(d.type_name(), "int64");
      EXPECT_EQ(d.read().to_vector<int64_t>(), want);
    }
    EXPECT_EQ(f.dataset("test_numpy").name(), "/test_numpy");
  }
}

// ---- files written by Ember ----

TEST(Hdf5Write, RoundTripOfEveryWritableDtypeAndOptions) {
  fs::path dir = fresh_dir("roundtrip");
  std::string path = (dir / "rt.h5").string();
  std::map<std::string, Tensor> data = {
      {"u8", from_vector(std::vector<uint8_t>{0, 7, 255}, {3})},
      {"i32", from_vector(std::vector<int32_t>{-5, 0, 2147483647, -2147483647 - 1}, {2, 2})},
      {"i64", from_vector(std::vector<int64_t>{-(int64_t{1} << 40), 1}, {2})},
      {"f32", from_vector(std::vector<float>{0.5f, -1.25f, 3e38f}, {3, 1})},
      {"f64", from_vector(std::vector<double>{1.0 / 3, -2e300}, {2}, f64)},
      {"b", from_vector(std::vector<double>{1, 0, 0, 1}, {2, 2}, boolean)},
      {"t", from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3}).t()},  // non-contiguous
      {"s", scalar_tensor(2.5, f64)},
  };
  {
    h5::File f(path, "w");
    for (const auto& [k, t] : data) f.create_dataset(k, t);
    f.create_dataset("gz", arange(0, 1000, 1, f32).reshape({100, 10}), {.compression = "gzip", .compression_opts = 9});
    f.create_dataset("ch", arange(0, 24, 1, f64).reshape({4, 6}), {.chunks = {2, 3}});
  }
  h5::File f(path, "r");
  for (const auto& [k, t] : data) {
    SCOPED_TRACE(k);
    Tensor r = f.dataset(k).read();
    EXPECT_EQ(r.dtype(), t.dtype());
    EXPECT_EQ(r.shape(), t.shape());
    EXPECT_EQ(r.to_vector<double>(), t.to_vector<double>());
  }
  EXPECT_EQ(f.dataset("b").type_name(), "bool");
  h5::Dataset gz = f.dataset("gz");
  EXPECT_EQ(gz.compression(), "gzip");
  EXPECT_FALSE(gz.chunks().empty());
  EXPECT_EQ(gz.read(99, 1).to_vector<double>()[9], 999.0);
  EXPECT_EQ(f.dataset("ch").chunks(), (Shape{2, 3}));
  EXPECT_EQ(f.dataset("ch").read(1, 2).to_vector<double>()[0], 6.0);
}

TEST(Hdf5Write, ResizeAlongAnUnlimitedAxisAndAppend) {
  fs::path dir = fresh_dir("resize");
  std::string path = (dir / "log.h5").string();
  {
    h5::File f(path, "w");
    h5::Dataset d = f.create_dataset("rows", Shape{0, 3}, f32, {.maxshape = {-1, 3}});
    EXPECT_EQ(d.maxshape(), (Shape{-1, 3}));
    for (int step = 0; step < 5; ++step) {
      d.resize({step + 1, 3});
      d.write(step, full({1, 3}, step, f32));
    }
    EXPECT_NE(message_of<ValueError>([&] { d.resize({6, 4}); }).find("exceeds maxshape [-1,3]"), std::string::npos);
    EXPECT_THROW(d.write(5, zeros({1, 3})), ValueError);  // past the end: resize first
    EXPECT_THROW(d.write(0, zeros({1, 4})), ShapeError);
    h5::Dataset fixed = f.create_dataset("fixed", zeros({2}));
    EXPECT_NE(message_of<ValueError>([&] { fixed.resize({3}); }).find("not resizable"), std::string::npos);
  }
  h5::File f(path, "a");
  h5::Dataset d = f.dataset("rows");
  EXPECT_EQ(d.shape(), (Shape{5, 3}));
  std::vector<double> col;
  for (double v : d.read().to_vector<double>()) col.push_back(v);
  EXPECT_EQ(col, (std::vector<double>{0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4}));
  d.resize({7, 3});  // new rows are the fill value, 0
  EXPECT_EQ(d.read(5, 2).to_vector<double>(), std::vector<double>(6, 0.0));
}

TEST(Hdf5Write, GroupsNestedPathsKeysContainsRemove) {
  fs::path dir = fresh_dir("groups");
  std::string path = (dir / "g.h5").string();
  h5::File f(path, "w");
  h5::Group c = f.create_group("a/b/c");  // intermediates created, like h5py
  EXPECT_EQ(c.name(), "/a/b/c");
  EXPECT_TRUE(f.contains("a/b"));
  EXPECT_NE(message_of<ValueError>([&] { f.create_group("a/b"); }).find("object '/a/b': cannot create group: name already exists"),
            std::string::npos);
  EXPECT_EQ(f.require_group("a/b").name(), "/a/b");
  EXPECT_EQ(f.require_group("z").name(), "/z");
  f.create_group("a/B");
  f.create_group("a/_");
  f.create_dataset("a/b/c/x", zeros({1}));
  // Name order is byte order, as h5py lists: uppercase before '_' before lowercase.
  EXPECT_EQ(f.group("a").keys(), (std::vector<std::string>{"B", "_", "b"}));
  EXPECT_EQ(visit_names(f), (std::vector<std::string>{"a", "a/B", "a/_", "a/b", "a/b/c", "a/b/c/x", "z"}));
  f.remove("a/b");
  EXPECT_FALSE(f.contains("a/b/c/x"));
  EXPECT_THROW(f.remove("a/b"), IOError);
  EXPECT_THROW(f.create_group(""), ValueError);
  EXPECT_THROW(f.require_dataset("z", {1}, f32), FormatError);
  h5::Dataset r = f.require_dataset("r", {2}, f32);
  EXPECT_EQ(f.require_dataset("r", {2}, f32).name(), r.name());
  EXPECT_THROW(f.require_dataset("r", {3}, f32), FormatError);
}

TEST(Hdf5Write, AttributesRoundTripAndReplace) {
  fs::path dir = fresh_dir("attrs");
  std::string path = (dir / "a.h5").string();
  {
    h5::File f(path, "w");
    h5::Dataset d = f.create_dataset("d", zeros({2}));
    for (h5::Attributes a : {f.attrs(), f.create_group("g").attrs(), d.attrs()}) {
      a.set("i", 7);
      a.set("i", -3);  // replaced
      a.set("x", 0.125);
      a.set("s", "ünïcode");
      a.set("fixed", "abc", {.variable_length = false, .charset = h5::CharSet::ascii});
      a.set("ints", std::vector<int64_t>{1, 2});
      a.set("xs", std::vector<double>{});
      a.set("names", std::vector<std::string>{"kernel:0", "bias:0"}, {.variable_length = false});
      a.set("tmp", 1);
      a.remove("tmp");
    }
    EXPECT_THROW(f.attrs().remove("tmp"), IOError);
  }
  h5::File f(path, "r");
  for (const char* obj : {"/", "/g", "/d"}) {
    h5::Attributes a = f.get(obj).attrs();
    EXPECT_EQ(a.keys(), (std::vector<std::string>{"fixed", "i", "ints", "names", "s", "x", "xs"}));
    EXPECT_EQ(a.get_int("i"), -3);
    EXPECT_EQ(a.get_double("x"), 0.125);
    EXPECT_EQ(a.get_string("s"), "ünïcode");
    EXPECT_EQ(a.get_string("fixed"), "abc");
    EXPECT_EQ(a.get_ints("ints"), (std::vector<int64_t>{1, 2}));
    EXPECT_TRUE(a.get_doubles("xs").empty());
    EXPECT_EQ(a.get_strings("names"), (std::vector<std::string>{"kernel:0", "bias:0"}));
  }
  EXPECT_THROW(f.attrs().set("new", 1), ValueError);  // read-only
}

TEST(Hdf5Write, H5pyReadsEmbersFile) {
  fs::path dir = fresh_dir("to_h5py");
  std::string path = (dir / "ember.h5").string();
  {
    h5::File f(path, "w");
    f.create_dataset("test_numpy", arange(100));
    h5::Group g = f.create_group("subgroup/subsub");
    g.create_dataset("test_numpy", arange(100));
    f.create_dataset("types/u8", from_vector(std::vector<uint8_t>{0, 128, 255}, {3}));
    f.create_dataset("types/i32", from_vector(std::vector<int32_t>{-2, 0, 2}, {3}));
    f.create_dataset("types/f32", arange(0, 6, 1, f32).div(4).reshape({2, 3}));
    f.create_dataset("types/f64", arange(0, 6, 1, f64).div(3).reshape({3, 2}));
    f.create_dataset("types/bool", from_vector(std::vector<double>{1, 0, 1}, {3}, boolean));
    f.create_dataset("types/scalar", scalar_tensor(-1.5, f64));
    h5::Dataset gz = f.create_dataset("gz", arange(0, 400, 1, f32).reshape({40, 10}),
                                      {.chunks = {8, 10}, .compression = "gzip", .compression_opts = 5});
    h5::Dataset grow = f.create_dataset("grow", Shape{2}, i64, {.maxshape = {-1}});
    grow.resize({4});
    grow.write(0, from_vector(std::vector<int64_t>{5, 6, 7, 8}, {4}));
    f.attrs().set("str", "ünïcode ok");
    f.attrs().set("ascii_fixed", "fixed", {.variable_length = false, .charset = h5::CharSet::ascii});
    f.attrs().set("int", 42);
    f.attrs().set("float", 0.5);
    f.attrs().set("names", std::vector<std::string>{"a", "bc"}, {.variable_length = false, .charset = h5::CharSet::ascii});
    f.attrs().set("vnames", std::vector<std::string>{"x", "ÿz"});
    f.attrs().set("ints", std::vector<int64_t>{3, -4});
    f.attrs().set("floats", std::vector<double>{0.25});
    f.attrs().set("empty", std::vector<double>{});
    gz.attrs().set("unit", "m/s");
  }
  std::string cmd = "/usr/bin/python3 " + ember::testing::source_dir() + "/tests/io/h5py_check.py '" + path + "' 2>&1";
  int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "h5py disagreed with Ember's file (output above)";
}

// ---- modes, atomic saves, handles ----

TEST(Hdf5Modes, EachModeOpensOrRefusesAsH5py) {
  fs::path dir = fresh_dir("modes");
  std::string path = (dir / "m.h5").string();
  EXPECT_THROW(h5::File(path, "r"), IOError);
  EXPECT_THROW(h5::File(path, "r+"), IOError);
  { h5::File f(path, "a"); f.create_dataset("x", ones({2})); }  // "a" creates
  EXPECT_NE(message_of<IOError>([&] { h5::File(path, "w-"); }).find("the file exists"), std::string::npos);
  { h5::File f(path, "r+"); f.create_dataset("y", ones({3})); }
  { h5::File f(path, "a"); EXPECT_EQ(f.keys(), (std::vector<std::string>{"x", "y"})); }
  { h5::File f(path, "w"); EXPECT_TRUE(f.keys().empty()); }  // "w" truncates
  EXPECT_TRUE(h5::File(path, "r").keys().empty());
  EXPECT_THROW(h5::File(path, "rw"), ValueError);
  h5::File r(path, "r");
  EXPECT_NE(message_of<ValueError>([&] { r.create_group("g"); }).find("read-only"), std::string::npos);
  // No temporary file is left behind by any of it.
  EXPECT_EQ(dir_entries(dir), (std::vector<std::string>{"m.h5"}));
}

TEST(Hdf5Modes, SavesAreAtomic) {
  fs::path dir = fresh_dir("atomic");
  std::string path = (dir / "a.h5").string();
  {
    h5::File f(path, "w");
    f.create_dataset("v", full({3}, 1.0));
    EXPECT_FALSE(fs::exists(path));  // nothing at the target until close()
    f.close();
    EXPECT_TRUE(fs::exists(path));
  }
  // A File abandoned by an exception leaves the target as it was ...
  try {
    h5::File f(path, "r+");
    f.dataset("v").write(full({3}, 2.0));
    throw std::runtime_error("crash in the middle of a save");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(h5::File(path).dataset("v").read().to_vector<double>(), std::vector<double>(3, 1.0));
  try {
    h5::File f(path, "w");
    f.create_dataset("other", zeros({1}));
    throw std::runtime_error("crash");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(h5::File(path).keys(), std::vector<std::string>{"v"});
  // ... and a normal close commits.
  { h5::File f(path, "r+"); f.dataset("v").write(full({3}, 2.0)); }
  EXPECT_EQ(h5::File(path).dataset("v").read().to_vector<double>(), std::vector<double>(3, 2.0));
  EXPECT_EQ(dir_entries(dir), (std::vector<std::string>{"a.h5"}));
}

TEST(Hdf5Modes, CloseInvalidatesEveryHandle) {
  fs::path dir = fresh_dir("close");
  std::string path = (dir / "c.h5").string();
  h5::File f(path, "w");
  h5::Group g = f.create_group("g");
  h5::Dataset d = g.create_dataset("d", ones({2}));
  h5::Attributes a = d.attrs();
  f.close();
  f.close();  // idempotent
  EXPECT_FALSE(f.is_open());
  EXPECT_NE(message_of<ValueError>([&] { d.read(); }).find("the file is closed"), std::string::npos);
  EXPECT_THROW(g.keys(), ValueError);
  EXPECT_THROW(a.keys(), ValueError);
  h5::File again(path);  // the handles did not keep the file open
  EXPECT_EQ(again.dataset("g/d").read().to_vector<double>(), (std::vector<double>{1, 1}));
}

TEST(Hdf5Modes, ExceptionsInVisitCallbacksPropagate) {
  h5::File f(fixture("h5py_data.h5"));
  int calls = 0;
  EXPECT_THROW(f.visit([&](const std::string&) {
    if (++calls == 3) throw ValueError("stop");
  }),
               ValueError);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(visit_names(f).size(), expected()["visit"].size());  // libhdf5 is still usable
}

TEST(Hdf5Modes, EveryObjectIsClosedOnSuccessAndOnError) {
  // Counted while the file is open: closing a file closes what is left in it, so only a count
  // taken before the close shows a leak.
  fs::path dir = fresh_dir("ids");
  ASSERT_EQ(h5::open_object_count(), 0u);
  {
    h5::File f(fixture("h5py_data.h5"));
    EXPECT_EQ(h5::open_object_count(), 2u);  // the file and its root group
    for (const auto& [name, want] : expected()["datasets"].items()) f.dataset(name).read();
    f.visititems([](const std::string&, const h5::Object& o) { o.attrs().keys(); });
    for (const auto& a : expected()["attributes"]) f.get(a["object"].get<std::string>()).attrs().get(a["name"].get<std::string>());
    EXPECT_THROW(f.dataset("refused/uint64").read(), FormatError);
    EXPECT_THROW(f.get("nope"), IOError);
    EXPECT_THROW(f.attrs().get_int("strs_vlen"), FormatError);
    EXPECT_THROW(f.attrs().get("nope"), IOError);
    EXPECT_THROW(f.dataset("chunked").read(49, 2), ValueError);
    h5::Dataset kept = f.dataset("scalar");
    EXPECT_EQ(h5::open_object_count(), 3u);
    h5::File w((dir / "w.h5").string(), "w");
    w.create_dataset("x", zeros({4, 2}), {.chunks = {2, 2}, .compression = "gzip", .maxshape = {-1, 2}}).resize({6, 2});
    w.attrs().set("s", std::vector<std::string>{"a", "b"}, {.variable_length = false});
    w.attrs().set("s", 1);
    EXPECT_THROW(w.create_dataset("x", zeros({1})), ValueError);
    EXPECT_THROW(w.create_dataset("y", zeros({1}), {.compression = "lzf"}), ValueError);
    EXPECT_THROW(w.dataset("x").resize({6, 3}), ValueError);
    EXPECT_EQ(h5::open_object_count(), 5u);
  }
  for (const char* bad : {"bad_truncated_half.h5", "bad_not_hdf5.h5", "bad_truncated_100.h5"}) {
    EXPECT_THROW(h5::File(fixture(bad)), FormatError);
  }
  EXPECT_THROW(h5::File(fixture("bad_corrupt_chunk.h5")).dataset("chunked").read(), FormatError);
  EXPECT_EQ(h5::open_object_count(), 0u);
}

// ---- bad files: one clean error each ----

TEST(Hdf5BadFiles, OneCleanErrorEach) {
  struct Case {
    std::string path;
    bool format;  // FormatError, else IOError
    std::string says;
  };
  fs::path dir = fresh_dir("bad");
  std::vector<Case> cases = {
      {fixture("bad_truncated_half.h5"), true, "damaged or truncated"},
      {fixture("bad_truncated_100.h5"), true, ""},
      {fixture("bad_not_hdf5.h5"), true, "not an HDF5 file"},
      {dir.string(), false, "it is a directory"},
      {(dir / "missing.h5").string(), false, "No such file"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.path);
    std::string m = c.format ? message_of<FormatError>([&] { h5::File(c.path, "r"); })
                             : message_of<IOError>([&] { h5::File(c.path, "r"); });
    EXPECT_NE(m.find(c.path), std::string::npos) << m;
    EXPECT_NE(m.find(c.says), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
  // Damaged compressed data: the file opens, the read of that dataset fails cleanly.
  h5::File f(fixture("bad_corrupt_chunk.h5"));
  std::string m = message_of<FormatError>([&] { f.dataset("chunked").read(); });
  EXPECT_NE(m.find("object '/chunked': cannot read the data"), std::string::npos) << m;
  EXPECT_EQ(f.dataset("dtypes/int8").read().numel(), 6);  // the rest of the file still reads
}

TEST(Hdf5BadFiles, HugeDeclaredSizesFailBeforeAllocating) {
  h5::File f(fixture("bad_huge.h5"));
  EXPECT_LT(fs::file_size(fixture("bad_huge.h5")), 65536u);
  std::string m = message_of<FormatError>([&] { f.dataset("chunked_huge").read(); });
  EXPECT_NE(m.find("object '/chunked_huge': declares 4398046511104 bytes but stores 0 compressed bytes"), std::string::npos) << m;
  m = message_of<FormatError>([&] { f.dataset("contiguous_huge").read(); });
  EXPECT_NE(m.find("object '/contiguous_huge': declares 1099511627776 bytes and stores none"), std::string::npos) << m;
  EXPECT_EQ(f.dataset("small").read().to_vector<double>(), (std::vector<double>{0, 1, 2}));
  EXPECT_EQ(f.dataset("chunked_huge").read(5, 2).numel(), 2);  // a few rows of fill values are fine
}

TEST(Hdf5BadFiles, UnwritableTargetsAreIOErrors) {
  fs::path dir = fresh_dir("unwritable");
  EXPECT_THROW(h5::File((dir / "no/such/dir/x.h5").string(), "w"), IOError);
  EXPECT_THROW(h5::File(dir.string(), "w"), IOError);
  if (::geteuid() != 0) {  // root ignores permissions
    std::string ro = (dir / "ro.h5").string();
    { h5::File f(ro, "w"); }
    ::chmod(ro.c_str(), 0444);
    EXPECT_THROW(h5::File(ro, "r+"), IOError);
  }
}
