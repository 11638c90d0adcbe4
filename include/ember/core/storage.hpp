#pragma once
// Storage: a reference-counted, 64-byte aligned buffer shared by a tensor and all its views.
// Buffers come from a caching allocator so that a training step, once warmed up, allocates
// no new memory from the system (freed blocks of the same size class are reused).
#include <cstddef>
#include <memory>

namespace ember {

class Storage {
 public:
  explicit Storage(std::size_t nbytes);  // uninitialised memory
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  std::size_t nbytes() const { return nbytes_; }

 private:
  void* data_ = nullptr;
  std::size_t nbytes_ = 0;
};

// Statistics of the caching allocator, for tests of the steady-state rule.
struct AllocatorStats {
  std::size_t system_allocations = 0;  // blocks obtained from the system so far
  std::size_t cached_bytes = 0;        // bytes held in free lists right now
};
AllocatorStats allocator_stats();
void empty_allocator_cache();

}  // namespace ember
