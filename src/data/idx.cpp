#include "ember/data/idx.hpp"

#include <libdeflate.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>
#include <vector>

#include <unistd.h>

namespace ember::data {

namespace {

uint32_t be32(const unsigned char* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

// An open file, gunzipped on the fly when it is gzip (zlib's gzread reads plain files unchanged).
class GzReader {
 public:
  explicit GzReader(const std::string& path) : path_(path), f_(gzopen(path.c_str(), "rb")) {
    if (!f_) throw IOError("cannot open '" + path + "'");
    gzbuffer(f_, 1 << 20);
  }
  ~GzReader() { gzclose(f_); }

  // Whether the file is read as it is (not gzip); known after the first read.
  bool plain() const { return gzdirect(f_) != 0; }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  // Reads up to n bytes into dst; returns how many came (fewer only at the end of the data).
  std::size_t read(void* dst, std::size_t n) {
    std::size_t got = 0;
    auto* out = static_cast<unsigned char*>(dst);
    while (got < n) {
      const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n - got, 1u << 30));
      const int r = gzread(f_, out + got, chunk);
      if (r < 0) {
        int err = 0;
        const std::string msg = gzerror(f_, &err);
        throw FormatError("'" + path_ + "': corrupt compressed data after " + std::to_string(total_ + got) + " bytes (" +
                          msg + ")");
      }
      if (r == 0) break;
      got += static_cast<std::size_t>(r);
    }
    total_ += got;
    return got;
  }
  // Reads (and counts) whatever is left.
  std::size_t skip_rest() {
    unsigned char buf[1 << 16];
    std::size_t n = 0, r = 0;
    while ((r = read(buf, sizeof buf)) > 0) n += r;
    return n;
  }

 private:
  std::string path_;
  gzFile f_;
  std::size_t total_ = 0;
};

// The whole gzip file inflated in one call by libdeflate, which inflates about twice as fast as zlib
// here (47 MB of Fashion-MNIST training images: 0.17 s against 0.38 s on a busy 2-core machine) —
// the largest cost of `ember train` outside the training loop. Only for the common case, a file of
// one gzip member whose trailer agrees with the size the IDX header declares; anything else
// (several members, a trailer that disagrees, corrupt data) returns nullopt and is read again by the
// streaming path, which names the problem precisely. Allocates only after checking the declared
// size against what the compressed bytes can hold (deflate expands at most 1032:1).
std::optional<Tensor> inflate_whole_gzip(const std::string& path, std::size_t total) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) return std::nullopt;
  const std::streamoff size = f.tellg();
  if (size < 18 || static_cast<unsigned __int128>(total) > static_cast<unsigned __int128>(size) * 1032 ||
      size > (std::streamoff(1) << 32)) {
    return std::nullopt;
  }
  std::vector<unsigned char> z(static_cast<std::size_t>(size));
  f.seekg(0);
  if (!f.read(reinterpret_cast<char*>(z.data()), size)) return std::nullopt;
  const unsigned char* t = z.data() + z.size() - 4;  // ISIZE: the inflated size mod 2^32, little-endian
  const uint32_t isize = uint32_t(t[0]) | (uint32_t(t[1]) << 8) | (uint32_t(t[2]) << 16) | (uint32_t(t[3]) << 24);
  if (isize != static_cast<uint32_t>(total)) return std::nullopt;
  Tensor whole = Tensor::empty({static_cast<int64_t>(total)}, u8);
  libdeflate_decompressor* d = libdeflate_alloc_decompressor();
  if (!d) return std::nullopt;
  std::size_t in_used = 0, out_size = 0;
  const libdeflate_result r =
      libdeflate_gzip_decompress_ex(d, z.data(), z.size(), whole.data<uint8_t>(), total, &in_used, &out_size);
  libdeflate_free_decompressor(d);
  if (r != LIBDEFLATE_SUCCESS || in_used != z.size() || out_size != total) return std::nullopt;
  return whole;
}

// The element bytes (big-endian, IDX type `type`) as a tensor of `shape`.
void convert_idx_data(unsigned type, const unsigned char* p, Tensor& t) {
  const int64_t n = t.numel();
  switch (type) {
    case 0x08: std::memcpy(t.data<uint8_t>(), p, static_cast<std::size_t>(n)); break;
    case 0x09: for (int64_t i = 0; i < n; ++i) t.data<int32_t>()[i] = static_cast<int8_t>(p[i]); break;
    case 0x0B:
      for (int64_t i = 0; i < n; ++i) t.data<int32_t>()[i] = static_cast<int16_t>((p[2 * i] << 8) | p[2 * i + 1]);
      break;
    case 0x0C: for (int64_t i = 0; i < n; ++i) t.data<int32_t>()[i] = static_cast<int32_t>(be32(p + 4 * i)); break;
    case 0x0D:
      for (int64_t i = 0; i < n; ++i) {
        uint32_t u = be32(p + 4 * i);
        std::memcpy(t.data<float>() + i, &u, 4);
      }
      break;
    case 0x0E:
      for (int64_t i = 0; i < n; ++i) {
        uint64_t u = (uint64_t(be32(p + 8 * i)) << 32) | be32(p + 8 * i + 4);
        std::memcpy(t.data<double>() + i, &u, 8);
      }
      break;
  }
}

}  // namespace

// The header is read first, so the data — tens of megabytes for an image set — is decompressed
// straight into the tensor (or, for multi-byte types, into one exactly sized buffer), never into a
// growing vector that is then copied.
Tensor read_idx(const std::string& path) {
  GzReader in(path);
  unsigned char head[4 + 4 * kMaxDims];
  const std::size_t got_magic = in.read(head, 4);
  if (got_magic < 4) throw FormatError("'" + path + "': too short for an IDX header (" + std::to_string(got_magic) + " bytes)");
  if (head[0] != 0 || head[1] != 0) throw FormatError("'" + path + "': bad IDX magic at offset 0 (expected two zero bytes)");
  unsigned type = head[2], ndim = head[3];
  std::size_t elem = 0;
  DType dtype;
  switch (type) {
    case 0x08: elem = 1; dtype = u8; break;
    case 0x09: elem = 1; dtype = i32; break;
    case 0x0B: elem = 2; dtype = i32; break;
    case 0x0C: elem = 4; dtype = i32; break;
    case 0x0D: elem = 4; dtype = f32; break;
    case 0x0E: elem = 8; dtype = f64; break;
    default: {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", type);
      throw FormatError("'" + path + "': unknown IDX element type " + hex + " at offset 2");
    }
  }
  if (ndim == 0 || ndim > static_cast<unsigned>(kMaxDims)) {
    throw FormatError("'" + path + "': IDX rank " + std::to_string(ndim) + " at offset 3 (expected 1.." + std::to_string(kMaxDims) + ")");
  }
  if (in.read(head + 4, 4 * std::size_t(ndim)) < 4 * std::size_t(ndim)) {
    throw FormatError("'" + path + "': truncated IDX header");
  }
  Shape shape;
  // Element count and byte size with checked arithmetic: eight 32-bit dimensions can overflow any
  // integer type.
  uint64_t count = 1;
  bool overflow = false;
  for (unsigned d = 0; d < ndim; ++d) {
    uint32_t n = be32(&head[4 + 4 * d]);
    shape.push_back(n);
    overflow |= __builtin_mul_overflow(count, uint64_t{n}, &count);
  }
  uint64_t need = 0;
  overflow |= __builtin_mul_overflow(count, uint64_t{elem}, &need);
  if (overflow) throw FormatError("'" + path + "': IDX shape " + to_string(shape) + " (offset 4) overflows 64 bits");
  auto size_error = [&](uint64_t have) {
    return FormatError("'" + path + "': shape " + to_string(shape) + " needs " + std::to_string(need) +
                       " data bytes but the file has " + std::to_string(have));
  };
  // Never allocate for a size the file does not hold: a corrupt header could ask for terabytes. A
  // plain file's data size is known exactly; a gzip file's is at most 1032 times its compressed
  // size (deflate's largest expansion), so a tiny file declaring a huge shape fails here.
  const uint64_t header_bytes = 4 + 4 * uint64_t{ndim};
  std::error_code ec;
  const uint64_t file_size = std::filesystem::file_size(path, ec);
  if (!ec) {
    const uint64_t data_bytes = file_size > header_bytes ? file_size - header_bytes : 0;
    if (in.plain() && need != data_bytes) throw size_error(data_bytes);
    if (!in.plain() && need / 1032 > file_size) {
      throw FormatError("'" + path + "': shape " + to_string(shape) + " needs " + std::to_string(need) +
                        " data bytes, more than a gzip file of " + std::to_string(file_size) + " bytes can hold");
    }
  }
  if (!in.plain() && need < (uint64_t{1} << 40)) {
    if (std::optional<Tensor> whole = inflate_whole_gzip(path, static_cast<std::size_t>(header_bytes + need))) {
      if (type == 0x08) {  // the bytes are the elements: a view past the header, no copy
        // A zero dimension makes the data empty whatever the others are: check, as Tensor::empty
        // would, that the rest still give strides that fit (ShapeError), before computing them.
        (void)numel(shape);
        return whole->as_strided(shape, contiguous_strides(shape), static_cast<int64_t>(header_bytes));
      }
      Tensor converted = Tensor::empty(shape, dtype);
      convert_idx_data(type, whole->data<uint8_t>() + header_bytes, converted);
      return converted;
    }
  }
  // Otherwise read in bounded steps into a buffer that grows with what actually arrives.
  std::vector<unsigned char> bytes;
  const bool direct = type == 0x08;
  Tensor t;
  uint64_t have = 0;
  constexpr uint64_t kStep = uint64_t(64) << 20;
  if (direct && need <= kStep) {
    t = Tensor::empty(shape, dtype);
    have = in.read(t.data<uint8_t>(), static_cast<std::size_t>(need));
  } else {
    while (have < need) {
      const std::size_t step = static_cast<std::size_t>(std::min(need - have, kStep));
      bytes.resize(static_cast<std::size_t>(have) + step);
      const std::size_t r = in.read(bytes.data() + have, step);
      have += r;
      if (r < step) break;
    }
    bytes.resize(static_cast<std::size_t>(have));
  }
  if (have < need) throw size_error(have);
  if (const std::size_t extra = in.skip_rest(); extra > 0) throw size_error(have + extra);
  if (direct && t.defined()) return t;
  t = Tensor::empty(shape, dtype);
  convert_idx_data(type, bytes.data(), t);
  return t;
}

namespace {

// The folder for inflated copies of gzipped IDX files (see load_idx_dir), or "" when caching is off.
std::filesystem::path idx_cache_dir() {
  if (const char* off = std::getenv("EMBER_CACHE"); off && std::string(off) == "0") return {};
  if (const char* dir = std::getenv("EMBER_CACHE_DIR"); dir && *dir) return std::filesystem::path(dir) / "idx";
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::filesystem::path(xdg) / "ember" / "idx";
  if (const char* home = std::getenv("HOME"); home && *home) return std::filesystem::path(home) / ".cache" / "ember" / "idx";
  return {};
}

// The cache entry for one source file: named by a hash of its absolute path, size and modification
// time, so a changed or replaced source misses the old entry instead of reading stale data.
std::filesystem::path idx_cache_entry(const std::filesystem::path& dir, const std::string& source) {
  std::error_code ec;
  const std::filesystem::path abs = std::filesystem::absolute(source, ec);
  const uintmax_t size = std::filesystem::file_size(source, ec);
  if (ec) return {};
  const auto mtime = std::filesystem::last_write_time(source, ec).time_since_epoch().count();
  if (ec) return {};
  const std::string key = "ember-idx-cache-1\n" + abs.string() + "\n" + std::to_string(size) + "\n" + std::to_string(mtime);
  uint64_t h = 14695981039346656037ull;  // FNV-1a, 64 bits
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ull;
  char name[32];
  std::snprintf(name, sizeof name, "%016llx.idx", static_cast<unsigned long long>(h));
  return dir / name;
}

// Only files at least this large inflated are kept: a smaller one inflates in well under a
// millisecond, and test suites and toy data sets then leave nothing behind. (Fashion-MNIST's images
// are kept, its labels — 60 KB — are not.)
constexpr int64_t kMinCachedBytes = int64_t{1} << 20;

// Entries not used for this long are removed when a new one is written: a data set that was
// replaced, moved or deleted leaves its old copy behind otherwise. A read marks an entry used.
constexpr auto kUnusedEntryLifetime = std::chrono::hours(24 * 30);

// Removes the cache's entries unused for kUnusedEntryLifetime and temporary files a day old (from a
// process that died while writing). Errors are ignored, as for the cache as a whole.
void prune_idx_cache(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_time_type now = fs::file_time_type::clock::now();
  std::vector<fs::path> old;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    const std::string name = p.filename().string();
    const bool tmp = name.find(".idx.tmp") != std::string::npos;
    if (!tmp && p.extension() != ".idx") continue;  // not ours
    std::error_code tec;
    const fs::file_time_type written = fs::last_write_time(p, tec);
    if (!tec && now - written > (tmp ? std::chrono::hours(24) : kUnusedEntryLifetime)) old.push_back(p);
  }
  for (const fs::path& p : old) fs::remove(p, ec);
}

// Writes `t` (u8) as a plain IDX file at `entry`, through a temporary file renamed into place, so a
// concurrent reader sees the whole file or none (io::AtomicFile is a layer above data/; a cache
// entry needs no fsync, and one process never writes the same entry twice at once, so the pid makes
// the temporary name unique). Failures (no space, read-only home) are ignored: the cache only saves
// time.
void write_idx_cache(const std::filesystem::path& entry, const Tensor& t) {
  std::error_code ec;
  std::filesystem::create_directories(entry.parent_path(), ec);
  if (ec) return;
  const std::filesystem::path tmp = entry.string() + ".tmp" + std::to_string(static_cast<long long>(::getpid()));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    std::string head = {0, 0, 0x08, static_cast<char>(t.dim())};
    for (int64_t d : t.shape()) {
      const auto n = static_cast<uint32_t>(d);
      for (int shift : {24, 16, 8, 0}) head.push_back(static_cast<char>((n >> shift) & 0xFF));
    }
    out.write(head.data(), static_cast<std::streamsize>(head.size()));
    out.write(reinterpret_cast<const char*>(t.data<uint8_t>()), static_cast<std::streamsize>(t.numel()));
    if (!out.flush()) {
      out.close();
      std::filesystem::remove(tmp, ec);
      return;
    }
  }
  std::filesystem::rename(tmp, entry, ec);
  if (ec) std::filesystem::remove(tmp, ec);
  prune_idx_cache(entry.parent_path());
}

// read_idx, keeping an inflated copy of a gzipped unsigned-byte file (all of MNIST's and
// Fashion-MNIST's) in the cache and reading that copy on later calls. Inflating Fashion-MNIST's 26 MB
// of training images is the largest cost of starting `ember train` (about 0.1 s); reading 47 MB of
// plain bytes from the page cache takes a tenth of that. torchvision keeps such copies too (its
// processed/ files). A cache entry that is unreadable or not what its source gives is replaced.
Tensor read_idx_cached(const std::string& path) {
  const std::filesystem::path dir = idx_cache_dir();
  const bool gz = path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
  if (dir.empty() || !gz) return read_idx(path);
  const std::filesystem::path entry = idx_cache_entry(dir, path);
  if (entry.empty()) return read_idx(path);
  std::error_code ec;
  if (std::filesystem::is_regular_file(entry, ec)) {
    try {
      Tensor cached = read_idx(entry.string());
      if (cached.dtype() == u8) {
        std::filesystem::last_write_time(entry, std::filesystem::file_time_type::clock::now(), ec);  // used now (pruning)
        return cached;
      }
    } catch (const Error&) {  // a damaged entry: read the source and write the entry again
    }
  }
  Tensor t = read_idx(path);
  if (t.dtype() == u8 && t.is_contiguous() && t.numel() >= kMinCachedBytes) write_idx_cache(entry, t);
  return t;
}

std::string find_file(const std::string& dir, const std::string& stem) {
  for (const char* ext : {"", ".gz"}) {
    std::string p = dir + "/" + stem + ext;
    if (std::filesystem::exists(p)) return p;
  }
  throw IOError("data directory '" + dir + "' has no " + stem + " (or " + stem + ".gz)");
}

Split load_split(const std::string& dir, const std::string& prefix) {
  Split s;
  s.images = read_idx_cached(find_file(dir, prefix + "-images-idx3-ubyte"));
  s.labels = read_idx_cached(find_file(dir, prefix + "-labels-idx1-ubyte"));
  if (s.images.dim() < 1 || s.labels.dim() != 1 || s.images.shape()[0] != s.labels.shape()[0]) {
    throw FormatError("'" + dir + "': " + prefix + " images " + to_string(s.images.shape()) + " and labels " +
                      to_string(s.labels.shape()) + " do not match");
  }
  return s;
}
}  // namespace

TrainTestData load_idx_dir(const std::string& dir) {
  if (!std::filesystem::is_directory(dir)) throw IOError("data directory '" + dir + "' does not exist");
  // The two splits are inflated at once, the test split on a second thread: before training starts
  // nothing else runs, so this uses the second core rather than competing for it.
  TrainTestData ds;
  std::exception_ptr test_error;
  std::thread test_reader([&] {
    try {
      ds.test = load_split(dir, "t10k");
    } catch (...) {
      test_error = std::current_exception();
    }
  });
  try {
    ds.train = load_split(dir, "train");
  } catch (...) {
    test_reader.join();
    throw;
  }
  test_reader.join();
  if (test_error) std::rethrow_exception(test_error);
  return ds;
}

namespace {
TrainTestData with_fashion_names(TrainTestData ds) {
  for (const char* name : fashion_mnist_classes()) ds.class_names.emplace_back(name);
  return ds;
}
}  // namespace

TrainTestData load_fashion_mnist(std::optional<std::string> dir) {
  if (dir) return with_fashion_names(load_idx_dir(*dir));
  if (const char* env = std::getenv("EMBER_DATA")) {
    std::string p = std::string(env) + "/fashion-mnist";
    if (std::filesystem::is_directory(p)) return with_fashion_names(load_idx_dir(p));
  }
  const std::string debian = "/usr/share/datasets/fashion-mnist";
  if (!std::filesystem::is_directory(debian)) {
    throw IOError("Fashion-MNIST not found: install Debian's dataset-fashion-mnist package (" + debian +
                  ") or set EMBER_DATA");
  }
  return with_fashion_names(load_idx_dir(debian));
}

const std::array<const char*, 10>& fashion_mnist_classes() {
  static const std::array<const char*, 10> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

}  // namespace ember::data
