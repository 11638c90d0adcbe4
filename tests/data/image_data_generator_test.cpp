// ImageDataGenerator against numpy (fit statistics, ZCA, standardize; Keras's formulas) and
// torchvision / the numpy TF reference (apply_transform), tests/fixtures/image_data_generator.json
// from gen_image_transforms.py. Plus determinism with a seed, parameter ranges, errors.
#include "ember/data/image_data_generator.hpp"

#include "test_support.hpp"

using namespace ember;
using ember::data::ImageDataGenerator;
using ember::data::TransformParams;
using ember::testing::all_close;
using ember::testing::FixtureCase;
using ember::testing::load_fixture;
using ember::testing::message_of;

namespace {

const FixtureCase& find_case(const std::vector<FixtureCase>& cases, const std::string& name) {
  for (const FixtureCase& c : cases) {
    if (c.name == name) return c;
  }
  throw ValueError("no fixture case " + name);
}

FillMode fill_of(const std::string& s) {
  if (s == "constant") return FillMode::Constant;
  if (s == "reflect") return FillMode::Reflect;
  if (s == "wrap") return FillMode::Wrap;
  return FillMode::Nearest;
}

}  // namespace

TEST(ImageDataGenerator, FitFeaturewiseAndZcaMatchNumpy) {
  const auto cases = load_fixture("image_data_generator.json");
  const FixtureCase& c = find_case(cases, "fit_featurewise_zca");
  ImageDataGenerator gen({.featurewise_center = true, .featurewise_std_normalization = true,
                          .zca_whitening = true, .zca_epsilon = c.attrs.at("zca_epsilon")});
  gen.fit(c.at("x"));
  EXPECT_TRUE(all_close(gen.mean().reshape({-1}), c.at("mean"), 1e-12, 1e-12));
  EXPECT_TRUE(all_close(gen.std().reshape({-1}), c.at("std"), 1e-12, 1e-12));
  EXPECT_TRUE(all_close(gen.principal_components(), c.at("pc"), 1e-9, 1e-9));
  EXPECT_TRUE(all_close(gen.standardize(c.at("x2")), c.at("y"), 1e-9, 1e-9));
  // One image at a time gives the same as the batch; float32 input stays float32.
  EXPECT_TRUE(all_close(gen.standardize(squeeze(slice(c.at("x2"), 0, 1, 2), 0)),
                        squeeze(slice(c.at("y"), 0, 1, 2), 0), 1e-9, 1e-9));
  ImageDataGenerator gen32 = gen;
  gen32.fit(c.at("x").to(f32));
  EXPECT_EQ(gen32.standardize(c.at("x2").to(f32)).dtype(), f32);
  EXPECT_TRUE(all_close(gen32.standardize(c.at("x2").to(f32)), c.at("y"), 1e-4, 1e-4));
}

TEST(ImageDataGenerator, SamplewiseAfterRescaleMatchesNumpy) {
  const auto cases = load_fixture("image_data_generator.json");
  const FixtureCase& c = find_case(cases, "samplewise_rescale");
  ImageDataGenerator gen({.samplewise_center = true, .samplewise_std_normalization = true,
                          .rescale = c.attrs.at("rescale")});
  EXPECT_TRUE(all_close(gen.standardize(c.at("x")), c.at("y"), 1e-10, 1e-10));
}

TEST(ImageDataGenerator, ApplyTransformMatchesTorchvisionAndTfReference) {
  int checked = 0;
  for (const FixtureCase& c : load_fixture("image_data_generator.json")) {
    if (c.attrs.at("op") != "apply") continue;
    ++checked;
    const auto& a = c.attrs;
    TransformParams p{.theta = a.value("theta", 0.0), .tx = a.value("tx", 0.0), .ty = a.value("ty", 0.0),
                      .shear = a.value("shear", 0.0), .zx = a.value("zx", 1.0), .zy = a.value("zy", 1.0),
                      .flip_horizontal = a.value("flip_horizontal", false),
                      .flip_vertical = a.value("flip_vertical", false),
                      .channel_shift_intensity = a.value("channel_shift_intensity", 0.0)};
    if (a.contains("brightness")) p.brightness = a.at("brightness").get<double>();
    ImageDataGenerator gen({.fill_mode = fill_of(a.value("fill_mode", "nearest")),
                            .interpolation = a.value("interpolation", "bilinear") == "nearest"
                                                 ? Interpolation::Nearest
                                                 : Interpolation::Bilinear});
    const double tol = a.value("exact", false) ? 0.0 : 1e-9;
    EXPECT_TRUE(all_close(gen.apply_transform(c.at("x"), p), c.at("y"), tol, tol)) << c.name;
  }
  EXPECT_EQ(checked, 8);
}

TEST(ImageDataGenerator, SameSeedSameImagesDifferentSeedOthers) {
  ImageDataGenerator gen({.rotation_range = 30, .width_shift_range = 0.2, .height_shift_range = 3,
                          .brightness_range = std::array<double, 2>{0.8, 1.2}, .shear_range = 10, .zoom_range = 0.2,
                          .channel_shift_range = 0.1, .horizontal_flip = true, .vertical_flip = true});
  const Tensor x = ember::testing::random_f64({8, 10, 3}, 3, 0, 1);
  Generator a(42), b(42), c(43);
  const Tensor ya = gen.random_transform(x, a), yb = gen.random_transform(x, b), yc = gen.random_transform(x, c);
  EXPECT_TRUE(all_close(ya, yb, 0, 0));
  EXPECT_FALSE(all_close(ya, yc, 1e-3, 1e-3));
}

// The batch path flow() runs: image i of random_transform_batch is exactly what random_transform
// gives image i with the same draws, for every option that draws (one resampling call for all).
TEST(ImageDataGenerator, BatchTransformIsThePerImageTransformWithTheSameDraws) {
  ImageDataGenerator gen({.rotation_range = 30, .width_shift_range = 0.2, .height_shift_range = 3,
                          .brightness_range = std::array<double, 2>{0.8, 1.2}, .shear_range = 10, .zoom_range = 0.2,
                          .channel_shift_range = 0.1, .fill_mode = ember::FillMode::Reflect, .horizontal_flip = true,
                          .vertical_flip = true});
  const Tensor x = ember::testing::random_f64({5, 8, 10, 3}, 4, 0, 1);
  Generator batch_gen(9), image_gen(9);
  const Tensor batch = gen.random_transform_batch(x, batch_gen);
  ASSERT_EQ(batch.shape(), x.shape());
  for (int64_t i = 0; i < 5; ++i) {
    const Tensor one = gen.random_transform(squeeze(slice(x, 0, i, i + 1), 0), image_gen);
    EXPECT_TRUE(all_close(squeeze(slice(batch, 0, i, i + 1), 0), one, 1e-12, 1e-12)) << i;
  }
  // Plain images (nothing drawn) come back unchanged.
  Generator g(1);
  EXPECT_TRUE(all_close(ImageDataGenerator().random_transform_batch(x, g), x, 0, 0));
  EXPECT_THROW(gen.random_transform_batch(zeros({8, 10, 3}), g), ShapeError);
}

// Keras's three kinds of shift range (ImageDataGenerator.get_random_transform): a float draws
// U(-r, r); an int n draws choice(n) * choice([-1, 1]) — integers in (-n, n); a list draws one of its
// values with a random sign; below 1 (the largest value) they are fractions of the side.
TEST(ImageDataGenerator, ShiftRangesDrawAsKerasDoes) {
  Generator g(3);
  std::set<double> integers;
  for (int i = 0; i < 500; ++i) integers.insert(data::ShiftRange(3).draw(g, 28));
  EXPECT_EQ(integers, (std::set<double>{-2, -1, 0, 1, 2}));
  std::set<double> chosen;
  for (int i = 0; i < 500; ++i) chosen.insert(data::ShiftRange(std::vector<double>{0.25, 0.5}).draw(g, 8));
  EXPECT_EQ(chosen, (std::set<double>{-4, -2, 2, 4}));  // fractions of 8 pixels
  double lo = 1e9, hi = -1e9;
  for (int i = 0; i < 500; ++i) {
    const double t = data::ShiftRange(0.1).draw(g, 20);
    lo = std::min(lo, t);
    hi = std::max(hi, t);
    EXPECT_NE(t, std::round(t));  // continuous, not whole pixels
  }
  EXPECT_TRUE(lo >= -2 && lo < -1.8 && hi <= 2 && hi > 1.8) << lo << " " << hi;
  EXPECT_FALSE(data::ShiftRange(0).is_set());
  EXPECT_THROW(ImageDataGenerator({.width_shift_range = -1.0}), ValueError);
  EXPECT_THROW(ImageDataGenerator({.height_shift_range = -2}), ValueError);
}

TEST(ImageDataGenerator, RandomParametersStayInTheirRanges) {
  ImageDataGenerator gen({.rotation_range = 30, .width_shift_range = 0.25, .height_shift_range = 3,
                          .brightness_range = std::array<double, 2>{0.5, 1.5}, .shear_range = 10,
                          .zoom_range = data::ZoomRange(0.7, 0.9), .horizontal_flip = true});
  Generator rng(1);
  int flips = 0;
  for (int i = 0; i < 400; ++i) {
    const TransformParams p = gen.get_random_transform({8, 12, 3}, rng);
    EXPECT_LE(std::abs(p.theta), 30);
    EXPECT_LE(std::abs(p.tx), 3);   // pixels (range >= 1)
    EXPECT_LE(std::abs(p.ty), 3);   // 0.25 of width 12
    EXPECT_LE(std::abs(p.shear), 10);
    EXPECT_TRUE(p.zx >= 0.7 && p.zx <= 0.9 && p.zy >= 0.7 && p.zy <= 0.9);
    EXPECT_TRUE(p.brightness && *p.brightness >= 0.5 && *p.brightness <= 1.5);
    EXPECT_FALSE(p.flip_vertical);
    flips += p.flip_horizontal;
  }
  EXPECT_GT(flips, 150);
  EXPECT_LT(flips, 250);
  // All options off: the identity, and nothing is drawn.
  Generator g1(5), g2(5);
  const TransformParams p = ImageDataGenerator().get_random_transform({4, 4, 1}, g1);
  EXPECT_EQ(ImageDataGenerator::transform_matrix(p, 4, 4), identity_transform());
  EXPECT_EQ(g1.next_u64(), g2.next_u64());
}

// Random erasing (torchvision's RandomErasing rule): with probability p one box, inside the image,
// of area in scale x H x W (up to rounding of its sides) and aspect ratio (height / width) in ratio.
TEST(ImageDataGenerator, RandomErasingDrawsBoxesInsideTheImageWithinScaleAndRatio) {
  ImageDataGenerator gen({.erasing_probability = 0.5});
  Generator rng(7);
  int erased = 0;
  double area_sum = 0;
  for (int i = 0; i < 2000; ++i) {
    const TransformParams p = gen.get_random_transform({28, 20, 1}, rng);
    if (!p.erase) continue;
    ++erased;
    const data::ImageBox b = *p.erase;
    EXPECT_TRUE(b.top >= 0 && b.left >= 0 && b.height >= 1 && b.width >= 1) << i;
    EXPECT_TRUE(b.top + b.height <= 28 && b.left + b.width <= 20 && b.height < 28 && b.width < 20) << i;
    // Sides are rounded from sqrt(area * r) and sqrt(area / r): within half a pixel each.
    const double area = static_cast<double>(b.height * b.width);
    EXPECT_GE((b.height + 0.5) * (b.width + 0.5), 0.02 * 28 * 20) << i;
    EXPECT_LE((b.height - 0.5) * (b.width - 0.5), 0.33 * 28 * 20) << i;
    EXPECT_GE((b.height + 0.5) / (b.width - 0.5), 0.3) << i;
    EXPECT_LE((b.height - 0.5) / (b.width + 0.5), 3.3) << i;
    area_sum += area;
  }
  // Binomial(2000, 0.5) is within 1000 +- 100 with probability 1 - 1e-5 (boxes that fail all 10
  // draws are rare here: a third of the area and a ratio to 3.3 still fits within 28 x 20 mostly).
  EXPECT_GT(erased, 900);
  EXPECT_LT(erased, 1100);
  // Mean area between the ends of U(0.02, 0.33) x 560 pixels, near its mean 0.175 x 560 = 98.
  EXPECT_GT(area_sum / erased, 70);
  EXPECT_LT(area_sum / erased, 120);
  // Off by default, and then nothing is drawn for it.
  Generator g1(5), g2(5);
  EXPECT_FALSE(ImageDataGenerator().get_random_transform({4, 4, 1}, g1).erase);
  EXPECT_EQ(g1.next_u64(), g2.next_u64());
}

// The box is set to erasing_value on every channel and nothing else changes; the caller's image is
// never written (f64 in, f64 out: the transform starts from the same storage); the batch path
// erases what the per-image path erases with the same draws.
TEST(ImageDataGenerator, ErasingSetsTheBoxOnEveryChannelOnly) {
  ImageDataGenerator gen({.erasing_probability = 1, .erasing_value = -2});
  const Tensor x = ember::testing::random_f64({6, 5, 3}, 11, 0, 1);
  const Tensor before = x.clone();
  TransformParams p;
  p.erase = data::ImageBox{1, 2, 3, 2};
  const Tensor y = gen.apply_transform(x, p);
  EXPECT_TRUE(all_close(x, before, 0, 0));
  for (int64_t r = 0; r < 6; ++r) {
    for (int64_t c = 0; c < 5; ++c) {
      const bool inside = r >= 1 && r < 4 && c >= 2 && c < 4;
      for (int64_t ch = 0; ch < 3; ++ch) {
        EXPECT_EQ(y.at<double>({r, c, ch}), inside ? -2.0 : x.at<double>({r, c, ch})) << r << " " << c << " " << ch;
      }
    }
  }
  p.erase = data::ImageBox{4, 0, 3, 1};  // rows 4..6 of a 6-row image
  EXPECT_NE(message_of<ValueError>([&] { gen.apply_transform(x, p); }).find("not inside the 6x5 image"), std::string::npos);

  ImageDataGenerator batch_gen_options({.horizontal_flip = true, .erasing_probability = 0.7});
  const Tensor batch_in = ember::testing::random_f64({8, 9, 7, 2}, 12, 0, 1);
  const Tensor batch_before = batch_in.clone();
  Generator batch_gen(3), image_gen(3);
  const Tensor batch = batch_gen_options.random_transform_batch(batch_in, batch_gen);
  EXPECT_TRUE(all_close(batch_in, batch_before, 0, 0));
  int erased = 0;
  for (int64_t i = 0; i < 8; ++i) {
    const Tensor image = squeeze(slice(batch_in, 0, i, i + 1), 0);
    Generator probe = image_gen;
    erased += batch_gen_options.get_random_transform(image.shape(), probe).erase.has_value();
    const Tensor one = batch_gen_options.random_transform(image, image_gen);
    EXPECT_TRUE(all_close(squeeze(slice(batch, 0, i, i + 1), 0), one, 0, 0)) << i;
  }
  EXPECT_GT(erased, 0);  // seed 3 erases some of the 8 images
  // Without flips nothing but the erasing runs: the batch path must copy before writing.
  ImageDataGenerator erase_only({.erasing_probability = 1});
  Generator g(4);
  const Tensor erased_batch = erase_only.random_transform_batch(batch_in, g);
  EXPECT_TRUE(all_close(batch_in, batch_before, 0, 0));
  EXPECT_FALSE(all_close(erased_batch, batch_in, 0, 0));
}

TEST(ImageDataGenerator, ErrorsSayWhatIsWrong) {
  EXPECT_NE(message_of<ValueError>([] { ImageDataGenerator({.rotation_range = -1}); }).find("rotation_range"),
            std::string::npos);
  EXPECT_NE(message_of<ValueError>([] { ImageDataGenerator({.zoom_range = data::ZoomRange(1.2, 0.8)}); })
                .find("zoom_range"),
            std::string::npos);
  EXPECT_NE(message_of<ValueError>([] { ImageDataGenerator({.validation_split = 1.5}); }).find("validation_split"),
            std::string::npos);
  EXPECT_NE(message_of<ValueError>([] { ImageDataGenerator({.erasing_probability = 1.5}); }).find("erasing_probability"),
            std::string::npos);
  EXPECT_NE(message_of<ValueError>([] { ImageDataGenerator({.erasing_scale = {0.5, 0.2}}); }).find("erasing_scale"),
            std::string::npos);
  EXPECT_NE(message_of<ValueError>([] { ImageDataGenerator({.erasing_ratio = {0, 1}}); }).find("erasing_ratio"),
            std::string::npos);
  ImageDataGenerator gen({.featurewise_center = true});
  EXPECT_NE(message_of<ValueError>([&] { gen.standardize(zeros({2, 2, 1})); }).find("fit()"), std::string::npos);
  EXPECT_NE(message_of<ShapeError>([&] { gen.fit(zeros({2, 2, 1})); }).find("[batch, height, width, channels]"),
            std::string::npos);
  EXPECT_THROW(gen.apply_transform(zeros({2, 2, 2, 1}), {}), ShapeError);
  ImageDataGenerator zca({.zca_whitening = true});
  zca.fit(ember::testing::random_f64({4, 2, 2, 1}, 9));
  EXPECT_NE(message_of<ShapeError>([&] { zca.standardize(zeros({3, 3, 1}, f64)); }).find("4 values"),
            std::string::npos);
}

namespace {

std::vector<data::Element> all_batches(const data::Dataset& ds) {
  std::vector<data::Element> out;
  for (data::Element& b : ds) out.push_back(b);
  return out;
}

bool same_batches(const std::vector<data::Element>& a, const std::vector<data::Element>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    for (size_t c = 0; c < a[i].size(); ++c) {
      if (a[i][c].shape() != b[i][c].shape() || !all_close(a[i][c], b[i][c], 0, 0)) return false;
    }
  }
  return true;
}

}  // namespace

TEST(ImageDataGeneratorFlow, BatchesInOrderWithoutShuffleAreStandardizedImages) {
  const Tensor x = ember::testing::random_f64({10, 4, 5, 3}, 30, 0, 255).to(f32);
  const Tensor y = from_vector(std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {10});
  ImageDataGenerator gen({.samplewise_center = true, .rescale = 1.0 / 255});
  const auto batches = all_batches(gen.flow(x, y, {.batch_size = 4, .shuffle = false, .seed = 1}));
  ASSERT_EQ(batches.size(), 3u);  // 4 + 4 + 2, the last batch kept
  EXPECT_EQ(batches[2][0].shape(), (Shape{2, 4, 5, 3}));
  for (int64_t b = 0; b < 3; ++b) {
    const int64_t lo = 4 * b, hi = std::min<int64_t>(lo + 4, 10);
    EXPECT_TRUE(all_close(batches[b][0], gen.standardize(slice(x, 0, lo, hi)), 1e-6, 1e-6)) << b;
    EXPECT_TRUE(all_close(batches[b][1], slice(y, 0, lo, hi), 0, 0)) << b;
  }
}

TEST(ImageDataGeneratorFlow, SameSeedSameBatchesWhateverTheWorkerCount) {
  const Tensor x = ember::testing::random_f64({12, 6, 6, 1}, 31, 0, 1).to(f32);
  const Tensor y = ember::testing::random_f64({12, 2}, 32);
  ImageDataGenerator gen({.rotation_range = 40, .width_shift_range = 0.2, .zoom_range = 0.2, .horizontal_flip = true});
  const int workers = data::num_workers();
  data::set_num_workers(1);
  const auto one = all_batches(gen.flow(x, y, {.batch_size = 5, .seed = 77}));
  data::set_num_workers(3);
  const data::Dataset ds = gen.flow(x, y, {.batch_size = 5, .seed = 77});
  const auto three = all_batches(ds);
  data::set_num_workers(workers);
  EXPECT_TRUE(same_batches(one, three));
  // A second pass (the next epoch) reshuffles and draws new augmentations; another seed differs.
  EXPECT_FALSE(same_batches(three, all_batches(ds)));
  EXPECT_FALSE(same_batches(one, all_batches(gen.flow(x, y, {.batch_size = 5, .seed = 78}))));
  // Every label still travels with its own image: the multiset of y rows is unchanged.
  double sum = 0;
  for (const auto& b : one) sum += ember::sum(b[1]).item<double>();
  EXPECT_NEAR(sum, ember::sum(y).item<double>(), 1e-9);
}

TEST(ImageDataGeneratorFlow, ValidationSplitSubsets) {
  const Tensor x = ember::testing::random_f64({10, 2, 2, 1}, 33);
  ImageDataGenerator gen({.validation_split = 0.3});
  const auto val = all_batches(gen.flow(x, {}, {.batch_size = 32, .shuffle = false, .subset = data::Subset::Validation}));
  const auto train = all_batches(gen.flow(x, {}, {.batch_size = 32, .shuffle = false, .subset = data::Subset::Training}));
  ASSERT_EQ(val.size(), 1u);
  ASSERT_EQ(train.size(), 1u);
  EXPECT_TRUE(all_close(val[0][0], slice(x, 0, 0, 3), 0, 0));  // Keras: the first int(10 * 0.3) images
  EXPECT_TRUE(all_close(train[0][0], slice(x, 0, 3, 10), 0, 0));
  EXPECT_NE(message_of<ValueError>([&] { ImageDataGenerator().flow(x, {}, {.subset = data::Subset::Training}); })
                .find("validation_split"),
            std::string::npos);
  EXPECT_NE(message_of<ShapeError>([&] { gen.flow(x, zeros({9})); }).find("same length"), std::string::npos);
  EXPECT_NE(message_of<ValueError>([&] { gen.flow(x, {}, {.batch_size = 0}); }).find("batch_size"), std::string::npos);
}
