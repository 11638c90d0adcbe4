// Projective resampling (TensorFlow ImageProjectiveTransformV3). Channels are innermost, so for each
// output pixel the coordinate work is done once and the blend is a sweep over channels. Forward splits
// batch x out_h rows; backward scatters within an image, so it splits images (fixed order per image).
#include "ember/kernels/cpu/image.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "ember/core/error.hpp"
#include "ember/kernels/cpu/parallel.hpp"

namespace ember::kernels::cpu {

namespace {

// TensorFlow's MapCoordinate: the continuous input coordinate moved into [0, len - 1].
double map_coordinate(double c, int64_t len, FillMode mode) {
  const double last = static_cast<double>(len - 1);
  switch (mode) {
    case FillMode::Constant:
      return c;
    case FillMode::Nearest:
      return std::clamp(c, 0.0, last);
    case FillMode::Reflect:
      if (c < 0) {
        if (len <= 1) {
          c = 0;
        } else {
          const double sz2 = 2.0 * static_cast<double>(len);
          if (c < -sz2) c = sz2 * std::trunc(-c / sz2) + c;
          c = (c < -static_cast<double>(len)) ? c + sz2 : -c - 1;
        }
      } else if (c > last) {
        if (len <= 1) {
          c = 0;
        } else {
          const double sz2 = 2.0 * static_cast<double>(len);
          c -= sz2 * std::trunc(c / sz2);
          if (c >= static_cast<double>(len)) c = sz2 - c - 1;
        }
      }
      return std::clamp(c, 0.0, last);
    case FillMode::Wrap:
      if (c < 0) {
        if (len <= 1) {
          c = 0;
        } else {
          c += static_cast<double>(len) * (std::trunc(-c / last) + 1);
        }
      } else if (c > last) {
        if (len <= 1) {
          c = 0;
        } else {
          c -= static_cast<double>(len) * std::trunc(c / last);
        }
      }
      return std::clamp(c, 0.0, last);
  }
  return c;
}

// The (up to) four input pixels an output pixel reads and their weights; index -1 = outside the image
// (reads fill_value). Nearest interpolation uses only tap 0 with weight 1.
struct Taps {
  int64_t index[4];
  double weight[4];
  int count;
  bool all_fill;  // projection k == 0 or a non-finite coordinate: the output is fill_value
};

Taps taps_for(const ProjectiveGeometry& g, const double* t, int64_t ox, int64_t oy) {
  Taps taps{};
  const double x = static_cast<double>(ox), y = static_cast<double>(oy);
  const double k = t[6] * x + t[7] * y + 1.0;
  if (k == 0.0) {
    taps.all_fill = true;
    return taps;
  }
  const double xi = map_coordinate((t[0] * x + t[1] * y + t[2]) / k, g.in_w, g.fill_mode);
  const double yi = map_coordinate((t[3] * x + t[4] * y + t[5]) / k, g.in_h, g.fill_mode);
  // Far outside coordinates (and NaN) would overflow the integer conversion: they read fill_value.
  const double limit = 4.0 * static_cast<double>(std::max(g.in_h, g.in_w)) + 4.0;
  if (!(std::abs(xi) < limit) || !(std::abs(yi) < limit)) {
    taps.all_fill = true;
    return taps;
  }
  auto at = [&](double r, double c) -> int64_t {
    if (r < 0 || c < 0 || r >= static_cast<double>(g.in_h) || c >= static_cast<double>(g.in_w)) return -1;
    return static_cast<int64_t>(r) * g.in_w + static_cast<int64_t>(c);
  };
  if (g.interpolation == Interpolation::Nearest) {
    taps.count = 1;
    taps.index[0] = at(std::round(yi), std::round(xi));
    taps.weight[0] = 1.0;
    return taps;
  }
  const double x0 = std::floor(xi), y0 = std::floor(yi), x1 = x0 + 1, y1 = y0 + 1;
  taps.count = 4;
  taps.index[0] = at(y0, x0);
  taps.weight[0] = (y1 - yi) * (x1 - xi);
  taps.index[1] = at(y0, x1);
  taps.weight[1] = (y1 - yi) * (xi - x0);
  taps.index[2] = at(y1, x0);
  taps.weight[2] = (yi - y0) * (x1 - xi);
  taps.index[3] = at(y1, x1);
  taps.weight[3] = (yi - y0) * (xi - x0);
  return taps;
}

}  // namespace

void check_projective_geometry(const ProjectiveGeometry& g, int64_t n_transforms) {
  if (g.batch < 0 || g.in_h < 0 || g.in_w < 0 || g.channels < 0 || g.out_h < 0 || g.out_w < 0) {
    throw ValueError("image sizes must be >= 0, got input [" + std::to_string(g.batch) + "," + std::to_string(g.in_h) +
                     "," + std::to_string(g.in_w) + "," + std::to_string(g.channels) + "], output size [" +
                     std::to_string(g.out_h) + "," + std::to_string(g.out_w) + "]");
  }
  if ((g.in_h == 0 || g.in_w == 0) && g.batch > 0 && g.out_h > 0 && g.out_w > 0 && g.channels > 0) {
    throw ValueError("cannot sample an empty image (" + std::to_string(g.in_h) + "x" + std::to_string(g.in_w) +
                     ") into a non-empty output (" + std::to_string(g.out_h) + "x" + std::to_string(g.out_w) + ")");
  }
  if (n_transforms != 1 && n_transforms != g.batch) {
    throw ValueError("expected 1 transform or one per image (" + std::to_string(g.batch) + "), got " +
                     std::to_string(n_transforms));
  }
}

template <typename T>
void projective_transform_forward(const ProjectiveGeometry& g, const double* transforms, int64_t n_transforms,
                                  const T* x, T* y) {
  const int64_t C = g.channels;
  const T fill = static_cast<T>(g.fill_value);
  parallel_for(0, g.batch * g.out_h, grain_for(g.out_w * C * 4), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / g.out_h, oy = r % g.out_h;
      const double* t = transforms + (n_transforms == 1 ? 0 : n) * 8;
      const T* xn = x + n * g.in_h * g.in_w * C;
      for (int64_t ox = 0; ox < g.out_w; ++ox) {
        T* yp = y + (r * g.out_w + ox) * C;
        const Taps taps = taps_for(g, t, ox, oy);
        if (taps.all_fill) {
          std::fill(yp, yp + C, fill);
          continue;
        }
        // Same order of operations as TensorFlow's bilinear blend: rows first, then the two rows.
        if (taps.count == 1) {
          if (taps.index[0] < 0) {
            std::fill(yp, yp + C, fill);
          } else {
            std::copy(xn + taps.index[0] * C, xn + (taps.index[0] + 1) * C, yp);
          }
          continue;
        }
        const T* p[4];
        for (int i = 0; i < 4; ++i) p[i] = taps.index[i] < 0 ? nullptr : xn + taps.index[i] * C;
        const T w[4] = {static_cast<T>(taps.weight[0]), static_cast<T>(taps.weight[1]),
                        static_cast<T>(taps.weight[2]), static_cast<T>(taps.weight[3])};
        for (int64_t c = 0; c < C; ++c) {
          T acc = T(0);
          for (int i = 0; i < 4; ++i) {
            // A zero weight contributes nothing even when the pixel is fill (keeps integer shifts exact).
            if (w[i] != T(0)) acc += w[i] * (p[i] ? p[i][c] : fill);
          }
          yp[c] = acc;
        }
      }
    }
  });
}

template <typename T>
void projective_transform_backward(const ProjectiveGeometry& g, const double* transforms, int64_t n_transforms,
                                   const T* dy, T* dx) {
  const int64_t C = g.channels;
  std::fill(dx, dx + g.batch * g.in_h * g.in_w * C, T(0));
  parallel_for(0, g.batch, grain_for(g.out_h * g.out_w * C * 4), [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      const double* t = transforms + (n_transforms == 1 ? 0 : n) * 8;
      T* dxn = dx + n * g.in_h * g.in_w * C;
      for (int64_t oy = 0; oy < g.out_h; ++oy) {
        for (int64_t ox = 0; ox < g.out_w; ++ox) {
          const T* gp = dy + ((n * g.out_h + oy) * g.out_w + ox) * C;
          const Taps taps = taps_for(g, t, ox, oy);
          if (taps.all_fill) continue;
          for (int i = 0; i < taps.count; ++i) {
            if (taps.index[i] < 0 || taps.weight[i] == 0.0) continue;
            T* d = dxn + taps.index[i] * C;
            const T w = static_cast<T>(taps.weight[i]);
            for (int64_t c = 0; c < C; ++c) d[c] += w * gp[c];
          }
        }
      }
    }
  });
}

#define EMBER_INSTANTIATE(T)                                                                                       \
  template void projective_transform_forward<T>(const ProjectiveGeometry&, const double*, int64_t, const T*, T*);  \
  template void projective_transform_backward<T>(const ProjectiveGeometry&, const double*, int64_t, const T*, T*);
EMBER_INSTANTIATE(float)
EMBER_INSTANTIATE(double)
#undef EMBER_INSTANTIATE

}  // namespace ember::kernels::cpu
