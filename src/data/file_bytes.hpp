#pragma once
// The whole of a file as bytes, for the readers that parse from memory (npy, npz, CIFAR, CSV).
#include <fstream>
#include <string>

#include "ember/core/error.hpp"

namespace ember::data::detail {

inline std::string read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw IOError("cannot open '" + path + "'");
  const std::streamoff size = in.tellg();
  if (size < 0) throw IOError("cannot read '" + path + "' (not a regular file?)");
  std::string bytes(static_cast<std::size_t>(size), '\0');
  in.seekg(0);
  if (!in.read(bytes.data(), size)) throw IOError("cannot read '" + path + "'");
  return bytes;
}

}  // namespace ember::data::detail
