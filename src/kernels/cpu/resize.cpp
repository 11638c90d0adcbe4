#include "ember/kernels/cpu/resize.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace ember::kernels::cpu {

namespace {

// The two neighbours and the weight of the second along one axis, for every output index.
struct Tap {
  int64_t lo, hi;
  float w;
};

std::vector<Tap> taps(int64_t in, int64_t out) {
  std::vector<Tap> t(static_cast<std::size_t>(out));
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  for (int64_t o = 0; o < out; ++o) {
    const float s = std::max((static_cast<float>(o) + 0.5f) * scale - 0.5f, 0.0f);
    const auto lo = std::min(static_cast<int64_t>(s), in - 1);  // s >= 0, so truncation is floor
    t[static_cast<std::size_t>(o)] = {lo, std::min(lo + 1, in - 1), s - static_cast<float>(lo)};
  }
  return t;
}

}  // namespace

template <typename T>
void resize_bilinear(const T* src, float* dst, const ResizeGeometry& g) {
  const std::vector<Tap> ys = taps(g.in_h, g.out_h), xs = taps(g.in_w, g.out_w);
  const int64_t c = g.channels, row = g.in_w * c;
  for (int64_t oy = 0; oy < g.out_h; ++oy) {
    const Tap& ty = ys[static_cast<std::size_t>(oy)];
    const T* r0 = src + ty.lo * row;
    const T* r1 = src + ty.hi * row;
    for (int64_t ox = 0; ox < g.out_w; ++ox) {
      const Tap& tx = xs[static_cast<std::size_t>(ox)];
      float* out = dst + (oy * g.out_w + ox) * c;
      for (int64_t k = 0; k < c; ++k) {
        const float a = static_cast<float>(r0[tx.lo * c + k]), b = static_cast<float>(r0[tx.hi * c + k]);
        const float d = static_cast<float>(r1[tx.lo * c + k]), e = static_cast<float>(r1[tx.hi * c + k]);
        const float top = a + (b - a) * tx.w, bottom = d + (e - d) * tx.w;
        out[k] = top + (bottom - top) * ty.w;
      }
    }
  }
}

template void resize_bilinear<uint8_t>(const uint8_t*, float*, const ResizeGeometry&);
template void resize_bilinear<float>(const float*, float*, const ResizeGeometry&);

}  // namespace ember::kernels::cpu
