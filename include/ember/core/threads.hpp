#pragma once
// The one intra-op thread pool (OpenMP), shared by Ember's loops, OpenBLAS (OpenMP build) and
// oneDNN. Results are deterministic for a given thread count.
// Declared here for users; defined in src/kernels/cpu/threads.cpp, because sizing the pool means
// calling OpenBLAS, which only the kernels layer may do (no layer below kernels calls these).
//
// Sizing policy. By default the pool is *automatic*: it starts with every core this process may run
// on, and adapt_num_threads() — which fit / evaluate / predict call between batches — shrinks it to
// the cores other processes leave free and grows it back when they go quiet. Why: OpenMP's threads
// wait for each other at the end of every parallel region, so when a busy neighbour takes a core, the
// thread that lost it holds the whole team back (two mlp epochs took 2.1x their idle time at 2 threads
// next to one `yes`, against 1.1x at 1 thread). set_num_threads(n) fixes the size and turns the
// adaptation off (use it for bit-reproducible runs: oneDNN's reductions may round differently at
// another thread count); set_automatic_threads() turns it back on.
namespace ember {

void set_num_threads(int n);  // n >= 1; throws ValueError otherwise. Fixes the size.
int get_num_threads();        // the pool's current size
void set_automatic_threads();  // back to the default policy (all free cores, adapted to the load)
bool automatic_threads();      // whether the policy is automatic

// In automatic mode, at most once per ~0.25 s: measure the CPU time the rest of the machine used
// since the last measurement (/proc/stat minus this process's own time) and resize the pool to
// round(cores - busy cores elsewhere), at least 1. The first call, with no window yet, sizes the pool
// from the threads runnable right now (/proc/loadavg). Cheap otherwise (one clock read); a no-op in
// fixed mode. Call it between units of work, never inside a parallel region.
void adapt_num_threads();

namespace threads_detail {
// The decision alone, for tests: the pool size for `cores` cores of which `busy_elsewhere` (in cores,
// averaged over the last window) were used by other processes.
int free_cores(int cores, double busy_elsewhere);
}  // namespace threads_detail

}  // namespace ember
