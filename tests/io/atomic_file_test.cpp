// io::AtomicFile: the target holds the old or the complete new bytes, never a mixture, and no
// temporary file is left behind whether the save commits, throws or is abandoned.
#include "ember/io/atomic_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "ember/core/error.hpp"

namespace fs = std::filesystem;
using namespace ember;

namespace {

fs::path fresh_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("ember_atomic_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::size_t entries(const fs::path& d) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(d)) ++n;
  return n;
}

}  // namespace

TEST(AtomicFile, WritesAndReplaces) {
  fs::path d = fresh_dir("replace");
  fs::path target = d / "a.bin";
  io::write_file_atomically(target.string(), "first");
  EXPECT_EQ(slurp(target), "first");
  io::write_file_atomically(target.string(), "second, longer");
  EXPECT_EQ(slurp(target), "second, longer");
  EXPECT_EQ(entries(d), 1u);  // no temporary left
  struct stat st {};
  ASSERT_EQ(::stat(target.c_str(), &st), 0);
  mode_t mask = ::umask(0);
  ::umask(mask);
  EXPECT_EQ(st.st_mode & 0777, 0666 & ~mask);
  fs::remove_all(d);
}

TEST(AtomicFile, AbandonedSaveLeavesOldFileAndNoTemporary) {
  fs::path d = fresh_dir("abandon");
  fs::path target = d / "m.bin";
  io::write_file_atomically(target.string(), "old");
  {
    io::AtomicFile f(target.string());
    f.write("half of the new");
    EXPECT_TRUE(fs::exists(f.temp_path()));
    EXPECT_EQ(fs::path(f.temp_path()).parent_path(), d);  // same directory: the rename is atomic
  }  // destroyed without commit (as when an exception unwinds a save)
  EXPECT_EQ(slurp(target), "old");
  EXPECT_EQ(entries(d), 1u);
  fs::remove_all(d);
}

TEST(AtomicFile, WriteByNameThroughTempPath) {
  fs::path d = fresh_dir("byname");
  fs::path target = d / "x.h5";
  io::AtomicFile f(target.string());
  {
    std::ofstream out(f.temp_path(), std::ios::binary | std::ios::trunc);
    out << "written by another library";
  }
  f.commit();
  EXPECT_EQ(slurp(target), "written by another library");
  EXPECT_EQ(entries(d), 1u);
  fs::remove_all(d);
}

TEST(AtomicFile, MissingDirectoryIsAnIOErrorNamingThePath) {
  fs::path target = fs::temp_directory_path() / "ember_no_such_dir_xyz" / "f.bin";
  try {
    io::write_file_atomically(target.string(), "x");
    FAIL() << "expected IOError";
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find(target.string()), std::string::npos) << e.what();
  }
  EXPECT_THROW(io::AtomicFile(""), IOError);
}
