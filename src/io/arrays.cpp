#include "ember/io/arrays.hpp"

#include <filesystem>

#include "ember/io/hdf5.hpp"
#include "ember/io/npy.hpp"
#include "ember/io/safetensors.hpp"

namespace ember::io {

namespace fs = std::filesystem;

Tensor read_array(const std::string& spec) {
  std::string path = spec, name;
  if (auto colon = spec.rfind(':'); colon != std::string::npos && !fs::exists(spec)) {
    path = spec.substr(0, colon);
    name = spec.substr(colon + 1);
  }
  const std::string ext = fs::path(path).extension().string();
  if (ext == ".npy") {
    if (!name.empty()) throw ValueError("'" + spec + "': a .npy file holds one array; drop ':" + name + "'");
    return load_npy(path);
  }
  if (ext == ".safetensors") {
    SafetensorsFile f = load_safetensors(path);
    if (!name.empty()) {
      auto it = f.tensors.find(name);
      if (it == f.tensors.end()) throw FormatError("'" + path + "' has no tensor '" + name + "'");
      return it->second;
    }
    if (f.tensors.size() != 1) {
      std::string names;
      for (const auto& [n, t] : f.tensors) names += (names.empty() ? "" : ", ") + n;
      throw ValueError("'" + path + "' holds " + std::to_string(f.tensors.size()) + " tensors (" + names +
                       "): pick one as FILE.safetensors:NAME");
    }
    return f.tensors.begin()->second;
  }
  if (ext == ".h5" || ext == ".hdf5") {
    h5::File f(path, "r");
    if (!name.empty()) return f.dataset(name).read();
    std::vector<std::string> datasets;
    f.visititems([&](const std::string& n, const h5::Object& o) {
      if (o.is_dataset()) datasets.push_back(n);
    });
    if (datasets.size() != 1) {
      std::string names;
      for (const auto& n : datasets) names += (names.empty() ? "" : ", ") + n;
      throw ValueError("'" + path + "' holds " + std::to_string(datasets.size()) + " datasets (" + names +
                       "): pick one as FILE.h5:/PATH");
    }
    return f.dataset(datasets[0]).read();
  }
  throw ValueError("input '" + spec + "': expected a .npy, .safetensors or .h5 file");
}

}  // namespace ember::io
