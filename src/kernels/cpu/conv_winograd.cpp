// Winograd F(4x4, 3x3) and F(4x4, 5x5) convolutions of our own, on NHWC float32 with AVX2 / FMA, or
// AVX-512 where the CPU has it and both channel counts are multiples of 16.
//
// oneDNN's Winograd kernels need AVX-512; on an AVX2-only CPU its direct kernels are all it has and
// a ResNet-18 step ran no faster than libtorch's (bench/RESULTS.md). Winograd's minimal filtering
// computes a 4x4 output tile of a 3x3 convolution from a 6x6 input patch with 36 multiplications
// per (input, output) channel pair instead of 144 (Lavin & Gray, "Fast Algorithms for Convolutional
// Neural Networks", 2015), with the interpolation points 0, +-1, +-2 and infinity:
//
//   y = A^T [ (G g G^T) (.) (B^T d B) ] A        (.) = elementwise, summed over input channels
//
// so a convolution becomes: transform every input patch (V = B^T d B) and every filter (U = G g G^T),
// then 36 independent matrix products M[xi] = V[xi] (tiles x C) . U[xi] (C x K), one per point xi of
// the 6x6 domain, then transform every output tile back (A^T M A). The transforms run 8 channels at
// a time (NHWC puts them side by side), 16 with AVX-512; the products go to oneDNN's sgemm, one thread
// each.
//
// The code of both widths is conv_winograd_impl.inc, included twice below: once for AVX2 and once
// inside a target("avx512f") region, each time in a namespace of its own with the
// vector type and operations it is written in (V, vadd, ..., Lanes). Everything in the region is
// compiled for AVX-512 and only called after the CPU was found to have it.
//
// Backward data is the forward convolution of dy with the filter turned 180 degrees and its channel
// axes swapped (padding 2 - pad). Backward weights follows from the forward formula being linear in
// U: dU[xi] = sum over tiles of V[xi]^T (A dy A^T)[xi], then dg = G^T dU G.
//
// F(4x4, 5x5) works the same way on an 8x8 domain with the points 0, +-1, +-2, +-1/2 and infinity: 64
// multiplications per 4x4 tile and channel pair instead of 400. (The 6x6 domain's F(2x2, 5x5) was
// measured first and lost to oneDNN's direct kernel: a whole 6x6 input transform for 4 outputs;
// bench/RESULTS.md.) Its float32 error, simulated on 32 channels, is the same order as F(4x4, 3x3)'s
// (relative 3e-6 median, 1e-5 worst of 200 tiles). Backward data turns the 5x5 filter round with
// padding 4 - pad.
//
// The transforms add and subtract up to 8x-scaled tile values, so results differ from the direct
// algorithm by a few float32 ulps of the input scale (checked against the f64 reference in tests).
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstdint>

#include "ember/core/storage.hpp"
#include "ember/kernels/cpu/conv.hpp"
#include "ember/kernels/cpu/gemm.hpp"

namespace ember::kernels::cpu::detail {

namespace {

// ---- AVX2: 8 channels per vector ----
namespace avx2 {

using V = __m256;
constexpr int64_t kLanes = 8;
inline V vadd(V a, V b) { return _mm256_add_ps(a, b); }
inline V vsub(V a, V b) { return _mm256_sub_ps(a, b); }
inline V vmul(V a, V b) { return _mm256_mul_ps(a, b); }
inline V vfmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }    // a b + c
inline V vfnmadd(V a, V b, V c) { return _mm256_fnmadd_ps(a, b, c); }  // c - a b
inline V vmax(V a, V b) { return _mm256_max_ps(a, b); }
inline V vzero() { return _mm256_setzero_ps(); }
inline V vloadu(const float* p) { return _mm256_loadu_ps(p); }
inline void vstoreu(float* p, V v) { _mm256_storeu_ps(p, v); }
inline V set1(float v) { return _mm256_set1_ps(v); }

// A run of up to 8 channels: full runs use plain loads and stores, the last one of a channel count
// that is not a multiple of 8 a lane mask.
struct Lanes {
  int64_t valid;
  __m256i mask;
  explicit Lanes(int64_t n)
      : valid(n), mask(_mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(std::min<int64_t>(n, 8))),
                                          _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))) {}
  V load(const float* p) const { return valid >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mask); }
  void store(float* p, V v) const {
    if (valid >= 8) {
      _mm256_storeu_ps(p, v);
    } else {
      _mm256_maskstore_ps(p, mask, v);
    }
  }
};

// A vector of zeros, read by the input transform's loads that fall outside the image.
alignas(64) constexpr float kZeros[kLanes] = {};

#include "conv_winograd_impl.inc"

}  // namespace avx2

// ---- AVX-512: 16 channels per vector ----
// Every function from here to the end of the namespace is compiled for AVX-512 (clang, which builds
// the fuzz targets, spells the region its own way).
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f")
// GCC 12 reports the deliberately undefined source of the unmasked AVX-512 intrinsics
// (_mm512_undefined_ps in _mm512_max_ps and others) as "may be used uninitialized": not our code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
namespace avx512 {

using V = __m512;
constexpr int64_t kLanes = 16;
inline V vadd(V a, V b) { return _mm512_add_ps(a, b); }
inline V vsub(V a, V b) { return _mm512_sub_ps(a, b); }
inline V vmul(V a, V b) { return _mm512_mul_ps(a, b); }
inline V vfmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
inline V vfnmadd(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }
inline V vmax(V a, V b) { return _mm512_max_ps(a, b); }
inline V vzero() { return _mm512_setzero_ps(); }
inline V vloadu(const float* p) { return _mm512_loadu_ps(p); }
inline void vstoreu(float* p, V v) { _mm512_storeu_ps(p, v); }
inline V set1(float v) { return _mm512_set1_ps(v); }

struct Lanes {
  int64_t valid;
  __mmask16 mask;
  explicit Lanes(int64_t n) : valid(n), mask(static_cast<__mmask16>((1u << std::min<int64_t>(n, 16)) - 1u)) {}
  V load(const float* p) const { return valid >= 16 ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(mask, p); }
  void store(float* p, V v) const {
    if (valid >= 16) {
      _mm512_storeu_ps(p, v);
    } else {
      _mm512_mask_storeu_ps(p, mask, v);
    }
  }
};

alignas(64) constexpr float kZeros[kLanes] = {};

#include "conv_winograd_impl.inc"

}  // namespace avx512
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC diagnostic pop
#pragma GCC pop_options
#endif

// Whether a convolution of these channel counts runs the AVX-512 code: the CPU has it, our Winograd
// is not limited to AVX2 (set_conv2d_f32_algo(EmberWinogradAvx2)), and both counts fill whole vectors
// of 16 (a ragged count would waste the lanes of its last vector in every transform).
bool use_avx512(int64_t in_c, int64_t out_c) {
  static const bool cpu = __builtin_cpu_supports("avx512f");
  return cpu && in_c % 16 == 0 && out_c % 16 == 0 && conv2d_f32_algo() != ConvF32Algo::EmberWinogradAvx2;
}

}  // namespace

bool winograd_f32_applies(const Conv2dGeometry& g) {
  // Backward data runs as a forward convolution with padding r-1 - pad: pads above r-1 would crop.
  const bool square = (g.k_h == 3 && g.k_w == 3) || (g.k_h == 5 && g.k_w == 5);
  const int64_t max_pad = g.k_h - 1;
  return square && g.stride_h == 1 && g.stride_w == 1 && g.dilation_h == 1 && g.dilation_w == 1 && g.groups == 1 &&
         g.pad_top <= max_pad && g.pad_left <= max_pad && g.pad_bottom <= max_pad && g.pad_right <= max_pad;
}

void conv2d_forward_f32_winograd(const Conv2dGeometry& g, const float* x, const float* w, float* y,
                                 const float* bias, bool relu) {
  if (use_avx512(g.in_c, g.out_c)) {
    if (g.k_h == 5) return avx512::forward<avx512::F4x4_5x5>(avx512::forward_tiling(g), x, w, y, bias, relu);
    return avx512::forward<avx512::F4x4_3x3>(avx512::forward_tiling(g), x, w, y, bias, relu);
  }
  if (g.k_h == 5) return avx2::forward<avx2::F4x4_5x5>(avx2::forward_tiling(g), x, w, y, bias, relu);
  avx2::forward<avx2::F4x4_3x3>(avx2::forward_tiling(g), x, w, y, bias, relu);
}

void conv2d_backward_input_f32_winograd(const Conv2dGeometry& g, const float* dy, const float* w, float* dx) {
  if (use_avx512(g.in_c, g.out_c)) {
    if (g.k_h == 5) return avx512::backward_input<avx512::F4x4_5x5>(g, dy, w, dx);
    return avx512::backward_input<avx512::F4x4_3x3>(g, dy, w, dx);
  }
  if (g.k_h == 5) return avx2::backward_input<avx2::F4x4_5x5>(g, dy, w, dx);
  avx2::backward_input<avx2::F4x4_3x3>(g, dy, w, dx);
}

void conv2d_backward_filter_f32_winograd(const Conv2dGeometry& g, const float* x, const float* dy, float* dw) {
  if (use_avx512(g.in_c, g.out_c)) {
    if (g.k_h == 5) return avx512::backward_filter<avx512::F4x4_5x5>(g, x, dy, dw);
    return avx512::backward_filter<avx512::F4x4_3x3>(g, x, dy, dw);
  }
  if (g.k_h == 5) return avx2::backward_filter<avx2::F4x4_5x5>(g, x, dy, dw);
  avx2::backward_filter<avx2::F4x4_3x3>(g, x, dy, dw);
}

}  // namespace ember::kernels::cpu::detail
