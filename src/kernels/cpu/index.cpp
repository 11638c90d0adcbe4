#include "ember/kernels/cpu/index.hpp"

#include <algorithm>
#include <cstring>

#include "ember/kernels/cpu/parallel.hpp"

namespace ember::kernels::cpu {

void gather_axis(const void* x, std::size_t itemsize, const int64_t* idx, int64_t n, int64_t outer, int64_t axis_len,
                 int64_t inner, void* out) {
  const char* px = static_cast<const char*>(x);
  char* po = static_cast<char*>(out);
  const std::size_t row = static_cast<std::size_t>(inner) * itemsize;
  parallel_for(0, outer, grain_for(n * inner), [&](int64_t o_begin, int64_t o_end) {
    for (int64_t o = o_begin; o < o_end; ++o) {
      for (int64_t j = 0; j < n; ++j) {
        std::memcpy(po + (o * n + j) * row, px + (o * axis_len + idx[j]) * row, row);
      }
    }
  });
}

template <typename T>
void scatter_add_axis(const T* g, const int64_t* idx, int64_t n, int64_t outer, int64_t axis_len, int64_t inner,
                      T* grad_x) {
  std::fill_n(grad_x, outer * axis_len * inner, T(0));
  // Parallel over `outer` only: rows of one outer slice may receive several indices.
  parallel_for(0, outer, grain_for(n * inner), [&](int64_t o_begin, int64_t o_end) {
    for (int64_t o = o_begin; o < o_end; ++o) {
      for (int64_t j = 0; j < n; ++j) {
        const T* src = g + (o * n + j) * inner;
        T* dst = grad_x + (o * axis_len + idx[j]) * inner;
        for (int64_t i = 0; i < inner; ++i) dst[i] = static_cast<T>(dst[i] + src[i]);
      }
    }
  });
}

#define EMBER_INSTANTIATE_SCATTER(T) \
  template void scatter_add_axis<T>(const T*, const int64_t*, int64_t, int64_t, int64_t, int64_t, T*);
EMBER_INSTANTIATE_SCATTER(float)
EMBER_INSTANTIATE_SCATTER(double)
EMBER_INSTANTIATE_SCATTER(int32_t)
EMBER_INSTANTIATE_SCATTER(int64_t)
EMBER_INSTANTIATE_SCATTER(uint8_t)
EMBER_INSTANTIATE_SCATTER(bool)
#undef EMBER_INSTANTIATE_SCATTER

}  // namespace ember::kernels::cpu
