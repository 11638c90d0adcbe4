// image_transform's backward (the transposed sampling) against finite differences, f64, for every
// fill mode and both interpolations, per-image transforms, a different output size.
#include <numbers>

#include "test_support.hpp"

using namespace ember;
using ember::testing::gradcheck_ok;
using ember::testing::random_f64;

TEST(ImageTransformGradcheck, AllFillModesAndInterpolations) {
  const Tensor x = random_f64({2, 5, 4, 2}, 11);
  // Transforms chosen so no sample falls exactly on a pixel edge in a way that makes the
  // piecewise-linear sampling non-differentiable at x (the gradient is w.r.t. the images only, so
  // the sampling positions do not move: the op is linear in x and any transform works).
  const std::vector<ProjectiveTransform> ts = {
      compose_transforms(rotation_transform(0.4, 5, 4), translation_transform(0.7, -1.3)),
      {0.9, 0.1, 0.5, -0.05, 1.1, 0.2, 0.03, -0.02}};
  for (FillMode m : {FillMode::Constant, FillMode::Nearest, FillMode::Reflect, FillMode::Wrap}) {
    for (Interpolation in : {Interpolation::Bilinear, Interpolation::Nearest}) {
      EXPECT_TRUE(gradcheck_ok(
          [&](const std::vector<Tensor>& v) {
            return image_transform(v[0], ts, {.output_size = std::array<int64_t, 2>{6, 3}, .interpolation = in,
                                              .fill_mode = m, .fill_value = 0.3});
          },
          {x}))
          << static_cast<int>(m) << " " << static_cast<int>(in);
    }
  }
}

TEST(ImageTransformGradcheck, FlipsAndContrast) {
  const Tensor x = random_f64({2, 3, 4, 2}, 12);
  EXPECT_TRUE(gradcheck_ok([](const std::vector<Tensor>& v) { return flip_left_right(v[0]); }, {x}));
  EXPECT_TRUE(gradcheck_ok([](const std::vector<Tensor>& v) { return flip_up_down(v[0]); }, {x}));
  EXPECT_TRUE(gradcheck_ok([](const std::vector<Tensor>& v) { return adjust_contrast(v[0], {0.5, 1.7}); }, {x}));
}
