// im2col / col2im + sgemm convolution (the alternative fast path, see conv_dnnl.cpp). The GEMMs are
// kernels::cpu::gemm, i.e. oneDNN's JIT sgemm: Debian's OpenBLAS runs its SSE3 kernels on these CPUs.
// NHWC + HWIO make the patch matrix row (kh, kw, c) line up with the filter viewed as [k_h*k_w*in_c, out_c],
// so the forward pass is one GEMM per batch chunk. Chunks bound the patch buffer; the buffer is
// thread-local and only grows, so steady-state calls do not allocate.
#include <algorithm>
#include <cstring>
#include <vector>

#include "ember/kernels/cpu/conv.hpp"
#include "ember/kernels/cpu/gemm.hpp"
#include "ember/kernels/cpu/parallel.hpp"

namespace ember::kernels::cpu::detail {

namespace {

constexpr int64_t kColBudget = int64_t{4} << 20;  // floats in the patch buffer (16 MiB)

bool is_pointwise(const Conv2dGeometry& g) {
  return g.k_h == 1 && g.k_w == 1 && g.stride_h == 1 && g.stride_w == 1 && g.pad_top == 0 && g.pad_left == 0 &&
         g.pad_bottom == 0 && g.pad_right == 0;
}

int64_t images_per_chunk(const Conv2dGeometry& g) {
  const int64_t per_image = g.out_h * g.out_w * g.k_h * g.k_w * g.in_c;
  return std::clamp<int64_t>(kColBudget / std::max<int64_t>(per_image, 1), 1, g.batch);
}

float* col_buffer(int64_t n) {
  thread_local std::vector<float> buf;
  if (static_cast<int64_t>(buf.size()) < n) buf.resize(n);
  return buf.data();
}

// col[(n*out_h + oh)*out_w + ow][(kh*k_w + kw)*C + c] = x[n, ih, iw, c] (0 outside the input).
void im2col(const Conv2dGeometry& g, const float* x, int64_t nb, float* col) {
  const int64_t C = g.in_c, K = g.k_h * g.k_w * C;
  parallel_for(0, nb * g.out_h, grain_for(g.out_w * K), [&](int64_t nh_begin, int64_t nh_end) {
    for (int64_t nh = nh_begin; nh < nh_end; ++nh) {
      const int64_t n = nh / g.out_h, oh = nh % g.out_h;
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        float* row = col + (nh * g.out_w + ow) * K;
        for (int64_t kh = 0; kh < g.k_h; ++kh) {
          const int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
          for (int64_t kw = 0; kw < g.k_w; ++kw) {
            const int64_t iw = ow * g.stride_w - g.pad_left + kw * g.dilation_w;
            float* dst = row + (kh * g.k_w + kw) * C;
            if (ih < 0 || ih >= g.in_h || iw < 0 || iw >= g.in_w) {
              std::memset(dst, 0, sizeof(float) * C);
            } else {
              std::memcpy(dst, x + ((n * g.in_h + ih) * g.in_w + iw) * C, sizeof(float) * C);
            }
          }
        }
      }
    }
  });
}

// Gather form of col2im: dx[n, ih, iw, :] = sum of the patch entries that read it, in a fixed order.
void col2im(const Conv2dGeometry& g, const float* col, int64_t nb, float* dx) {
  const int64_t C = g.in_c, K = g.k_h * g.k_w * C;
  parallel_for(0, nb * g.in_h, grain_for(g.in_w * K), [&](int64_t nh_begin, int64_t nh_end) {
    for (int64_t nh = nh_begin; nh < nh_end; ++nh) {
      const int64_t n = nh / g.in_h, ih = nh % g.in_h;
      for (int64_t iw = 0; iw < g.in_w; ++iw) {
        float* d = dx + (nh * g.in_w + iw) * C;
        std::fill(d, d + C, 0.0f);
        for (int64_t kh = 0; kh < g.k_h; ++kh) {
          const int64_t th = ih + g.pad_top - kh * g.dilation_h;
          if (th < 0 || th % g.stride_h != 0 || th / g.stride_h >= g.out_h) continue;
          const int64_t oh = th / g.stride_h;
          for (int64_t kw = 0; kw < g.k_w; ++kw) {
            const int64_t tw = iw + g.pad_left - kw * g.dilation_w;
            if (tw < 0 || tw % g.stride_w != 0 || tw / g.stride_w >= g.out_w) continue;
            const int64_t ow = tw / g.stride_w;
            const float* s = col + ((n * g.out_h + oh) * g.out_w + ow) * K + (kh * g.k_w + kw) * C;
#pragma omp simd
            for (int64_t c = 0; c < C; ++c) d[c] += s[c];
          }
        }
      }
    }
  });
}

}  // namespace

void conv2d_forward_f32_im2col(const Conv2dGeometry& g, const float* x, const float* w, float* y) {
  const int64_t K = g.k_h * g.k_w * g.in_c, O = g.out_c, P = g.out_h * g.out_w;
  const int64_t chunk = images_per_chunk(g);
  const bool pointwise = is_pointwise(g);
  float* col = pointwise ? nullptr : col_buffer(chunk * P * K);
  for (int64_t n0 = 0; n0 < g.batch; n0 += chunk) {
    const int64_t nb = std::min(chunk, g.batch - n0);
    const float* xn = x + n0 * g.in_h * g.in_w * g.in_c;
    const float* a = xn;
    if (!pointwise) {
      im2col(g, xn, nb, col);
      a = col;
    }
    gemm(false, false, nb * P, O, K, 1.0f, a, K, w, O, 0.0f, y + n0 * P * O, O);
  }
}

void conv2d_backward_input_f32_im2col(const Conv2dGeometry& g, const float* dy, const float* w, float* dx) {
  const int64_t K = g.k_h * g.k_w * g.in_c, O = g.out_c, P = g.out_h * g.out_w;
  const int64_t chunk = images_per_chunk(g);
  const bool pointwise = is_pointwise(g);
  float* col = pointwise ? nullptr : col_buffer(chunk * P * K);
  for (int64_t n0 = 0; n0 < g.batch; n0 += chunk) {
    const int64_t nb = std::min(chunk, g.batch - n0);
    float* dxn = dx + n0 * g.in_h * g.in_w * g.in_c;
    float* c = pointwise ? dxn : col;
    gemm(false, true, nb * P, K, O, 1.0f, dy + n0 * P * O, O, w, O, 0.0f, c, K);
    if (!pointwise) col2im(g, col, nb, dxn);
  }
}

// dx for one input channel at stride and dilation 1 (the first layer of an image model, where
// oneDNN's kernels fall to ~20 GFLOP/s: they pad the channel up to a SIMD width). One GEMM gives
// every tap's contribution as a plane, Q[t][n, oh, ow] = sum_oc w[t][oc] * dy[n, oh, ow, oc] for taps
// t = (kh, kw) — taps-major, so each plane is contiguous — and dx[n, ih, iw] = sum_t Q[t][n, ih + pad_top
// - kh, iw + pad_left - kw] is a row of shifted adds, vectorised along the row, in tap order (the
// same sum at every thread count).
void conv2d_backward_input_f32_one_channel(const Conv2dGeometry& g, const float* dy, const float* w, float* dx) {
  const int64_t taps = g.k_h * g.k_w, O = g.out_c, P = g.out_h * g.out_w;
  const int64_t chunk = std::clamp<int64_t>(kColBudget / std::max<int64_t>(taps * P, 1), 1, g.batch);
  float* q = col_buffer(taps * chunk * P);
  for (int64_t n0 = 0; n0 < g.batch; n0 += chunk) {
    const int64_t nb = std::min(chunk, g.batch - n0), plane = nb * P;
    gemm(false, true, taps, plane, O, 1.0f, w, O, dy + n0 * P * O, O, 0.0f, q, plane);
    parallel_for(0, nb * g.in_h, grain_for(g.in_w * taps), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t n = r / g.in_h, ih = r % g.in_h;
        float* d = dx + (n0 * g.in_h + r) * g.in_w;
        std::fill(d, d + g.in_w, 0.0f);
        for (int64_t kh = 0; kh < g.k_h; ++kh) {
          const int64_t oh = ih + g.pad_top - kh;
          if (oh < 0 || oh >= g.out_h) continue;
          for (int64_t kw = 0; kw < g.k_w; ++kw) {
            const int64_t shift = g.pad_left - kw;  // ow = iw + shift
            const float* qrow = q + (kh * g.k_w + kw) * plane + (n * g.out_h + oh) * g.out_w + shift;
            const int64_t lo = std::max<int64_t>(0, -shift), hi = std::min(g.in_w, g.out_w - shift);
#pragma omp simd
            for (int64_t iw = lo; iw < hi; ++iw) d[iw] += qrow[iw];
          }
        }
      }
    });
  }
}

void conv2d_backward_filter_f32_im2col(const Conv2dGeometry& g, const float* x, const float* dy, float* dw) {
  const int64_t K = g.k_h * g.k_w * g.in_c, O = g.out_c, P = g.out_h * g.out_w;
  const int64_t chunk = images_per_chunk(g);
  const bool pointwise = is_pointwise(g);
  float* col = pointwise ? nullptr : col_buffer(chunk * P * K);
  for (int64_t n0 = 0; n0 < g.batch; n0 += chunk) {
    const int64_t nb = std::min(chunk, g.batch - n0);
    const float* xn = x + n0 * g.in_h * g.in_w * g.in_c;
    const float* a = xn;
    if (!pointwise) {
      im2col(g, xn, nb, col);
      a = col;
    }
    gemm(true, false, K, O, nb * P, 1.0f, a, K, dy + n0 * P * O, O, n0 == 0 ? 0.0f : 1.0f, dw, O);
  }
}

}  // namespace ember::kernels::cpu::detail
