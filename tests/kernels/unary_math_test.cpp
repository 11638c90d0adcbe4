// The vectorised float32 exp / log / sigmoid / tanh / elu / softplus (kernels/cpu/unary_math) against <cmath> in
// double precision, rounded to float: accuracy over the whole float range (subnormal results,
// overflow, +-inf, NaN included), agreement between the 8-lane body and the scalar tail, and
// independence from the thread count.
#include "ember/kernels/cpu/unary_math.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "ember/core/threads.hpp"
#include "test_support.hpp"

namespace kc = ember::kernels::cpu;
using kc::UnaryMath;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kAlpha = 1.5f;
constexpr UnaryMath kAllOps[] = {UnaryMath::exp, UnaryMath::sigmoid, UnaryMath::tanh,
                                 UnaryMath::elu, UnaryMath::log, UnaryMath::softplus};

double reference(UnaryMath op, double x) {
  switch (op) {
    case UnaryMath::exp: return std::exp(x);
    case UnaryMath::sigmoid: return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x));
    case UnaryMath::tanh: return std::tanh(x);
    case UnaryMath::elu: return x > 0 ? x : kAlpha * std::expm1(x);
    case UnaryMath::log: return std::log(x);
    case UnaryMath::softplus: return std::log1p(std::exp(-std::abs(x))) + std::max(x, 0.0);
  }
  return 0;
}

const char* name(UnaryMath op) {
  switch (op) {
    case UnaryMath::exp: return "exp";
    case UnaryMath::sigmoid: return "sigmoid";
    case UnaryMath::tanh: return "tanh";
    case UnaryMath::elu: return "elu";
    case UnaryMath::log: return "log";
    case UnaryMath::softplus: return "softplus";
  }
  return "?";
}

// A sweep of [-120, 120] fine enough to cross every range-reduction boundary, the edges of the
// float range, tiny magnitudes, and random values; n is not a multiple of 8, so a tail is run.
std::vector<float> inputs() {
  std::vector<float> x;
  for (double v = -120; v <= 120; v += 0.0037) x.push_back(static_cast<float>(v));
  for (float v : {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-8f, -1e-8f, 3e-4f, -3e-4f, 0.3465f, -0.3466f,
                  std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::min(),
                  88.0f, 88.5f, 88.72283f, 88.72284f, 89.0f, -87.0f, -87.3f, -87.34f, -100.0f,
                  -103.9f, -104.0f, -150.0f, 1e30f, -1e30f, kInf, -kInf, kNaN, -kNaN}) {
    x.push_back(v);
  }
  // For log: a geometric sweep of the positive floats (subnormals included), and the neighbours of 1
  // and of the range-reduction split at sqrt(2).
  for (double v = 1e-45; v < 3e38; v *= 1.0137) x.push_back(static_cast<float>(v));
  for (float c : {1.0f, 1.41421356f, 0.70710678f}) {
    float up = c, down = c;
    for (int i = 0; i < 40; ++i) {
      up = std::nextafter(up, kInf);
      down = std::nextafter(down, 0.0f);
      x.push_back(up);
      x.push_back(down);
    }
  }
  std::mt19937 gen(7);
  std::normal_distribution<float> normal(0.0f, 4.0f);
  for (int i = 0; i < 20001; ++i) x.push_back(normal(gen));
  if (x.size() % 8 == 0) x.push_back(0.5f);
  return x;
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0 || (std::isnan(a) && std::isnan(b)); }

}  // namespace

TEST(UnaryMathKernels, MatchDoublePrecisionCmathOverTheWholeRange) {
  const std::vector<float> x = inputs();
  ASSERT_NE(x.size() % 8, 0u);
  for (UnaryMath op : kAllOps) {
    std::vector<float> y(x.size());
    kc::unary_math_f32(op, x.data(), y.data(), static_cast<int64_t>(x.size()), kAlpha);
    double worst = 0;
    float worst_x = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double ref = reference(op, static_cast<double>(x[i]));
      const float ref_f = static_cast<float>(ref);
      if (std::isnan(ref)) {
        EXPECT_TRUE(std::isnan(y[i])) << name(op) << "(" << x[i] << ") = " << y[i] << ", expected NaN";
        continue;
      }
      if (std::isinf(ref_f)) {
        EXPECT_EQ(y[i], ref_f) << name(op) << "(" << x[i] << ")";
        continue;
      }
      // Relative error where the result is a normal float; an absolute floor of one subnormal ulp below.
      const double err = std::abs(static_cast<double>(y[i]) - ref);
      const double scale = std::max(std::abs(ref), static_cast<double>(std::numeric_limits<float>::min()));
      const double rel = (err - std::numeric_limits<float>::denorm_min()) / scale;
      if (rel > worst) worst = rel, worst_x = x[i];
      EXPECT_LE(rel, 5e-7) << name(op) << "(" << x[i] << ") = " << y[i] << ", expected " << ref;
    }
    std::printf("%s: worst relative error %.3g at x = %.9g\n", name(op), worst, worst_x);
  }
}

TEST(UnaryMathKernels, SpecialValues) {
  auto one = [](UnaryMath op, float v) {
    float y = 0;
    kc::unary_math_f32(op, &v, &y, 1, kAlpha);
    return y;
  };
  EXPECT_EQ(one(UnaryMath::exp, 0.0f), 1.0f);
  EXPECT_EQ(one(UnaryMath::exp, -kInf), 0.0f);
  EXPECT_EQ(one(UnaryMath::exp, kInf), kInf);
  EXPECT_EQ(one(UnaryMath::exp, 100.0f), kInf);
  EXPECT_EQ(one(UnaryMath::sigmoid, 0.0f), 0.5f);
  EXPECT_EQ(one(UnaryMath::sigmoid, kInf), 1.0f);
  EXPECT_EQ(one(UnaryMath::sigmoid, -kInf), 0.0f);
  EXPECT_EQ(one(UnaryMath::tanh, kInf), 1.0f);
  EXPECT_EQ(one(UnaryMath::tanh, -kInf), -1.0f);
  EXPECT_EQ(one(UnaryMath::tanh, 20.0f), 1.0f);
  EXPECT_TRUE(std::signbit(one(UnaryMath::tanh, -0.0f)));
  EXPECT_EQ(one(UnaryMath::elu, -kInf), -kAlpha);
  EXPECT_EQ(one(UnaryMath::elu, kInf), kInf);
  EXPECT_EQ(one(UnaryMath::log, 1.0f), 0.0f);
  EXPECT_EQ(one(UnaryMath::log, 0.0f), -kInf);
  EXPECT_EQ(one(UnaryMath::log, -0.0f), -kInf);
  EXPECT_EQ(one(UnaryMath::log, kInf), kInf);
  EXPECT_TRUE(std::isnan(one(UnaryMath::log, -1.0f)));
  EXPECT_TRUE(std::isnan(one(UnaryMath::log, -kInf)));
  EXPECT_EQ(one(UnaryMath::softplus, kInf), kInf);
  EXPECT_EQ(one(UnaryMath::softplus, -kInf), 0.0f);
  EXPECT_EQ(one(UnaryMath::softplus, 1e30f), 1e30f);
  for (UnaryMath op : kAllOps) {
    EXPECT_TRUE(std::isnan(one(op, kNaN))) << name(op);
  }
}

// Every element gets the same value whether it lands in the 8-lane body or in the scalar tail,
// and whatever the thread count.
TEST(UnaryMathKernels, ValuesDoNotDependOnPositionOrThreads) {
  const std::vector<float> x = inputs();
  const int64_t n = static_cast<int64_t>(x.size());
  const int threads = ember::get_num_threads();
  for (UnaryMath op : kAllOps) {
    std::vector<float> y1(x.size()), y2(x.size());
    ember::set_num_threads(1);
    kc::unary_math_f32(op, x.data(), y1.data(), n, kAlpha);
    ember::set_num_threads(2);
    kc::unary_math_f32(op, x.data(), y2.data(), n, kAlpha);
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_TRUE(same_bits(y1[i], y2[i])) << name(op) << " at " << i;
      float alone = 0;
      kc::unary_math_f32(op, &x[i], &alone, 1, kAlpha);  // the scalar path
      ASSERT_TRUE(same_bits(alone, y1[i])) << name(op) << "(" << x[i] << "): scalar " << alone << ", vector " << y1[i];
    }
  }
  ember::set_num_threads(threads);
}

TEST(UnaryMathKernels, InPlace) {
  std::vector<float> x = {-3, -1, -0.5f, 0, 0.25f, 1, 2, 4, 9, -9};
  std::vector<float> expected(x.size());
  kc::unary_math_f32(UnaryMath::tanh, x.data(), expected.data(), 10);
  kc::unary_math_f32(UnaryMath::tanh, x.data(), x.data(), 10);
  EXPECT_EQ(x, expected);
}
