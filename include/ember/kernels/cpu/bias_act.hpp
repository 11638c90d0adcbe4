#pragma once
// The epilogue and prologue that Dense and Conv2D wrap around their GEMM / convolution, each one pass
// over memory (the unfused ops take two passes forward — bias add, activation — and two backward —
// activation gradient, bias-gradient reduction):
//
//   forward:  y[r, c] = act(y[r, c] + bias[c])                      (in place)
//   backward: dpre[r, c] = g[r, c] * act'(y[r, c]);  db[c] = sum_r dpre[r, c]
//
// y, g and dpre are dense row-major [rows, cols] (NHWC activations are [N*H*W, C]); bias/db are [cols].
// act' is read from the *output* y (ReLU: y > 0 exactly where the pre-activation was > 0).
// Interface, threads, determinism and errors follow kernels.hpp (raw pointers + geometry).
#include <cstdint>

namespace ember::kernels::cpu {

enum class BiasAct { None, ReLU };

// bias may be null (no bias). Instantiated for float and double.
template <typename T>
void bias_act_forward(int64_t rows, int64_t cols, T* y, const T* bias, BiasAct act);

// dpre may alias g (then g is overwritten); db may be null (no bias gradient wanted), and y when act
// is None (it is read only for ReLU). The column sums
// accumulate in double over fixed chunks of rows combined in chunk order, so db does not depend on
// the thread count (up to 256 rows, one chunk, the work is split over columns; more, over chunks).
// Steady state: the scratch is a thread-local buffer reused across calls.
template <typename T>
void bias_act_backward(int64_t rows, int64_t cols, const T* g, const T* y, BiasAct act, T* dpre, T* db);

}  // namespace ember::kernels::cpu
