#pragma once
// .npy files: the reader lives in data/npy.hpp (layer 7, so data readers can use it); io adds the
// atomic writer.
#include <string>

#include "ember/data/npy.hpp"

namespace ember::io {

using data::load_npy;
using data::npy_bytes;
using data::parse_npy;

// npy_bytes(tensor) written atomically (io/atomic_file.hpp).
void save_npy(const std::string& path, const Tensor& tensor);

}  // namespace ember::io
