#pragma once
// Atomic, durable file replacement: a crash or SIGKILL at any moment leaves either the old file or
// the complete new one at the target path, never a torn mixture, and a completed save survives a
// power cut. How: the bytes go to a uniquely named temporary file in the target's directory (same
// file system, so the rename is atomic), which is flushed and fsync'ed, renamed over the target,
// and then the directory itself is fsync'ed so the rename is on disk too.
//
// Every writer of user-visible files (safetensors, .h5, checkpoints, their index) goes through this.
#include <cstddef>
#include <string>
#include <string_view>

namespace ember::io {

class AtomicFile {
 public:
  // Creates the temporary file next to `target`. Throws IOError (with the path) if it cannot.
  explicit AtomicFile(std::string target);
  // Removes the temporary file unless commit() succeeded: nothing partial is ever left behind.
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Appends bytes to the temporary file. Throws IOError on a short or failed write.
  void write(const void* data, std::size_t size);
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }

  // For libraries that write by file name (libhdf5): the temporary file's path. Write to it, close
  // it, then commit(). Do not mix with write().
  const std::string& temp_path() const { return temp_; }
  const std::string& target() const { return target_; }

  // fsync the temporary file, rename it over the target, fsync the directory. Throws IOError.
  void commit();

 private:
  std::string target_;
  std::string temp_;
  int fd_ = -1;
  bool committed_ = false;
};

// The whole file in one call.
void write_file_atomically(const std::string& target, std::string_view bytes);

}  // namespace ember::io
