#pragma once
// The one intra-op thread pool (OpenMP), shared by Ember's loops, OpenBLAS (OpenMP build) and
// oneDNN. Results are deterministic for a given thread count.
// Declared here for users; defined in src/kernels/cpu/threads.cpp, because sizing the pool means
// calling OpenBLAS, which only the kernels layer may do (no layer below kernels calls these).
namespace ember {

void set_num_threads(int n);  // n >= 1; throws ValueError otherwise
int get_num_threads();

}  // namespace ember
