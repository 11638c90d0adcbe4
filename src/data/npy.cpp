#include "ember/data/npy.hpp"

#include "file_bytes.hpp"

#include <libdeflate.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <sstream>

namespace ember::data {

namespace {

constexpr char kMagic[] = "\x93NUMPY";  // 6 bytes, then the version's major and minor bytes

// The header is a Python dict literal: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// A small strict reader of exactly that grammar (quoted strings, True/False, tuples of integers).
class HeaderReader {
 public:
  HeaderReader(std::string_view text, const std::string& what) : s_(text), what_(what) {}

  [[noreturn]] void fail(const std::string& expected) const {
    throw FormatError("'" + what_ + "': bad .npy header at character " + std::to_string(pos_) + ": expected " + expected +
                      " in " + quoted_header());
  }
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  bool eat(char c) {
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail(std::string("'") + c + "'");
  }
  std::string string_literal() {
    skip_space();
    if (pos_ >= s_.size() || (s_[pos_] != '\'' && s_[pos_] != '"')) fail("a quoted string");
    const char quote = s_[pos_++];
    std::string out;
    while (pos_ < s_.size() && s_[pos_] != quote) {
      if (s_[pos_] == '\\') fail("a string without escapes");
      out += s_[pos_++];
    }
    if (pos_ >= s_.size()) fail("the closing quote");
    ++pos_;
    return out;
  }
  bool boolean() {
    skip_space();
    for (auto [word, value] : {std::pair{"True", true}, std::pair{"False", false}}) {
      const std::size_t n = std::strlen(word);
      if (s_.substr(pos_, n) == word) {
        pos_ += n;
        return value;
      }
    }
    fail("True or False");
  }
  Shape shape() {
    expect('(');
    Shape dims;
    while (!eat(')')) {
      skip_space();
      uint64_t v = 0;
      std::size_t digits = 0;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
        if (v > (std::numeric_limits<uint64_t>::max() >> 4)) fail("a dimension that fits in 64 bits");
        v = v * 10 + static_cast<uint64_t>(s_[pos_++] - '0');
        ++digits;
      }
      if (pos_ < s_.size() && s_[pos_] == 'L') ++pos_;  // Python 2's long suffix, as old files have
      if (digits == 0) fail("a non-negative integer dimension");
      if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) fail("a dimension below 2^63");
      if (dims.size() == static_cast<std::size_t>(kMaxDims)) fail("at most " + std::to_string(kMaxDims) + " dimensions");
      dims.push_back(static_cast<int64_t>(v));
      if (!eat(',')) {
        expect(')');
        break;
      }
    }
    return dims;
  }
  bool peek(char c) {
    skip_space();
    return pos_ < s_.size() && s_[pos_] == c;
  }
  bool at_end() {
    skip_space();
    return pos_ == s_.size();
  }

 private:
  std::string quoted_header() const {
    std::string h(s_.substr(0, std::min<std::size_t>(s_.size(), 120)));
    for (char& c : h) {
      if (static_cast<unsigned char>(c) < 32 || static_cast<unsigned char>(c) > 126) c = '?';
    }
    return "\"" + h + (s_.size() > 120 ? "...\"" : "\"");
  }
  std::string_view s_;
  std::size_t pos_ = 0;
  const std::string& what_;
};

// What a descr string means: the stored element and the Ember dtype it becomes.
struct Element {
  char kind = 0;       // 'b' bool, 'u' unsigned, 'i' signed, 'f' float
  int size = 0;        // bytes per element in the file
  bool big_endian = false;
  DType dtype = f32;   // what Ember holds it as
};

Element parse_descr(const std::string& descr, const std::string& what) {
  auto refuse = [&](const std::string& why) -> FormatError {
    return FormatError("'" + what + "': .npy dtype '" + descr + "' is not supported (" + why +
                       "; expected bool, uint8/16/32, int8/16/32/64 or float16/32/64)");
  };
  if (descr.size() >= 2 && descr[1] == 'O') throw refuse("object arrays are pickles, and loading a file never runs code");
  if (descr.size() < 3) throw refuse("not a simple numeric type");
  const char order = descr[0];
  if (order != '<' && order != '>' && order != '|' && order != '=') throw refuse("unknown byte order");
  Element e;
  e.kind = descr[1];
  const std::string digits = descr.substr(2);
  if (digits.size() > 1 || digits[0] < '1' || digits[0] > '8') throw refuse("unknown size");
  e.size = digits[0] - '0';
  e.big_endian = order == '>';
  switch (e.kind) {
    case 'b':
      if (e.size != 1) throw refuse("bool is one byte");
      e.dtype = boolean;
      break;
    case 'u':
      if (e.size == 1) e.dtype = u8;
      else if (e.size == 2) e.dtype = i32;
      else if (e.size == 4) e.dtype = i64;
      else throw refuse("uint64 does not fit Ember's int64");
      break;
    case 'i':
      if (e.size == 1 || e.size == 2 || e.size == 4) e.dtype = i32;
      else if (e.size == 8) e.dtype = i64;
      else throw refuse("unknown integer size");
      break;
    case 'f':
      if (e.size == 2 || e.size == 4) e.dtype = f32;
      else if (e.size == 8) e.dtype = f64;
      else throw refuse("unknown float size");
      break;
    default: throw refuse("not a numeric type");
  }
  return e;
}

// One stored element, in host (little-endian) order.
uint64_t load_bits(const unsigned char* p, int size, bool big_endian) {
  uint64_t v = 0;
  for (int i = 0; i < size; ++i) {
    const int byte = big_endian ? i : size - 1 - i;
    v = (v << 8) | p[byte];
  }
  return v;
}

float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h >> 15) << 31;
  uint32_t exp = (h >> 10) & 0x1F, mant = h & 0x3FF, bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (mant << 13);  // inf / NaN
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else {  // subnormal half: normalise
    exp = 113;
    while ((mant & 0x400) == 0) {
      mant <<= 1;
      --exp;
    }
    bits = sign | (exp << 23) | ((mant & 0x3FF) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

void convert(const Element& e, const unsigned char* p, Tensor& t) {
  const int64_t n = t.numel();
  const bool native = !e.big_endian && static_cast<std::size_t>(e.size) == itemsize(t.dtype());
  if (native && e.kind != 'b') {
    std::memcpy(t.raw_data(), p, static_cast<std::size_t>(n) * static_cast<std::size_t>(e.size));
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t bits = load_bits(p + i * e.size, e.size, e.big_endian);
    switch (e.kind) {
      case 'b': t.data<bool>()[i] = bits != 0; break;  // any non-zero byte is true, never a raw bool
      case 'u':
        if (t.dtype() == u8) t.data<uint8_t>()[i] = static_cast<uint8_t>(bits);
        else if (t.dtype() == i32) t.data<int32_t>()[i] = static_cast<int32_t>(bits);
        else t.data<int64_t>()[i] = static_cast<int64_t>(bits);
        break;
      case 'i': {
        const int shift = 64 - 8 * e.size;  // sign-extend
        const int64_t v = static_cast<int64_t>(bits << shift) >> shift;
        if (t.dtype() == i32) t.data<int32_t>()[i] = static_cast<int32_t>(v);
        else t.data<int64_t>()[i] = v;
        break;
      }
      case 'f':
        if (e.size == 2) {
          t.data<float>()[i] = half_to_float(static_cast<uint16_t>(bits));
        } else if (e.size == 4) {
          const uint32_t b = static_cast<uint32_t>(bits);
          std::memcpy(t.data<float>() + i, &b, 4);
        } else {
          std::memcpy(t.data<double>() + i, &bits, 8);
        }
        break;
    }
  }
}

const char* descr_of(DType dt) {
  switch (dt) {
    case DType::f32: return "<f4";
    case DType::f64: return "<f8";
    case DType::i32: return "<i4";
    case DType::i64: return "<i8";
    case DType::u8: return "|u1";
    case DType::b8: return "|b1";
  }
  return "<f4";
}

}  // namespace

Tensor parse_npy(std::string_view bytes, const std::string& what) {
  if (bytes.size() < 10 || bytes.substr(0, 6) != std::string_view(kMagic, 6)) {
    throw FormatError("'" + what + "': not a .npy file (expected the magic \\x93NUMPY at offset 0)");
  }
  const auto major = static_cast<unsigned char>(bytes[6]);
  std::size_t header_len = 0, header_start = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (std::size_t(static_cast<unsigned char>(bytes[9])) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw FormatError("'" + what + "': truncated .npy header");
    for (int i = 3; i >= 0; --i) header_len = (header_len << 8) | static_cast<unsigned char>(bytes[8 + i]);
    header_start = 12;
  } else {
    throw FormatError("'" + what + "': .npy version " + std::to_string(major) + " at offset 6 (expected 1, 2 or 3)");
  }
  if (header_len > bytes.size() - header_start) {
    throw FormatError("'" + what + "': .npy header of " + std::to_string(header_len) + " bytes but only " +
                      std::to_string(bytes.size() - header_start) + " bytes follow");
  }
  HeaderReader r(bytes.substr(header_start, header_len), what);
  std::string descr;
  bool fortran = false, have_descr = false, have_order = false, have_shape = false;
  Shape shape;
  r.expect('{');
  while (!r.eat('}')) {
    const std::string key = r.string_literal();
    r.expect(':');
    if (key == "descr" && !have_descr) {
      if (r.peek('[')) {
        throw FormatError("'" + what + "': .npy structured dtypes (records) are not supported (expected a plain numeric array)");
      }
      descr = r.string_literal();
      have_descr = true;
    } else if (key == "fortran_order" && !have_order) {
      fortran = r.boolean();
      have_order = true;
    } else if (key == "shape" && !have_shape) {
      shape = r.shape();
      have_shape = true;
    } else {
      r.fail("the keys 'descr', 'fortran_order', 'shape' once each (found '" + key + "')");
    }
    if (!r.eat(',')) {
      r.expect('}');
      break;
    }
  }
  if (!r.at_end()) r.fail("nothing after the dict but padding");
  if (!have_descr || !have_order || !have_shape) r.fail("all of 'descr', 'fortran_order' and 'shape'");
  const Element e = parse_descr(descr, what);
  unsigned __int128 count = 1;
  for (int64_t d : shape) {
    count *= static_cast<uint64_t>(d);
    if (count > (static_cast<unsigned __int128>(1) << 64)) break;  // the size check below refuses it
  }
  const unsigned __int128 need = count * static_cast<unsigned>(e.size);
  const std::size_t data_start = header_start + header_len;
  const std::size_t have = bytes.size() - data_start;
  if (need != have) {
    const std::string need_text = need > (static_cast<unsigned __int128>(1) << 64)
                                      ? std::string("more than 2^64")
                                      : std::to_string(static_cast<uint64_t>(need));
    throw FormatError("'" + what + "': .npy shape " + to_string(shape) + " of '" + descr + "' needs " + need_text +
                      " data bytes, the file has " + std::to_string(have));
  }
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data() + data_start);
  if (!fortran) {
    Tensor t = Tensor::empty(shape, e.dtype);
    convert(e, data, t);
    return t;
  }
  // Fortran order: the data is the transpose laid out in C order; read it so, then transpose back.
  Shape reversed;
  for (std::size_t d = shape.size(); d-- > 0;) reversed.push_back(shape[d]);
  Tensor t = Tensor::empty(reversed, e.dtype);
  convert(e, data, t);
  Axes perm;
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) perm.push_back(d);
  return t.permute(perm).contiguous();
}

Tensor load_npy(const std::string& path) { return parse_npy(detail::read_file_bytes(path), path); }

std::string npy_bytes(const Tensor& tensor) {
  Tensor c = tensor.detach().contiguous();
  std::ostringstream dict;
  dict << "{'descr': '" << descr_of(c.dtype()) << "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < c.shape().size(); ++i) dict << (i ? ", " : "") << c.shape()[i];
  if (c.shape().size() == 1) dict << ",";  // Python's one-element tuple
  dict << "), }";
  std::string header = dict.str();
  // numpy pads with spaces and ends with '\n' so that the data starts at a multiple of 64.
  const bool v2 = header.size() + 1 + 10 > 65535;
  const std::size_t prefix = v2 ? 12 : 10;
  const std::size_t total = (prefix + header.size() + 1 + 63) / 64 * 64;
  header.append(total - prefix - header.size() - 1, ' ');
  header += '\n';
  std::string out(kMagic, 6);
  out += static_cast<char>(v2 ? 2 : 1);
  out += '\0';
  const std::size_t len = header.size();
  for (std::size_t i = 0; i < (v2 ? 4u : 2u); ++i) out += static_cast<char>((len >> (8 * i)) & 0xFF);
  out += header;
  const std::size_t nbytes = static_cast<std::size_t>(c.numel()) * itemsize(c.dtype());
  out.append(static_cast<const char*>(c.raw_data()), nbytes);
  return out;
}

namespace {

uint32_t le(const unsigned char* p, int n) {
  uint32_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
uint64_t le64(const unsigned char* p) { return (uint64_t(le(p + 4, 4)) << 32) | le(p, 4); }

// The zip format (PKWARE APPNOTE): local header + data per member, then the central directory (one
// entry per member with its sizes, CRC and local header offset), then the end-of-central-directory
// record. The central directory is authoritative: numpy's zipfile writes 0xFFFFFFFF sizes in the
// local headers (force_zip64) and the real ones in a zip64 extra field.
class ZipReader {
 public:
  ZipReader(std::string_view bytes, const std::string& what)
      : b_(reinterpret_cast<const unsigned char*>(bytes.data())), n_(bytes.size()), what_(what) {}

  [[noreturn]] void fail(const std::string& msg) const { throw FormatError("'" + what_ + "': " + msg); }
  void need(uint64_t offset, uint64_t size, const std::string& what) const {
    if (offset > n_ || size > n_ - offset) {
      fail(what + " at offset " + std::to_string(offset) + " (" + std::to_string(size) + " bytes) runs past the end of the " +
           std::to_string(n_) + "-byte file");
    }
  }

  NamedArrays read() {
    // The end record is the last 22 bytes plus a comment of up to 65535: search backwards.
    if (n_ < 22) fail("too short for a zip archive (" + std::to_string(n_) + " bytes; .npz files are zip archives)");
    std::size_t eocd = n_ - 22 + 1;
    const std::size_t lowest = n_ > 22 + 65535 ? n_ - 22 - 65535 : 0;
    bool found = false;
    while (eocd-- > lowest) {
      if (le(b_ + eocd, 4) == 0x06054b50 && eocd + 22 + le(b_ + eocd + 20, 2) == n_) {
        found = true;
        break;
      }
    }
    if (!found) fail("no zip end-of-central-directory record (not an .npz file, or truncated)");
    uint64_t entries = le(b_ + eocd + 10, 2);
    uint64_t cd_size = le(b_ + eocd + 12, 4), cd_offset = le(b_ + eocd + 16, 4);
    if (entries == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) read_zip64_end(eocd, entries, cd_size, cd_offset);
    need(cd_offset, cd_size, "the central directory");
    if (cd_offset + cd_size > eocd) fail("the central directory overlaps the end record");
    NamedArrays out;
    uint64_t at = cd_offset;
    const uint64_t end = cd_offset + cd_size;
    for (uint64_t i = 0; i < entries; ++i) {
      if (at + 46 > end || le(b_ + at, 4) != 0x02014b50) {
        fail("central directory entry " + std::to_string(i) + " at offset " + std::to_string(at) + ": bad signature or truncated");
      }
      const unsigned char* e = b_ + at;
      const unsigned flags = le(e + 8, 2), method = le(e + 10, 2);
      const uint32_t crc = le(e + 16, 4);
      uint64_t csize = le(e + 20, 4), usize = le(e + 24, 4);
      const uint64_t name_len = le(e + 28, 2), extra_len = le(e + 30, 2), comment_len = le(e + 32, 2);
      uint64_t local = le(e + 42, 4);
      if (at + 46 + name_len + extra_len + comment_len > end) fail("central directory entry " + std::to_string(i) + " runs past the directory");
      const std::string name(reinterpret_cast<const char*>(e + 46), name_len);
      read_zip64_extra(e + 46 + name_len, extra_len, name, usize, csize, local);
      at += 46 + name_len + extra_len + comment_len;
      if (flags & 1) fail("member '" + name + "' is encrypted");
      if (method != 0 && method != 8) {
        fail("member '" + name + "' uses compression method " + std::to_string(method) + " (expected 0 stored or 8 deflated)");
      }
      // The local header repeats the name; its own extra field may differ in length.
      need(local, 30, "the local header of '" + name + "'");
      if (le(b_ + local, 4) != 0x04034b50) fail("member '" + name + "': no local header at offset " + std::to_string(local));
      const uint64_t data_at = local + 30 + le(b_ + local + 26, 2) + le(b_ + local + 28, 2);
      need(data_at, csize, "the data of member '" + name + "'");
      const std::string_view packed(reinterpret_cast<const char*>(b_ + data_at), csize);
      std::string member = method == 0 ? stored(packed, usize, name) : inflate(packed, usize, name);
      if (crc_of(member) != crc) {
        fail("member '" + name + "': CRC-32 mismatch (corrupt data)");
      }
      std::string key = name.size() > 4 && name.ends_with(".npy") ? name.substr(0, name.size() - 4) : name;
      out.emplace_back(key, parse_npy(member, what_ + ":" + name));
    }
    return out;
  }

 private:
  static uint32_t crc_of(const std::string& s) {
    uLong c = crc32(0, nullptr, 0);
    for (std::size_t off = 0; off < s.size();) {
      const std::size_t step = std::min<std::size_t>(s.size() - off, 1u << 30);
      c = crc32(c, reinterpret_cast<const Bytef*>(s.data() + off), static_cast<uInt>(step));
      off += step;
    }
    return static_cast<uint32_t>(c);
  }

  void read_zip64_end(std::size_t eocd, uint64_t& entries, uint64_t& cd_size, uint64_t& cd_offset) const {
    // Zip64 end locator: 20 bytes just before the end record, pointing at the zip64 end record.
    if (eocd < 20 || le(b_ + eocd - 20, 4) != 0x07064b50) fail("zip64 sizes without a zip64 end-of-central-directory locator");
    const uint64_t rec = le64(b_ + eocd - 20 + 8);
    need(rec, 56, "the zip64 end record");
    if (le(b_ + rec, 4) != 0x06064b50) fail("no zip64 end record at offset " + std::to_string(rec));
    entries = le64(b_ + rec + 32);
    cd_size = le64(b_ + rec + 40);
    cd_offset = le64(b_ + rec + 48);
  }

  // Values saturated at 0xFFFFFFFF in the fixed fields come, in this order, from the zip64 extra
  // field (id 0x0001).
  void read_zip64_extra(const unsigned char* x, uint64_t len, const std::string& name, uint64_t& usize, uint64_t& csize,
                        uint64_t& local) const {
    for (uint64_t at = 0; at + 4 <= len;) {
      const unsigned id = le(x + at, 2);
      const uint64_t size = le(x + at + 2, 2);
      if (at + 4 + size > len) fail("member '" + name + "': extra field runs past its end");
      if (id == 0x0001) {
        uint64_t p = at + 4;
        for (uint64_t* v : {&usize, &csize, &local}) {
          if (*v != 0xFFFFFFFF) continue;
          if (p + 8 > at + 4 + size) fail("member '" + name + "': zip64 extra field too short");
          *v = le64(x + p);
          p += 8;
        }
      }
      at += 4 + size;
    }
  }

  std::string stored(std::string_view packed, uint64_t usize, const std::string& name) const {
    if (packed.size() != usize) {
      fail("stored member '" + name + "' has " + std::to_string(packed.size()) + " bytes but declares " + std::to_string(usize));
    }
    return std::string(packed);
  }

  std::string inflate(std::string_view packed, uint64_t usize, const std::string& name) const {
    // Deflate expands at most 1032:1: a larger declared size is a lie, refused before allocating.
    if (usize / 1032 > packed.size()) {
      fail("deflated member '" + name + "' declares " + std::to_string(usize) + " bytes, more than " +
           std::to_string(packed.size()) + " compressed bytes can hold");
    }
    std::string out(static_cast<std::size_t>(usize), '\0');
    libdeflate_decompressor* d = libdeflate_alloc_decompressor();
    if (!d) throw MemoryError("cannot allocate a deflate decompressor");
    std::size_t got = 0;
    const libdeflate_result r = libdeflate_deflate_decompress(d, packed.data(), packed.size(), out.data(), out.size(), &got);
    libdeflate_free_decompressor(d);
    if (r != LIBDEFLATE_SUCCESS || got != usize) {
      fail("deflated member '" + name + "' is corrupt or does not inflate to its declared " + std::to_string(usize) + " bytes");
    }
    return out;
  }

  const unsigned char* b_;
  std::size_t n_;
  std::string what_;
};

}  // namespace

NamedArrays parse_npz(std::string_view bytes, const std::string& what) { return ZipReader(bytes, what).read(); }

NamedArrays load_npz(const std::string& path) { return parse_npz(detail::read_file_bytes(path), path); }

const Tensor* find_array(const NamedArrays& arrays, const std::string& name) {
  for (const auto& [key, value] : arrays) {
    if (key == name) return &value;
  }
  return nullptr;
}

}  // namespace ember::data
