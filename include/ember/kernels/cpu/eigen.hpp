#pragma once
// Symmetric eigendecomposition in float64 (LAPACK dsyevd from OpenBLAS): what ZCA whitening needs
// (the SVD of a covariance matrix is its eigendecomposition). Layer 2: raw pointers only.
#include <cstdint>

namespace ember::kernels::cpu {

// a: n x n symmetric, row-major (only its lower triangle is read). On return, eigenvalues in
// ascending order in w[0..n), and row i of `a` is the unit eigenvector of w[i]. Throws ValueError
// when LAPACK reports a failure (non-convergence, NaN input) or n is too large for its int.
void symmetric_eigen(int64_t n, double* a, double* w);

}  // namespace ember::kernels::cpu
