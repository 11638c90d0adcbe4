// The notes' h5py example with Ember's io::h5: np.arange(100) written at /test_numpy,
// /subgroup/test_numpy and /subgroup/subsub/test_numpy, then the file read back — visit(), keys(),
// the dataset's name, shape, dtype and values — as the notes print them with h5py.
//
// Usage: example_h5py_notes [FILE]   (default test.h5 in the current directory)
// Exits 1 unless every dataset reads back as 0, 1, ..., 99.
#include <ember/ember.hpp>

#include <iostream>

using namespace ember;
namespace h5 = ember::io::h5;

int main(int argc, char** argv) {
  if (argc > 2) {
    std::cerr << "usage: example_h5py_notes [FILE]\n";
    return 2;
  }
  const std::string path = argc == 2 ? argv[1] : "test.h5";
  try {
    Tensor x = arange(100);  // int64, like np.arange(100)
    {
      h5::File f(path, "w");
      f.create_dataset("test_numpy", x);
      h5::Group subgroup = f.create_group("subgroup");
      subgroup.create_dataset("test_numpy", x);
      h5::Group subsub = subgroup.create_group("subsub");
      subsub.create_dataset("test_numpy", x);
    }  // closing the file saves it (atomically)

    h5::File f(path, "r");
    f.visit([](const std::string& name) { std::cout << name << "\n"; });
    std::cout << "---------------------------------------\n";
    std::cout << "<KeysViewHDF5 [";
    const auto keys = f.group("subgroup").keys();
    for (std::size_t i = 0; i < keys.size(); ++i) std::cout << (i ? ", '" : "'") << keys[i] << "'";
    std::cout << "]>\n";
    std::cout << "---------------------------------------\n";
    h5::Dataset dset = f.dataset("test_numpy");
    std::cout << dset.name() << "\n" << to_string(dset.shape()) << "\n" << dset.type_name() << "\n";
    std::cout << dset.read() << "\n";
    std::cout << "---------------------------------------\n";

    bool ok = true;
    for (const char* name : {"test_numpy", "subgroup/test_numpy", "subgroup/subsub/test_numpy"}) {
      std::vector<int64_t> v = f.dataset(name).read().to_vector<int64_t>();
      for (int64_t i = 0; i < 100; ++i) ok = ok && v.size() == 100 && v[static_cast<std::size_t>(i)] == i;
    }
    std::cout << (ok ? "all three datasets read back as arange(100)" : "MISMATCH: a dataset differs from arange(100)") << "\n";
    return ok ? 0 : 1;
  } catch (const Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
