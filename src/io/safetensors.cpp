#include "ember/io/safetensors.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "ember/io/atomic_file.hpp"
#include "ember/io/crc32c.hpp"

namespace ember::io {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian; add byte swapping");

namespace {

// How a file's element type becomes an Ember tensor.
enum class Load { native, boolean, f16, bf16, i8, i16, u16, u32, refuse };

struct StDType {
  const char* name;
  int order;          // position in the reference's Dtype enum (increasing alignment); the writer sorts by it
  unsigned bits;      // element size in bits
  Load load;
  DType ember;        // what it loads as
};

// Every dtype the reference names, in its enum order.
// How every "ember.crc32c" value begins (its keys are sorted and "__metadata__" comes first).
constexpr std::string_view kCrcValuePrefix = "{\"__metadata__\":";

constexpr StDType kDTypes[] = {
    {"BOOL", 0, 8, Load::boolean, DType::b8},      {"F4", 1, 4, Load::refuse, DType::f32},
    {"F6_E2M3", 2, 6, Load::refuse, DType::f32},   {"F6_E3M2", 3, 6, Load::refuse, DType::f32},
    {"U8", 4, 8, Load::native, DType::u8},         {"I8", 5, 8, Load::i8, DType::i32},
    {"F8_E5M2", 6, 8, Load::refuse, DType::f32},   {"F8_E4M3", 7, 8, Load::refuse, DType::f32},
    {"F8_E8M0", 8, 8, Load::refuse, DType::f32},   {"F8_E4M3FNUZ", 9, 8, Load::refuse, DType::f32},
    {"F8_E5M2FNUZ", 10, 8, Load::refuse, DType::f32}, {"I16", 11, 16, Load::i16, DType::i32},
    {"U16", 12, 16, Load::u16, DType::i32},        {"F16", 13, 16, Load::f16, DType::f32},
    {"BF16", 14, 16, Load::bf16, DType::f32},      {"I32", 15, 32, Load::native, DType::i32},
    {"U32", 16, 32, Load::u32, DType::i64},        {"F32", 17, 32, Load::native, DType::f32},
    {"C64", 18, 64, Load::refuse, DType::f32},     {"F64", 19, 64, Load::native, DType::f64},
    {"I64", 20, 64, Load::native, DType::i64},     {"U64", 21, 64, Load::refuse, DType::f32},
};

const StDType& written_as(DType dt) {
  const char* name = "F32";
  switch (dt) {
    case DType::f32: name = "F32"; break;
    case DType::f64: name = "F64"; break;
    case DType::i32: name = "I32"; break;
    case DType::i64: name = "I64"; break;
    case DType::u8: name = "U8"; break;
    case DType::b8: name = "BOOL"; break;
  }
  for (const StDType& d : kDTypes) {
    if (std::strcmp(d.name, name) == 0) return d;
  }
  throw ValueError("safetensors: no dtype for " + std::string(dtype_name(dt)));
}

const StDType* find_dtype(const std::string& s) {
  for (const StDType& d : kDTypes) {
    if (s == d.name) return &d;
  }
  return nullptr;
}

std::array<unsigned char, 8> le64(uint64_t v) {
  std::array<unsigned char, 8> b;
  for (int i = 0; i < 8; ++i) b[static_cast<std::size_t>(i)] = static_cast<unsigned char>(v >> (8 * i));
  return b;
}

std::string hex8(uint32_t v) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", v);
  return buf;
}

// The checksum of the caller's metadata: each entry in key order as length-prefixed key and value,
// so no choice of characters can make two different maps collide structurally.
uint32_t metadata_crc(const std::map<std::string, std::string>& metadata) {
  uint32_t crc = 0;
  auto add = [&crc](const std::string& s) {
    crc = crc32c_extend(crc, le64(s.size()).data(), 8);
    crc = crc32c_extend(crc, s.data(), s.size());
  };
  for (const auto& [k, v] : metadata) {
    add(k);
    add(v);
  }
  return crc;
}

// A JSON string literal; ValueError when the text is not UTF-8 (nlohmann refuses to write it).
std::string quoted(const std::string& s, const char* what) {
  try {
    return nlohmann::json(s).dump();
  } catch (const nlohmann::json::exception&) {
    throw ValueError(std::string("safetensors: ") + what + " is not valid UTF-8: '" + s + "'");
  }
}

// A tensor's checksum covers what defines it: its data bytes, then its dtype name and shape (rank
// and each dimension as u64 little-endian), so that a corrupted shape of an empty tensor or a dtype
// changed to another of the same size is caught too, not only its bytes.
uint32_t tensor_crc(uint32_t data_crc, const char* dtype, const Shape& shape) {
  uint32_t crc = crc32c_extend(data_crc, dtype, std::strlen(dtype));
  auto add = [&crc](uint64_t v) { crc = crc32c_extend(crc, le64(v).data(), 8); };
  add(shape.size());
  for (int64_t d : shape) add(static_cast<uint64_t>(d));
  return crc;
}

}  // namespace

void save_safetensors(const std::string& path, const TensorMap& tensors, const std::map<std::string, std::string>& metadata) {
  if (metadata.count(std::string(kSafetensorsCrcKey))) {
    throw ValueError("safetensors '" + path + "': metadata key '" + std::string(kSafetensorsCrcKey) +
                     "' is reserved for Ember's checksums");
  }
  struct Item {
    const std::string* name;
    const StDType* dt;
    Tensor data;  // contiguous, no autograd
  };
  std::vector<Item> items;
  items.reserve(tensors.size());
  for (const auto& [name, t] : tensors) {
    if (name == "__metadata__") throw ValueError("safetensors '" + path + "': '__metadata__' is not a valid tensor name");
    if (!t.defined()) throw ValueError("safetensors '" + path + "': tensor '" + name + "' is undefined");
    Tensor c = t.detach();
    if (!c.is_contiguous()) c = c.contiguous();
    items.push_back({&name, &written_as(c.dtype()), c});
  }
  // The reference writer's order: descending dtype (alignment), then name (bytewise, as std::string).
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    if (a.dt->order != b.dt->order) return a.dt->order > b.dt->order;
    return *a.name < *b.name;
  });

  // The checksums as compact JSON: "__metadata__" first (readers recognise the entry by that
  // beginning), then the tensors in file order.
  std::string crcs = std::string(kCrcValuePrefix) + '"' + hex8(metadata_crc(metadata)) + '"';
  std::string body;
  uint64_t offset = 0;
  for (const Item& it : items) {
    const uint64_t bytes = static_cast<uint64_t>(it.data.numel()) * itemsize(it.data.dtype());
    const std::string name = quoted(*it.name, "tensor name");
    crcs += ',' + name + ":\"" + hex8(tensor_crc(crc32c(it.data.raw_data(), bytes), it.dt->name, it.data.shape())) + '"';
    body += ',' + name + ":{\"dtype\":\"" + it.dt->name + "\",\"shape\":[";
    for (std::size_t d = 0; d < it.data.shape().size(); ++d) {
      if (d) body += ',';
      body += std::to_string(it.data.shape()[d]);
    }
    body += "],\"data_offsets\":[" + std::to_string(offset) + ',' + std::to_string(offset + bytes) + "]}";
    offset += bytes;
  }
  std::map<std::string, std::string> all = metadata;
  all[std::string(kSafetensorsCrcKey)] = crcs + '}';
  std::string header = "{\"__metadata__\":{";
  bool first = true;
  for (const auto& [k, v] : all) {
    if (!first) header += ',';
    first = false;
    header += quoted(k, "metadata key") + ':' + quoted(v, "metadata value");
  }
  header += '}' + body + '}';
  while (header.size() % 8 != 0) header += ' ';  // keeps the data 8-byte aligned, as the reference does
  if (header.size() > kSafetensorsMaxHeader) {
    throw ValueError("safetensors '" + path + "': the header would be " + std::to_string(header.size()) +
                     " bytes, over the format's limit of " + std::to_string(kSafetensorsMaxHeader));
  }

  AtomicFile out(path);
  out.write(le64(header.size()).data(), 8);
  out.write(header);
  for (const Item& it : items) out.write(it.data.raw_data(), static_cast<std::size_t>(it.data.numel()) * itemsize(it.data.dtype()));
  out.commit();
}

namespace {

// A file opened for reading, with its size known before anything is allocated.
class Reader {
 public:
  explicit Reader(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw IOError("cannot open '" + path + "': " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd_);
      throw IOError("cannot read '" + path + "': not a regular file");
    }
    size_ = static_cast<uint64_t>(st.st_size);
  }
  ~Reader() { ::close(fd_); }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  uint64_t size() const { return size_; }

  // Exactly n bytes; the caller checked that the file holds them, so a short read means the file
  // changed under us (or a device error): IOError.
  void read(void* dst, std::size_t n) {
    auto* p = static_cast<char*>(dst);
    while (n > 0) {
      const ssize_t r = ::read(fd_, p, std::min<std::size_t>(n, std::size_t(1) << 30));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) throw IOError("cannot read '" + path_ + "' at offset " + std::to_string(pos_) + ": " + std::strerror(errno));
      if (r == 0) throw IOError("'" + path_ + "' ended at offset " + std::to_string(pos_) + " (shrank while being read)");
      p += r;
      n -= static_cast<std::size_t>(r);
      pos_ += static_cast<uint64_t>(r);
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
  uint64_t pos_ = 0;
};

// Index of the first byte that is not well-formed UTF-8 (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF), or npos.
std::size_t invalid_utf8_at(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return i;
    }
    if (i + len > n || p[i + 1] < lo || p[i + 1] > hi) return i;
    for (std::size_t k = 2; k < len; ++k) {
      if (p[i + k] < 0x80 || p[i + k] > 0xBF) return i;
    }
    i += len;
  }
  return std::string::npos;
}

struct Entry {
  std::string name;
  const StDType* dt;
  Shape shape;
  uint64_t begin, end;
  uint64_t bytes;
};

float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t man = h & 0x3FFu;
  uint32_t bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (man << 13);  // inf / NaN (payload kept)
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (man << 13);  // rebias 15 -> 127
  } else if (man == 0) {
    bits = sign;
  } else {
    // Subnormal half: normalise (value = man * 2^-24).
    int e = -1;
    do {
      man <<= 1;
      ++e;
    } while ((man & 0x400u) == 0);
    bits = sign | (uint32_t(112 - e) << 23) | ((man & 0x3FFu) << 13);
  }
  return std::bit_cast<float>(bits);
}

// Converts n elements of a file dtype (little-endian bytes at src) into dst of the Ember dtype.
void convert(Load kind, const unsigned char* src, std::size_t n, void* dst) {
  switch (kind) {
    case Load::boolean: {
      // Any non-zero byte is true; never reinterpret arbitrary bytes as bool.
      auto* d = static_cast<unsigned char*>(dst);
      for (std::size_t i = 0; i < n; ++i) d[i] = src[i] != 0 ? 1 : 0;
      break;
    }
    case Load::f16: {
      auto* d = static_cast<float*>(dst);
      for (std::size_t i = 0; i < n; ++i) d[i] = half_to_float(static_cast<uint16_t>(src[2 * i] | (src[2 * i + 1] << 8)));
      break;
    }
    case Load::bf16: {
      auto* d = static_cast<float*>(dst);
      for (std::size_t i = 0; i < n; ++i) {
        d[i] = std::bit_cast<float>(uint32_t(src[2 * i] | (src[2 * i + 1] << 8)) << 16);
      }
      break;
    }
    case Load::i8: {
      auto* d = static_cast<int32_t*>(dst);
      for (std::size_t i = 0; i < n; ++i) d[i] = static_cast<int8_t>(src[i]);
      break;
    }
    case Load::i16: {
      auto* d = static_cast<int32_t*>(dst);
      for (std::size_t i = 0; i < n; ++i) d[i] = static_cast<int16_t>(src[2 * i] | (src[2 * i + 1] << 8));
      break;
    }
    case Load::u16: {
      auto* d = static_cast<int32_t*>(dst);
      for (std::size_t i = 0; i < n; ++i) d[i] = src[2 * i] | (src[2 * i + 1] << 8);
      break;
    }
    case Load::u32: {
      auto* d = static_cast<int64_t*>(dst);
      for (std::size_t i = 0; i < n; ++i) {
        uint32_t v;
        std::memcpy(&v, src + 4 * i, 4);
        d[i] = v;
      }
      break;
    }
    case Load::native:
    case Load::refuse: break;  // not converted
  }
}

uint64_t read_le64(const unsigned char* p) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | p[i];
  return n;
}

}  // namespace

SafetensorsFile load_safetensors(const std::string& path) {
  const std::string where = "safetensors '" + path + "': ";
  Reader in(path);
  if (in.size() < 8) {
    throw FormatError(where + "file too short (" + std::to_string(in.size()) + " bytes; the header length alone is 8)");
  }
  unsigned char le[8];
  in.read(le, 8);
  const uint64_t n = read_le64(le);
  if (n > kSafetensorsMaxHeader) {
    throw FormatError(where + "header length " + std::to_string(n) + " (offset 0) is over the format's limit of " +
                      std::to_string(kSafetensorsMaxHeader) + " bytes");
  }
  if (n > in.size() - 8) {
    throw FormatError(where + "header length " + std::to_string(n) + " (offset 0) exceeds the " +
                      std::to_string(in.size() - 8) + " bytes after it");
  }
  std::string text(static_cast<std::size_t>(n), '\0');
  in.read(text.data(), text.size());
  if (text.empty() || text[0] != '{') throw FormatError(where + "header (offset 8) does not begin with '{'");
  if (const std::size_t bad = invalid_utf8_at(text); bad != std::string::npos) {
    throw FormatError(where + "header is not valid UTF-8 (byte at offset " + std::to_string(8 + bad) + ")");
  }
  // A raw NUL is invalid anywhere in JSON, but nlohmann's lexer takes it for the end of the input
  // and would accept "{...}\0garbage" (a flipped bit in the padding, for one).
  if (const std::size_t nul = text.find('\0'); nul != std::string::npos) {
    throw FormatError(where + "header has a NUL byte at offset " + std::to_string(8 + nul));
  }

  // Parsed with a callback that refuses duplicate keys in any object (nlohmann would keep the last
  // silently; the reference's serde also accepts some) and nesting deeper than the format has.
  nlohmann::json header;
  std::vector<std::set<std::string>> keys;
  auto strict = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    if (depth > 3) throw FormatError(where + "header JSON nests deeper than a safetensors header can");
    if (event == E::object_start) keys.emplace_back();
    if (event == E::object_end && !keys.empty()) keys.pop_back();
    if (event == E::key && !keys.empty() && !keys.back().insert(parsed.get<std::string>()).second) {
      throw FormatError(where + "header has the key '" + parsed.get<std::string>() + "' twice in one object");
    }
    return true;
  };
  try {
    header = nlohmann::json::parse(text, strict);
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(where + "bad header JSON: " + e.what());
  }
  if (!header.is_object()) throw FormatError(where + "header is not a JSON object");

  SafetensorsFile file;
  std::vector<Entry> entries;
  entries.reserve(header.size());
  for (const auto& item : header.items()) {
    // Plain references, not a structured binding: clang-15 cannot capture a structured binding in a
    // lambda, and the fuzz build uses clang.
    const std::string& name = item.key();
    const nlohmann::json& value = item.value();
    if (name == "__metadata__") {
      if (value.is_null()) continue;  // the reference reads null as "no metadata"
      if (!value.is_object()) throw FormatError(where + "__metadata__ is not an object");
      for (const auto& kv : value.items()) {
        if (!kv.value().is_string()) throw FormatError(where + "metadata '" + kv.key() + "' is not a string");
        file.metadata[kv.key()] = kv.value().get<std::string>();
      }
      continue;
    }
    const std::string tensor = where + "tensor '" + name + "' ";
    if (!value.is_object()) throw FormatError(tensor + "is not an object");
    auto field = [&](const char* f) -> const nlohmann::json& {
      auto it = value.find(f);
      if (it == value.end()) throw FormatError(tensor + "has no field '" + f + "'");
      return *it;
    };
    const nlohmann::json& dt = field("dtype");
    const nlohmann::json& sh = field("shape");
    const nlohmann::json& off = field("data_offsets");
    if (!dt.is_string()) throw FormatError(tensor + "has a dtype that is not a string");
    const StDType* type = find_dtype(dt.get<std::string>());
    if (!type) throw FormatError(tensor + "has an unknown dtype '" + dt.get<std::string>() + "'");
    if (type->load == Load::refuse) {
      throw FormatError(tensor + "has dtype " + type->name +
                        ", which Ember cannot hold (it reads F32, F64, F16, BF16, I64, I32, I16, I8, U32, U16, U8, BOOL)");
    }
    if (!sh.is_array()) throw FormatError(tensor + "has a shape that is not an array");
    if (sh.size() > static_cast<std::size_t>(kMaxDims)) {
      throw FormatError(tensor + "has " + std::to_string(sh.size()) + " dimensions (Ember holds at most " +
                        std::to_string(kMaxDims) + ")");
    }
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned()) {
      throw FormatError(tensor + "has data_offsets that are not two non-negative integers");
    }
    Entry e{name, type, {}, off[0].get<uint64_t>(), off[1].get<uint64_t>(), 0};
    // Element count and byte size with checked arithmetic: a header can declare any numbers.
    uint64_t count = 1;
    bool overflow = false;
    for (const auto& d : sh) {
      if (!d.is_number_unsigned()) throw FormatError(tensor + "has a shape entry that is not a non-negative integer");
      const uint64_t v = d.get<uint64_t>();
      if (v > static_cast<uint64_t>(INT64_MAX)) throw FormatError(tensor + "has dimension " + std::to_string(v) + ", too large");
      overflow |= __builtin_mul_overflow(count, v, &count);
      e.shape.push_back(static_cast<int64_t>(v));
    }
    uint64_t bits = 0;
    overflow |= __builtin_mul_overflow(count, uint64_t{type->bits}, &bits);
    if (overflow || count > static_cast<uint64_t>(INT64_MAX)) {
      throw FormatError(tensor + "shape " + to_string(e.shape) + " overflows 64 bits");
    }
    if (bits % 8 != 0) throw FormatError(tensor + "does not end on a byte boundary");
    e.bytes = bits / 8;
    entries.push_back(std::move(e));
  }

  // Offsets, in file order, must tile the data area exactly: contiguous from 0, no gap, no
  // overlap, each tensor's extent equal to its size, and nothing after the last one.
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  const uint64_t data_size = in.size() - 8 - n;
  uint64_t expected = 0;
  for (const Entry& e : entries) {
    const std::string span = "data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + ")";
    if (e.begin != expected || e.end < e.begin) {
      throw FormatError(where + "tensor '" + e.name + "' has " + span + " but the previous tensor ends at " +
                        std::to_string(expected) + " (tensor data must be contiguous, without gaps or overlaps)");
    }
    if (e.end - e.begin != e.bytes) {
      throw FormatError(where + "tensor '" + e.name + "' has " + span + " (" + std::to_string(e.end - e.begin) +
                        " bytes) but its dtype " + e.dt->name + " and shape " + to_string(e.shape) + " need " +
                        std::to_string(e.bytes));
    }
    expected = e.end;
  }
  if (expected > data_size) {
    throw FormatError(where + "the tensors need " + std::to_string(expected) + " data bytes but the file holds " +
                      std::to_string(data_size) + " after its header (truncated?)");
  }
  if (expected < data_size) {
    throw FormatError(where + std::to_string(data_size - expected) + " bytes after the last tensor (at offset " +
                      std::to_string(8 + n + expected) + ")");
  }

  // Ember's checksums, when present: parsed and matched to the tensors before any data is read.
  // The entry is found by its key or by its value's first bytes, so that one flipped bit in the
  // key cannot pass the file off as one without checksums.
  std::map<std::string, uint32_t> crcs;
  auto it = file.metadata.find(std::string(kSafetensorsCrcKey));
  for (auto m = file.metadata.begin(); m != file.metadata.end(); ++m) {
    if (m != it && m->second.rfind(kCrcValuePrefix, 0) == 0) {
      if (it != file.metadata.end()) {
        throw FormatError(where + "metadata '" + m->first + "' holds checksums, but they belong under '" +
                          std::string(kSafetensorsCrcKey) + "' (corrupt key?)");
      }
      it = m;
    }
  }
  if (it != file.metadata.end()) {
    if (it->first != kSafetensorsCrcKey) {
      throw FormatError(where + "metadata '" + it->first + "' holds checksums, but they belong under '" +
                        std::string(kSafetensorsCrcKey) + "' (corrupt key?)");
    }
    const std::string bad = where + "metadata '" + std::string(kSafetensorsCrcKey) + "' ";
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(it->second);
    } catch (const nlohmann::json::exception& e) {
      throw FormatError(bad + "is not JSON: " + e.what());
    }
    if (!j.is_object()) throw FormatError(bad + "is not a JSON object");
    for (const auto& kv : j.items()) {
      const std::string& hex = kv.value().is_string() ? kv.value().get_ref<const std::string&>() : std::string();
      if (hex.size() != 8 || hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
        throw FormatError(bad + "has '" + kv.key() + "' which is not 8 lowercase hex digits");
      }
      crcs[kv.key()] = static_cast<uint32_t>(std::stoul(hex, nullptr, 16));
    }
    if (crcs.size() != entries.size() + 1 || !crcs.count("__metadata__")) {
      throw FormatError(bad + "lists " + std::to_string(crcs.size()) + " checksums for " + std::to_string(entries.size()) +
                        " tensors and the metadata");
    }
    for (const Entry& e : entries) {
      if (!crcs.count(e.name)) throw FormatError(bad + "has no checksum for tensor '" + e.name + "'");
    }
    file.metadata.erase(it);
    if (const uint32_t got = metadata_crc(file.metadata); got != crcs.at("__metadata__")) {
      throw FormatError(where + "the metadata fails its CRC-32C check (stored " + hex8(crcs.at("__metadata__")) +
                        ", computed " + hex8(got) + "): the file is corrupt");
    }
    file.checksummed = true;
  }

  // The data, tensor by tensor in file order; sizes are known to be inside the file.
  std::vector<unsigned char> staging;
  for (const Entry& e : entries) {
    Tensor t = Tensor::empty(e.shape, e.dt->ember);
    uint32_t crc = 0;
    if (e.dt->load == Load::native) {
      in.read(t.raw_data(), static_cast<std::size_t>(e.bytes));
      crc = crc32c(t.raw_data(), static_cast<std::size_t>(e.bytes));
    } else {
      // Converted in bounded chunks (a whole number of elements each).
      const std::size_t elem = e.dt->bits / 8;
      const std::size_t chunk_elems = (std::size_t(1) << 20) / elem;
      staging.resize(std::min<uint64_t>(e.bytes, chunk_elems * elem));
      auto* dst = static_cast<unsigned char*>(t.raw_data());
      const std::size_t out_elem = itemsize(t.dtype());
      for (uint64_t done = 0; done < e.bytes;) {
        const std::size_t take = static_cast<std::size_t>(std::min<uint64_t>(e.bytes - done, staging.size()));
        in.read(staging.data(), take);
        crc = crc32c_extend(crc, staging.data(), take);
        convert(e.dt->load, staging.data(), take / elem, dst + (done / elem) * out_elem);
        done += take;
      }
    }
    crc = tensor_crc(crc, e.dt->name, e.shape);
    if (file.checksummed && crc != crcs.at(e.name)) {
      throw FormatError(where + "tensor '" + e.name + "' (data at offset " + std::to_string(8 + n + e.begin) +
                        ") fails its CRC-32C check (stored " + hex8(crcs.at(e.name)) + ", computed " + hex8(crc) +
                        "): the file is corrupt");
    }
    file.tensors[e.name] = std::move(t);
  }
  return file;
}

}  // namespace ember::io
