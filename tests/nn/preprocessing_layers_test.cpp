// The random image layers: identity at inference (RandomCrop: the centre crop), fixed-parameter
// outputs against torchvision (image_transforms.json / image_data_generator.json from
// gen_image_transforms.py), outputs that must be one of the allowed images, seeds, errors.
#include "ember/nn/layers/preprocessing.hpp"

#include <nlohmann/json.hpp>

#include "ember/nn/config.hpp"
#include "test_support.hpp"

using namespace ember;
using namespace ember::nn;
using ember::testing::all_close;
using ember::testing::FixtureCase;
using ember::testing::load_fixture;
using ember::testing::message_of;
using ember::testing::random_f64;

namespace {

const FixtureCase& fixture(const std::string& file, const std::string& name) {
  static std::map<std::string, std::vector<FixtureCase>> cache;
  auto& cases = cache[file];
  if (cases.empty()) cases = load_fixture(file);
  for (const FixtureCase& c : cases) {
    if (c.name == name) return c;
  }
  throw ValueError("no fixture case " + name);
}

Tensor image(const Tensor& batch, int64_t i) { return slice(batch, 0, i, i + 1); }

}  // namespace

TEST(PreprocessingLayers, IdentityAtInferenceCentreCropForRandomCrop) {
  const Tensor x = random_f64({3, 6, 7, 2}, 1).to(f32);
  std::vector<LayerPtr> layers = {
      std::make_shared<RandomFlip>(RandomFlipOptions{.seed = 1}),
      std::make_shared<RandomRotation>(RandomRotationOptions{.factor = 0.3, .seed = 1}),
      std::make_shared<RandomTranslation>(
          RandomTranslationOptions{.height_factor = 0.2, .width_factor = 0.2, .seed = 1}),
      std::make_shared<RandomZoom>(RandomZoomOptions{.height_factor = 0.3, .seed = 1}),
      std::make_shared<RandomContrast>(RandomContrastOptions{.factor = 0.5, .seed = 1})};
  for (const LayerPtr& l : layers) {
    EXPECT_TRUE(all_close((*l)(x, false), x, 0, 0)) << l->class_name();
    EXPECT_FALSE(all_close((*l)(x, true), x, 1e-3, 1e-3)) << l->class_name() << " changed nothing in training";
  }
  RandomCrop crop({.height = 4, .width = 3});
  EXPECT_TRUE(all_close(crop(x, false), slice(slice(x, 1, 1, 5), 2, 2, 5), 0, 0));
}

TEST(PreprocessingLayers, FixedParametersMatchTorchvision) {
  // A factor pair with lower == upper fixes the parameter.
  const FixtureCase& rot = fixture("image_transforms.json", "rotate_bilinear_90");  // 6x5, ccw 90°
  RandomRotation rotation({.factor = Factor(0.25, 0.25), .fill_mode = FillMode::Constant});
  EXPECT_TRUE(all_close(rotation(rot.at("x"), true), rot.at("y"), 1e-9, 1e-9));

  const FixtureCase& tr = fixture("image_transforms.json", "translate_int_bilinear");  // 5x6, right -3, down 2
  RandomTranslation translation(
      {.height_factor = Factor(0.4, 0.4), .width_factor = Factor(-0.5, -0.5), .fill_mode = FillMode::Constant});
  EXPECT_TRUE(all_close(translation(tr.at("x"), true), tr.at("y"), 1e-12, 1e-12));

  const FixtureCase& zo = fixture("image_data_generator.json", "zoom_0.8");  // 7x7 HWC, torchvision scale 1.25
  RandomZoom zoom({.height_factor = Factor(-0.2, -0.2), .fill_mode = FillMode::Constant});
  EXPECT_TRUE(all_close(zoom(unsqueeze(zo.at("x"), 0), true), unsqueeze(zo.at("y"), 0), 1e-9, 1e-9));
}

TEST(PreprocessingLayers, FlipsGiveExactlyFlippedImagesBothWaysOccur) {
  const Tensor x = random_f64({32, 4, 5, 3}, 2);
  RandomFlip flip({.mode = FlipMode::Horizontal, .seed = 9});
  const Tensor y = flip(x, true);
  const Tensor mirrored = flip_left_right(x);
  int flipped = 0;
  for (int64_t i = 0; i < 32; ++i) {
    const bool same = all_close(image(y, i), image(x, i), 0, 0);
    const bool mirror = all_close(image(y, i), image(mirrored, i), 0, 0);
    EXPECT_TRUE(same || mirror) << i;
    flipped += mirror;
  }
  EXPECT_GT(flipped, 5);
  EXPECT_LT(flipped, 27);
}

TEST(PreprocessingLayers, RandomCropIsAWindowOfTheInput) {
  const Tensor x = random_f64({2, 7, 8, 1}, 3);
  RandomCrop crop({.height = 3, .width = 5, .seed = 4});
  const Tensor y = crop(x, true);
  ASSERT_EQ(y.shape(), (Shape{2, 3, 5, 1}));
  bool found = false;
  for (int64_t top = 0; top <= 4 && !found; ++top) {
    for (int64_t left = 0; left <= 3 && !found; ++left) {
      found = all_close(y, slice(slice(x, 1, top, top + 3), 2, left, left + 5), 0, 0);
    }
  }
  EXPECT_TRUE(found);
}

TEST(PreprocessingLayers, ContrastFactorPerImageWithinRange) {
  const Tensor x = random_f64({6, 4, 4, 1}, 5, 0, 1);
  RandomContrast contrast({.factor = Factor(-0.3, 0.6), .seed = 1});
  const Tensor y = contrast(x, true);
  for (int64_t i = 0; i < 6; ++i) {
    const Tensor xi = image(x, i), yi = image(y, i), m = mean(xi);
    // y = (x - m) c + m for one c per image: recover c from the first pixel, check all of them.
    const double c = ((yi.reshape({-1}) - m).to(f64).data<double>()[0]) / ((xi.reshape({-1}) - m).data<double>()[0]);
    EXPECT_GE(c, 0.7 - 1e-9);
    EXPECT_LE(c, 1.6 + 1e-9);
    EXPECT_TRUE(all_close(yi, adjust_contrast(xi, {c}), 1e-9, 1e-9)) << i;
  }
}

TEST(PreprocessingLayers, SameSeedSameImages) {
  const Tensor x = random_f64({4, 6, 6, 2}, 6);
  RandomRotation a({.factor = 0.2, .seed = 5}), b({.factor = 0.2, .seed = 5}), c({.factor = 0.2, .seed = 6});
  const Tensor ya = a(x, true);
  EXPECT_TRUE(all_close(ya, b(x, true), 0, 0));
  EXPECT_FALSE(all_close(ya, c(x, true), 1e-3, 1e-3));
  EXPECT_FALSE(all_close(ya, a(x, true), 1e-3, 1e-3));  // the next batch draws new angles
}

TEST(PreprocessingLayers, ErrorsNameTheLayer) {
  EXPECT_NE(message_of<ShapeError>([] { RandomFlip()(zeros({4, 4, 3}), true); }).find("rank 4"), std::string::npos);
  EXPECT_NE(message_of<ValueError>([] { RandomTranslation({.height_factor = 1.5}); }).find("height_factor"),
            std::string::npos);
  EXPECT_NE(message_of<ValueError>([] { RandomContrast({.factor = Factor(-1.5, 0.2)}); }).find("factor"),
            std::string::npos);
  EXPECT_NE(message_of<ShapeError>([] { RandomCrop({.height = 5, .width = 2})(zeros({1, 4, 4, 1}), true); })
                .find("at least 5x2"),
            std::string::npos);
  const nlohmann::json bad = {{"class_name", "RandomRotation"},
                              {"config", {{"name", "r"}, {"factor", 0.1}, {"fill_mode", "mirror"}}}};
  EXPECT_NE(message_of<FormatError>([&] { layer_from_config(bad); }).find("fill_mode"), std::string::npos);
  const nlohmann::json bad2 = {{"class_name", "RandomZoom"}, {"config", {{"name", "z"}, {"height_factor", "x"}}}};
  EXPECT_NE(message_of<FormatError>([&] { layer_from_config(bad2); }).find("pair [lower, upper]"), std::string::npos);
}

TEST(PreprocessingLayers, RandomErasingSetsOneRectangleOfTheDrawnSize) {
  const Tensor x = random_f64({16, 10, 12, 2}, 8, 1, 2);  // values in [1, 2): the fill (0) stands out
  RandomErasing erase({.scale = {0.1, 0.3}, .seed = 2});
  const Tensor y = erase(x, true);
  EXPECT_TRUE(all_close(erase(x, false), x, 0, 0));
  for (int64_t i = 0; i < 16; ++i) {
    // The erased pixels: where y is 0 (x never is). They must form one full rectangle in both channels.
    const Tensor zero = equal(image(y, i), zeros({1, 10, 12, 2}, f64)).to(f64);
    const Tensor rows = ember::max(zero, {0, 2, 3}), cols = ember::max(zero, {0, 1, 3});
    const double nr = ember::sum(rows).item<double>(), nc = ember::sum(cols).item<double>();
    EXPECT_EQ(ember::sum(zero).item<double>(), nr * nc * 2) << i << ": not one rectangle";
    // Area fraction within scale, allowing the rounding of each side to whole pixels.
    const double frac = nr * nc / 120.0;
    EXPECT_GE(frac, 0.1 * 0.6) << i;
    EXPECT_LE(frac, 0.3 * 1.5) << i;
    // Outside the rectangle the image is unchanged.
    EXPECT_TRUE(all_close(image(y, i) + zero * image(x, i), image(x, i), 0, 0)) << i;
  }
  RandomErasing never({.factor = 0.0, .seed = 2});
  EXPECT_TRUE(all_close(never(x, true), x, 0, 0));
  const nlohmann::json noise = {{"class_name", "RandomErasing"}, {"config", {{"name", "e"}, {"fill_value", nullptr}}}};
  EXPECT_NE(message_of<FormatError>([&] { layer_from_config(noise); }).find("random-noise"), std::string::npos);
}
