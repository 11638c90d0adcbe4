#include "ember/io/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ember/core/error.hpp"

namespace ember::io {

namespace {

std::string errno_text() { return std::strerror(errno); }

// fsync with EINTR retried. Some file systems (tmpfs, some overlays) report EINVAL for fsync on a
// directory: that is not a failure of the save, so only a file's fsync is strict.
bool sync_fd(int fd) {
  while (fsync(fd) != 0) {
    if (errno != EINTR) return false;
  }
  return true;
}

// The process's umask without changing it (umask(2) can only read it by setting it, which would race
// with other threads creating files): Linux reports it in /proc/self/status.
mode_t current_umask() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Umask:", 0) == 0) return static_cast<mode_t>(std::stoul(line.substr(6), nullptr, 8));
  }
  return 022;
}

}  // namespace

AtomicFile::AtomicFile(std::string target) : target_(std::move(target)) {
  if (target_.empty()) throw IOError("cannot write a file with an empty path");
  std::filesystem::path p(target_);
  std::filesystem::path dir = p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
  std::string pattern = (dir / ("." + p.filename().string() + ".tmp-XXXXXX")).string();
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  fd_ = mkostemp(name.data(), O_CLOEXEC);
  if (fd_ < 0) throw IOError("cannot write '" + target_ + "': cannot create a file in '" + dir.string() + "': " + errno_text());
  temp_ = name.data();
  // mkstemp makes the file 0600; a saved model should get the usual permissions (0666 & ~umask).
  fchmod(fd_, 0666 & ~current_umask());
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) close(fd_);
  if (!committed_ && !temp_.empty()) unlink(temp_.c_str());
}

void AtomicFile::write(const void* data, std::size_t size) {
  if (fd_ < 0) throw IOError("cannot write '" + target_ + "': the file is already closed");
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd_, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw IOError("error while writing '" + target_ + "': " + errno_text());
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

void AtomicFile::commit() {
  if (committed_) return;
  // A library may have replaced the file at temp_path() (libhdf5 truncates or recreates it), so
  // sync the file now at that path rather than our descriptor.
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
  int fd = open(temp_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IOError("cannot write '" + target_ + "': temporary file vanished: " + errno_text());
  bool ok = sync_fd(fd);
  close(fd);
  if (!ok) throw IOError("cannot write '" + target_ + "': fsync failed: " + errno_text());
  if (std::rename(temp_.c_str(), target_.c_str()) != 0) {
    throw IOError("cannot move '" + temp_ + "' to '" + target_ + "': " + errno_text());
  }
  committed_ = true;
  std::filesystem::path p(target_);
  std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    sync_fd(dfd);  // best effort: see sync_fd
    close(dfd);
  }
}

void write_file_atomically(const std::string& target, std::string_view bytes) {
  AtomicFile f(target);
  f.write(bytes);
  f.commit();
}

}  // namespace ember::io
