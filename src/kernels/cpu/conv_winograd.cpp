// Winograd F(4x4, 3x3) and F(4x4, 5x5) convolutions of our own, on NHWC float32 with AVX2 / FMA.
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
// a time (NHWC puts them side by side); the products go to oneDNN's sgemm, one thread each.
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

int64_t round_up8(int64_t n) { return (n + 7) / 8 * 8; }

// Floats from one Winograd point's plane of `floats` to the next. A tile's transform touches all 36
// (or 64) planes at once; planes a multiple of 4 KB apart (64 tiles x 64 channels is 16 KB) would all
// fall in one L1 set and evict each other (8 ways for 36 lines). Rounding to 4 KB and adding one cache
// line puts the lines in consecutive sets.
int64_t plane_stride(int64_t floats) { return (floats + 1023) / 1024 * 1024 + 16; }

// A run of up to 8 channels: full runs use plain loads and stores, the last one of a channel count
// that is not a multiple of 8 a lane mask.
struct Lanes {
  int64_t valid;
  __m256i mask;
  explicit Lanes(int64_t n)
      : valid(n), mask(_mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(std::min<int64_t>(n, 8))),
                                          _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))) {}
  __m256 load(const float* p) const { return valid >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mask); }
  void store(float* p, __m256 v) const {
    if (valid >= 8) {
      _mm256_storeu_ps(p, v);
    } else {
      _mm256_maskstore_ps(p, mask, v);
    }
  }
};

// Eight zeros, read by the input transform's loads that fall outside the image.
alignas(32) constexpr float kZeros[8] = {};

inline __m256 set1(float v) { return _mm256_set1_ps(v); }

// r = B^T d for one column of 6 values.
//   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
inline void input_1d(const __m256 d[6], __m256 r[6]) {
  const __m256 d4_d2 = _mm256_sub_ps(d[4], d[2]);
  const __m256 d1_d3 = _mm256_sub_ps(d[1], d[3]);
  r[0] = _mm256_fmadd_ps(set1(4.0f), d[0], _mm256_fnmadd_ps(set1(5.0f), d[2], d[4]));
  r[1] = _mm256_fnmadd_ps(set1(4.0f), _mm256_add_ps(d[1], d[2]), _mm256_add_ps(d[3], d[4]));
  r[2] = _mm256_fmadd_ps(set1(4.0f), _mm256_sub_ps(d[1], d[2]), _mm256_sub_ps(d[4], d[3]));
  r[3] = _mm256_fnmadd_ps(set1(2.0f), d1_d3, d4_d2);
  r[4] = _mm256_fmadd_ps(set1(2.0f), d1_d3, d4_d2);
  r[5] = _mm256_fmadd_ps(set1(4.0f), d[1], _mm256_fnmadd_ps(set1(5.0f), d[3], d[5]));
}

// y = A^T m for one column of 6 values: A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
inline void output_1d(const __m256 m[6], __m256 y[4]) {
  const __m256 s12 = _mm256_add_ps(m[1], m[2]), d12 = _mm256_sub_ps(m[1], m[2]);
  const __m256 s34 = _mm256_add_ps(m[3], m[4]), d34 = _mm256_sub_ps(m[3], m[4]);
  y[0] = _mm256_add_ps(_mm256_add_ps(m[0], s12), s34);
  y[1] = _mm256_fmadd_ps(set1(2.0f), d34, d12);
  y[2] = _mm256_fmadd_ps(set1(4.0f), s34, s12);
  y[3] = _mm256_add_ps(_mm256_fmadd_ps(set1(8.0f), d34, d12), m[5]);
}

// m = A dy for one column of 4 values (the adjoint of output_1d).
inline void output_adjoint_1d(const __m256 d[4], __m256 m[6]) {
  const __m256 s02 = _mm256_add_ps(d[0], d[2]), s13 = _mm256_add_ps(d[1], d[3]);
  const __m256 q02 = _mm256_fmadd_ps(set1(4.0f), d[2], d[0]), q13 = _mm256_fmadd_ps(set1(4.0f), d[3], d[1]);
  m[0] = d[0];
  m[1] = _mm256_add_ps(s02, s13);
  m[2] = _mm256_sub_ps(s02, s13);
  m[3] = _mm256_fmadd_ps(set1(2.0f), q13, q02);
  m[4] = _mm256_fnmadd_ps(set1(2.0f), q13, q02);
  m[5] = d[3];
}

// u = G g for one column of 3 values: G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6;
// 1/24 -1/12 1/6; 0 0 1]
inline void filter_1d(const __m256 g[3], __m256 u[6]) {
  const __m256 s02 = _mm256_add_ps(g[0], g[2]);
  const __m256 q = _mm256_fmadd_ps(set1(1.0f / 24.0f), g[0], _mm256_mul_ps(set1(1.0f / 6.0f), g[2]));
  u[0] = _mm256_mul_ps(set1(0.25f), g[0]);
  u[1] = _mm256_mul_ps(set1(-1.0f / 6.0f), _mm256_add_ps(s02, g[1]));
  u[2] = _mm256_mul_ps(set1(-1.0f / 6.0f), _mm256_sub_ps(s02, g[1]));
  u[3] = _mm256_fmadd_ps(set1(1.0f / 12.0f), g[1], q);
  u[4] = _mm256_fnmadd_ps(set1(1.0f / 12.0f), g[1], q);
  u[5] = g[2];
}

// g = G^T u for one column of 6 values (the adjoint of filter_1d).
inline void filter_adjoint_1d(const __m256 u[6], __m256 g[3]) {
  const __m256 s12 = _mm256_add_ps(u[1], u[2]), s34 = _mm256_add_ps(u[3], u[4]);
  g[0] = _mm256_fmadd_ps(set1(0.25f), u[0],
                         _mm256_fmadd_ps(set1(1.0f / 24.0f), s34, _mm256_mul_ps(set1(-1.0f / 6.0f), s12)));
  g[1] = _mm256_fmadd_ps(set1(1.0f / 6.0f), _mm256_sub_ps(u[2], u[1]),
                         _mm256_mul_ps(set1(1.0f / 12.0f), _mm256_sub_ps(u[3], u[4])));
  g[2] = _mm256_fmadd_ps(set1(1.0f / 6.0f), _mm256_sub_ps(s34, s12), u[5]);
}

// --- F(4x4, 5x5) on the 8x8 domain (points 0, 1, -1, 2, -2, 1/2, -1/2, infinity) ---

// r = B^T d for one column of 8 values:
//   B^T = [-1 0 21/4 0 -21/4 0 1 0; 0 1 1 -17/4 -17/4 1 1 0; 0 -1 1 17/4 -17/4 -1 1 0;
//          0 1/2 1/4 -5/2 -5/4 2 1 0; 0 -1/2 1/4 5/2 -5/4 -2 1 0; 0 2 4 -5/2 -5 1/2 1 0;
//          0 -2 4 5/2 -5 -1/2 1 0; 0 -1 0 21/4 0 -21/4 0 1]
// (rows 1-6 in pairs: an even part plus and minus an odd part).
inline void input_1d_8(const __m256 d[8], __m256 r[8]) {
  r[0] = _mm256_fmadd_ps(set1(5.25f), _mm256_sub_ps(d[2], d[4]), _mm256_sub_ps(d[6], d[0]));
  r[7] = _mm256_fmadd_ps(set1(5.25f), _mm256_sub_ps(d[3], d[5]), _mm256_sub_ps(d[7], d[1]));
  __m256 even = _mm256_fnmadd_ps(set1(4.25f), d[4], _mm256_add_ps(d[2], d[6]));
  __m256 odd = _mm256_fnmadd_ps(set1(4.25f), d[3], _mm256_add_ps(d[1], d[5]));
  r[1] = _mm256_add_ps(even, odd);
  r[2] = _mm256_sub_ps(even, odd);
  even = _mm256_fmadd_ps(set1(0.25f), d[2], _mm256_fnmadd_ps(set1(1.25f), d[4], d[6]));
  odd = _mm256_fmadd_ps(set1(0.5f), d[1], _mm256_fmadd_ps(set1(-2.5f), d[3], _mm256_mul_ps(set1(2.0f), d[5])));
  r[3] = _mm256_add_ps(even, odd);
  r[4] = _mm256_sub_ps(even, odd);
  even = _mm256_fmadd_ps(set1(4.0f), d[2], _mm256_fnmadd_ps(set1(5.0f), d[4], d[6]));
  odd = _mm256_fmadd_ps(set1(2.0f), d[1], _mm256_fmadd_ps(set1(-2.5f), d[3], _mm256_mul_ps(set1(0.5f), d[5])));
  r[5] = _mm256_add_ps(even, odd);
  r[6] = _mm256_sub_ps(even, odd);
}

// y = A^T m for one column of 8 values: row i of A^T holds the points to the power i (infinity: 1 in
// the last row only).
inline void output_1d_8(const __m256 m[8], __m256 y[4]) {
  const __m256 s12 = _mm256_add_ps(m[1], m[2]), d12 = _mm256_sub_ps(m[1], m[2]);
  const __m256 s34 = _mm256_add_ps(m[3], m[4]), d34 = _mm256_sub_ps(m[3], m[4]);
  const __m256 s56 = _mm256_add_ps(m[5], m[6]), d56 = _mm256_sub_ps(m[5], m[6]);
  y[0] = _mm256_add_ps(_mm256_add_ps(m[0], s12), _mm256_add_ps(s34, s56));
  y[1] = _mm256_fmadd_ps(set1(2.0f), d34, _mm256_fmadd_ps(set1(0.5f), d56, d12));
  y[2] = _mm256_fmadd_ps(set1(4.0f), s34, _mm256_fmadd_ps(set1(0.25f), s56, s12));
  y[3] = _mm256_add_ps(_mm256_fmadd_ps(set1(8.0f), d34, _mm256_fmadd_ps(set1(0.125f), d56, d12)), m[7]);
}

// m = A dy for one column of 4 values (the adjoint of output_1d_8).
inline void output_adjoint_1d_8(const __m256 d[4], __m256 m[8]) {
  __m256 even = _mm256_add_ps(d[0], d[2]), odd = _mm256_add_ps(d[1], d[3]);
  m[0] = d[0];
  m[1] = _mm256_add_ps(even, odd);
  m[2] = _mm256_sub_ps(even, odd);
  even = _mm256_fmadd_ps(set1(4.0f), d[2], d[0]);
  odd = _mm256_fmadd_ps(set1(8.0f), d[3], _mm256_mul_ps(set1(2.0f), d[1]));
  m[3] = _mm256_add_ps(even, odd);
  m[4] = _mm256_sub_ps(even, odd);
  even = _mm256_fmadd_ps(set1(0.25f), d[2], d[0]);
  odd = _mm256_fmadd_ps(set1(0.125f), d[3], _mm256_mul_ps(set1(0.5f), d[1]));
  m[5] = _mm256_add_ps(even, odd);
  m[6] = _mm256_sub_ps(even, odd);
  m[7] = d[3];
}

// u = G g for one column of 5 values: row i of G is f_i (1, p, p^2, p^3, p^4) for the point p_i, with
// f_i = 1 / prod over the other finite points q of (p_i - q): -1, -2/9, -2/9, 1/90, 1/90, 32/45, 32/45;
// (0 0 0 0 1) for infinity.
inline void filter_1d_8(const __m256 g[5], __m256 u[8]) {
  u[0] = _mm256_sub_ps(_mm256_setzero_ps(), g[0]);
  __m256 even = _mm256_add_ps(_mm256_add_ps(g[0], g[2]), g[4]), odd = _mm256_add_ps(g[1], g[3]);
  u[1] = _mm256_mul_ps(set1(-2.0f / 9.0f), _mm256_add_ps(even, odd));
  u[2] = _mm256_mul_ps(set1(-2.0f / 9.0f), _mm256_sub_ps(even, odd));
  even = _mm256_fmadd_ps(set1(16.0f), g[4], _mm256_fmadd_ps(set1(4.0f), g[2], g[0]));
  odd = _mm256_fmadd_ps(set1(8.0f), g[3], _mm256_mul_ps(set1(2.0f), g[1]));
  u[3] = _mm256_mul_ps(set1(1.0f / 90.0f), _mm256_add_ps(even, odd));
  u[4] = _mm256_mul_ps(set1(1.0f / 90.0f), _mm256_sub_ps(even, odd));
  even = _mm256_fmadd_ps(set1(0.0625f), g[4], _mm256_fmadd_ps(set1(0.25f), g[2], g[0]));
  odd = _mm256_fmadd_ps(set1(0.125f), g[3], _mm256_mul_ps(set1(0.5f), g[1]));
  u[5] = _mm256_mul_ps(set1(32.0f / 45.0f), _mm256_add_ps(even, odd));
  u[6] = _mm256_mul_ps(set1(32.0f / 45.0f), _mm256_sub_ps(even, odd));
  u[7] = g[4];
}

// g = G^T u for one column of 8 values (the adjoint of filter_1d_8).
inline void filter_adjoint_1d_8(const __m256 u[8], __m256 g[5]) {
  const __m256 s12 = _mm256_mul_ps(set1(-2.0f / 9.0f), _mm256_add_ps(u[1], u[2]));
  const __m256 d12 = _mm256_mul_ps(set1(-2.0f / 9.0f), _mm256_sub_ps(u[1], u[2]));
  const __m256 s34 = _mm256_mul_ps(set1(1.0f / 90.0f), _mm256_add_ps(u[3], u[4]));
  const __m256 d34 = _mm256_mul_ps(set1(1.0f / 90.0f), _mm256_sub_ps(u[3], u[4]));
  const __m256 s56 = _mm256_mul_ps(set1(32.0f / 45.0f), _mm256_add_ps(u[5], u[6]));
  const __m256 d56 = _mm256_mul_ps(set1(32.0f / 45.0f), _mm256_sub_ps(u[5], u[6]));
  g[0] = _mm256_add_ps(_mm256_sub_ps(s12, u[0]), _mm256_add_ps(s34, s56));
  g[1] = _mm256_fmadd_ps(set1(2.0f), d34, _mm256_fmadd_ps(set1(0.5f), d56, d12));
  g[2] = _mm256_fmadd_ps(set1(4.0f), s34, _mm256_fmadd_ps(set1(0.25f), s56, s12));
  g[3] = _mm256_fmadd_ps(set1(8.0f), d34, _mm256_fmadd_ps(set1(0.125f), d56, d12));
  g[4] = _mm256_add_ps(_mm256_fmadd_ps(set1(16.0f), s34, _mm256_fmadd_ps(set1(0.0625f), s56, s12)), u[7]);
}

// out = T in T' for a kIn x kIn tile and a 1-D transform one_d (kIn values -> kOut values, the
// columns first, then the rows): each of the five 2-D transforms below is one of these.
using Transform1d = void (*)(const __m256*, __m256*);
template <int kIn, int kOut, Transform1d one_d>
inline void transform_2d(const __m256 (&in)[kIn][kIn], __m256 (&out)[kOut][kOut]) {
  __m256 half[kOut][kIn];
  for (int j = 0; j < kIn; ++j) {
    __m256 column[kIn], r[kOut];
    for (int i = 0; i < kIn; ++i) column[i] = in[i][j];
    one_d(column, r);
    for (int i = 0; i < kOut; ++i) half[i][j] = r[i];
  }
  for (int i = 0; i < kOut; ++i) one_d(half[i], out[i]);
}

// The two algorithms: domain side, filter side and 1-D transforms (both give 4x4 output tiles).
struct F4x4_3x3 {
  static constexpr int kN = 6, kKernel = 3, kPoints = kN * kN;
  static constexpr Transform1d input = input_1d, output = output_1d, output_adjoint = output_adjoint_1d,
                               filter = filter_1d, filter_adjoint = filter_adjoint_1d;
};
struct F4x4_5x5 {
  static constexpr int kN = 8, kKernel = 5, kPoints = kN * kN;
  static constexpr Transform1d input = input_1d_8, output = output_1d_8, output_adjoint = output_adjoint_1d_8,
                               filter = filter_1d_8, filter_adjoint = filter_adjoint_1d_8;
};

// Where the tiles of one convolution lie: image [N, H, W, C] in, [N, OH, OW, K] out, the patch of
// tile (ty, tx) starting at input row 4 ty - pad_top and column 4 tx - pad_left.
struct Tiling {
  int64_t n, h, w, c, k, out_h, out_w, pad_top, pad_left;
  int64_t tiles_h() const { return (out_h + 3) / 4; }
  int64_t tiles_w() const { return (out_w + 3) / 4; }
  int64_t tiles() const { return n * tiles_h() * tiles_w(); }
  // Image, first patch row and first patch column of tile t.
  void locate(int64_t t, int64_t& img, int64_t& row, int64_t& col) const {
    const int64_t per_image = tiles_h() * tiles_w();
    img = t / per_image;
    const int64_t r = t % per_image;
    row = (r / tiles_w()) * 4;
    col = (r % tiles_w()) * 4;
  }
};

// V = B^T d B of tile t for every channel of x, written to v[xi * v_stride + c] (v_stride >= C
// rounded up to 8: whole runs of 8 are stored, the padding lanes as zeros).
template <typename Alg>
void transform_input_tile(const Tiling& s, const float* x, int64_t t, float* v, int64_t v_stride) {
  constexpr int kN = Alg::kN;
  int64_t img = 0, row = 0, col = 0;
  s.locate(t, img, row, col);
  row -= s.pad_top;
  col -= s.pad_left;
  const float* base = x + img * s.h * s.w * s.c;
  // The patch rows and columns inside the image: [i0, i1) and [j0, j1); the rest reads as zeros.
  const int i0 = static_cast<int>(std::clamp<int64_t>(-row, 0, kN)), i1 = static_cast<int>(std::clamp<int64_t>(s.h - row, 0, kN));
  const int j0 = static_cast<int>(std::clamp<int64_t>(-col, 0, kN)), j1 = static_cast<int>(std::clamp<int64_t>(s.w - col, 0, kN));
  for (int64_t c = 0; c < s.c; c += 8) {
    const Lanes lanes(s.c - c);
    // Two passes through one kN x kN scratch: every column straight from the image (B^T d), then
    // every row straight to v, rather than copying the patch in and the result out of two more arrays.
    // (The loops need the file's -O3 to be unrolled into registers: see CMakeLists.txt.)
    __m256 half[kN][kN];
    for (int j = 0; j < kN; ++j) {
      __m256 column[kN], r[kN];
      for (int i = 0; i < kN; ++i) {
        // Outside the image the load reads kZeros: selecting the address, not the value, keeps a
        // branch out of every load.
        const bool inside = i >= i0 && i < i1 && j >= j0 && j < j1;
        column[i] = lanes.load(inside ? base + ((row + i) * s.w + col + j) * s.c + c : kZeros);
      }
      Alg::input(column, r);
      for (int i = 0; i < kN; ++i) half[i][j] = r[i];
    }
    for (int i = 0; i < kN; ++i) {
      __m256 r[kN];
      Alg::input(half[i], r);
      for (int j = 0; j < kN; ++j) _mm256_storeu_ps(v + (kN * i + j) * v_stride + c, r[j]);
    }
  }
}

// y tile t = A^T M A for every channel (m[xi * m_stride + k]), plus bias (may be null) and ReLU,
// stored where the tile lies inside the output.
template <typename Alg>
void transform_output_tile(const Tiling& s, const float* m, int64_t m_stride, int64_t t, float* y,
                           const float* bias, bool relu) {
  constexpr int kN = Alg::kN;
  int64_t img = 0, row = 0, col = 0;
  s.locate(t, img, row, col);
  float* base = y + img * s.out_h * s.out_w * s.k;
  const int64_t rows = std::min<int64_t>(4, s.out_h - row), cols = std::min<int64_t>(4, s.out_w - col);
  for (int64_t k = 0; k < s.k; k += 8) {
    const Lanes lanes(s.k - k);
    __m256 half[4][kN];
    for (int j = 0; j < kN; ++j) {
      __m256 column[kN], r[4];
      for (int i = 0; i < kN; ++i) column[i] = _mm256_loadu_ps(m + (kN * i + j) * m_stride + k);
      Alg::output(column, r);
      for (int i = 0; i < 4; ++i) half[i][j] = r[i];
    }
    const __m256 b = bias != nullptr ? lanes.load(bias + k) : _mm256_setzero_ps();
    for (int i = 0; i < rows; ++i) {
      __m256 r[4];
      Alg::output(half[i], r);
      for (int j = 0; j < cols; ++j) {
        __m256 out = _mm256_add_ps(r[j], b);
        if (relu) out = _mm256_max_ps(out, _mm256_setzero_ps());
        lanes.store(base + ((row + i) * s.out_w + col + j) * s.k + k, out);
      }
    }
  }
}

// A dy A^T of tile t for every output channel (zeros outside the output), to m[xi * m_stride + k].
template <typename Alg>
void transform_output_grad_tile(const Tiling& s, const float* dy, int64_t t, float* m, int64_t m_stride) {
  constexpr int kN = Alg::kN;
  int64_t img = 0, row = 0, col = 0;
  s.locate(t, img, row, col);
  const float* base = dy + img * s.out_h * s.out_w * s.k;
  const int64_t rows = std::min<int64_t>(4, s.out_h - row), cols = std::min<int64_t>(4, s.out_w - col);
  for (int64_t k = 0; k < s.k; k += 8) {
    const Lanes lanes(s.k - k);
    __m256 half[kN][4];
    for (int j = 0; j < 4; ++j) {
      __m256 column[4], r[kN];
      for (int i = 0; i < 4; ++i) {
        column[i] = (i < rows && j < cols) ? lanes.load(base + ((row + i) * s.out_w + col + j) * s.k + k)
                                           : _mm256_setzero_ps();
      }
      Alg::output_adjoint(column, r);
      for (int i = 0; i < kN; ++i) half[i][j] = r[i];
    }
    for (int i = 0; i < kN; ++i) {
      __m256 r[kN];
      Alg::output_adjoint(half[i], r);
      for (int j = 0; j < kN; ++j) _mm256_storeu_ps(m + (kN * i + j) * m_stride + k, r[j]);
    }
  }
}

// U[xi][c][k] = (G g G^T)[xi] for w [r, r, C, K] (HWIO, r the filter side); u rows are k_pad = K
// rounded up to 8 wide.
template <typename Alg>
void transform_filter(const float* w, int64_t C, int64_t K, float* u) {
  constexpr int kN = Alg::kN, kR = Alg::kKernel;
  const int64_t k_pad = round_up8(K);
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < C; ++c) {
    for (int64_t k = 0; k < K; k += 8) {
      const Lanes lanes(K - k);
      __m256 g[kR][kR];
      for (int i = 0; i < kR; ++i) {
        for (int j = 0; j < kR; ++j) g[i][j] = lanes.load(w + ((i * kR + j) * C + c) * K + k);
      }
      __m256 r[kN][kN];
      transform_2d<kR, kN, Alg::filter>(g, r);
      for (int xi = 0; xi < Alg::kPoints; ++xi) _mm256_storeu_ps(u + (xi * C + c) * k_pad + k, r[xi / kN][xi % kN]);
    }
  }
}

// dw [r, r, C, K] = G^T dU G from du[xi][c][k] (rows k_pad wide).
template <typename Alg>
void transform_filter_grad(const float* du, int64_t C, int64_t K, float* dw) {
  constexpr int kN = Alg::kN, kR = Alg::kKernel;
  const int64_t k_pad = round_up8(K);
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < C; ++c) {
    for (int64_t k = 0; k < K; k += 8) {
      const Lanes lanes(K - k);
      __m256 d[kN][kN], r[kR][kR];
      for (int xi = 0; xi < Alg::kPoints; ++xi) d[xi / kN][xi % kN] = _mm256_loadu_ps(du + (xi * C + c) * k_pad + k);
      transform_2d<kN, kR, Alg::filter_adjoint>(d, r);
      for (int ij = 0; ij < kR * kR; ++ij) lanes.store(dw + (ij * C + c) * K + k, r[ij / kR][ij % kR]);
    }
  }
}

float* floats(Storage& s) { return static_cast<float*>(s.data()); }

// y = conv(x, w) (+ bias, ReLU) for the tiling s, w [r, r, C, K]. Tiles go in blocks, one block per
// thread at a time: transform its patches, one product per Winograd point, transform back, all while
// the block's Winograd-domain data is still in cache. Within a block, V and M are tile-major (each
// tile's kPoints x channels values in one run, the product for point xi reading every v_row-th run):
// the transforms then read and write one contiguous run per tile instead of touching kPoints planes
// (5 % faster forward than point-major planes on conv2 of the cnn).
template <typename Alg>
void forward(const Tiling& s, const float* x, const float* w, float* y, const float* bias, bool relu) {
  constexpr int64_t kPoints = Alg::kPoints;
  const int64_t c_pad = round_up8(s.c), k_pad = round_up8(s.k), tiles = s.tiles();
  Storage u_buf(static_cast<std::size_t>(kPoints * s.c * k_pad) * sizeof(float));
  float* u = floats(u_buf);
  transform_filter<Alg>(w, s.c, s.k, u);
  // Block size: each block reads all of U (kPoints C K floats), so blocks of fewer than about C K / (C + K)
  // tiles would spend more on U than on their own data; at most a share of the tiles per thread.
  const int threads = omp_get_max_threads();
  const int64_t wanted = std::clamp<int64_t>(2 * s.c * s.k / (s.c + s.k), 32, 256);
  const int64_t block = std::max<int64_t>(1, std::min(wanted, (tiles + threads - 1) / threads));
  const int64_t blocks = (tiles + block - 1) / block;
  const int64_t v_row = kPoints * c_pad + 16, m_row = kPoints * k_pad + 16;
  const int64_t per_thread = block * (v_row + m_row);
  Storage scratch(static_cast<std::size_t>(per_thread * threads) * sizeof(float));
#pragma omp parallel
  {
    float* v = floats(scratch) + per_thread * omp_get_thread_num();
    float* m = v + block * v_row;
#pragma omp for schedule(static)
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t first = b * block, count = std::min(block, tiles - first);
      for (int64_t t = 0; t < count; ++t) transform_input_tile<Alg>(s, x, first + t, v + t * v_row, c_pad);
      for (int64_t xi = 0; xi < kPoints; ++xi) {
        gemm(false, false, count, s.k, s.c, 1.0f, v + xi * c_pad, v_row, u + xi * s.c * k_pad, k_pad, 0.0f,
             m + xi * k_pad, m_row);
      }
      for (int64_t t = 0; t < count; ++t) {
        transform_output_tile<Alg>(s, m + t * m_row, k_pad, first + t, y, bias, relu);
      }
    }
  }
}

Tiling forward_tiling(const Conv2dGeometry& g) {
  return {.n = g.batch, .h = g.in_h, .w = g.in_w, .c = g.in_c, .k = g.out_c, .out_h = g.out_h, .out_w = g.out_w,
          .pad_top = g.pad_top, .pad_left = g.pad_left};
}

template <typename Alg>
void backward_input(const Conv2dGeometry& g, const float* dy, const float* w, float* dx) {
  // dx = conv(dy, w') with w'[i][j][k][c] = w[r-1 - i][r-1 - j][c][k] and padding r-1 - pad.
  constexpr int64_t kTaps = Alg::kKernel * Alg::kKernel;
  const int64_t C = g.in_c, K = g.out_c;
  Storage flipped_buf(static_cast<std::size_t>(kTaps * C * K) * sizeof(float));
  float* flipped = floats(flipped_buf);
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < K; ++k) {
    for (int64_t ij = 0; ij < kTaps; ++ij) {
      const float* src = w + (kTaps - 1 - ij) * C * K + k;
      float* dst = flipped + (ij * K + k) * C;
      for (int64_t c = 0; c < C; ++c) dst[c] = src[c * K];
    }
  }
  const Tiling s{.n = g.batch, .h = g.out_h, .w = g.out_w, .c = K, .k = C, .out_h = g.in_h, .out_w = g.in_w,
                 .pad_top = Alg::kKernel - 1 - g.pad_top, .pad_left = Alg::kKernel - 1 - g.pad_left};
  forward<Alg>(s, dy, flipped, dx, nullptr, false);
}

template <typename Alg>
void backward_filter(const Conv2dGeometry& g, const float* x, const float* dy, float* dw) {
  constexpr int64_t kPoints = Alg::kPoints;
  const Tiling s = forward_tiling(g);
  const int64_t c_pad = round_up8(s.c), k_pad = round_up8(s.k), tiles = s.tiles();
  // Tiles go in chunks of at most ~4 MB of Winograd-domain data, so that the products read it from
  // the last-level cache (chunks of 32 MB ran 15-25 % slower on ResNet-18's layers, bench/RESULTS.md);
  // within a chunk, every tile is transformed (in parallel), then the products (one per point)
  // dU[xi] += V[xi]^T dM[xi] share out among the threads. Each dU[xi] is summed by one thread in
  // tile order: the result does not depend on the thread count.
  const int64_t chunk =
      std::min(tiles, std::max<int64_t>(64, (int64_t{4} << 20) / (4 * kPoints * (c_pad + k_pad))));
  const int64_t v_plane = plane_stride(chunk * c_pad), m_plane = plane_stride(chunk * k_pad);
  Storage vm_buf(static_cast<std::size_t>(kPoints * (v_plane + m_plane)) * sizeof(float));
  Storage du_buf(static_cast<std::size_t>(kPoints * s.c * k_pad) * sizeof(float));
  float* v = floats(vm_buf);
  float* m = v + kPoints * v_plane;
  float* du = floats(du_buf);
  for (int64_t first = 0; first < tiles; first += chunk) {
    const int64_t count = std::min(chunk, tiles - first);
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < count; ++t) {
      transform_input_tile<Alg>(s, x, first + t, v + t * c_pad, v_plane);
      transform_output_grad_tile<Alg>(s, dy, first + t, m + t * k_pad, m_plane);
    }
#pragma omp parallel for schedule(static)
    for (int64_t xi = 0; xi < kPoints; ++xi) {
      gemm(true, false, s.c, s.k, count, 1.0f, v + xi * v_plane, c_pad, m + xi * m_plane, k_pad,
           first == 0 ? 0.0f : 1.0f, du + xi * s.c * k_pad, k_pad);
    }
  }
  transform_filter_grad<Alg>(du, s.c, s.k, dw);
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
  if (g.k_h == 5) return forward<F4x4_5x5>(forward_tiling(g), x, w, y, bias, relu);
  forward<F4x4_3x3>(forward_tiling(g), x, w, y, bias, relu);
}

void conv2d_backward_input_f32_winograd(const Conv2dGeometry& g, const float* dy, const float* w, float* dx) {
  if (g.k_h == 5) return backward_input<F4x4_5x5>(g, dy, w, dx);
  backward_input<F4x4_3x3>(g, dy, w, dx);
}

void conv2d_backward_filter_f32_winograd(const Conv2dGeometry& g, const float* x, const float* dy, float* dw) {
  if (g.k_h == 5) return backward_filter<F4x4_5x5>(g, x, dy, dw);
  backward_filter<F4x4_3x3>(g, x, dy, dw);
}

}  // namespace ember::kernels::cpu::detail
