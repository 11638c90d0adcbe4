#pragma once
// For fuzz targets whose reader takes a path: the input is placed in an anonymous in-memory file
// (memfd) and the reader is given /proc/self/fd/N, so nothing touches the disk and the reader's own
// open / fstat / read path is what gets fuzzed.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace ember::fuzz {

class MemFile {
 public:
  MemFile() : fd_(memfd_create("ember-fuzz", MFD_CLOEXEC)) {
    if (fd_ < 0) std::abort();  // the harness cannot run: not a finding in the reader
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  // Replaces the contents with `size` bytes.
  const std::string& hold(const void* data, std::size_t size) {
    if (ftruncate(fd_, 0) != 0) std::abort();
    const char* p = static_cast<const char*>(data);
    for (std::size_t off = 0; off < size;) {
      const ssize_t n = pwrite(fd_, p + off, size - off, static_cast<off_t>(off));
      if (n <= 0) std::abort();
      off += static_cast<std::size_t>(n);
    }
    return path_;
  }

 private:
  int fd_;
  std::string path_;
};

// A named file on tmpfs, one per process: /dev/shm/STEM-PID.EXT (or the temp directory). For
// readers that need a real path (libhdf5 resolves it, and /proc/self/fd/N of a memfd resolves to
// "/memfd:... (deleted)", which it cannot open), and for targets whose input must outlive a crash:
// a process that dies leaves its last input there, where scripts/fuzz.sh looks when libFuzzer wrote
// none (its `kept_input` table).
class ShmFile {
 public:
  ShmFile(const std::string& stem, const std::string& extension) {
    const std::filesystem::path dir = std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
    path_ = (dir / (stem + "-" + std::to_string(::getpid()) + extension)).string();
  }
  ~ShmFile() { ::unlink(path_.c_str()); }
  const std::string& hold(const void* data, std::size_t size) {
    const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) std::abort();  // the harness cannot run: not a finding in the reader
    const char* p = static_cast<const char*>(data);
    for (std::size_t off = 0; off < size;) {
      const ssize_t n = ::write(fd, p + off, size - off);
      if (n <= 0) std::abort();
      off += static_cast<std::size_t>(n);
    }
    ::close(fd);
    return path_;
  }

 private:
  std::string path_;
};

}  // namespace ember::fuzz
