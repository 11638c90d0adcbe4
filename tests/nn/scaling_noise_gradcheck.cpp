// f64 gradient checks (the notes' criterion, relative error < 1e-7) of Normalization, Rescaling,
// GaussianNoise and GaussianDropout w.r.t. their input. The statistics of Normalization are
// non-trainable, so only the input is checked; the noise layers are checked in training mode with
// a fresh seeded layer per evaluation (the same noise every time).
#include <gtest/gtest.h>

#include "ember/nn/layers/noise.hpp"
#include "ember/nn/layers/scaling.hpp"
#include "test_support.hpp"

namespace ember {
namespace {

using testing::gradcheck_ok;
using Inputs = std::vector<Tensor>;

Tensor leaf(const Shape& shape, uint64_t seed) { return testing::random_f64(shape, seed).requires_grad_(); }

TEST(ScalingNoiseGradcheck, NormalizationAdapted) {
  nn::Normalization norm;
  norm.adapt(testing::random_f64({20, 3}, 1, -5, 5));
  // f64 statistics, so the check runs in f64 throughout.
  for (const char* w : {"mean", "variance"}) {
    Tensor& v = norm.find_weight(w)->value();
    v = v.to(f64);
  }
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return norm(x[0]) * norm(x[0]); }, {leaf({4, 3}, 2)}));
}

TEST(ScalingNoiseGradcheck, NormalizationFixedTwoAxesInvert) {
  nn::Normalization norm({.axis = {1, 2}, .mean = {1, 2, 3, 4}, .variance = {0.5, 2, 3, 0.25}, .invert = true});
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return square(norm(x[0])); }, {leaf({3, 2, 2}, 3)}));
}

TEST(ScalingNoiseGradcheck, Rescaling) {
  nn::Rescaling r({.scale = -0.7, .offset = 0.3});
  EXPECT_TRUE(gradcheck_ok([&](const Inputs& x) { return square(r(x[0])); }, {leaf({2, 5}, 4)}));
}

TEST(ScalingNoiseGradcheck, GaussianNoiseTrainingFixedSeed) {
  EXPECT_TRUE(gradcheck_ok(
      [](const Inputs& x) {
        nn::GaussianNoise noise({.stddev = 0.3, .seed = 5});
        return square(noise(x[0], true));
      },
      {leaf({4, 6}, 5)}));
}

TEST(ScalingNoiseGradcheck, GaussianDropoutTrainingFixedSeed) {
  EXPECT_TRUE(gradcheck_ok(
      [](const Inputs& x) {
        nn::GaussianDropout drop({.rate = 0.3, .seed = 6});
        return drop(x[0], true);
      },
      {leaf({4, 6}, 6)}));
}

}  // namespace
}  // namespace ember
