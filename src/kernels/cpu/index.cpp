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
  // Split over every copied row, not over `outer` alone: a batch gathered along axis 0 has outer = 1,
  // and its 128 rows of 784 floats were copied by one thread while the other waited.
  parallel_for(0, outer * n, grain_for(inner), [&](int64_t r_begin, int64_t r_end) {
    for (int64_t r = r_begin; r < r_end; ++r) {
      const int64_t o = r / n, j = r % n;
      std::memcpy(po + r * row, px + (o * axis_len + idx[j]) * row, row);
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

template <typename T>
int64_t coalesce_rows(const T* g, const int64_t* idx, int64_t n, int64_t row_len, int64_t* scratch, int64_t* out_idx,
                      T* out_rows) {
  int64_t* order = scratch;          // positions, sorted by (index, position)
  int64_t* start = scratch + n;      // where each distinct index's run of positions begins in `order`
  for (int64_t j = 0; j < n; ++j) order[j] = j;
  // Ties broken by position (a total order, so std::sort needs no buffer, unlike stable_sort): the
  // positions of one index stay in batch order, so each row sums in the dense order.
  std::sort(order, order + n, [idx](int64_t a, int64_t b) { return idx[a] != idx[b] ? idx[a] < idx[b] : a < b; });
  int64_t m = 0;
  for (int64_t k = 0; k < n; ++k) {
    if (k == 0 || idx[order[k]] != idx[order[k - 1]]) {
      out_idx[m] = idx[order[k]];
      start[m++] = k;
    }
  }
  start[m] = n;
  // One pass per run, parallel over runs (each writes its own output row).
  parallel_for(0, m, grain_for(row_len * std::max<int64_t>(1, n / std::max<int64_t>(1, m))), [&](int64_t rb, int64_t re) {
    for (int64_t r = rb; r < re; ++r) {
      T* dst = out_rows + r * row_len;
      std::fill_n(dst, row_len, T(0));
      for (int64_t k = start[r]; k < start[r + 1]; ++k) {
        const T* src = g + order[k] * row_len;
        for (int64_t i = 0; i < row_len; ++i) dst[i] = static_cast<T>(dst[i] + src[i]);
      }
    }
  });
  return m;
}

template <typename T>
int64_t merge_rows(const int64_t* a_idx, const T* a_rows, int64_t na, const int64_t* b_idx, const T* b_rows, int64_t nb,
                   int64_t row_len, int64_t* out_idx, T* out_rows) {
  int64_t i = 0, j = 0, m = 0;
  const std::size_t bytes = static_cast<std::size_t>(row_len) * sizeof(T);
  while (i < na || j < nb) {
    T* dst = out_rows + m * row_len;
    if (j == nb || (i < na && a_idx[i] < b_idx[j])) {
      out_idx[m] = a_idx[i];
      std::memcpy(dst, a_rows + i * row_len, bytes);
      ++i;
    } else if (i == na || b_idx[j] < a_idx[i]) {
      out_idx[m] = b_idx[j];
      std::memcpy(dst, b_rows + j * row_len, bytes);
      ++j;
    } else {
      out_idx[m] = a_idx[i];
      const T* pa = a_rows + i * row_len;
      const T* pb = b_rows + j * row_len;
      for (int64_t k = 0; k < row_len; ++k) dst[k] = static_cast<T>(pa[k] + pb[k]);
      ++i;
      ++j;
    }
    ++m;
  }
  return m;
}

template <typename T>
void add_rows(const T* rows, const int64_t* idx, int64_t n, int64_t row_len, T* dense) {
  for (int64_t j = 0; j < n; ++j) {
    T* dst = dense + idx[j] * row_len;
    const T* src = rows + j * row_len;
    for (int64_t i = 0; i < row_len; ++i) dst[i] = static_cast<T>(dst[i] + src[i]);
  }
}

#define EMBER_INSTANTIATE_ROWS(T)                                                                               \
  template int64_t coalesce_rows<T>(const T*, const int64_t*, int64_t, int64_t, int64_t*, int64_t*, T*);         \
  template int64_t merge_rows<T>(const int64_t*, const T*, int64_t, const int64_t*, const T*, int64_t, int64_t, \
                                 int64_t*, T*);                                                                 \
  template void add_rows<T>(const T*, const int64_t*, int64_t, int64_t, T*);
EMBER_INSTANTIATE_ROWS(float)
EMBER_INSTANTIATE_ROWS(double)
#undef EMBER_INSTANTIATE_ROWS

}  // namespace ember::kernels::cpu
