// The intra-op pool's size: OpenMP's (Ember's loops, oneDNN) and OpenBLAS's. OpenBLAS's OpenMP
// build follows omp_get_max_threads() only while its own count is above 1, so it is set too.
#include "ember/core/threads.hpp"

#include <omp.h>

#include <string>

#include "ember/core/error.hpp"

extern "C" void openblas_set_num_threads(int);

namespace ember {

void set_num_threads(int n) {
  if (n < 1) throw ValueError("set_num_threads: expected a positive thread count, got " + std::to_string(n));
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

int get_num_threads() { return omp_get_max_threads(); }

}  // namespace ember
