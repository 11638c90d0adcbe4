#include "ember/kernels/cpu/index.hpp"

#include <cstring>

#include "ember/kernels/cpu/loops.hpp"

namespace ember::kernels::cpu {

void gather_axis(const Tensor& x, const std::vector<int64_t>& idx, int64_t outer, int64_t axis_len, int64_t inner,
                 const Tensor& out) {
  const std::size_t isz = itemsize(x.dtype());
  const char* px = static_cast<const char*>(x.raw_data());
  char* po = static_cast<char*>(out.raw_data());
  const int64_t n = static_cast<int64_t>(idx.size());
#pragma omp parallel for schedule(static) if (outer * n * inner >= kParallelGrain)
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < n; ++j) {
      std::memcpy(po + ((o * n + j) * inner) * isz, px + ((o * axis_len + idx[j]) * inner) * isz, inner * isz);
    }
  }
}

void scatter_add_axis(const Tensor& g, const std::vector<int64_t>& idx, int64_t outer, int64_t axis_len, int64_t inner,
                      const Tensor& grad_x) {
  const int64_t n = static_cast<int64_t>(idx.size());
  visit_dtype(g.dtype(), [&]<typename T>() {
    const T* pg = g.data<T>();
    T* px = grad_x.data<T>();
    std::fill_n(px, outer * axis_len * inner, T(0));
    // Parallel over `outer` only: rows of one outer slice may receive several indices.
#pragma omp parallel for schedule(static) if (outer * n * inner >= kParallelGrain && outer > 1)
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t j = 0; j < n; ++j) {
        const T* src = pg + (o * n + j) * inner;
        T* dst = px + (o * axis_len + idx[j]) * inner;
        for (int64_t i = 0; i < inner; ++i) dst[i] = static_cast<T>(dst[i] + src[i]);
      }
    }
  });
}

std::vector<int64_t> read_indices(const Tensor& indices) {
  if (is_floating(indices.dtype()) || indices.dtype() == DType::b8) {
    throw DTypeError("indices must have an integer dtype, got " + std::string(dtype_name(indices.dtype())));
  }
  return indices.to_vector<int64_t>();
}

}  // namespace ember::kernels::cpu
