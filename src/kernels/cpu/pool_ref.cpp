// Max and average pooling, NHWC. Channels are innermost, so every loop body is a SIMD sweep over
// channels; OpenMP splits batch x out_h rows (forward) or images (backward scatter: windows overlap
// inside an image only, so images are independent and each is summed in a fixed order).
#include <algorithm>
#include <string>
#include <vector>

#include "ember/core/error.hpp"
#include "ember/kernels/cpu/parallel.hpp"
#include "ember/kernels/cpu/pool.hpp"
#include "geometry_checks.hpp"

namespace ember::kernels::cpu {

using detail::check_positive;

namespace {

// TensorFlow output size and padding for one dimension (dilation 1).
void pool_dim(const char* what, int64_t in, int64_t k, int64_t stride, Padding padding, int64_t& out,
              int64_t& pad_before, int64_t& pad_after) {
  if (padding == Padding::Valid) {
    if (in < k) {
      throw ShapeError(std::string("VALID padding needs ") + what + " input size >= window size, got input " +
                       std::to_string(in) + ", window " + std::to_string(k));
    }
    out = (in - k) / stride + 1;
    pad_before = pad_after = 0;
    return;
  }
  out = (in + stride - 1) / stride;
  const int64_t total = std::max<int64_t>((out - 1) * stride + k - in, 0);
  pad_before = total / 2;
  pad_after = total - pad_before;
}

// Rows [h_begin, h_end) x columns [w_begin, w_end) of the input covered by output (oh, ow).
struct Window {
  int64_t h_begin, h_end, w_begin, w_end;
};
inline Window window(const Pool2dGeometry& g, int64_t oh, int64_t ow) {
  const int64_t h0 = oh * g.stride_h - g.pad_top, w0 = ow * g.stride_w - g.pad_left;
  return {std::max<int64_t>(h0, 0), std::min(h0 + g.k_h, g.in_h), std::max<int64_t>(w0, 0),
          std::min(w0 + g.k_w, g.in_w)};
}

// Per-thread scratch that only grows (no steady-state allocation).
template <typename U>
U* scratch(int64_t n) {
  thread_local std::vector<U> buf;
  if (static_cast<int64_t>(buf.size()) < n) buf.resize(n);
  return buf.data();
}

// The running argmax is kept as an int32 pixel index within the image (h*in_w + w), one per channel:
// int32 lanes line up with float lanes, so the select vectorises as well as the max itself; it is
// widened to the flat int64 index once per output. Images of 2^31 pixels or more take Index = int64_t.
template <typename T, bool kArgmax, typename Index>
void max_forward_impl(const Pool2dGeometry& g, const T* x, T* y, int64_t* argmax) {
  const int64_t C = g.channels;
  parallel_for(0, g.batch * g.out_h, grain_for(g.out_w * g.k_h * g.k_w * C), [&](int64_t nh_begin, int64_t nh_end) {
    Index* best_pixel = kArgmax ? scratch<Index>(C) : nullptr;
    for (int64_t nh = nh_begin; nh < nh_end; ++nh) {
      const int64_t n = nh / g.out_h, oh = nh % g.out_h;
      const T* xn = x + n * g.in_h * g.in_w * C;
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        const Window win = window(g, oh, ow);
        const int64_t out_off = (nh * g.out_w + ow) * C;
        T* yp = y + out_off;
        // Every TensorFlow window holds at least one real element; start from the first one.
        const Index first = static_cast<Index>(win.h_begin * g.in_w + win.w_begin);
        std::copy(xn + first * C, xn + (first + 1) * C, yp);
        if constexpr (kArgmax) std::fill(best_pixel, best_pixel + C, first);
        for (int64_t h = win.h_begin; h < win.h_end; ++h) {
          for (int64_t w = (h == win.h_begin ? win.w_begin + 1 : win.w_begin); w < win.w_end; ++w) {
            const Index pixel = static_cast<Index>(h * g.in_w + w);
            const T* xp = xn + pixel * C;
#pragma omp simd
            for (int64_t c = 0; c < C; ++c) {
              const T v = xp[c], b = yp[c];
              // Strictly greater keeps the first maximum; a NaN replaces a non-NaN best.
              const bool take = (v > b) | ((v != v) & (b == b));
              yp[c] = take ? v : b;
              if constexpr (kArgmax) best_pixel[c] = take ? pixel : best_pixel[c];
            }
          }
        }
        if constexpr (kArgmax) {
          int64_t* ap = argmax + out_off;
          const int64_t image_off = n * g.in_h * g.in_w;
#pragma omp simd
          for (int64_t c = 0; c < C; ++c) ap[c] = (image_off + best_pixel[c]) * C + c;
        }
      }
    }
  });
}

}  // namespace

Pool2dGeometry make_pool2d_geometry(const Pool2dParams& p) {
  if (p.batch < 0) throw ValueError("batch must be non-negative, got " + std::to_string(p.batch));
  check_positive("input height", p.in_h);
  check_positive("input width", p.in_w);
  check_positive("channels", p.channels);
  check_positive("window height", p.k_h);
  check_positive("window width", p.k_w);
  check_positive("stride_h", p.stride_h);
  check_positive("stride_w", p.stride_w);
  Pool2dGeometry g;
  g.batch = p.batch, g.in_h = p.in_h, g.in_w = p.in_w, g.channels = p.channels;
  g.k_h = p.k_h, g.k_w = p.k_w, g.stride_h = p.stride_h, g.stride_w = p.stride_w;
  pool_dim("height", p.in_h, p.k_h, p.stride_h, p.padding, g.out_h, g.pad_top, g.pad_bottom);
  pool_dim("width", p.in_w, p.k_w, p.stride_w, p.padding, g.out_w, g.pad_left, g.pad_right);
  return g;
}

template <typename T>
void max_pool2d_forward(const Pool2dGeometry& g, const T* x, T* y, int64_t* argmax) {
  if (argmax == nullptr) {
    max_forward_impl<T, false, int32_t>(g, x, y, nullptr);
  } else if (g.in_h * g.in_w < (int64_t{1} << 31)) {
    max_forward_impl<T, true, int32_t>(g, x, y, argmax);
  } else {
    max_forward_impl<T, true, int64_t>(g, x, y, argmax);
  }
}

template <typename T>
void max_pool2d_backward(const Pool2dGeometry& g, const T* dy, const int64_t* argmax, T* dx) {
  const int64_t in_image = g.in_h * g.in_w * g.channels, out_image = g.out_h * g.out_w * g.channels;
  parallel_for(0, g.batch, grain_for(out_image), [&](int64_t n_begin, int64_t n_end) {
    for (int64_t n = n_begin; n < n_end; ++n) {
      std::fill(dx + n * in_image, dx + (n + 1) * in_image, T(0));
      const int64_t* ap = argmax + n * out_image;
      const T* dyp = dy + n * out_image;
      for (int64_t i = 0; i < out_image; ++i) dx[ap[i]] += dyp[i];
    }
  });
}

template <typename T>
void avg_pool2d_forward(const Pool2dGeometry& g, const T* x, T* y) {
  const int64_t C = g.channels;
  parallel_for(0, g.batch * g.out_h, grain_for(g.out_w * g.k_h * g.k_w * C), [&](int64_t nh_begin, int64_t nh_end) {
    for (int64_t nh = nh_begin; nh < nh_end; ++nh) {
      const int64_t n = nh / g.out_h, oh = nh % g.out_h;
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        const Window win = window(g, oh, ow);
        T* yp = y + (nh * g.out_w + ow) * C;
        std::fill(yp, yp + C, T(0));
        for (int64_t h = win.h_begin; h < win.h_end; ++h) {
          for (int64_t w = win.w_begin; w < win.w_end; ++w) {
            const T* xp = x + ((n * g.in_h + h) * g.in_w + w) * C;
#pragma omp simd
            for (int64_t c = 0; c < C; ++c) yp[c] += xp[c];
          }
        }
        const T count = static_cast<T>((win.h_end - win.h_begin) * (win.w_end - win.w_begin));
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) yp[c] /= count;
      }
    }
  });
}

template <typename T>
void avg_pool2d_backward(const Pool2dGeometry& g, const T* dy, T* dx) {
  const int64_t C = g.channels, in_image = g.in_h * g.in_w * C;
  parallel_for(0, g.batch, grain_for(g.out_h * g.out_w * g.k_h * g.k_w * C), [&](int64_t n_begin, int64_t n_end) {
    T* share = scratch<T>(C);  // dy / count of the current window
    for (int64_t n = n_begin; n < n_end; ++n) {
      std::fill(dx + n * in_image, dx + (n + 1) * in_image, T(0));
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          const Window win = window(g, oh, ow);
          const T count = static_cast<T>((win.h_end - win.h_begin) * (win.w_end - win.w_begin));
          const T* dyp = dy + ((n * g.out_h + oh) * g.out_w + ow) * C;
#pragma omp simd
          for (int64_t c = 0; c < C; ++c) share[c] = dyp[c] / count;
          for (int64_t h = win.h_begin; h < win.h_end; ++h) {
            for (int64_t w = win.w_begin; w < win.w_end; ++w) {
              T* dxp = dx + ((n * g.in_h + h) * g.in_w + w) * C;
#pragma omp simd
              for (int64_t c = 0; c < C; ++c) dxp[c] += share[c];
            }
          }
        }
      }
    }
  });
}

#define EMBER_INSTANTIATE_POOL(T)                                                             \
  template void max_pool2d_forward<T>(const Pool2dGeometry&, const T*, T*, int64_t*);         \
  template void max_pool2d_backward<T>(const Pool2dGeometry&, const T*, const int64_t*, T*);  \
  template void avg_pool2d_forward<T>(const Pool2dGeometry&, const T*, T*);                   \
  template void avg_pool2d_backward<T>(const Pool2dGeometry&, const T*, T*);
EMBER_INSTANTIATE_POOL(float)
EMBER_INSTANTIATE_POOL(double)
#undef EMBER_INSTANTIATE_POOL

}  // namespace ember::kernels::cpu
