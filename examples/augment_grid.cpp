// Looking at augmentation: saves a PNG grid of Fashion-MNIST images and random variants of them.
// Rows 0-3: the image, then 7 draws of ImageDataGenerator::random_transform (Keras's generator).
// Rows 4-7: the image, then 7 passes through Keras-style random layers in training mode.
//   example_augment_grid [OUT.png]     (default augment_grid.png; needs the Fashion-MNIST files)
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#include <stb/stb_image_write.h>

#include <algorithm>
#include <cstdio>
#include <ember/ember.hpp>
#include <string>
#include <vector>

using namespace ember;

int main(int argc, char** argv) {
  const std::string out = argc > 1 ? argv[1] : "augment_grid.png";
  try {
    auto ds = data::load_fashion_mnist();
    Tensor x = ds.test.images.to(f32).div(255).reshape({-1, 28, 28, 1});

    data::ImageDataGenerator gen({.rotation_range = 30, .width_shift_range = 0.15, .height_shift_range = 0.15,
                                  .shear_range = 15, .zoom_range = 0.2, .fill_mode = FillMode::Constant,
                                  .horizontal_flip = true});
    nn::Sequential layers{
        nn::Input({28, 28, 1}),
        nn::RandomFlip({.mode = nn::FlipMode::Horizontal, .seed = 1}),
        nn::RandomRotation({.factor = 0.1, .fill_mode = FillMode::Constant, .seed = 2}),
        nn::RandomZoom({.height_factor = nn::Factor(-0.3, 0.2), .fill_mode = FillMode::Constant, .seed = 3}),
        nn::RandomTranslation({.height_factor = 0.1, .width_factor = 0.1, .fill_mode = FillMode::Constant, .seed = 4}),
        nn::RandomContrast({.factor = 0.5, .seed = 5}),
    };

    constexpr int kRows = 8, kCols = 8, kSide = 28, kScale = 3, kGap = 4;
    constexpr int kCell = kSide * kScale + kGap, kW = kCols * kCell, kH = kRows * kCell;
    std::vector<unsigned char> png(static_cast<size_t>(kW) * kH, 255);
    auto put = [&](const Tensor& img, int row, int col) {  // img [28, 28, 1] in [0, 1]
      Tensor c = contiguous(clip(img, 0.0, 1.0).to(f32));
      const float* p = c.data<float>();
      for (int y = 0; y < kSide * kScale; ++y) {
        for (int x2 = 0; x2 < kSide * kScale; ++x2) {
          const float v = p[(y / kScale) * kSide + x2 / kScale];
          png[static_cast<size_t>(row * kCell + y) * kW + col * kCell + x2] = static_cast<unsigned char>(255.0f * (1 - v));
        }
      }
    };
    Generator rng(2026);
    for (int r = 0; r < kRows; ++r) {
      const Tensor img = x.slice(0, r, r + 1);  // [1, 28, 28, 1]
      put(img.reshape({28, 28, 1}), r, 0);
      for (int c = 1; c < kCols; ++c) {
        Tensor aug = r < 4 ? gen.random_transform(img.reshape({28, 28, 1}), rng) : layers(img, true);
        put(aug.reshape({28, 28, 1}), r, c);
      }
    }
    if (!stbi_write_png(out.c_str(), kW, kH, 1, png.data(), kW)) {
      std::fprintf(stderr, "cannot write %s\n", out.c_str());
      return 1;
    }
    std::printf("wrote %s: %d rows of an image and 7 augmentations\n", out.c_str(), kRows);
  } catch (const Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
