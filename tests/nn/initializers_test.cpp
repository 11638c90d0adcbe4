// Initializers: sample statistics against the Keras formulas, fans, orthogonality, determinism, and
// the Keras-name factories. Statistical checks use fixed seeds (so they are deterministic) and
// tolerances of 5 standard errors: SE(mean) = σ/√N, SE(std) ≤ σ/√(2N) (exact for a normal; smaller
// for the uniform and truncated normal, whose kurtosis is below 3).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "ember/nn/initializers.hpp"
#include "test_support.hpp"

namespace ember {
namespace {

namespace init = nn::initializers;

constexpr double kTruncStd = 0.87962566103423978;  // std of N(0,1) truncated to [-2, 2]

struct Stats {
  double mean = 0, std = 0, min = 0, max = 0, max_abs = 0;
  int64_t n = 0;
};

Stats stats_of(const Tensor& t) {
  const std::vector<double> v = t.to_vector<double>();
  Stats s;
  s.n = static_cast<int64_t>(v.size());
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(s.n);
  double ss = 0;
  for (double x : v) ss += (x - s.mean) * (x - s.mean);
  s.std = std::sqrt(ss / static_cast<double>(s.n));
  s.min = *std::min_element(v.begin(), v.end());
  s.max = *std::max_element(v.begin(), v.end());
  s.max_abs = std::max(std::abs(s.min), std::abs(s.max));
  return s;
}

// Mean and std within 5 standard errors of the expected values.
void expect_moments(const Stats& s, double mean, double std, const char* what) {
  const double n = static_cast<double>(s.n);
  EXPECT_NEAR(s.mean, mean, 5 * std / std::sqrt(n)) << what << ": sample mean";
  EXPECT_NEAR(s.std, std, 5 * std / std::sqrt(2 * n)) << what << ": sample std";
}

Tensor draw(const init::Initializer& initializer, const Shape& shape, uint64_t seed = 1234, DType dtype = f32) {
  Generator gen(seed);
  return initializer(shape, dtype, gen);
}

const Shape kDense = {500, 400};        // fan_in 500, fan_out 400
const Shape kConv = {5, 5, 32, 64};     // HWIO: fan_in 5·5·32 = 800, fan_out 5·5·64 = 1600

// ---------------------------------------------------------------- fans

TEST(Initializers, FansFollowKerasComputeFans) {
  EXPECT_EQ(init::compute_fans({}).fan_in, 1);
  EXPECT_EQ(init::compute_fans({}).fan_out, 1);
  EXPECT_EQ(init::compute_fans({7}).fan_in, 7);
  EXPECT_EQ(init::compute_fans({7}).fan_out, 7);
  EXPECT_EQ(init::compute_fans({500, 400}).fan_in, 500);
  EXPECT_EQ(init::compute_fans({500, 400}).fan_out, 400);
  EXPECT_EQ(init::compute_fans(kConv).fan_in, 800);
  EXPECT_EQ(init::compute_fans(kConv).fan_out, 1600);
  EXPECT_EQ(init::compute_fans({3, 4, 5}).fan_in, 12);  // Conv1D kernel (width, in, out)
  EXPECT_EQ(init::compute_fans({3, 4, 5}).fan_out, 15);
  EXPECT_EQ(init::compute_fans({2, 3, 3, 4, 5}).fan_in, 72);  // Conv3D
  EXPECT_EQ(init::compute_fans({2, 3, 3, 4, 5}).fan_out, 90);
  EXPECT_THROW(init::compute_fans({3, -1}), ShapeError);
}

// ---------------------------------------------------------------- constants

TEST(Initializers, ZerosOnesConstant) {
  Generator gen(0);
  Tensor z = init::Zeros()({3, 4}, f32, gen);
  Tensor o = init::Ones()({3, 4}, f64, gen);
  Tensor c = init::Constant({.value = 0.25})({2, 5}, f32, gen);
  EXPECT_EQ(z.shape(), (Shape{3, 4}));
  EXPECT_EQ(z.dtype(), f32);
  EXPECT_EQ(o.dtype(), f64);
  for (double v : z.to_vector<double>()) EXPECT_EQ(v, 0.0);
  for (double v : o.to_vector<double>()) EXPECT_EQ(v, 1.0);
  for (double v : c.to_vector<double>()) EXPECT_EQ(v, 0.25);
  EXPECT_FALSE(c.requires_grad());
}

// ---------------------------------------------------------------- plain random

TEST(Initializers, RandomNormalMoments) {
  Stats s = stats_of(draw(init::RandomNormal(), kDense));
  expect_moments(s, 0.0, 0.05, "RandomNormal()");
  Stats t = stats_of(draw(init::RandomNormal({.mean = 1.5, .stddev = 2.0}), kDense));
  expect_moments(t, 1.5, 2.0, "RandomNormal(1.5, 2)");
  EXPECT_GT(t.max, 1.5 + 4 * 2.0);  // untruncated: 200k draws reach beyond 4σ
}

TEST(Initializers, RandomUniformRangeAndMoments) {
  Stats s = stats_of(draw(init::RandomUniform(), kDense));
  EXPECT_GE(s.min, -0.05);
  EXPECT_LT(s.max, 0.05);
  expect_moments(s, 0.0, 0.1 / std::sqrt(12.0), "RandomUniform()");
  Stats t = stats_of(draw(init::RandomUniform({.minval = 2.0, .maxval = 5.0}), kDense));
  EXPECT_GE(t.min, 2.0);
  EXPECT_LT(t.max, 5.0);
  expect_moments(t, 3.5, 3.0 / std::sqrt(12.0), "RandomUniform(2, 5)");
  EXPECT_THROW(init::RandomUniform({.minval = 1.0, .maxval = 0.0}), ValueError);
}

TEST(Initializers, TruncatedNormalBoundsAndMoments) {
  Stats s = stats_of(draw(init::TruncatedNormal({.mean = 0.5, .stddev = 0.1}), kDense));
  EXPECT_GE(s.min, 0.5 - 2 * 0.1 - 1e-6);
  EXPECT_LE(s.max, 0.5 + 2 * 0.1 + 1e-6);
  EXPECT_GT(s.max, 0.5 + 1.99 * 0.1);  // the tails are reached, not cut short
  expect_moments(s, 0.5, 0.1 * kTruncStd, "TruncatedNormal(0.5, 0.1)");
  EXPECT_THROW(init::TruncatedNormal({.stddev = -1.0}), ValueError);
  EXPECT_THROW(init::RandomNormal({.stddev = -1.0}), ValueError);
}

// ---------------------------------------------------------------- variance scaling family

TEST(Initializers, GlorotUniformLimitAndStd) {
  const double limit = std::sqrt(6.0 / (500 + 400));
  Stats s = stats_of(draw(init::GlorotUniform(), kDense));
  EXPECT_LE(s.max_abs, limit);
  EXPECT_GT(s.max_abs, 0.999 * limit);
  expect_moments(s, 0.0, limit / std::sqrt(3.0), "GlorotUniform dense");

  const double conv_limit = std::sqrt(6.0 / (800 + 1600));
  Stats c = stats_of(draw(init::GlorotUniform(), kConv));
  EXPECT_LE(c.max_abs, conv_limit);
  expect_moments(c, 0.0, conv_limit / std::sqrt(3.0), "GlorotUniform conv");
}

TEST(Initializers, GlorotNormalIsTheNotesXavierStd) {
  // Notes: stddev = sqrt(2 / (n_in + n_out)); Keras draws it from a ±2σ' truncated normal, σ' = std/0.8796.
  const double std = std::sqrt(2.0 / (800 + 1600));
  Stats s = stats_of(draw(init::GlorotNormal(), kConv));
  expect_moments(s, 0.0, std, "GlorotNormal conv");
  EXPECT_LE(s.max_abs, 2 * std / kTruncStd + 1e-6);
  EXPECT_GT(s.max_abs, 1.99 * std / kTruncStd);
}

TEST(Initializers, HeNormalStdUsesFanIn) {
  const double std = std::sqrt(2.0 / 500);
  Stats s = stats_of(draw(init::HeNormal(), kDense));
  expect_moments(s, 0.0, std, "HeNormal dense");
  EXPECT_LE(s.max_abs, 2 * std / kTruncStd + 1e-6);

  const double conv_std = std::sqrt(2.0 / 800);
  Stats c = stats_of(draw(init::HeNormal(), kConv));
  expect_moments(c, 0.0, conv_std, "HeNormal conv");
  EXPECT_LE(c.max_abs, 2 * conv_std / kTruncStd + 1e-6);
}

TEST(Initializers, HeUniformLimit) {
  const double limit = std::sqrt(6.0 / 800);
  Stats s = stats_of(draw(init::HeUniform(), kConv));
  EXPECT_LE(s.max_abs, limit);
  EXPECT_GT(s.max_abs, 0.999 * limit);
  expect_moments(s, 0.0, limit / std::sqrt(3.0), "HeUniform conv");
}

TEST(Initializers, LecunNormalAndUniform) {
  const double std = std::sqrt(1.0 / 500);
  Stats n = stats_of(draw(init::LecunNormal(), kDense));
  expect_moments(n, 0.0, std, "LecunNormal");
  EXPECT_LE(n.max_abs, 2 * std / kTruncStd + 1e-6);

  const double limit = std::sqrt(3.0 / 500);
  Stats u = stats_of(draw(init::LecunUniform(), kDense));
  EXPECT_LE(u.max_abs, limit);
  EXPECT_GT(u.max_abs, 0.999 * limit);
  expect_moments(u, 0.0, limit / std::sqrt(3.0), "LecunUniform");
}

TEST(Initializers, VarianceScalingModesAndDistributions) {
  // fan_out, untruncated normal: std sqrt(scale / fan_out), and values beyond the truncation point.
  init::VarianceScaling fan_out({.scale = 3.0, .mode = init::FanMode::FanOut,
                                 .distribution = init::Distribution::UntruncatedNormal});
  const double std = std::sqrt(3.0 / 400);
  Stats s = stats_of(draw(fan_out, kDense));
  expect_moments(s, 0.0, std, "VarianceScaling(3, fan_out, untruncated)");
  EXPECT_GT(s.max_abs, 2.5 * std);

  init::VarianceScaling fan_avg({.scale = 0.5, .mode = init::FanMode::FanAvg,
                                 .distribution = init::Distribution::Uniform});
  const double limit = std::sqrt(3.0 * 0.5 / 1200);  // fan_avg of the conv kernel = (800 + 1600) / 2
  Stats u = stats_of(draw(fan_avg, kConv));
  EXPECT_LE(u.max_abs, limit);
  expect_moments(u, 0.0, limit / std::sqrt(3.0), "VarianceScaling(0.5, fan_avg, uniform)");

  EXPECT_THROW(init::VarianceScaling({.scale = 0.0}), ValueError);
  EXPECT_THROW(init::VarianceScaling({.scale = -2.0}), ValueError);
  EXPECT_THROW(init::parse_fan_mode("fan_sideways"), ValueError);
  EXPECT_THROW(init::parse_distribution("cauchy"), ValueError);
  EXPECT_EQ(init::parse_distribution("normal"), init::Distribution::TruncatedNormal);  // Keras 2 spelling
}

TEST(Initializers, PresetsAreVarianceScalingWithKerasArguments) {
  auto check = [](const init::VarianceScaling& v, double scale, init::FanMode mode, init::Distribution dist) {
    EXPECT_EQ(v.options().scale, scale) << v.class_name();
    EXPECT_EQ(v.options().mode, mode) << v.class_name();
    EXPECT_EQ(v.options().distribution, dist) << v.class_name();
  };
  using D = init::Distribution;
  using M = init::FanMode;
  check(init::GlorotNormal(), 1.0, M::FanAvg, D::TruncatedNormal);
  check(init::GlorotUniform(), 1.0, M::FanAvg, D::Uniform);
  check(init::HeNormal(), 2.0, M::FanIn, D::TruncatedNormal);
  check(init::HeUniform(), 2.0, M::FanIn, D::Uniform);
  check(init::LecunNormal(), 1.0, M::FanIn, D::TruncatedNormal);
  check(init::LecunUniform(), 1.0, M::FanIn, D::Uniform);
}

// ---------------------------------------------------------------- the notes' schemes

TEST(Initializers, NotesStandardUniformRange) {
  // Notes: U(-1/sqrt(d), 1/sqrt(d)), d = inputs per neuron = fan_in.
  const double limit = 1.0 / std::sqrt(500.0);
  Stats s = stats_of(draw(init::StandardUniform(), kDense));
  EXPECT_LE(s.max_abs, limit);
  EXPECT_GT(s.max_abs, 0.999 * limit);
  expect_moments(s, 0.0, limit / std::sqrt(3.0), "StandardUniform dense");

  const double conv_limit = 1.0 / std::sqrt(800.0);
  Stats c = stats_of(draw(init::StandardUniform(), kConv));
  EXPECT_LE(c.max_abs, conv_limit);
  expect_moments(c, 0.0, conv_limit / std::sqrt(3.0), "StandardUniform conv");
}

TEST(Initializers, NotesSmallRandomNormalIsRandnTimesPointZeroOne) {
  Stats s = stats_of(draw(init::SmallRandomNormal(), kDense));
  expect_moments(s, 0.0, 0.01, "SmallRandomNormal");
  // Literally randn(shape) * 0.01 from the same generator state.
  Generator gen(99);
  Tensor expected = randn({20, 30}, {.dtype = f64, .generator = &gen}).mul(0.01);
  EXPECT_TRUE(testing::all_close(draw(init::SmallRandomNormal(), {20, 30}, 99, f64), expected, 1e-12, 0));
}

// ---------------------------------------------------------------- orthogonal

// Max |AᵀA − gain²·I| (or AAᵀ for wide matrices).
double gram_error(const Tensor& w2d, double gain) {
  const int64_t rows = w2d.size(0), cols = w2d.size(1);
  Tensor w = w2d.to(f64);
  Tensor gram = rows >= cols ? matmul(w, w, {.transpose_a = true}) : matmul(w, w, {.transpose_b = true});
  const int64_t k = std::min(rows, cols);
  Tensor diff = gram - eye(k, std::nullopt, f64) * (gain * gain);
  return max(abs(diff)).item<double>();
}

TEST(Initializers, OrthogonalTallWideAndConv) {
  Tensor tall = draw(init::Orthogonal(), kDense, 7, f64);  // 500 x 400: WᵀW = I
  EXPECT_EQ(tall.shape(), kDense);
  EXPECT_LT(gram_error(tall, 1.0), 1e-10);

  Tensor wide = draw(init::Orthogonal(), {40, 90}, 7, f64);  // WWᵀ = I
  EXPECT_LT(gram_error(wide, 1.0), 1e-10);

  Tensor scaled = draw(init::Orthogonal({.gain = 2.0}), {60, 30}, 7, f64);
  EXPECT_LT(gram_error(scaled, 2.0), 1e-10);

  // Conv kernels are flattened to (prod(shape[:-1]), shape[-1]) = (3·3·16, 32).
  Tensor conv = draw(init::Orthogonal(), {3, 3, 16, 32}, 7, f32);
  EXPECT_EQ(conv.dtype(), f32);
  EXPECT_LT(gram_error(conv.reshape({144, 32}), 1.0), 1e-5);

  Tensor square_w = draw(init::Orthogonal(), {64, 64}, 7, f64);
  EXPECT_LT(gram_error(square_w, 1.0), 1e-10);
  EXPECT_LT(gram_error(square_w.t().contiguous(), 1.0), 1e-10);  // square: both ways

  // Not something deterministic like the identity: the entries look Gaussian-ish with std 1/sqrt(n).
  Stats s = stats_of(tall);
  EXPECT_NEAR(s.std, 1.0 / std::sqrt(500.0), 0.1 / std::sqrt(500.0));

  Generator gen(1);
  EXPECT_THROW(init::Orthogonal()({10}, f32, gen), ValueError);
}

TEST(Initializers, IdentityIsGainTimesEye) {
  Generator gen(0);
  Tensor w = init::Identity({.gain = 3.0})({2, 3}, f64, gen);
  EXPECT_EQ(w.to_vector<double>(), (std::vector<double>{3, 0, 0, 0, 3, 0}));
  EXPECT_THROW(init::Identity()({2, 3, 4}, f64, gen), ValueError);
}

// ---------------------------------------------------------------- determinism and dtypes

TEST(Initializers, SameSeedSameTensorDifferentSeedDifferent) {
  const std::vector<init::InitializerPtr> all = {
      init::get("random_normal"), init::get("random_uniform"), init::get("truncated_normal"),
      init::get("glorot_normal"), init::get("glorot_uniform"), init::get("he_normal"),
      init::get("he_uniform"),    init::get("lecun_normal"),   init::get("lecun_uniform"),
      init::get("orthogonal"),    init::get("variance_scaling"), init::get("small_random_normal"),
      init::get("standard_uniform")};
  for (const auto& i : all) {
    Tensor a = draw(*i, {30, 20}, 42), b = draw(*i, {30, 20}, 42), c = draw(*i, {30, 20}, 43);
    EXPECT_EQ(a.to_vector<float>(), b.to_vector<float>()) << i->class_name();
    EXPECT_NE(a.to_vector<float>(), c.to_vector<float>()) << i->class_name();
    // Each call advances the generator it is given: two calls on one generator differ.
    Generator gen(42);
    Tensor first = (*i)({30, 20}, f32, gen), second = (*i)({30, 20}, f32, gen);
    EXPECT_NE(first.to_vector<float>(), second.to_vector<float>()) << i->class_name();
    EXPECT_EQ(first.to_vector<float>(), a.to_vector<float>()) << i->class_name();
  }
}

TEST(Initializers, SeedOptionOverridesTheGenerator) {
  init::GlorotUniform seeded({.seed = 5});
  Tensor a = draw(seeded, {30, 20}, 1), b = draw(seeded, {30, 20}, 2);
  EXPECT_EQ(a.to_vector<float>(), b.to_vector<float>());
  EXPECT_EQ(a.to_vector<float>(), draw(init::GlorotUniform(), {30, 20}, 5).to_vector<float>());
}

TEST(Initializers, DTypesAndBadRequests) {
  Tensor d = draw(init::HeNormal(), {10, 10}, 1, f64);
  EXPECT_EQ(d.dtype(), f64);
  EXPECT_FALSE(d.requires_grad());
  Generator gen(0);
  EXPECT_THROW(init::GlorotUniform()({10, 10}, i32, gen), DTypeError);
  EXPECT_THROW(init::Zeros()({10, 10}, i64, gen), DTypeError);
  EXPECT_THROW(init::RandomNormal()({10, -3}, f32, gen), ShapeError);
  // Empty dimensions: no draws, no division by a zero fan.
  EXPECT_EQ(init::HeNormal()({0, 5}, f32, gen).numel(), 0);
  EXPECT_EQ(init::Orthogonal()({0, 5}, f32, gen).numel(), 0);
}

// ---------------------------------------------------------------- factories and configs

TEST(Initializers, GetAcceptsKerasIdentifiers) {
  const std::vector<std::pair<std::string, std::string>> names = {
      {"zeros", "Zeros"},
      {"ones", "Ones"},
      {"constant", "Constant"},
      {"random_normal", "RandomNormal"},
      {"random_uniform", "RandomUniform"},
      {"truncated_normal", "TruncatedNormal"},
      {"variance_scaling", "VarianceScaling"},
      {"glorot_normal", "GlorotNormal"},
      {"glorot_uniform", "GlorotUniform"},
      {"he_normal", "HeNormal"},
      {"he_uniform", "HeUniform"},
      {"lecun_normal", "LecunNormal"},
      {"lecun_uniform", "LecunUniform"},
      {"orthogonal", "Orthogonal"},
      {"identity", "Identity"},
      {"small_random_normal", "SmallRandomNormal"},
      {"standard_uniform", "StandardUniform"},
      {"GlorotUniform", "GlorotUniform"},
      {"uniform", "RandomUniform"},
      {"normal", "RandomNormal"},
  };
  for (const auto& [name, cls] : names) EXPECT_EQ(init::get(name)->class_name(), cls) << name;
  EXPECT_EQ(init::get("random_normal")->get_config(), (nlohmann::json{{"mean", 0.0}, {"stddev", 0.05}, {"seed", nullptr}}));
  EXPECT_THROW(init::get("glorot_uniformm"), ValueError);
  EXPECT_THROW(init::get(""), ValueError);
}

TEST(Initializers, ConfigRoundTrips) {
  const std::vector<init::InitializerPtr> all = {
      std::make_shared<init::Zeros>(),
      std::make_shared<init::Ones>(),
      std::make_shared<init::Constant>(init::ConstantOptions{.value = -0.5}),
      std::make_shared<init::RandomNormal>(init::RandomNormalOptions{.mean = 1, .stddev = 0.5, .seed = 3}),
      std::make_shared<init::RandomUniform>(init::RandomUniformOptions{.minval = -1, .maxval = 2, .seed = {}}),
      std::make_shared<init::TruncatedNormal>(init::TruncatedNormalOptions{.mean = 0, .stddev = 0.2, .seed = 9}),
      std::make_shared<init::VarianceScaling>(init::VarianceScalingOptions{
          .scale = 0.3, .mode = init::FanMode::FanAvg, .distribution = init::Distribution::UntruncatedNormal, .seed = 4}),
      std::make_shared<init::GlorotNormal>(),
      std::make_shared<init::GlorotUniform>(init::SeedOptions{.seed = 11}),
      std::make_shared<init::HeNormal>(),
      std::make_shared<init::HeUniform>(),
      std::make_shared<init::LecunNormal>(),
      std::make_shared<init::LecunUniform>(),
      std::make_shared<init::Orthogonal>(init::OrthogonalOptions{.gain = 1.5, .seed = 2}),
      std::make_shared<init::Identity>(init::IdentityOptions{.gain = 0.5}),
      std::make_shared<init::SmallRandomNormal>(init::SmallRandomNormalOptions{.stddev = 0.02, .seed = {}}),
      std::make_shared<init::StandardUniform>(),
  };
  for (const auto& i : all) {
    const nlohmann::json j = i->get_config_json();
    EXPECT_EQ(j["class_name"], i->class_name());
    init::InitializerPtr back = init::from_config(j);
    EXPECT_EQ(back->class_name(), i->class_name());
    EXPECT_EQ(back->get_config(), i->get_config()) << j.dump();
    // Through text too, as a Keras file would carry it.
    init::InitializerPtr reparsed = init::from_config(nlohmann::json::parse(j.dump()));
    EXPECT_EQ(reparsed->get_config(), i->get_config()) << j.dump();
    EXPECT_EQ(draw(*back, {8, 6}, 17).to_vector<float>(), draw(*i, {8, 6}, 17).to_vector<float>()) << j.dump();
  }
}

TEST(Initializers, ReadsKerasJson) {
  auto a = init::from_config(nlohmann::json::parse(R"({"class_name": "GlorotUniform", "config": {"seed": null}})"));
  EXPECT_EQ(a->class_name(), "GlorotUniform");
  EXPECT_EQ(a->get_config(), (nlohmann::json{{"seed", nullptr}}));

  // Keras 3 serialisation carries module and registered_name.
  auto b = init::from_config(nlohmann::json::parse(
      R"({"module": "keras.initializers", "class_name": "VarianceScaling",
          "config": {"scale": 2.0, "mode": "fan_out", "distribution": "uniform", "seed": 7},
          "registered_name": null})"));
  const auto& vs = dynamic_cast<const init::VarianceScaling&>(*b);
  EXPECT_EQ(vs.options().scale, 2.0);
  EXPECT_EQ(vs.options().mode, init::FanMode::FanOut);
  EXPECT_EQ(vs.options().distribution, init::Distribution::Uniform);
  EXPECT_EQ(vs.options().seed, std::optional<uint64_t>(7));

  // Missing config and missing fields take the defaults; integers are accepted for floats.
  auto c = init::from_config(nlohmann::json::parse(R"({"class_name": "RandomNormal", "config": {"stddev": 1}})"));
  EXPECT_EQ(c->get_config(), (nlohmann::json{{"mean", 0.0}, {"stddev", 1.0}, {"seed", nullptr}}));
  EXPECT_EQ(init::from_config(nlohmann::json{{"class_name", "Zeros"}})->class_name(), "Zeros");
  EXPECT_EQ(init::from_config(nlohmann::json{{"class_name", "he_normal"}})->class_name(), "HeNormal");
}

template <typename E>
void expect_throw_naming(const nlohmann::json& j, const std::string& fragment) {
  try {
    init::from_config(j);
    ADD_FAILURE() << "no exception for " << j.dump();
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type for " << j.dump() << ": " << e.what();
  }
}

TEST(Initializers, BadConfigsAreReportedByName) {
  using nlohmann::json;
  expect_throw_naming<FormatError>(json{{"class_name", "GlorotUniformish"}, {"config", json::object()}},
                                   "GlorotUniformish");
  expect_throw_naming<FormatError>(json{{"class_name", "RandomNormal"}, {"config", {{"stddev", "big"}}}}, "stddev");
  expect_throw_naming<FormatError>(json{{"class_name", "RandomNormal"}, {"config", {{"mean", nullptr}}}}, "mean");
  expect_throw_naming<FormatError>(json{{"class_name", "VarianceScaling"}, {"config", {{"mode", 3}}}}, "mode");
  expect_throw_naming<FormatError>(json{{"class_name", "HeNormal"}, {"config", {{"seed", -1}}}}, "seed");
  expect_throw_naming<FormatError>(json{{"class_name", "HeNormal"}, {"config", {{"seed", 1.5}}}}, "seed");
  expect_throw_naming<FormatError>(json{{"class_name", "HeNormal"}, {"config", {{"scale", 2.0}}}}, "scale");
  expect_throw_naming<FormatError>(json{{"class_name", "Orthogonal"}, {"config", json::array()}}, "config");
  expect_throw_naming<FormatError>(json{{"class_name", 5}}, "class_name");
  expect_throw_naming<FormatError>(json{{"config", json::object()}}, "class_name");
  expect_throw_naming<FormatError>(json::array(), "object");
  expect_throw_naming<FormatError>(json{{"class_name", "Zeros"}, {"confg", json::object()}}, "confg");
  expect_throw_naming<ValueError>(json{{"class_name", "VarianceScaling"}, {"config", {{"mode", "fan_sideways"}}}},
                                  "fan_sideways");
  expect_throw_naming<ValueError>(json{{"class_name", "VarianceScaling"}, {"config", {{"distribution", "cauchy"}}}},
                                  "cauchy");
  expect_throw_naming<ValueError>(json{{"class_name", "TruncatedNormal"}, {"config", {{"stddev", -0.1}}}}, "stddev");
}

}  // namespace
}  // namespace ember
