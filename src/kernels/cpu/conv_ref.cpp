// Reference 2-D convolution: geometry (TensorFlow rules) and plain-loop kernels for any float type.
// These are the test oracle and the f64 path used by gradient checks.
#include <algorithm>
#include <string>
#include <vector>

#include "ember/core/error.hpp"
#include "ember/kernels/cpu/parallel.hpp"
#include "ember/kernels/cpu/conv.hpp"
#include "geometry_checks.hpp"

namespace ember::kernels::cpu {

using detail::check_positive;

namespace {

struct Dim1 {
  int64_t out, pad_before, pad_after;
};

// One spatial dimension by TensorFlow's rules; `what` names it in error messages.
Dim1 conv_dim(const char* what, int64_t in, int64_t k, int64_t stride, int64_t dil, Padding padding) {
  const int64_t eff_k = (k - 1) * dil + 1;
  if (padding == Padding::Valid) {
    if (in < eff_k) {
      throw ShapeError(std::string("VALID padding needs ") + what + " input size >= dilated kernel size, got input " +
                       std::to_string(in) + ", kernel " + std::to_string(k) + " with dilation " + std::to_string(dil) +
                       " (effective " + std::to_string(eff_k) + ")");
    }
    return {(in - eff_k) / stride + 1, 0, 0};  // == ceil((in - (k-1)*dil) / stride)
  }
  const int64_t out = (in + stride - 1) / stride;
  const int64_t total = std::max<int64_t>((out - 1) * stride + eff_k - in, 0);
  return {out, total / 2, total - total / 2};
}

}  // namespace

Conv2dGeometry make_conv2d_geometry(const Conv2dParams& p) {
  if (p.batch < 0) throw ValueError("batch must be non-negative, got " + std::to_string(p.batch));
  check_positive("input height", p.in_h);
  check_positive("input width", p.in_w);
  check_positive("input channels", p.in_c);
  check_positive("kernel height", p.k_h);
  check_positive("kernel width", p.k_w);
  check_positive("output channels", p.out_c);
  check_positive("stride_h", p.stride_h);
  check_positive("stride_w", p.stride_w);
  check_positive("dilation_h", p.dilation_h);
  check_positive("dilation_w", p.dilation_w);
  check_positive("groups", p.groups);
  if (p.in_c % p.groups != 0 || p.out_c % p.groups != 0) {
    throw ValueError("groups must divide the input and output channels, got groups " + std::to_string(p.groups) +
                     ", input channels " + std::to_string(p.in_c) + ", output channels " + std::to_string(p.out_c));
  }
  const Dim1 h = conv_dim("height", p.in_h, p.k_h, p.stride_h, p.dilation_h, p.padding);
  const Dim1 w = conv_dim("width", p.in_w, p.k_w, p.stride_w, p.dilation_w, p.padding);
  Conv2dGeometry g;
  g.batch = p.batch, g.in_h = p.in_h, g.in_w = p.in_w, g.in_c = p.in_c, g.k_h = p.k_h, g.k_w = p.k_w;
  g.out_c = p.out_c, g.stride_h = p.stride_h, g.stride_w = p.stride_w;
  g.dilation_h = p.dilation_h, g.dilation_w = p.dilation_w;
  g.pad_top = h.pad_before, g.pad_bottom = h.pad_after, g.pad_left = w.pad_before, g.pad_right = w.pad_after;
  g.out_h = h.out, g.out_w = w.out;
  g.groups = p.groups;
  return g;
}

template <typename T>
void conv2d_forward_ref(const Conv2dGeometry& g, const T* x, const T* w, T* y) {
  const int64_t C = g.in_c, O = g.out_c, Cg = C / g.groups, Og = O / g.groups;
  parallel_for(0, g.batch * g.out_h, grain_for(g.out_w * g.k_h * g.k_w * Cg * O), [&](int64_t nh_begin, int64_t nh_end) {
    for (int64_t nh = nh_begin; nh < nh_end; ++nh) {
      const int64_t n = nh / g.out_h, oh = nh % g.out_h;
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        T* yp = y + ((n * g.out_h + oh) * g.out_w + ow) * O;
        std::fill(yp, yp + O, T(0));
        for (int64_t kh = 0; kh < g.k_h; ++kh) {
          const int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
          if (ih < 0 || ih >= g.in_h) continue;
          for (int64_t kw = 0; kw < g.k_w; ++kw) {
            const int64_t iw = ow * g.stride_w - g.pad_left + kw * g.dilation_w;
            if (iw < 0 || iw >= g.in_w) continue;
            const T* xp = x + ((n * g.in_h + ih) * g.in_w + iw) * C;
            const T* wp = w + (kh * g.k_w + kw) * Cg * O;
            for (int64_t gi = 0; gi < g.groups; ++gi) {
              for (int64_t c = 0; c < Cg; ++c) {
                const T xv = xp[gi * Cg + c];
                const T* wr = wp + c * O + gi * Og;
                T* yg = yp + gi * Og;
#pragma omp simd
                for (int64_t o = 0; o < Og; ++o) yg[o] += xv * wr[o];
              }
            }
          }
        }
      }
    }
  });
}

// Gather form: every dx element sums the (kh, kw, oh, ow) taps that read it, in a fixed order.
template <typename T>
void conv2d_backward_input_ref(const Conv2dGeometry& g, const T* dy, const T* w, T* dx) {
  const int64_t C = g.in_c, O = g.out_c, Cg = C / g.groups, Og = O / g.groups;
  parallel_for(0, g.batch * g.in_h, grain_for(g.in_w * g.k_h * g.k_w * Cg * O), [&](int64_t nh_begin, int64_t nh_end) {
    for (int64_t nh = nh_begin; nh < nh_end; ++nh) {
      const int64_t n = nh / g.in_h, ih = nh % g.in_h;
      for (int64_t iw = 0; iw < g.in_w; ++iw) {
        T* dxp = dx + ((n * g.in_h + ih) * g.in_w + iw) * C;
        std::fill(dxp, dxp + C, T(0));
        for (int64_t kh = 0; kh < g.k_h; ++kh) {
          const int64_t th = ih + g.pad_top - kh * g.dilation_h;  // == oh * stride_h
          if (th < 0 || th % g.stride_h != 0) continue;
          const int64_t oh = th / g.stride_h;
          if (oh >= g.out_h) continue;
          for (int64_t kw = 0; kw < g.k_w; ++kw) {
            const int64_t tw = iw + g.pad_left - kw * g.dilation_w;
            if (tw < 0 || tw % g.stride_w != 0) continue;
            const int64_t ow = tw / g.stride_w;
            if (ow >= g.out_w) continue;
            const T* dyp = dy + ((n * g.out_h + oh) * g.out_w + ow) * O;
            const T* wp = w + (kh * g.k_w + kw) * Cg * O;
            for (int64_t gi = 0; gi < g.groups; ++gi) {
              const T* dyg = dyp + gi * Og;
              for (int64_t c = 0; c < Cg; ++c) {
                const T* wr = wp + c * O + gi * Og;
                T acc = T(0);
#pragma omp simd reduction(+ : acc)
                for (int64_t o = 0; o < Og; ++o) acc += dyg[o] * wr[o];
                dxp[gi * Cg + c] += acc;
              }
            }
          }
        }
      }
    }
  });
}

// Every dw[kh, kw, c, :] row sums over (n, oh, ow) in order; rows are independent.
template <typename T>
void conv2d_backward_filter_ref(const Conv2dGeometry& g, const T* x, const T* dy, T* dw) {
  const int64_t C = g.in_c, O = g.out_c, Cg = C / g.groups, Og = O / g.groups;
  parallel_for(0, g.k_h * g.k_w, grain_for(g.batch * g.out_h * g.out_w * Cg * O), [&](int64_t kk_begin, int64_t kk_end) {
    for (int64_t kk = kk_begin; kk < kk_end; ++kk) {
      const int64_t kh = kk / g.k_w, kw = kk % g.k_w;
      T* dwp = dw + kk * Cg * O;
      std::fill(dwp, dwp + Cg * O, T(0));
      for (int64_t n = 0; n < g.batch; ++n) {
        for (int64_t oh = 0; oh < g.out_h; ++oh) {
          const int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
          if (ih < 0 || ih >= g.in_h) continue;
          for (int64_t ow = 0; ow < g.out_w; ++ow) {
            const int64_t iw = ow * g.stride_w - g.pad_left + kw * g.dilation_w;
            if (iw < 0 || iw >= g.in_w) continue;
            const T* xp = x + ((n * g.in_h + ih) * g.in_w + iw) * C;
            const T* dyp = dy + ((n * g.out_h + oh) * g.out_w + ow) * O;
            for (int64_t gi = 0; gi < g.groups; ++gi) {
              for (int64_t c = 0; c < Cg; ++c) {
                const T xv = xp[gi * Cg + c];
                T* dr = dwp + c * O + gi * Og;
                const T* dyg = dyp + gi * Og;
#pragma omp simd
                for (int64_t o = 0; o < Og; ++o) dr[o] += xv * dyg[o];
              }
            }
          }
        }
      }
    }
  });
}

#define EMBER_INSTANTIATE_CONV_REF(T)                                                          \
  template void conv2d_forward_ref<T>(const Conv2dGeometry&, const T*, const T*, T*);         \
  template void conv2d_backward_input_ref<T>(const Conv2dGeometry&, const T*, const T*, T*);  \
  template void conv2d_backward_filter_ref<T>(const Conv2dGeometry&, const T*, const T*, T*);
EMBER_INSTANTIATE_CONV_REF(float)
EMBER_INSTANTIATE_CONV_REF(double)
#undef EMBER_INSTANTIATE_CONV_REF

}  // namespace ember::kernels::cpu
