#include "ember/core/storage.hpp"

#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <vector>

#include "ember/core/error.hpp"
#include "ember/core/sanitizers.hpp"

#if EMBER_ASAN
#define EMBER_NO_CACHING_ALLOCATOR 1  // let ASan see every use-after-free
#endif

namespace ember {
namespace {

constexpr std::size_t kAlign = 64;
[[maybe_unused]] constexpr std::size_t kMaxCachedBytes = std::size_t(4) << 30;  // unused under ASan

// Rounds a request to its size class: multiples of 64 bytes up to 4 KiB, then eight classes per
// power of two, so reuse is likely while waste stays under 12.5 %.
std::size_t size_class(std::size_t n) {
  if (n <= 4096) return (n + kAlign - 1) / kAlign * kAlign;
  std::size_t p = 1;
  while ((p << 1) <= n) p <<= 1;
  std::size_t step = p / 8;
  return (n + step - 1) / step * step;
}

struct Cache {
  std::mutex mu;
  std::map<std::size_t, std::vector<void*>> free_blocks;
  std::size_t cached_bytes = 0;
  std::size_t system_allocations = 0;
};

Cache& cache() {
  static Cache* c = new Cache();  // never destroyed: storages may outlive static destruction
  return *c;
}

void* system_alloc(std::size_t bytes) {
  void* p = std::aligned_alloc(kAlign, bytes);
  if (!p) {
    // Blocks parked in the cache are memory the request could use: give them back and retry once.
    empty_allocator_cache();
    p = std::aligned_alloc(kAlign, bytes);
  }
  if (!p) throw std::bad_alloc();
  return p;
}

}  // namespace

Storage::Storage(std::size_t nbytes) : nbytes_(nbytes) {
  std::size_t cls = size_class(nbytes == 0 ? 1 : nbytes);
#ifndef EMBER_NO_CACHING_ALLOCATOR
  {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.free_blocks.find(cls);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      data_ = it->second.back();
      it->second.pop_back();
      c.cached_bytes -= cls;
      return;
    }
    ++c.system_allocations;
  }
#else
  {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    ++c.system_allocations;
  }
#endif
  data_ = system_alloc(cls);
}

Storage::~Storage() {
#ifndef EMBER_NO_CACHING_ALLOCATOR
  std::size_t cls = size_class(nbytes_ == 0 ? 1 : nbytes_);
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  if (c.cached_bytes + cls <= kMaxCachedBytes) {
    c.free_blocks[cls].push_back(data_);
    c.cached_bytes += cls;
    return;
  }
#endif
  std::free(data_);
}

AllocatorStats allocator_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return {c.system_allocations, c.cached_bytes};
}

void empty_allocator_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  for (auto& [cls, blocks] : c.free_blocks) {
    for (void* p : blocks) std::free(p);
  }
  c.free_blocks.clear();
  c.cached_bytes = 0;
}

}  // namespace ember
