#include "ember/core/pool.hpp"

#include <cstdint>
#include <cstdlib>
#include <mutex>

#include "ember/core/sanitizers.hpp"

#if EMBER_ASAN
#include <sanitizer/asan_interface.h>
#define EMBER_POOL_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define EMBER_POOL_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define EMBER_POOL_POISON(p, n) ((void)(p), (void)(n))
#define EMBER_POOL_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace ember {
namespace {

constexpr std::size_t kGranule = 16;
constexpr std::size_t kClasses = kPoolMaxBytes / kGranule;
constexpr std::size_t kChunkBytes = std::size_t(64) << 10;
constexpr uint32_t kBatch = 64;             // blocks moved at once between a thread and the shared lists
constexpr uint32_t kThreadCacheMax = 1024;  // blocks of one class a thread keeps before sharing some

struct FreeBlock {
  FreeBlock* next;
};

std::size_t class_of(std::size_t bytes) { return (bytes + kGranule - 1) / kGranule - 1; }
std::size_t class_bytes(std::size_t c) { return (c + 1) * kGranule; }

void push(FreeBlock*& head, void* p, std::size_t c) {
  auto* b = static_cast<FreeBlock*>(p);
  b->next = head;
  head = b;
  EMBER_POOL_POISON(static_cast<char*>(p) + sizeof(FreeBlock), class_bytes(c) - sizeof(FreeBlock));
}

void* pop(FreeBlock*& head, std::size_t c) {
  FreeBlock* b = head;
  head = b->next;
  EMBER_POOL_UNPOISON(reinterpret_cast<char*>(b) + sizeof(FreeBlock), class_bytes(c) - sizeof(FreeBlock));
  return b;
}

// The lists every thread can reach, and the chunks all blocks are carved from.
struct Shared {
  std::mutex mu;
  FreeBlock* head[kClasses] = {};
  void* chunks = nullptr;  // each chunk starts with a link to the previous one (keeps them reachable)
  char* carve = nullptr;   // the unused end of the newest chunk
  std::size_t carve_left = 0;
  std::size_t chunk_count = 0;

  // A block of class c; the caller holds mu.
  void* take_locked(std::size_t c) {
    if (head[c]) return pop(head[c], c);
    const std::size_t bytes = class_bytes(c);
    if (carve_left < bytes) {
      void* chunk = std::malloc(kChunkBytes);
      if (!chunk) throw std::bad_alloc();
      *static_cast<void**>(chunk) = chunks;
      chunks = chunk;
      ++chunk_count;
      carve = static_cast<char*>(chunk) + kGranule;
      carve_left = kChunkBytes - kGranule;
    }
    void* p = carve;
    carve += bytes;
    carve_left -= bytes;
    return p;
  }
};

Shared& shared() {
  static Shared* s = new Shared();  // never destroyed: blocks may be freed during static destruction
  return *s;
}

// Per-thread lists. Trivially destructible, so it stays usable while and after the thread exits;
// the flusher below hands its blocks to the shared lists when the thread ends.
struct ThreadCache {
  FreeBlock* head[kClasses];
  uint32_t count[kClasses];
  bool registered;  // the flusher exists for this thread
  bool dead;        // the thread is exiting: use the shared lists directly
};
thread_local ThreadCache t_cache{};

struct ThreadCacheFlusher {
  ~ThreadCacheFlusher() {
    Shared& s = shared();
    std::lock_guard<std::mutex> lock(s.mu);
    for (std::size_t c = 0; c < kClasses; ++c) {
      while (t_cache.head[c]) push(s.head[c], pop(t_cache.head[c], c), c);
      t_cache.count[c] = 0;
    }
    t_cache.dead = true;
  }
};
thread_local ThreadCacheFlusher t_flusher;

void register_thread(ThreadCache& tc) {
  (void)&t_flusher;  // constructs it, so its destructor runs at thread exit
  tc.registered = true;
}

[[gnu::noinline]] void* allocate_slow(std::size_t c) {
  ThreadCache& tc = t_cache;
  if (!tc.registered) register_thread(tc);
  Shared& s = shared();
  std::lock_guard<std::mutex> lock(s.mu);
  if (tc.dead) return s.take_locked(c);
  for (uint32_t i = 0; i < kBatch; ++i) {
    push(tc.head[c], s.take_locked(c), c);
    ++tc.count[c];
  }
  --tc.count[c];
  return pop(tc.head[c], c);
}

[[gnu::noinline]] void deallocate_slow(void* p, std::size_t c) {
  ThreadCache& tc = t_cache;
  if (!tc.registered) register_thread(tc);
  Shared& s = shared();
  std::lock_guard<std::mutex> lock(s.mu);
  if (tc.dead) {
    push(s.head[c], p, c);
    return;
  }
  push(tc.head[c], p, c);
  ++tc.count[c];
  for (uint32_t i = 0; i < kThreadCacheMax / 2 && tc.head[c]; ++i) {  // share half
    push(s.head[c], pop(tc.head[c], c), c);
    --tc.count[c];
  }
}

}  // namespace

void* pool_allocate(std::size_t bytes) {
  const std::size_t c = class_of(bytes);
  ThreadCache& tc = t_cache;
  if (tc.head[c]) {
    --tc.count[c];
    return pop(tc.head[c], c);
  }
  return allocate_slow(c);
}

void pool_deallocate(void* p, std::size_t bytes) noexcept {
  const std::size_t c = class_of(bytes);
  ThreadCache& tc = t_cache;
  if (tc.registered && !tc.dead && tc.count[c] < kThreadCacheMax) {
    push(tc.head[c], p, c);
    ++tc.count[c];
    return;
  }
  deallocate_slow(p, c);
}

std::size_t pool_system_chunks() {
  Shared& s = shared();
  std::lock_guard<std::mutex> lock(s.mu);
  return s.chunk_count;
}

}  // namespace ember
