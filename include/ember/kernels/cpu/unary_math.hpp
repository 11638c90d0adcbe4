#pragma once
// Elementwise transcendental functions on dense float32 buffers (layer 2: no autograd):
// the fast path behind ember::exp, log, sigmoid, tanh, elu and softplus for contiguous float32 tensors. The
// reference for every one is the templated map_unary path with <cmath>, which f64 and strided
// tensors use; tests/kernels/unary_math_test.cpp holds them to it.
//
// AVX2/FMA, 8 lanes at a time (src/kernels/cpu/vec_math.hpp for the algorithms). Accuracy: a few
// float32 ulps (relative error below 5e-7 wherever the result is a normal float; measured worst
// 1.8e-7), NaN in -> NaN out, +-inf and overflow as <cmath> gives them, tanh(-0) = -0. Large n is
// split in fixed blocks across the OpenMP pool; each element's value does not depend on the thread
// count or on its position.
//
// Contract: x and y hold n floats each; y may alias x (in place); n >= 0.
// Interface, threads, determinism and errors follow kernels.hpp (raw pointers + geometry).
#include <cstdint>

namespace ember::kernels::cpu {

enum class UnaryMath {
  exp,      // e^x
  sigmoid,  // 1 / (1 + e^-x), computed without overflow
  tanh,     // tanh(x)
  elu,      // x > 0 ? x : alpha * (e^x - 1)
  log,      // natural log; x < 0 gives NaN, 0 gives -inf
  softplus, // log(1 + e^x), computed without overflow
};

void unary_math_f32(UnaryMath op, const float* x, float* y, int64_t n, float alpha = 1.0f);

}  // namespace ember::kernels::cpu
