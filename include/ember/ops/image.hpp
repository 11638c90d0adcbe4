#pragma once
// Image resampling ops, NHWC, TensorFlow semantics (tf.raw_ops.ImageProjectiveTransformV3, the op
// under Keras's RandomRotation / RandomTranslation / RandomZoom). A transform maps an OUTPUT pixel
// (x = column, y = row, pixel centres at integers) to the INPUT point it samples; see
// kernels/cpu/image.hpp for the fill modes and interpolation rules. float32/float64 only
// (DTypeError); shape problems throw ShapeError, bad sizes ValueError, naming the op and shapes.
//
// The builders below return TensorFlow's matrices (keras.layers.preprocessing image_utils):
// rotation and zoom are about the image centre ((w-1)/2, (h-1)/2).
#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "ember/core/tensor.hpp"
#include "ember/kernels/cpu/image.hpp"

namespace ember {

using kernels::cpu::FillMode;
using kernels::cpu::Interpolation;

// [a0, a1, a2, b0, b1, b2, c0, c1]: x_in = (a0 x + a1 y + a2) / k, y_in = (b0 x + b1 y + b2) / k,
// k = c0 x + c1 y + 1.
using ProjectiveTransform = std::array<double, 8>;

struct ImageTransformOptions {
  std::optional<std::array<int64_t, 2>> output_size;  // (height, width); default: the input's
  Interpolation interpolation = Interpolation::Bilinear;
  FillMode fill_mode = FillMode::Reflect;              // Keras layers' default
  double fill_value = 0.0;                             // for FillMode::Constant
};

// images: [N, H, W, C]; transforms: 1 (shared) or N. Differentiable with respect to the images
// (backward = the transposed sampling); the transforms are constants.
Tensor image_transform(const Tensor& images, const std::vector<ProjectiveTransform>& transforms,
                       ImageTransformOptions opt = {});

// Identity, and `then(a, b)`: the transform that does a's image change, then b's. (Transforms map
// output to input, so the result samples b first: T = A∘B as matrices.)
ProjectiveTransform identity_transform();
ProjectiveTransform compose_transforms(const ProjectiveTransform& a, const ProjectiveTransform& b);

// Counter-clockwise rotation by `angle` radians about the centre (TF get_rotation_matrix).
ProjectiveTransform rotation_transform(double angle, int64_t height, int64_t width);
// Moves the content right by dx and down by dy pixels (TF get_translation_matrix).
ProjectiveTransform translation_transform(double dx, double dy);
// Output (x, y) samples the centre + zoom * (x - centre): a zoom factor < 1 enlarges the content
// (TF get_zoom_matrix; Keras's RandomZoom draws zoom = 1 + factor).
ProjectiveTransform zoom_transform(double zoom_h, double zoom_w, int64_t height, int64_t width);
// Mirror images: left-right (horizontal flip) or top-bottom (vertical flip). Exact.
ProjectiveTransform flip_transform(bool horizontal, bool vertical, int64_t height, int64_t width);

// Horizontal/vertical flips as tensors (exact; differentiable).
Tensor flip_left_right(const Tensor& images);
Tensor flip_up_down(const Tensor& images);

// tf.image.adjust_contrast: per image and channel, (x - mean) * factor + mean, mean over H and W.
// factor: one per image ([N]) or one for all. Differentiable with respect to images.
Tensor adjust_contrast(const Tensor& images, const std::vector<double>& factors);

}  // namespace ember
