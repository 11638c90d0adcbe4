// The inputs that crashed, hung or leaked inside libhdf5 1.10 (fuzz/known_crashes, known_hangs,
// known_leaks; fuzz/README.md) through the library API: what keras_h5_fuzz does with an input (the
// whole h5py-like walk, then load_model) must end in an ember::Error or a loaded file, in seconds,
// without a signal — the child-process check (src/io/hdf5_check.cpp) catches what libhdf5 cannot.
#include <chrono>
#include <filesystem>

#include "ember/io/hdf5.hpp"
#include "ember/nn/model.hpp"
#include "test_support.hpp"

using namespace ember;
namespace fs = std::filesystem;

namespace {

std::vector<fs::path> known_bad_files() {
  std::vector<fs::path> out;
  for (const char* dir : {"known_crashes", "known_hangs", "known_leaks"}) {
    for (const auto& e : fs::directory_iterator(fs::path(ember::testing::source_dir()) / "fuzz" / dir)) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// keras_h5_fuzz's walk: every attribute's strings, every object, every dataset read, then close.
void walk(const std::string& path) {
  io::h5::File f(path, "r");
  auto strings = [](const io::h5::Attributes& a) {
    for (const auto& k : a.keys()) {
      try {
        a.get_strings(k);
      } catch (const Error&) {
      }
    }
  };
  strings(f.attrs());
  f.visititems([&](const std::string&, const io::h5::Object& obj) {
    strings(obj.attrs());
    if (!obj.is_dataset()) return;
    try {
      obj.as_dataset().read();
    } catch (const Error&) {
    }
  });
  f.close();
}

}  // namespace

TEST(Hdf5Damaged, KnownLibhdf5CrashesHangsAndLeaksAreEmberErrors) {
  const auto files = known_bad_files();
  ASSERT_EQ(files.size(), 4u);
  for (const auto& p : files) {
    SCOPED_TRACE(p.string());
    const auto start = std::chrono::steady_clock::now();
    // Each of these files is refused at the open (the check) or by the loader: neither call loads.
    std::string walk_error = ember::testing::message_of<Error>([&] { walk(p.string()); });
    std::string load_error = ember::testing::message_of<Error>([&] { nn::load_model(p.string()); });
    EXPECT_NE(load_error.find(p.string()), std::string::npos) << load_error;
    EXPECT_EQ(load_error.find('\n'), std::string::npos) << load_error;
    (void)walk_error;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(seconds, 60.0);  // the hang: 3 s of CPU time, twice, on a possibly busy machine
  }
}

TEST(Hdf5Damaged, CheckNamesTheCrashAndTheHang) {
  const std::string dir = ember::testing::source_dir() + "/fuzz/";
  std::string crash = ember::testing::message_of<FormatError>(
      [&] { io::h5::File(dir + "known_crashes/keras_h5_libhdf5_wild_read.h5", "r"); });
  EXPECT_NE(crash.find("libhdf5 crashed while checking it"), std::string::npos) << crash;
  std::string hang = ember::testing::message_of<FormatError>(
      [&] { io::h5::File(dir + "known_hangs/keras_h5_vlen_attr_global_heap.h5", "r"); });
  EXPECT_NE(hang.find("libhdf5 hung while checking it"), std::string::npos) << hang;
  std::string leak = ember::testing::message_of<FormatError>(
      [&] { io::h5::File(dir + "known_leaks/libhdf5_huge_image_leak.h5", "r"); });
  EXPECT_NE(leak.find("cannot open: damaged or truncated HDF5 file"), std::string::npos) << leak;
}

// A good file passes the check in every reading mode, and FileOptions{.check = false} skips it.
TEST(Hdf5Damaged, GoodFilesPassTheCheck) {
  const fs::path p = fs::temp_directory_path() / ("ember_h5_check_" + std::to_string(::getpid()) + ".h5");
  {
    io::h5::File f(p.string(), "w");
    f.create_dataset("x", ones({300, 7}, f32));
    f.attrs().set("note", "vlen string");
  }
  for (const char* mode : {"r", "r+", "a"}) {
    io::h5::File f(p.string(), mode);
    EXPECT_EQ(f.attrs().get_string("note"), "vlen string");
    EXPECT_EQ(f.dataset("x").read().sum().item<double>(), 2100.0);
  }
  io::h5::File f(p.string(), "r", {.check = false});
  EXPECT_EQ(f.dataset("x").shape(), (Shape{300, 7}));
  f.close();
  fs::remove(p);
}
