// Every test process writes its temporary files under a directory of its own and removes it when
// it ends, so that running the suite does not leave hundreds of entries in /tmp.
//
// Compiled into every test executable (an INTERFACE source of ember_test_support: a static library's
// unreferenced object would be dropped by the linker, and with it this registration). It sets TMPDIR
// before any test runs, so std::filesystem::temp_directory_path() and the `ember` processes the CLI
// tests start (they inherit the environment) all write below it; so does the IDX cache. A process
// whose tests failed keeps its directory and says where it is, so the files that explain the
// failure are still there.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <system_error>

namespace {

class PerProcessTempDir : public ::testing::Environment {
 public:
  void SetUp() override {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path base = fs::temp_directory_path(ec);
    if (ec) return;  // no usable temp dir: leave TMPDIR alone, tests report their own errors
    dir_ = base / ("ember_tests_" + std::to_string(::getpid()));
    fs::remove_all(dir_, ec);  // a stale directory of an earlier process with the same pid
    if (!fs::create_directories(dir_, ec) || ec) {
      dir_.clear();
      return;
    }
    ::setenv("TMPDIR", dir_.c_str(), 1);
    // The IDX cache (data/idx.hpp) of these processes lives here too, not in the user's home: the
    // suite's data sets would otherwise be kept there after the run.
    ::setenv("EMBER_CACHE_DIR", (dir_ / "cache").c_str(), 1);
  }

  void TearDown() override {
    if (dir_.empty()) return;
    if (!::testing::UnitTest::GetInstance()->Passed()) {
      std::cerr << "test files kept in " << dir_.string() << "\n";
      return;
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

 private:
  std::filesystem::path dir_;
};

// AddGlobalTestEnvironment takes ownership; the registration runs during static initialisation,
// before gtest_main's RUN_ALL_TESTS.
[[maybe_unused]] ::testing::Environment* const registered =
    ::testing::AddGlobalTestEnvironment(new PerProcessTempDir);

}  // namespace
