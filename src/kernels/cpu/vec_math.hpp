#pragma once
// float32 transcendental functions, 8 lanes at a time with AVX2/FMA (the project's baseline ISA),
// each with a scalar twin that runs the same fused multiply-adds, so a loop's tail elements get
// bit-for-bit the values the vector body would have given them.
//
// Why intrinsics: GCC at -O2 keeps neither glibc's expf nor a branch-free polynomial in a
// vectorised `omp simd` loop (trapping-math blocks if-conversion of the clamps), and these
// functions dominate softmax, sigmoid, tanh and elu.
//
// exp(x) = 2^n * exp(r) with n = round(x / ln 2) and |r| <= ln2 / 2; exp(r) by its Taylor series to
// degree 7 (truncation error < 6e-9 relative); ln 2 is split in two parts so r is exact enough.
// Rounding uses the 1.5 * 2^23 trick and 2^n is built from exponent bits, so there is no
// float -> int conversion. Max relative error ~2e-7 (tests/kernels/unary_math_test.cpp). NaN
// propagates everywhere; +-inf and overflow/underflow give what IEEE exp gives.
#include <immintrin.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace ember::kernels::cpu::vec {

inline constexpr float kExpMagic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer in the low bits
inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kLn2Hi = 0.693145751953125f;  // few mantissa bits: n * kLn2Hi is exact
inline constexpr float kLn2Lo = 1.42860682030941723e-6f;
// Taylor coefficients of exp(r) from r^7 down to r^1; exp adds the constant 1, expm1 does not.
inline constexpr float kExpCoef[7] = {1.0f / 5040, 1.0f / 720, 1.0f / 120, 1.0f / 24, 1.0f / 6, 0.5f, 1.0f};

// Range reduction: x = n ln2 + r with |r| <= ln2/2, for x already clamped to a finite range. Returns
// r; t holds n in its low mantissa bits (bits(t) = 0x4B400000 + n).
inline __m256 reduce8(__m256 x, __m256& t) {
  const __m256 magic = _mm256_set1_ps(kExpMagic);
  t = _mm256_fmadd_ps(x, _mm256_set1_ps(kLog2e), magic);
  __m256 n = _mm256_sub_ps(t, magic);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Hi), x);
  return _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Lo), r);
}
inline float reduce1(float x, float& t) {
  t = std::fma(x, kLog2e, kExpMagic);
  float n = t - kExpMagic;
  float r = std::fma(-n, kLn2Hi, x);
  return std::fma(-n, kLn2Lo, r);
}

// clamp(x, lo, hi) that keeps NaN: max/min return their second operand when one is NaN.
inline __m256 clamp8(__m256 x, float lo, float hi) {
  return _mm256_min_ps(_mm256_set1_ps(hi), _mm256_max_ps(_mm256_set1_ps(lo), x));
}
inline float clamp1(float x, float lo, float hi) {
  x = x < lo ? lo : x;
  return x > hi ? hi : x;
}

// exp(r) - 1 = r * (1 + r/2 + r^2/6 + ...), without the cancellation of subtracting 1.
inline __m256 expm1_poly8(__m256 r) {
  __m256 p = _mm256_set1_ps(kExpCoef[0]);
  for (int i = 1; i < 7; ++i) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpCoef[i]));
  return _mm256_mul_ps(p, r);
}
inline float expm1_poly1(float r) {
  float p = kExpCoef[0];
  for (int i = 1; i < 7; ++i) p = std::fma(p, r, kExpCoef[i]);
  return p * r;
}

// 2^k as a float from an integer k in [-126, 127].
inline __m256 pow2_8(__m256i k) { return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k, _mm256_set1_epi32(127)), 23)); }
inline float pow2_1(int32_t k) { return std::bit_cast<float>(static_cast<uint32_t>(k + 127) << 23); }
inline __m256i n_of8(__m256 t) { return _mm256_sub_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(0x4B400000)); }
inline int32_t n_of1(float t) { return static_cast<int32_t>(std::bit_cast<uint32_t>(t) - 0x4B400000u); }

// exp over the whole float range. x is clamped to [-104, 89], where n lies in [-150, 129]; 2^n is
// applied as two normal factors 2^h * 2^(n-h) (h = n/2), so results that overflow become +inf and
// those below FLT_MIN come out as correctly scaled subnormals (or 0) without special cases.
inline __m256 exp8(__m256 xin) {
  __m256 t;
  __m256 r = reduce8(clamp8(xin, -104.0f, 89.0f), t);
  __m256i n = n_of8(t), h = _mm256_srai_epi32(n, 1);
  __m256 s1 = pow2_8(h), s2 = pow2_8(_mm256_sub_epi32(n, h));
  return _mm256_mul_ps(_mm256_fmadd_ps(s1, expm1_poly8(r), s1), s2);
}
inline float exp1(float xin) {
  float t;
  float r = reduce1(clamp1(xin, -104.0f, 89.0f), t);
  int32_t n = n_of1(t), h = n >> 1;
  float s1 = pow2_1(h), s2 = pow2_1(n - h);
  return std::fma(s1, expm1_poly1(r), s1) * s2;
}

// expm1(x) = 2^n * q + (2^n - 1): for |x| < ln2/2 (n = 0) this is q itself, accurate for tiny x;
// elsewhere the result is at least 0.29 in magnitude and the sum loses nothing. x is clamped to
// [-87, 88] (2^n normal; below -87 the result is -1 in float anyway); above 88, expm1 = exp.
inline __m256 expm1_8(__m256 xin) {
  __m256 t;
  __m256 r = reduce8(clamp8(xin, -87.0f, 88.0f), t);
  __m256 s = pow2_8(n_of8(t));
  __m256 y = _mm256_fmadd_ps(s, expm1_poly8(r), _mm256_sub_ps(s, _mm256_set1_ps(1.0f)));
  __m256 big = _mm256_cmp_ps(xin, _mm256_set1_ps(88.0f), _CMP_GT_OQ);
  if (_mm256_movemask_ps(big)) y = _mm256_blendv_ps(y, exp8(xin), big);
  return y;
}
inline float expm1_1(float xin) {
  if (xin > 88.0f) return exp1(xin);
  float t;
  float r = reduce1(clamp1(xin, -87.0f, 88.0f), t);
  float s = pow2_1(n_of1(t));
  return std::fma(s, expm1_poly1(r), s - 1.0f);
}

inline __m256 abs8(__m256 x) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x); }

// Logistic function, stable: exp of a non-positive number only, and for x < 0 e/(1+e) rather than
// 1 - 1/(1+e), which would lose the small result's relative precision.
inline __m256 sigmoid8(__m256 x) {
  __m256 e = exp8(_mm256_xor_ps(abs8(x), _mm256_set1_ps(-0.0f)));  // exp(-|x|)
  __m256 r = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
  // x >= 0 ? r : e * r (NaN: the comparison is false and e * r is NaN).
  return _mm256_blendv_ps(_mm256_mul_ps(e, r), r, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ));
}
inline float sigmoid1(float x) {
  float e = exp1(-std::fabs(x));
  float r = 1.0f / (1.0f + e);
  return x >= 0.0f ? r : e * r;
}

// tanh(x) = sign(x) * -m / (2 + m) with m = expm1(-2|x|) in [-1, 0]: no cancellation for small |x|,
// exactly +-1 once exp(-2|x|) underflows, and -0 stays -0.
inline __m256 tanh8(__m256 x) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 a = abs8(x);
  __m256 m = expm1_8(_mm256_mul_ps(a, _mm256_set1_ps(-2.0f)));
  __m256 t = _mm256_div_ps(_mm256_xor_ps(m, sign), _mm256_add_ps(_mm256_set1_ps(2.0f), m));
  return _mm256_or_ps(abs8(t), _mm256_and_ps(x, sign));  // copysign(t, x); t may be -0 for x = 0
}
inline float tanh1(float x) {
  float m = expm1_1(-2.0f * std::fabs(x));
  return std::copysign(-m / (2.0f + m), x);
}

// log(x) = e ln2 + log(m) with x = 2^e m, m in [sqrt(1/2), sqrt(2)) (subnormal x rescaled by 2^23
// first). With f = m - 1 (exact) and s = f / (2 + f): log(m) = f - f^2/2 + s (f^2/2 + R(s^2)), where
// R = 2/3 s^2 + 2/5 s^4 + ... is the series of 2 atanh(s) - 2s; |s| <= 0.172, so five terms leave a
// truncation error below 1e-9. x < 0 or NaN gives NaN, +-0 gives -inf, +inf gives +inf.
inline constexpr float kLogCoef[5] = {2.0f / 11, 2.0f / 9, 2.0f / 7, 2.0f / 5, 2.0f / 3};

inline __m256 log8(__m256 xin) {
  const __m256 fmin = _mm256_set1_ps(std::numeric_limits<float>::min());
  __m256 sub = _mm256_cmp_ps(xin, fmin, _CMP_LT_OQ);  // subnormal (or <= 0: sorted out at the end)
  __m256 x = _mm256_blendv_ps(xin, _mm256_mul_ps(xin, _mm256_set1_ps(8388608.0f)), sub);
  __m256i bits = _mm256_castps_si256(x);
  __m256i e = _mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(127));
  __m256 m = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007FFFFF)),
                                                 _mm256_set1_epi32(0x3F800000)));
  __m256 big = _mm256_cmp_ps(m, _mm256_set1_ps(1.41421356f), _CMP_GT_OQ);
  m = _mm256_blendv_ps(m, _mm256_mul_ps(m, _mm256_set1_ps(0.5f)), big);
  __m256 ef = _mm256_add_ps(_mm256_cvtepi32_ps(e), _mm256_and_ps(big, _mm256_set1_ps(1.0f)));
  ef = _mm256_sub_ps(ef, _mm256_and_ps(sub, _mm256_set1_ps(23.0f)));
  __m256 f = _mm256_sub_ps(m, _mm256_set1_ps(1.0f));
  __m256 s = _mm256_div_ps(f, _mm256_add_ps(_mm256_set1_ps(2.0f), f));
  __m256 z = _mm256_mul_ps(s, s);
  __m256 r = _mm256_set1_ps(kLogCoef[0]);
  for (int i = 1; i < 5; ++i) r = _mm256_fmadd_ps(r, z, _mm256_set1_ps(kLogCoef[i]));
  r = _mm256_mul_ps(r, z);
  __m256 hfsq = _mm256_mul_ps(_mm256_set1_ps(0.5f), _mm256_mul_ps(f, f));
  __m256 y = _mm256_fmadd_ps(s, _mm256_add_ps(hfsq, r), _mm256_mul_ps(ef, _mm256_set1_ps(kLn2Lo)));
  y = _mm256_add_ps(_mm256_sub_ps(y, hfsq), f);
  y = _mm256_fmadd_ps(ef, _mm256_set1_ps(kLn2Hi), y);
  // Special inputs, last: +inf stays +inf, 0 gives -inf, below 0 (and NaN) gives NaN.
  y = _mm256_blendv_ps(y, xin, _mm256_cmp_ps(xin, _mm256_set1_ps(std::numeric_limits<float>::infinity()), _CMP_EQ_OQ));
  y = _mm256_blendv_ps(y, _mm256_set1_ps(-std::numeric_limits<float>::infinity()),
                       _mm256_cmp_ps(xin, _mm256_setzero_ps(), _CMP_EQ_OQ));
  return _mm256_blendv_ps(y, _mm256_set1_ps(std::numeric_limits<float>::quiet_NaN()),
                          _mm256_cmp_ps(xin, _mm256_setzero_ps(), _CMP_NGE_UQ));  // x < 0 or NaN
}
inline float log1(float xin) {
  if (!(xin >= 0.0f)) return std::numeric_limits<float>::quiet_NaN();
  if (xin == 0.0f) return -std::numeric_limits<float>::infinity();
  if (xin == std::numeric_limits<float>::infinity()) return xin;
  const bool sub = xin < std::numeric_limits<float>::min();
  float x = sub ? xin * 8388608.0f : xin;
  uint32_t bits = std::bit_cast<uint32_t>(x);
  int32_t e = static_cast<int32_t>(bits >> 23) - 127;
  float m = std::bit_cast<float>((bits & 0x007FFFFFu) | 0x3F800000u);
  const bool big = m > 1.41421356f;
  m = big ? m * 0.5f : m;
  float ef = static_cast<float>(e) + (big ? 1.0f : 0.0f);
  ef = ef - (sub ? 23.0f : 0.0f);
  float f = m - 1.0f;
  float s = f / (2.0f + f);
  float z = s * s;
  float r = kLogCoef[0];
  for (int i = 1; i < 5; ++i) r = std::fma(r, z, kLogCoef[i]);
  r = r * z;
  float hfsq = 0.5f * (f * f);
  float y = std::fma(s, hfsq + r, ef * kLn2Lo);
  y = (y - hfsq) + f;
  return std::fma(ef, kLn2Hi, y);
}

// softplus(x) = max(x, 0) + log1p(exp(-|x|)). log1p(t) for t = exp(-|x|) in (0, 1] as
// log(u) * t / (u - 1) with u = 1 + t rounded (exact to a few ulps: the rounding error of u cancels
// in the ratio), and t itself where u rounds to 1.
inline __m256 softplus8(__m256 x) {
  __m256 t = exp8(_mm256_xor_ps(abs8(x), _mm256_set1_ps(-0.0f)));
  __m256 u = _mm256_add_ps(_mm256_set1_ps(1.0f), t);
  __m256 d = _mm256_sub_ps(u, _mm256_set1_ps(1.0f));
  __m256 l = _mm256_div_ps(_mm256_mul_ps(log8(u), t), d);
  l = _mm256_blendv_ps(l, t, _mm256_cmp_ps(d, _mm256_setzero_ps(), _CMP_EQ_OQ));
  // max(x, 0) written as max(0, x) keeps a NaN x (max returns its second operand on NaN).
  return _mm256_add_ps(_mm256_max_ps(_mm256_setzero_ps(), x), l);
}
inline float softplus1(float x) {
  float t = exp1(-std::fabs(x));
  float u = 1.0f + t;
  float d = u - 1.0f;
  float l = d == 0.0f ? t : log1(u) * t / d;
  return (x > 0.0f || x != x ? x : 0.0f) + l;
}

}  // namespace ember::kernels::cpu::vec
