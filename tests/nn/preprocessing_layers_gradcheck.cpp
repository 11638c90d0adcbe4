// Gradients of the random image layers in training (f64, the notes' criterion). A fresh layer with
// a fixed seed per evaluation, so every finite-difference step sees the same random parameters.
#include "ember/nn/layers/preprocessing.hpp"

#include "test_support.hpp"

using namespace ember;
using namespace ember::nn;
using ember::testing::gradcheck_ok;
using ember::testing::random_f64;

TEST(PreprocessingLayersGradcheck, TrainingModeIsDifferentiable) {
  const Tensor x = random_f64({2, 5, 4, 2}, 21);
  auto check = [&](auto make) {
    return gradcheck_ok([&](const std::vector<Tensor>& v) { return (*make())(v[0], true); }, {x});
  };
  EXPECT_TRUE(check([] { return std::make_shared<RandomFlip>(RandomFlipOptions{.seed = 1}); }));
  EXPECT_TRUE(check([] { return std::make_shared<RandomRotation>(RandomRotationOptions{.factor = 0.2, .seed = 1}); }));
  EXPECT_TRUE(check([] {
    return std::make_shared<RandomTranslation>(
        RandomTranslationOptions{.height_factor = 0.3, .width_factor = 0.3, .fill_mode = FillMode::Wrap, .seed = 1});
  }));
  EXPECT_TRUE(check([] {
    return std::make_shared<RandomZoom>(RandomZoomOptions{.height_factor = 0.3, .fill_mode = FillMode::Nearest, .seed = 1});
  }));
  EXPECT_TRUE(check([] { return std::make_shared<RandomContrast>(RandomContrastOptions{.factor = 0.4, .seed = 1}); }));
  EXPECT_TRUE(check([] { return std::make_shared<RandomErasing>(RandomErasingOptions{.fill_value = 0.5, .seed = 1}); }));
  EXPECT_TRUE(check([] { return std::make_shared<RandomCrop>(RandomCropOptions{.height = 3, .width = 2, .seed = 1}); }));
}
