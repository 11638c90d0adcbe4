#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "test_support.hpp"

using namespace ember;

namespace {

std::string temp_dir() {
  auto dir = std::filesystem::temp_directory_path() / ("ember_idx_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir.string();
}

std::vector<unsigned char> idx_bytes(unsigned char type, const std::vector<uint32_t>& dims,
                                     const std::vector<unsigned char>& payload) {
  std::vector<unsigned char> b = {0, 0, type, static_cast<unsigned char>(dims.size())};
  for (uint32_t d : dims) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<unsigned char>(d >> s));
  }
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

void write_plain(const std::string& path, const std::vector<unsigned char>& b) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

void write_gz(const std::string& path, const std::vector<unsigned char>& b) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, b.data(), static_cast<unsigned>(b.size()));
  gzclose(f);
}

}  // namespace

TEST(Idx, ReadsUnsignedBytesPlainAndGzipped) {
  std::string dir = temp_dir();
  auto bytes = idx_bytes(0x08, {2, 3}, {1, 2, 3, 4, 5, 255});
  write_plain(dir + "/a.idx", bytes);
  write_gz(dir + "/a.idx.gz", bytes);
  for (const char* name : {"/a.idx", "/a.idx.gz"}) {
    Tensor t = data::read_idx(dir + name);
    EXPECT_EQ(t.dtype(), u8);
    EXPECT_EQ(t.shape(), (Shape{2, 3}));
    EXPECT_EQ(t.at<int64_t>({1, 2}), 255);
    EXPECT_EQ(t.at<int64_t>({0, 1}), 2);
  }
}

TEST(Idx, ReadsBigEndianIntsAndFloats) {
  std::string dir = temp_dir();
  // int32 -2 and 258; float32 1.5 = 0x3FC00000
  write_plain(dir + "/i.idx", idx_bytes(0x0C, {2}, {0xFF, 0xFF, 0xFF, 0xFE, 0, 0, 1, 2}));
  Tensor i = data::read_idx(dir + "/i.idx");
  EXPECT_EQ(i.to_vector<int64_t>(), (std::vector<int64_t>{-2, 258}));
  write_plain(dir + "/f.idx", idx_bytes(0x0D, {1}, {0x3F, 0xC0, 0, 0}));
  EXPECT_EQ(data::read_idx(dir + "/f.idx").item<float>(), 1.5f);
}

// Whole one-member gzip files take libdeflate's one-call path; anything unusual falls back to zlib's
// streaming reader. Both must give the same tensors and the same errors.
TEST(Idx, GzipPathsAgreeWithPlainFiles) {
  std::string dir = temp_dir();
  std::vector<unsigned char> payload;
  for (int i = 0; i < 4 * 600; ++i) payload.push_back(static_cast<unsigned char>((i * 37) % 251));
  for (unsigned char type : {0x08, 0x0C, 0x0D}) {
    const uint32_t n = type == 0x08 ? 2400 : 600;
    auto bytes = idx_bytes(type, {n / 20, 20}, payload);
    write_plain(dir + "/p.idx", bytes);
    write_gz(dir + "/p.idx.gz", bytes);
    // Two gzip members (as `cat a.gz b.gz` makes): valid gzip, read by the streaming path.
    std::size_t half = bytes.size() / 2;
    write_gz(dir + "/m1.gz", {bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(half)});
    write_gz(dir + "/m2.gz", {bytes.begin() + static_cast<std::ptrdiff_t>(half), bytes.end()});
    {
      std::ofstream out(dir + "/multi.idx.gz", std::ios::binary);
      for (const char* part : {"/m1.gz", "/m2.gz"}) out << std::ifstream(dir + part, std::ios::binary).rdbuf();
    }
    Tensor plain = data::read_idx(dir + "/p.idx");
    for (const char* name : {"/p.idx.gz", "/multi.idx.gz"}) {
      Tensor t = data::read_idx(dir + name);
      EXPECT_EQ(t.dtype(), plain.dtype()) << name;
      EXPECT_EQ(t.shape(), plain.shape()) << name;
      Tensor c = t.contiguous();  // bitwise: the float payload holds NaNs
      ASSERT_EQ(c.numel(), plain.numel());
      EXPECT_EQ(std::memcmp(c.raw_data(), plain.raw_data(), static_cast<std::size_t>(c.numel()) * itemsize(c.dtype())), 0)
          << name;
    }
  }
  // One byte too many or too few inside a well-formed gzip: the same size error as a plain file.
  auto long_bytes = idx_bytes(0x08, {2, 3}, {1, 2, 3, 4, 5, 6, 7});
  write_gz(dir + "/long.idx.gz", long_bytes);
  EXPECT_THROW(data::read_idx(dir + "/long.idx.gz"), FormatError);
  auto short_bytes = idx_bytes(0x08, {2, 3}, {1, 2, 3, 4, 5});
  write_gz(dir + "/short.idx.gz", short_bytes);
  EXPECT_THROW(data::read_idx(dir + "/short.idx.gz"), FormatError);
}

TEST(Idx, MalformedFilesGiveFormatErrors) {
  std::string dir = temp_dir();
  write_plain(dir + "/short.idx", {0, 0});
  EXPECT_THROW(data::read_idx(dir + "/short.idx"), FormatError);
  write_plain(dir + "/magic.idx", {1, 0, 8, 1, 0, 0, 0, 1, 7});
  EXPECT_THROW(data::read_idx(dir + "/magic.idx"), FormatError);
  write_plain(dir + "/type.idx", idx_bytes(0x42, {1}, {0}));
  EXPECT_THROW(data::read_idx(dir + "/type.idx"), FormatError);
  // Header promises 1000 x 1000 bytes, the file has 3: no read past the end.
  write_plain(dir + "/trunc.idx", idx_bytes(0x08, {1000, 1000}, {1, 2, 3}));
  try {
    data::read_idx(dir + "/trunc.idx");
    FAIL() << "expected FormatError";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("[1000,1000]"), std::string::npos) << e.what();
  }
  // More data than the header's shape holds: refused too, with both sizes.
  write_plain(dir + "/long.idx", idx_bytes(0x08, {2, 2}, {1, 2, 3, 4, 5, 6}));
  try {
    data::read_idx(dir + "/long.idx");
    FAIL() << "expected FormatError";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("needs 4 data bytes but the file has 6"), std::string::npos) << e.what();
  }
  // A truncated multi-byte file.
  write_plain(dir + "/trunc16.idx", idx_bytes(0x0B, {3}, {0, 1, 0}));
  EXPECT_THROW(data::read_idx(dir + "/trunc16.idx"), FormatError);
  // Huge dimensions whose product overflows 64 bits.
  write_plain(dir + "/huge.idx", idx_bytes(0x08, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, {1}));
  EXPECT_THROW(data::read_idx(dir + "/huge.idx"), FormatError);
  write_plain(dir + "/rank.idx", idx_bytes(0x08, {}, {}));
  EXPECT_THROW(data::read_idx(dir + "/rank.idx"), FormatError);
  // Corrupt gzip stream.
  write_plain(dir + "/bad.gz", {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4, 5});
  EXPECT_THROW(data::read_idx(dir + "/bad.gz"), FormatError);
}

// Declared sizes are checked against the bytes the file can hold before anything is allocated: a
// tiny file declaring a 1 TiB tensor is a FormatError (an allocation attempt would be a MemoryError
// or an abort), plain or gzipped; dimension products that overflow 64 bits (and 128: five 2^31
// dimensions are 2^155) are refused.
TEST(Idx, DeclaredSizesAreCheckedBeforeAllocating) {
  std::string dir = temp_dir();
  auto tib = idx_bytes(0x08, {65536, 65536, 256}, {7});
  write_plain(dir + "/tib.idx", tib);
  write_gz(dir + "/tib.idx.gz", tib);
  EXPECT_NE(ember::testing::message_of<FormatError>([&] { data::read_idx(dir + "/tib.idx"); })
                .find("needs 1099511627776 data bytes but the file has 1"),
            std::string::npos);
  EXPECT_NE(ember::testing::message_of<FormatError>([&] { data::read_idx(dir + "/tib.idx.gz"); })
                .find("more than a gzip file"),
            std::string::npos);
  for (const char* name : {"/wrap.idx", "/wrap.idx.gz"}) {
    auto wrap = idx_bytes(0x0D, {1u << 31, 1u << 31, 1u << 31, 1u << 31, 1u << 31}, {});
    std::string p = dir + name;
    if (std::string(name).ends_with(".gz")) {
      write_gz(p, wrap);
    } else {
      write_plain(p, wrap);
    }
    EXPECT_NE(ember::testing::message_of<FormatError>([&] { data::read_idx(p); }).find("overflows 64 bits"), std::string::npos) << name;
  }
  write_plain(dir + "/type42.idx", idx_bytes(0x42, {1}, {0}));
  EXPECT_NE(ember::testing::message_of<FormatError>([&] { data::read_idx(dir + "/type42.idx"); }).find("type 0x42 at offset 2"),
            std::string::npos);
}

// Replays the committed libFuzzer corpora of the IDX reader (fuzz/corpus/idx/ as they are,
// fuzz/corpus/idx_gz/ gzip-compressed as that target does), so fixed findings stay fixed without
// clang: each file loads or throws an ember::Error.
TEST(Idx, FuzzCorpusLoadsOrIsAnEmberError) {
  const std::string root = ember::testing::source_dir() + "/fuzz/corpus/";
  const std::string gz = temp_dir() + "/replay.idx.gz";
  int files = 0, loaded = 0;
  for (const char* corpus : {"idx", "idx_gz"}) {
    for (const auto& entry : std::filesystem::directory_iterator(root + corpus)) {
      std::string path = entry.path().string();
      if (std::string(corpus) == "idx_gz") {
        std::ifstream in(path, std::ios::binary);
        std::vector<unsigned char> b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        write_gz(gz, b);
        path = gz;
      }
      ++files;
      try {
        (void)data::read_idx(path).to_vector<double>();
        ++loaded;
      } catch (const Error&) {
      }
    }
  }
  EXPECT_GE(files, 20);
  EXPECT_GE(loaded, 20);  // the seeds are valid files
}

TEST(Idx, MissingFilesGiveIOErrors) {
  EXPECT_THROW(data::read_idx("/nonexistent/file.idx"), IOError);
  EXPECT_THROW(data::load_idx_dir("/nonexistent/dir"), IOError);
  std::string dir = temp_dir() + "/empty";
  std::filesystem::create_directories(dir);
  try {
    data::load_idx_dir(dir);
    FAIL() << "expected IOError";
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find("train-images-idx3-ubyte"), std::string::npos) << e.what();
  }
}

// The real data set from Debian's dataset-fashion-mnist package (installed by scripts/setup.sh).
TEST(FashionMnist, LoadsDebianPackage) {
  data::TrainTestData ds = data::load_fashion_mnist();
  EXPECT_EQ(ds.train.images.shape(), (Shape{60000, 28, 28}));
  EXPECT_EQ(ds.train.labels.shape(), (Shape{60000}));
  EXPECT_EQ(ds.test.images.shape(), (Shape{10000, 28, 28}));
  EXPECT_EQ(ds.test.labels.shape(), (Shape{10000}));
  // Fashion-MNIST is balanced: 6000 training and 1000 test images per class.
  std::vector<int64_t> counts(10, 0);
  for (int64_t l : ds.test.labels.to_vector<int64_t>()) {
    ASSERT_GE(l, 0);
    ASSERT_LT(l, 10);
    ++counts[static_cast<std::size_t>(l)];
  }
  for (int64_t c : counts) EXPECT_EQ(c, 1000);
}

// Pixels to floats in [0, 1]: the lookup-table path equals the plain ops (to(f32) / 255) bit for bit,
// for every byte value, and the plain ops serve non-contiguous input.
TEST(Images, ToFloatEqualsCastAndDivide) {
  Tensor bytes = arange(256, u8).reshape({4, 8, 8});
  Tensor fast = data::images_to_float(bytes);
  Tensor plain = unsqueeze(bytes.to(f32) / 255.0, 3);
  ASSERT_EQ(fast.shape(), (Shape{4, 8, 8, 1}));
  EXPECT_EQ(fast.to_vector<float>(), plain.to_vector<float>());
  Tensor strided = bytes.transpose(1, 2);
  EXPECT_EQ(data::images_to_float(strided).to_vector<float>(), unsqueeze(strided.to(f32) / 255.0, 3).to_vector<float>());
}

namespace {
// The four files of an IDX data set (gzipped), `n` images of 2×2 filled with `fill`, labels 0..n-1.
// Images [n, side, side] all `fill`, labels 0..n-1, for both splits, gzipped.
void write_idx_set(const std::string& dir, uint32_t n, unsigned char fill, uint32_t side) {
  std::filesystem::create_directories(dir);
  for (const char* split : {"train", "t10k"}) {
    write_gz(dir + "/" + split + "-images-idx3-ubyte.gz", idx_bytes(0x08, {n, side, side}, std::vector<unsigned char>(std::size_t{n} * side * side, fill)));
    std::vector<unsigned char> labels(n);
    for (uint32_t i = 0; i < n; ++i) labels[i] = static_cast<unsigned char>(i);
    write_gz(dir + "/" + split + "-labels-idx1-ubyte.gz", idx_bytes(0x08, {n}, labels));
  }
}
std::vector<std::filesystem::path> cache_entries(const std::string& cache) {
  std::vector<std::filesystem::path> entries;
  if (std::filesystem::is_directory(cache + "/idx")) {
    for (const auto& e : std::filesystem::directory_iterator(cache + "/idx")) entries.push_back(e.path());
  }
  return entries;
}
bool all_equal(const Tensor& t, int64_t value) {
  const std::vector<int64_t> v = t.to_vector<int64_t>();
  return !v.empty() && std::all_of(v.begin(), v.end(), [value](int64_t x) { return x == value; });
}
}  // namespace

// load_idx_dir keeps an inflated, plain-IDX copy of each gzipped file of 1 MiB or more and reads it
// on the next load; a changed source misses the old copy, a damaged copy is replaced, and
// EMBER_CACHE=0 writes none.
TEST(IdxCache, KeepsInflatedCopiesAndNoticesChangedSources) {
  const std::string root = temp_dir() + "/cache_case", src = root + "/src", cache = root + "/cache";
  std::filesystem::remove_all(root);
  constexpr uint32_t kSide = 600;  // 3 images of 600x600: 1.08 MB, above the 1 MiB threshold
  write_idx_set(src, 3, 7, kSide);
  ::setenv("EMBER_CACHE_DIR", cache.c_str(), 1);
  ::unsetenv("EMBER_CACHE");
  data::TrainTestData first = data::load_idx_dir(src);
  EXPECT_TRUE(all_equal(first.train.images, 7));
  EXPECT_EQ(first.train.labels.to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2}));
  std::vector<std::filesystem::path> entries = cache_entries(cache);
  ASSERT_EQ(entries.size(), 2u);  // the two image files; the labels (3 bytes) are too small to keep
  for (const auto& e : entries) {  // plain IDX, not gzip: the first two bytes are IDX's zero magic
    std::ifstream in(e, std::ios::binary);
    EXPECT_EQ(in.get(), 0) << e;
    EXPECT_EQ(in.get(), 0) << e;
    EXPECT_EQ(std::filesystem::file_size(e), 4u + 3 * 4 + 3u * kSide * kSide) << e;
  }

  // The copy is what a later load reads: change the cached images (same size, still valid) and
  // that change shows.
  for (const auto& e : entries) write_plain(e.string(), idx_bytes(0x08, {3, kSide, kSide}, std::vector<unsigned char>(3u * kSide * kSide, 9)));
  data::TrainTestData second = data::load_idx_dir(src);
  EXPECT_TRUE(all_equal(second.train.images, 9));
  EXPECT_TRUE(all_equal(second.test.images, 9));

  // A changed source (new content, later modification time) is read, not the old copy.
  write_idx_set(src, 3, 5, kSide);
  for (const auto& f : std::filesystem::directory_iterator(src)) {
    std::filesystem::last_write_time(f.path(), std::filesystem::last_write_time(f.path()) + std::chrono::seconds(10));
  }
  EXPECT_TRUE(all_equal(data::load_idx_dir(src).train.images, 5));
  EXPECT_EQ(cache_entries(cache).size(), 4u);

  // Damaged copies (truncated) are read around and replaced.
  for (const auto& e : cache_entries(cache)) std::filesystem::resize_file(e, 6);
  EXPECT_TRUE(all_equal(data::load_idx_dir(src).train.images, 5));
  EXPECT_TRUE(all_equal(data::load_idx_dir(src).test.images, 5));

  // EMBER_CACHE=0: nothing written.
  const std::string cache2 = root + "/cache2";
  ::setenv("EMBER_CACHE_DIR", cache2.c_str(), 1);
  ::setenv("EMBER_CACHE", "0", 1);
  EXPECT_TRUE(all_equal(data::load_idx_dir(src).test.images, 5));
  EXPECT_TRUE(cache_entries(cache2).empty());
  ::unsetenv("EMBER_CACHE");
  ::unsetenv("EMBER_CACHE_DIR");
  std::filesystem::remove_all(root);
}

// Small files (under 1 MiB inflated) are not kept; writing an entry removes entries unused for 30
// days and stale temporary files, and leaves recent entries and other files alone; reading an
// entry marks it used.
TEST(IdxCache, KeepsNoSmallFilesAndRemovesUnusedEntries) {
  namespace fs = std::filesystem;
  const std::string root = temp_dir() + "/cache_prune", small = root + "/small", big = root + "/big", cache = root + "/cache";
  fs::remove_all(root);
  ::setenv("EMBER_CACHE_DIR", cache.c_str(), 1);
  ::unsetenv("EMBER_CACHE");
  write_idx_set(small, 3, 7, 2);
  EXPECT_TRUE(all_equal(data::load_idx_dir(small).train.images, 7));
  EXPECT_TRUE(cache_entries(cache).empty());

  fs::create_directories(cache + "/idx");
  const auto now = fs::file_time_type::clock::now();
  const auto aged = [&](const std::string& name, std::chrono::hours age) {
    const std::string p = cache + "/idx/" + name;
    write_plain(p, {0, 0, 8, 1, 0, 0, 0, 0});
    fs::last_write_time(p, now - age);
    return fs::path(p);
  };
  const fs::path stale = aged("00000000000000aa.idx", std::chrono::hours(24 * 31));
  const fs::path recent = aged("00000000000000bb.idx", std::chrono::hours(24 * 29));
  const fs::path dead_tmp = aged("00000000000000cc.idx.tmp123", std::chrono::hours(25));
  const fs::path live_tmp = aged("00000000000000dd.idx.tmp456", std::chrono::hours(1));
  const fs::path other = aged("notes.txt", std::chrono::hours(24 * 400));
  write_idx_set(big, 3, 4, 600);
  EXPECT_TRUE(all_equal(data::load_idx_dir(big).train.images, 4));
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_FALSE(fs::exists(dead_tmp));
  EXPECT_TRUE(fs::exists(recent));
  EXPECT_TRUE(fs::exists(live_tmp));
  EXPECT_TRUE(fs::exists(other));

  // A read marks the entry used: age the new entries, read them, and a later write keeps them.
  std::vector<fs::path> kept;
  for (const auto& e : cache_entries(cache)) {
    if (e.filename().string().size() == 20 && e != recent) {  // the two entries just written
      fs::last_write_time(e, now - std::chrono::hours(24 * 31));
      kept.push_back(e);
    }
  }
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_TRUE(all_equal(data::load_idx_dir(big).test.images, 4));
  write_idx_set(big, 3, 6, 600);  // new sources: new entries written, pruning runs
  for (const auto& f : fs::directory_iterator(big)) fs::last_write_time(f.path(), fs::last_write_time(f.path()) + std::chrono::seconds(10));
  EXPECT_TRUE(all_equal(data::load_idx_dir(big).train.images, 6));
  for (const auto& e : kept) EXPECT_TRUE(fs::exists(e)) << e;
  ::unsetenv("EMBER_CACHE_DIR");
  fs::remove_all(root);
}
