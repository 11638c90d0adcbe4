#pragma once
// For fuzz targets whose reader takes a path: the input is placed in an anonymous in-memory file
// (memfd) and the reader is given /proc/self/fd/N, so nothing touches the disk and the reader's own
// open / fstat / read path is what gets fuzzed.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
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

}  // namespace ember::fuzz
