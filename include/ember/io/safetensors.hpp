#pragma once
// safetensors files: an 8-byte little-endian header length, a JSON header mapping each tensor
// name to {dtype, shape, data_offsets} (plus optional "__metadata__" of strings), then the raw
// little-endian data. Opens in PyTorch / Hugging Face tooling and cannot execute code.
#include <map>
#include <string>

#include "ember/core/tensor.hpp"

namespace ember::io {

using TensorMap = std::map<std::string, Tensor>;

// Writes atomically and durably (io/atomic_file.hpp). Throws IOError on failure.
void save_safetensors(const std::string& path, const TensorMap& tensors,
                      const std::map<std::string, std::string>& metadata = {});

struct SafetensorsFile {
  TensorMap tensors;
  std::map<std::string, std::string> metadata;
};

// Reads and validates everything (header JSON, dtypes, shapes, offsets inside the file, no
// overlaps). Throws IOError if unreadable, FormatError naming the tensor or offset otherwise.
SafetensorsFile load_safetensors(const std::string& path);

}  // namespace ember::io
