#pragma once
// Raw-memory projective (and so affine) resampling of NHWC image batches, the semantics of
// TensorFlow's ImageProjectiveTransformV3 (what Keras's RandomRotation/Translation/Zoom run).
//
// Each image n has a transform t = [a0, a1, a2, b0, b1, b2, c0, c1] that maps an OUTPUT pixel
// (x = column, y = row; pixel centres at integer coordinates) to the INPUT point it samples:
//   k = c0*x + c1*y + 1,  x_in = (a0*x + a1*y + a2) / k,  y_in = (b0*x + b1*y + b2) / k.
// k == 0 gives fill_value. The input point is first mapped into the image by fill_mode, on the
// continuous coordinate, as TensorFlow does (MapCoordinate):
//   Constant: unchanged; any pixel read outside the image reads fill_value (bilinear blends it in)
//   Nearest:  clamped to [0, len-1]
//   Reflect:  reflected about the edge of the outer pixel (d c b a | a b c d | d c b a), then clamped
//   Wrap:     TensorFlow's wrap (period len, the outer pixel shared), then clamped
// then sampled: Nearest rounds half away from zero (std::round, as TF); Bilinear blends the 4
// neighbours, reading fill_value for those outside the image. Keras's ImageDataGenerator uses
// scipy.ndimage instead, whose 'constant' does not interpolate across the border and whose 'wrap'
// differs; Ember uses TensorFlow's rules for both (the generator's doc comment says so).
//
// Coordinates are computed in double for every T (the f32 and f64 kernels pick the same input
// points). Contracts: x: [batch, in_h, in_w, channels]; y/dy: [batch, out_h, out_w, channels];
// transforms: n_transforms (1 = shared by every image, or batch) rows of 8 doubles; outputs are
// overwritten and do not alias inputs; bit-identical for every thread count. float and double.
// Interface, threads, determinism and errors follow kernels.hpp.
#include <cstdint>

namespace ember::kernels::cpu {

enum class FillMode { Constant, Nearest, Reflect, Wrap };
enum class Interpolation { Nearest, Bilinear };

struct ProjectiveGeometry {
  int64_t batch = 0, in_h = 0, in_w = 0, channels = 0, out_h = 0, out_w = 0;
  FillMode fill_mode = FillMode::Reflect;
  Interpolation interpolation = Interpolation::Bilinear;
  double fill_value = 0.0;
};

// Throws ValueError for negative sizes, zero input sizes with a non-empty output, or n_transforms
// other than 1 or batch.
void check_projective_geometry(const ProjectiveGeometry& g, int64_t n_transforms);

// y[n, y, x, c] = sample of x[n] at the input point of (x, y) (see the header comment).
template <typename T>
void projective_transform_forward(const ProjectiveGeometry& g, const double* transforms, int64_t n_transforms,
                                  const T* x, T* y);

// The transposed sampling: dx = 0, then every output pixel adds dy * (its interpolation weight) to
// each input pixel it read (reads of fill_value pass no gradient). Overwrites dx.
template <typename T>
void projective_transform_backward(const ProjectiveGeometry& g, const double* transforms, int64_t n_transforms,
                                   const T* dy, T* dx);

}  // namespace ember::kernels::cpu
