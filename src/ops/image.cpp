// Image resampling ops: validation, kernel dispatch, backward (the transposed sampling) beside.
#include "ember/ops/image.hpp"

#include <cmath>
#include <string>

#include "ember/autograd/autograd.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/reduce.hpp"
#include "ember/ops/shape.hpp"
#include "op_support.hpp"

namespace ember {

using autograd::record;
using autograd::Gradients;
namespace kc = kernels::cpu;
using namespace ops_detail;

namespace {

void check_images(const char* op, const Tensor& x) {
  require_defined(op, x, "images");
  if (x.dim() != 4) {
    throw ShapeError(std::string(op) + ": images must be 4-D NHWC [batch, height, width, channels], got rank " +
                     std::to_string(x.dim()) + ": images " + to_string(x.shape()));
  }
  require_floating(op, x, nullptr, [&] { return "images " + to_string(x.shape()); });
}

}  // namespace

Tensor image_transform(const Tensor& images, const std::vector<ProjectiveTransform>& transforms,
                       ImageTransformOptions opt) {
  check_images("image_transform", images);
  const int64_t n = images.size(0), h = images.size(1), w = images.size(2), c = images.size(3);
  const auto out = opt.output_size.value_or(std::array<int64_t, 2>{h, w});
  const kc::ProjectiveGeometry g{.batch = n, .in_h = h, .in_w = w, .channels = c, .out_h = out[0],
                                 .out_w = out[1], .fill_mode = opt.fill_mode,
                                 .interpolation = opt.interpolation, .fill_value = opt.fill_value};
  const std::string ctx = "images " + to_string(images.shape()) + ", " + std::to_string(transforms.size()) +
                          " transforms, output size [" + std::to_string(out[0]) + "," + std::to_string(out[1]) + "]";
  with_op_context("image_transform", ctx, [&] {
    kc::check_projective_geometry(g, static_cast<int64_t>(transforms.size()));
    return 0;
  });
  for (const ProjectiveTransform& t : transforms) {
    for (double v : t) {
      if (!std::isfinite(v)) throw ValueError("image_transform: transforms must be finite: " + ctx);
    }
  }
  const DType dt = images.dtype();
  Tensor xc = contiguous(images.detach());
  Tensor y = Tensor::empty({n, out[0], out[1], c}, dt);
  auto ts = std::make_shared<std::vector<ProjectiveTransform>>(transforms);
  if (y.numel() > 0) {
    visit_floating(dt, "image_transform", [&]<typename T>() {
      kc::projective_transform_forward<T>(g, ts->front().data(), static_cast<int64_t>(ts->size()), xc.data<T>(),
                                          y.data<T>());
    });
  }
  return record("image_transform", {images}, y, [&] {
    return [g, dt, ts](const Tensor& gy) {
      Tensor dy = dense(gy, dt);
      Tensor dx = Tensor::empty({g.batch, g.in_h, g.in_w, g.channels}, dt);
      visit_floating(dt, "image_transform", [&]<typename T>() {
        if (dx.numel() == 0) return;
        kc::projective_transform_backward<T>(g, ts->front().data(), static_cast<int64_t>(ts->size()), dy.data<T>(),
                                             dx.data<T>());
      });
      return Gradients{dx};
    };
  });
}

ProjectiveTransform identity_transform() { return {1, 0, 0, 0, 1, 0, 0, 0}; }

ProjectiveTransform compose_transforms(const ProjectiveTransform& a, const ProjectiveTransform& b) {
  // 3x3 product A·B with A = [[a0 a1 a2][b0 b1 b2][c0 c1 1]], normalised so the corner is 1.
  auto m = [](const ProjectiveTransform& t, int r, int c) {
    const double full[9] = {t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], 1.0};
    return full[r * 3 + c];
  };
  double p[9];
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) {
      p[r * 3 + c] = m(a, r, 0) * m(b, 0, c) + m(a, r, 1) * m(b, 1, c) + m(a, r, 2) * m(b, 2, c);
    }
  }
  if (p[8] == 0.0) throw ValueError("compose_transforms: the composed projective transform is degenerate");
  ProjectiveTransform t{};
  for (int i = 0; i < 8; ++i) t[i] = p[i] / p[8];
  return t;
}

ProjectiveTransform rotation_transform(double angle, int64_t height, int64_t width) {
  const double c = std::cos(angle), s = std::sin(angle);
  const double wm = static_cast<double>(width - 1), hm = static_cast<double>(height - 1);
  const double x_off = (wm - (c * wm - s * hm)) / 2.0;
  const double y_off = (hm - (s * wm + c * hm)) / 2.0;
  return {c, -s, x_off, s, c, y_off, 0, 0};
}

ProjectiveTransform translation_transform(double dx, double dy) { return {1, 0, -dx, 0, 1, -dy, 0, 0}; }

ProjectiveTransform zoom_transform(double zoom_h, double zoom_w, int64_t height, int64_t width) {
  const double x_off = (static_cast<double>(width - 1) / 2.0) * (1.0 - zoom_w);
  const double y_off = (static_cast<double>(height - 1) / 2.0) * (1.0 - zoom_h);
  return {zoom_w, 0, x_off, 0, zoom_h, y_off, 0, 0};
}

ProjectiveTransform flip_transform(bool horizontal, bool vertical, int64_t height, int64_t width) {
  ProjectiveTransform t = identity_transform();
  if (horizontal) {
    t[0] = -1;
    t[2] = static_cast<double>(width - 1);
  }
  if (vertical) {
    t[4] = -1;
    t[5] = static_cast<double>(height - 1);
  }
  return t;
}

Tensor flip_left_right(const Tensor& images) {
  check_images("flip_left_right", images);
  return image_transform(images, {flip_transform(true, false, images.size(1), images.size(2))},
                         {.interpolation = Interpolation::Nearest, .fill_mode = FillMode::Constant});
}

Tensor flip_up_down(const Tensor& images) {
  check_images("flip_up_down", images);
  return image_transform(images, {flip_transform(false, true, images.size(1), images.size(2))},
                         {.interpolation = Interpolation::Nearest, .fill_mode = FillMode::Constant});
}

Tensor adjust_contrast(const Tensor& images, const std::vector<double>& factors) {
  check_images("adjust_contrast", images);
  const int64_t n = images.size(0);
  if (factors.size() != 1 && static_cast<int64_t>(factors.size()) != n) {
    throw ValueError("adjust_contrast: expected 1 factor or one per image (" + std::to_string(n) + "), got " +
                     std::to_string(factors.size()) + ": images " + to_string(images.shape()));
  }
  Tensor f = from_vector(factors, {static_cast<int64_t>(factors.size()), 1, 1, 1}, images.dtype());
  Tensor m = mean(images, {1, 2}, true);
  return (images - m) * f + m;
}

}  // namespace ember
