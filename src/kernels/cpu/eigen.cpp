// dsyevd through the Fortran interface of OpenBLAS's bundled LAPACK (no LAPACKE header is needed).
// A row-major symmetric matrix is its own column-major transpose, and the column-major eigenvector
// matrix LAPACK returns reads, row-major, as one eigenvector per row.
#include "ember/kernels/cpu/eigen.hpp"

#include <climits>
#include <cstddef>
#include <string>
#include <vector>

#include "ember/core/error.hpp"

extern "C" void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
                        double* work, const int* lwork, int* iwork, const int* liwork, int* info, std::size_t,
                        std::size_t);

namespace ember::kernels::cpu {

void symmetric_eigen(int64_t n, double* a, double* w) {
  if (n < 0 || n > 46340) {  // n*n must fit LAPACK's 32-bit int
    throw ValueError("symmetric_eigen: matrix order must be in [0, 46340], got " + std::to_string(n));
  }
  if (n == 0) return;
  const int ni = static_cast<int>(n);
  int info = 0, lwork = -1, liwork = -1, iwork_query = 0;
  double work_query = 0;
  // "U" for LAPACK's column-major upper triangle = the row-major lower triangle.
  dsyevd_("V", "U", &ni, a, &ni, w, &work_query, &lwork, &iwork_query, &liwork, &info, 1, 1);
  if (info != 0) throw ValueError("symmetric_eigen: LAPACK dsyevd workspace query failed, info " + std::to_string(info));
  lwork = static_cast<int>(work_query);
  liwork = iwork_query;
  std::vector<double> work(static_cast<std::size_t>(lwork));
  std::vector<int> iwork(static_cast<std::size_t>(liwork));
  dsyevd_("V", "U", &ni, a, &ni, w, work.data(), &lwork, iwork.data(), &liwork, &info, 1, 1);
  if (info != 0) {
    throw ValueError("symmetric_eigen: LAPACK dsyevd failed (info " + std::to_string(info) + ") on a " +
                     std::to_string(n) + "x" + std::to_string(n) + " matrix (NaN or Inf in it?)");
  }
}

}  // namespace ember::kernels::cpu
