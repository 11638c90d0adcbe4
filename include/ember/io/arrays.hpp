#pragma once
// Arrays from files, for `ember predict --input` and for users: one call whatever the format.
#include <string>

#include "ember/core/tensor.hpp"

namespace ember::io {

// An array from FILE.npy, from FILE.safetensors holding one tensor (FILE.safetensors:NAME picks one
// of several), or from a dataset of an HDF5 file (FILE.h5:/path/to/dataset; the path may be left
// out when the file holds exactly one dataset). IOError / FormatError as the readers give them,
// ValueError for another extension or an ambiguous file.
Tensor read_array(const std::string& spec);

}  // namespace ember::io
