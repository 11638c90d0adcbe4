#pragma once
// Small-object pool: fixed-size blocks for the objects every op creates and frees — TensorImpl,
// Storage, autograd metadata and nodes, backward closures — so that a warmed-up training step makes
// no call to the system allocator (DESIGN.md, "No allocation in the steady state").
//
// Blocks come in size classes of 16 bytes up to kPoolMaxBytes. A freed block goes to a per-thread
// free list and is reused by the next request of its class on that thread; lists that grow long,
// and the lists of a thread that exits, are handed to a shared list (under a mutex) from which any
// thread refills. So an object may be freed on another thread than the one that made it (data
// pipeline workers, issue 12). Memory is taken from the system in chunks and never given back: the
// pool holds the high-water mark of live small objects.
//
// Under AddressSanitizer free blocks are poisoned, so a use after free of a pooled object is still
// reported (the first 8 bytes, which hold the free-list link, excepted).
#include <cstddef>
#include <memory>
#include <new>
#include <utility>

namespace ember {

inline constexpr std::size_t kPoolMaxBytes = 512;

// A block of at least `bytes` (1..kPoolMaxBytes), 16-byte aligned. Throws std::bad_alloc.
void* pool_allocate(std::size_t bytes);
// Returns a block from pool_allocate(bytes) (same `bytes`), from any thread.
void pool_deallocate(void* p, std::size_t bytes) noexcept;

// Statistics, for tests: chunks taken from the system so far.
std::size_t pool_system_chunks();

// A standard allocator over the pool (larger requests go to operator new), for
// std::allocate_shared and containers.
template <typename T>
struct PoolAllocator {
  using value_type = T;
  static_assert(alignof(T) <= 16, "pooled blocks are 16-byte aligned");
  PoolAllocator() noexcept = default;
  template <typename U>
  PoolAllocator(const PoolAllocator<U>&) noexcept {}  // NOLINT: rebinding
  T* allocate(std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    return static_cast<T*>(bytes <= kPoolMaxBytes ? pool_allocate(bytes) : ::operator new(bytes));
  }
  void deallocate(T* p, std::size_t n) noexcept {
    const std::size_t bytes = n * sizeof(T);
    if (bytes <= kPoolMaxBytes) {
      pool_deallocate(p, bytes);
    } else {
      ::operator delete(p);
    }
  }
  template <typename U>
  bool operator==(const PoolAllocator<U>&) const noexcept {
    return true;
  }
};

// std::make_shared, with the object and its control block in one pooled block.
template <typename T, typename... Args>
std::shared_ptr<T> make_pooled(Args&&... args) {
  return std::allocate_shared<T>(PoolAllocator<T>(), std::forward<Args>(args)...);
}

}  // namespace ember
