#pragma once
// Raw-memory row kernels for softmax, log-softmax and the fused softmax cross-entropy
// (layer 2: no autograd).
//
// Softmax-family kernels see their input as a dense row-major [outer, len, inner] block and reduce
// along `len` (inner == 1 is the common "last axis" case and the fast path). Every reduction
// subtracts the row maximum first, so no input overflows exp(). A NaN anywhere in a row makes the
// whole row NaN (it is never skipped by the maximum). Rows are independent and each is written by
// one thread, so results do not depend on the thread count.
//
// The cross-entropy kernels take logits as dense [rows, classes]. Forward writes the per-row loss and
// the per-row max and sum(exp(x - max)), which is all the backward needs besides the
// logits: it recomputes softmax = exp(x - max) / sum instead of keeping a [rows, classes] buffer
// alive between the passes. (Keeping max and sum rather than their log-sum-exp keeps 1 - p accurate
// to float32 rounding when p is close to 1: x - max is exact, x - lse is not.)
//
// Contracts: outputs are overwritten and must not alias inputs (except where noted); labels are
// already validated (sparse labels lie in [0, classes)). Instantiated for float and double.
// Interface, threads, determinism and errors follow kernels.hpp (raw pointers + geometry).
#include <cstdint>

namespace ember::kernels::cpu {

struct RowGeometry {
  int64_t outer = 1, len = 0, inner = 1;
};

// y = exp(x - max) / sum(exp(x - max)) along len.
template <typename T>
void softmax_forward(const RowGeometry& g, const T* x, T* y);
// y = x - max - log(sum(exp(x - max))) along len.
template <typename T>
void log_softmax_forward(const RowGeometry& g, const T* x, T* y);
// dx = y * (dy - sum(dy * y)), y the softmax output.
template <typename T>
void softmax_backward(const RowGeometry& g, const T* y, const T* dy, T* dx);
// dx = dy - exp(y) * sum(dy), y the log-softmax output.
template <typename T>
void log_softmax_backward(const RowGeometry& g, const T* y, const T* dy, T* dx);

// Per-row statistics of the cross-entropy kernels: row_max[r] = m = max_k x[r,k] and
// row_sum[r] = s = sum_k exp(x[r,k] - m), so logsumexp = m + log(s) and softmax = exp(x - m) / s.
// Dense labels [rows, classes]: loss[r] = sum_k labels[r,k] * (log(s) - (x[r,k] - m)).
template <typename T>
void softmax_xent_forward(int64_t rows, int64_t classes, const T* logits, const T* labels, T* loss, T* row_max,
                          T* row_sum);
// dlogits[r,k] = dloss[r] * (sum_k' labels[r,k'] * softmax[r,k] - labels[r,k]);
// dlabels (may be nullptr) [r,k] = -dloss[r] * log_softmax[r,k].
template <typename T>
void softmax_xent_backward(int64_t rows, int64_t classes, const T* logits, const T* labels, const T* row_max,
                           const T* row_sum, const T* dloss, T* dlogits, T* dlabels);

// Sparse labels [rows] in [0, classes): loss[r] = log(s) - (x[r, labels[r]] - m).
template <typename T>
void sparse_softmax_xent_forward(int64_t rows, int64_t classes, const T* logits, const int64_t* labels, T* loss,
                                 T* row_max, T* row_sum);
// dlogits[r,k] = dloss[r] * (softmax[r,k] - [k == labels[r]]).
template <typename T>
void sparse_softmax_xent_backward(int64_t rows, int64_t classes, const T* logits, const int64_t* labels,
                                  const T* row_max, const T* row_sum, const T* dloss, T* dlogits);

}  // namespace ember::kernels::cpu
