#include "ember/io/safetensors.hpp"

#include "ember/io/atomic_file.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

namespace ember::io {

namespace {

const char* st_dtype(DType dt) {
  switch (dt) {
    case DType::f32: return "F32";
    case DType::f64: return "F64";
    case DType::i32: return "I32";
    case DType::i64: return "I64";
    case DType::u8: return "U8";
    case DType::b8: return "BOOL";
  }
  return "F32";
}

DType from_st_dtype(const std::string& s, const std::string& name) {
  if (s == "F32") return f32;
  if (s == "F64") return f64;
  if (s == "I32") return i32;
  if (s == "I64") return i64;
  if (s == "U8") return u8;
  if (s == "BOOL") return boolean;
  throw FormatError("safetensors: tensor '" + name + "' has unsupported dtype '" + s + "'");
}

}  // namespace

void save_safetensors(const std::string& path, const TensorMap& tensors, const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<Tensor> contiguous_data;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (name == "__metadata__") throw ValueError("safetensors: '__metadata__' is not a valid tensor name");
    Tensor c = Tensor::empty(t.shape(), t.dtype());
    c.copy_(t.detach());
    uint64_t bytes = static_cast<uint64_t>(c.numel()) * itemsize(c.dtype());
    header[name] = {{"dtype", st_dtype(c.dtype())}, {"shape", c.shape()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    contiguous_data.push_back(c);
  }
  std::string text = header.dump();
  while (text.size() % 8 != 0) text += ' ';  // keeps the data 8-byte aligned
  AtomicFile out(path);
  uint64_t n = text.size();
  unsigned char le[8];
  for (int i = 0; i < 8; ++i) le[i] = static_cast<unsigned char>(n >> (8 * i));
  out.write(le, 8);
  out.write(text);
  for (const Tensor& c : contiguous_data) out.write(c.raw_data(), static_cast<std::size_t>(c.numel()) * itemsize(c.dtype()));
  out.commit();
}

SafetensorsFile load_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IOError("cannot open '" + path + "'");
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 8) throw FormatError("safetensors '" + path + "': file too short (" + std::to_string(bytes.size()) + " bytes)");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
  if (n > bytes.size() - 8) {
    throw FormatError("safetensors '" + path + "': header length " + std::to_string(n) + " exceeds the file size");
  }
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(n));
  } catch (const nlohmann::json::exception& e) {
    throw FormatError("safetensors '" + path + "': bad header JSON: " + e.what());
  }
  if (!header.is_object()) throw FormatError("safetensors '" + path + "': header is not a JSON object");
  const uint64_t data_size = bytes.size() - 8 - n;
  const char* data = bytes.data() + 8 + n;
  SafetensorsFile file;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& item : header.items()) {
    // Plain references, not a structured binding: clang (16) cannot capture a structured binding in
    // the lambda below when compiling with -fopenmp, and the fuzz build uses clang.
    const std::string& name = item.key();
    const nlohmann::json& entry = item.value();
    if (name == "__metadata__") {
      if (!entry.is_object()) throw FormatError("safetensors '" + path + "': __metadata__ is not an object");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) throw FormatError("safetensors '" + path + "': metadata '" + k + "' is not a string");
        file.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    auto field = [&](const char* f) -> const nlohmann::json& {
      if (!entry.is_object() || !entry.contains(f)) {
        throw FormatError("safetensors '" + path + "': tensor '" + name + "' has no field '" + f + "'");
      }
      return entry.at(f);
    };
    const auto& dt = field("dtype");
    const auto& sh = field("shape");
    const auto& off = field("data_offsets");
    if (!dt.is_string() || !sh.is_array() || !off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() ||
        !off[1].is_number_unsigned()) {
      throw FormatError("safetensors '" + path + "': tensor '" + name + "' has malformed fields");
    }
    DType dtype = from_st_dtype(dt.get<std::string>(), name);
    Shape shape;
    for (const auto& d : sh) {
      if (!d.is_number_unsigned()) throw FormatError("safetensors '" + path + "': tensor '" + name + "' has a bad shape");
      shape.push_back(d.get<int64_t>());
    }
    if (shape.size() > static_cast<std::size_t>(kMaxDims)) {
      throw FormatError("safetensors '" + path + "': tensor '" + name + "' has too many dimensions");
    }
    uint64_t b = off[0].get<uint64_t>(), e = off[1].get<uint64_t>();
    unsigned __int128 count = 1;
    for (int64_t d : shape) count *= static_cast<uint64_t>(d);
    unsigned __int128 want = count * itemsize(dtype);
    if (b > e || e > data_size || want != e - b) {
      throw FormatError("safetensors '" + path + "': tensor '" + name + "' offsets [" + std::to_string(b) + ", " +
                        std::to_string(e) + ") do not fit shape " + to_string(shape) + " inside " +
                        std::to_string(data_size) + " data bytes");
    }
    ranges.push_back({b, e});
    Tensor t = Tensor::empty(shape, dtype);
    if (dtype == boolean) {
      // Any non-zero byte is true; never reinterpret arbitrary bytes as bool.
      auto* dst = static_cast<unsigned char*>(t.raw_data());
      for (uint64_t i = 0; i < e - b; ++i) dst[i] = data[b + i] != 0 ? 1 : 0;
    } else if (e > b) {
      std::memcpy(t.raw_data(), data + b, e - b);
    }
    file.tensors[name] = t;
  }
  std::sort(ranges.begin(), ranges.end());
  for (std::size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].first < ranges[i - 1].second) throw FormatError("safetensors '" + path + "': tensor data overlaps");
  }
  return file;
}

}  // namespace ember::io
