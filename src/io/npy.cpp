#include "ember/io/npy.hpp"

#include "ember/io/atomic_file.hpp"

namespace ember::io {

void save_npy(const std::string& path, const Tensor& tensor) { write_file_atomically(path, npy_bytes(tensor)); }

}  // namespace ember::io
