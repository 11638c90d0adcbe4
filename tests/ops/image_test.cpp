// image_transform and its builders against torchvision.transforms.functional and a numpy reference
// of TensorFlow's fill modes (tests/fixtures/image_transforms.json, gen_image_transforms.py).
// Flips, integer translations and crops must match exactly; resampling within interpolation
// tolerance (float64: 1e-9, the two computations order their sums differently; float32: 1e-5).
#include <cmath>
#include <numbers>

#include "test_support.hpp"

using namespace ember;
using ember::testing::all_close;
using ember::testing::FixtureCase;
using ember::testing::load_fixture;
using ember::testing::message_of;

namespace {

double rad(double deg) { return deg * std::numbers::pi / 180.0; }

FillMode fill_of(const std::string& s) {
  if (s == "constant") return FillMode::Constant;
  if (s == "nearest") return FillMode::Nearest;
  if (s == "reflect") return FillMode::Reflect;
  if (s == "wrap") return FillMode::Wrap;
  throw ValueError("unknown fill mode " + s);
}

Interpolation interp_of(const FixtureCase& c) {
  return c.attrs.value("interpolation", "bilinear") == "nearest" ? Interpolation::Nearest : Interpolation::Bilinear;
}

// What Ember computes for a fixture case; `exact` says whether bit equality is required.
Tensor run_case(const FixtureCase& c, const Tensor& x, bool& exact) {
  const std::string op = c.attrs.at("op");
  const int64_t h = x.size(1), w = x.size(2);
  exact = false;
  const ImageTransformOptions constant0{.interpolation = interp_of(c), .fill_mode = FillMode::Constant};
  if (op == "rotate") {
    return image_transform(x, {rotation_transform(rad(c.attrs.at("angle_ccw")), h, w)}, constant0);
  }
  if (op == "affine") {
    const double s = c.attrs.at("scale");
    const auto t = c.attrs.at("translate");
    ProjectiveTransform m = compose_transforms(
        compose_transforms(rotation_transform(-rad(c.attrs.at("angle_cw")), h, w), zoom_transform(1 / s, 1 / s, h, w)),
        translation_transform(t[0], t[1]));
    return image_transform(x, {m}, constant0);
  }
  if (op == "translate") {
    exact = interp_of(c) == Interpolation::Nearest;
    const auto t = c.attrs.at("translate");
    return image_transform(x, {translation_transform(t[0], t[1])}, constant0);
  }
  if (op == "hflip") {
    exact = true;
    return flip_left_right(x);
  }
  if (op == "vflip") {
    exact = true;
    return flip_up_down(x);
  }
  if (op == "crop") {
    exact = true;
    const int64_t top = c.attrs.at("top"), left = c.attrs.at("left");
    return image_transform(x, {translation_transform(-left, -top)},
                           {.output_size = std::array<int64_t, 2>{c.attrs.at("height"), c.attrs.at("width")}});
  }
  if (op == "contrast") return adjust_contrast(x, {c.attrs.at("factor").get<double>()});
  if (op == "brightness") return x * Scalar(c.attrs.at("factor").get<double>());
  if (op == "raw") {
    ProjectiveTransform t{};
    for (int i = 0; i < 8; ++i) t[i] = c.attrs.at("transform")[i];
    return image_transform(x, {t}, {.interpolation = interp_of(c), .fill_mode = fill_of(c.attrs.at("fill_mode")),
                                     .fill_value = c.attrs.at("fill_value")});
  }
  throw ValueError("unknown fixture op " + op);
}

void check_all(DType dt, double tol) {
  auto cases = load_fixture("image_transforms.json");
  ASSERT_GE(cases.size(), 20u);
  for (const FixtureCase& c : cases) {
    const Tensor x = c.at("x").to(dt);
    bool exact = false;
    const Tensor y = run_case(c, x, exact);
    const Tensor expected = c.at("y").to(dt);
    if (exact) {
      ASSERT_EQ(y.shape(), expected.shape()) << c.name;
      EXPECT_TRUE(all_close(y, expected, 0, 0)) << c.name << " (must be exact)";
    } else {
      EXPECT_TRUE(all_close(y, expected, tol, tol)) << c.name;
    }
  }
}

}  // namespace

TEST(ImageTransform, MatchesTorchvisionAndTfFillModesF64) { check_all(f64, 1e-9); }
TEST(ImageTransform, MatchesTorchvisionAndTfFillModesF32) { check_all(f32, 1e-5); }

TEST(ImageTransform, IntegerShiftsAndFlipsAreExactInBothInterpolations) {
  const Tensor x = ember::testing::random_f64({2, 5, 6, 3}, 5);
  for (const ProjectiveTransform& t : {translation_transform(2, -1), translation_transform(-3, 4),
                                       flip_transform(true, true, 5, 6)}) {
    for (FillMode m : {FillMode::Constant, FillMode::Reflect, FillMode::Wrap, FillMode::Nearest}) {
      const Tensor a = image_transform(x, {t}, {.interpolation = Interpolation::Bilinear, .fill_mode = m});
      const Tensor b = image_transform(x, {t}, {.interpolation = Interpolation::Nearest, .fill_mode = m});
      EXPECT_TRUE(all_close(a, b, 0, 0)) << static_cast<int>(m);
    }
  }
  // Shift right by 2: column j of the output is column j-2 of the input (numpy slicing).
  const Tensor y = image_transform(x, {translation_transform(2, 0)}, {.fill_mode = FillMode::Constant});
  EXPECT_TRUE(all_close(slice(y, 2, 2, 6), slice(x, 2, 0, 4), 0, 0));
  EXPECT_TRUE(all_close(slice(y, 2, 0, 2), zeros({2, 5, 2, 3}, f64), 0, 0));
}

TEST(ImageTransform, PerImageTransformsAndSharedOne) {
  Tensor x = ember::testing::random_f64({3, 4, 5, 2}, 7);
  std::vector<ProjectiveTransform> ts = {translation_transform(1, 0), identity_transform(),
                                         flip_transform(true, true, 4, 5)};
  Tensor y = image_transform(x, ts, {.fill_mode = FillMode::Constant});
  for (int64_t n = 0; n < 3; ++n) {
    Tensor yn = image_transform(slice(x, 0, n, n + 1), {ts[n]}, {.fill_mode = FillMode::Constant});
    EXPECT_TRUE(all_close(slice(y, 0, n, n + 1), yn, 0, 0)) << n;
  }
  EXPECT_TRUE(all_close(slice(y, 0, 1, 2), slice(x, 0, 1, 2), 0, 0));  // identity is exact
}

TEST(ImageTransform, ComposeIsMatrixProductInOrder) {
  // Shift right 2, then flip left-right == flip, then shift left 2 (content moves the other way).
  const ProjectiveTransform a = compose_transforms(translation_transform(2, 0), flip_transform(true, false, 4, 6));
  const ProjectiveTransform b = compose_transforms(flip_transform(true, false, 4, 6), translation_transform(-2, 0));
  for (int i = 0; i < 8; ++i) EXPECT_DOUBLE_EQ(a[i], b[i]) << i;
}

TEST(ImageTransform, BadInputThrows) {
  Tensor x = zeros({2, 3, 3, 1}, f64);
  EXPECT_NE(message_of<ShapeError>([&] { image_transform(zeros({3, 3, 1}, f64), {identity_transform()}); })
                .find("4-D NHWC"),
            std::string::npos);
  EXPECT_NE(message_of<ValueError>([&] {
              image_transform(x, {identity_transform(), identity_transform(), identity_transform()});
            }).find("one per image (2), got 3"),
            std::string::npos);
  EXPECT_NE(message_of<ValueError>([&] {
              image_transform(x, {identity_transform()}, {.output_size = std::array<int64_t, 2>{-1, 3}});
            }).find("image_transform"),
            std::string::npos);
  ProjectiveTransform nan_t = identity_transform();
  nan_t[2] = std::nan("");
  EXPECT_NE(message_of<ValueError>([&] { image_transform(x, {nan_t}); }).find("finite"), std::string::npos);
  EXPECT_THROW(image_transform(zeros({1, 3, 3, 1}, i64), {identity_transform()}), DTypeError);
  // Huge coordinates read the fill value, never out of bounds.
  ProjectiveTransform far = translation_transform(1e300, -1e300);
  Tensor y = image_transform(x, {far}, {.fill_mode = FillMode::Constant, .fill_value = 3});
  EXPECT_TRUE(all_close(y, full({2, 3, 3, 1}, 3.0, f64), 0, 0));
  for (FillMode m : {FillMode::Reflect, FillMode::Wrap, FillMode::Nearest}) {
    Tensor z = image_transform(x, {far}, {.fill_mode = m});
    EXPECT_EQ(z.shape(), x.shape());
  }
}
