#pragma once
// parallel_for: the one way a CPU kernel splits work across threads (DESIGN: one intra-op OpenMP
// pool, shared with oneDNN and OpenBLAS, sized by ember::set_num_threads).
//
//   parallel_for(0, rows, grain_for(cols), [&](int64_t r0, int64_t r1) {
//     for (int64_t r = r0; r < r1; ++r) ...;
//   });
//
// Contract:
//  - body(b, e) is called for disjoint, contiguous, non-empty ranges that cover [begin, end) exactly
//    once. The split is static: range t of nt is [begin + n*t/nt, begin + n*(t+1)/nt), so it depends
//    only on n = end - begin, grain and the thread count — never on timing.
//  - Work stays on the calling thread (one call body(begin, end)) when n < 2 * grain, when the pool
//    has one thread, or when already inside a parallel region (no nested teams, no oversubscription).
//    Otherwise at most n / grain threads take part, so each gets at least `grain` iterations.
//  - Determinism: a kernel that writes each output from one iteration is bit-identical for every
//    thread count. A reduction must not combine per-range partial results (the ranges move with the
//    thread count): it fixes its own chunks (a function of the problem size only), runs
//    parallel_for over the chunk indices, and combines the chunk results in chunk order.
//  - body is a template parameter, called directly (no std::function): it inlines into the loop.
//    Exceptions must not escape body (OpenMP cannot carry them across threads).
#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace ember::kernels::cpu {

// Below this much work — elements touched, or multiply-adds, as the caller counts it — a loop is not
// worth waking the pool for (starting a team costs a few µs). The one serial threshold of the kernels.
inline constexpr int64_t kParallelGrain = 32768;

// The grain (least iterations per thread) for a loop whose iterations each cost `work_per_iteration`
// units: the loop goes parallel once its total work reaches kParallelGrain, each thread taking at
// least half of that.
inline int64_t grain_for(int64_t work_per_iteration) {
  return std::max<int64_t>(1, kParallelGrain / 2 / std::max<int64_t>(work_per_iteration, 1));
}

template <typename Body>
void parallel_for(int64_t begin, int64_t end, int64_t grain, const Body& body) {
  const int64_t n = end - begin;
  if (n <= 0) return;
  int64_t threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  threads = std::min<int64_t>(threads, n / std::max<int64_t>(grain, 1));
  if (threads <= 1) {
    body(begin, end);
    return;
  }
#pragma omp parallel num_threads(static_cast<int>(threads))
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t b = begin + n * t / nt, e = begin + n * (t + 1) / nt;
    if (b < e) body(b, e);
  }
}

}  // namespace ember::kernels::cpu
