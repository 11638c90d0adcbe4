// Learning-rate schedules against the TensorFlow formulas written out plainly here, and the notes'
// worked numbers.
#include <cmath>
#include <numbers>

#include "test_support.hpp"

namespace ember {
namespace {

using namespace optim;
constexpr double kPi = std::numbers::pi;
constexpr int64_t D = 100;  // decay_steps in every test below
const std::vector<int64_t> kSteps = {0, 1, 5, D - 1, D, 250, 100000};

TEST(Schedules, PiecewiseConstantDecay) {
  // The notes' example shape: 1.0 up to 100000 steps, 0.5 up to 110000, then 0.1.
  PiecewiseConstantDecay s({100000, 110000}, {1.0, 0.5, 0.1});
  EXPECT_EQ(s(0), 1.0);
  EXPECT_EQ(s(100000), 1.0);  // step <= b0 -> v0
  EXPECT_EQ(s(100001), 0.5);
  EXPECT_EQ(s(110000), 0.5);
  EXPECT_EQ(s(110001), 0.1);
  EXPECT_EQ(s(10000000), 0.1);
}

TEST(Schedules, ExponentialDecay) {
  ExponentialDecay s({.initial_learning_rate = 0.1, .decay_steps = D, .decay_rate = 0.96});
  ExponentialDecay st({.initial_learning_rate = 0.1, .decay_steps = D, .decay_rate = 0.96, .staircase = true});
  for (int64_t k : kSteps) {
    EXPECT_NEAR(s(k), 0.1 * std::pow(0.96, double(k) / D), 1e-15) << k;
    EXPECT_NEAR(st(k), 0.1 * std::pow(0.96, std::floor(double(k) / D)), 1e-15) << k;
  }
  EXPECT_EQ(st(D - 1), 0.1);
  EXPECT_NEAR(st(D), 0.096, 1e-16);
}

TEST(Schedules, NaturalExpDecay) {
  NaturalExpDecay s({.initial_learning_rate = 0.1, .decay_steps = D, .decay_rate = 0.5});
  NaturalExpDecay st({.initial_learning_rate = 0.1, .decay_steps = D, .decay_rate = 0.5, .staircase = true});
  for (int64_t k : kSteps) {
    EXPECT_NEAR(s(k), 0.1 * std::exp(-0.5 * double(k) / D), 1e-15) << k;
    EXPECT_NEAR(st(k), 0.1 * std::exp(-0.5 * std::floor(double(k) / D)), 1e-15) << k;
  }
}

TEST(Schedules, InverseTimeDecay) {
  InverseTimeDecay s({.initial_learning_rate = 0.1, .decay_steps = D, .decay_rate = 0.5});
  InverseTimeDecay st({.initial_learning_rate = 0.1, .decay_steps = D, .decay_rate = 0.5, .staircase = true});
  for (int64_t k : kSteps) {
    EXPECT_NEAR(s(k), 0.1 / (1 + 0.5 * double(k) / D), 1e-15) << k;
    EXPECT_NEAR(st(k), 0.1 / (1 + 0.5 * std::floor(double(k) / D)), 1e-15) << k;
  }
}

TEST(Schedules, EpochInverseDecayNotesNumbers) {
  // r = r0 / (1 + decayRate * epochNum), r0 = 0.2, decayRate = 1: epochs 1..4 -> 0.1, 0.0667, 0.05, 0.04.
  EpochInverseDecay s({.initial_learning_rate = 0.2, .decay_rate = 1.0});
  EXPECT_NEAR(s(1), 0.1, 1e-15);
  EXPECT_NEAR(s(2), 0.2 / 3, 1e-15);
  EXPECT_NEAR(s(2), 0.0667, 5e-5);
  EXPECT_NEAR(s(3), 0.05, 1e-15);
  EXPECT_NEAR(s(4), 0.04, 1e-15);
  EXPECT_EQ(s(0), 0.2);
  // Driven by optimizer steps: 10 steps per epoch, the first epoch is epochNum 1.
  EpochInverseDecay per_step({.initial_learning_rate = 0.2, .decay_rate = 1.0, .steps_per_epoch = 10});
  EXPECT_NEAR(per_step(0), 0.1, 1e-15);
  EXPECT_NEAR(per_step(9), 0.1, 1e-15);
  EXPECT_NEAR(per_step(10), 0.2 / 3, 1e-15);
  EXPECT_NEAR(per_step(39), 0.04, 1e-15);
}

double poly_tf(double step, double lr0, double d, double end, double power, bool cycle) {
  if (cycle) {
    d = d * (step == 0 ? 1.0 : std::ceil(step / d));
  } else {
    step = std::min(step, d);
  }
  return (lr0 - end) * std::pow(1 - step / d, power) + end;
}

TEST(Schedules, PolynomialDecay) {
  PolynomialDecay lin({.initial_learning_rate = 0.1, .decay_steps = D});
  PolynomialDecay sq({.initial_learning_rate = 0.1, .decay_steps = D, .end_learning_rate = 0.01, .power = 2.0});
  PolynomialDecay cyc({.initial_learning_rate = 0.1, .decay_steps = D, .end_learning_rate = 0.01, .power = 0.5, .cycle = true});
  for (int64_t k : kSteps) {
    EXPECT_NEAR(lin(k), poly_tf(k, 0.1, D, 1e-4, 1.0, false), 1e-15) << k;
    EXPECT_NEAR(sq(k), poly_tf(k, 0.1, D, 0.01, 2.0, false), 1e-15) << k;
    EXPECT_NEAR(cyc(k), poly_tf(k, 0.1, D, 0.01, 0.5, true), 1e-15) << k;
  }
  EXPECT_NEAR(lin(D), 1e-4, 1e-18);
  EXPECT_NEAR(lin(5 * D), 1e-4, 1e-18);  // stays at the end rate
  // Cycle: at step 0 the period is decay_steps (ceil(0) taken as 1); at D it has decayed fully; just
  // after, the period doubles and the rate jumps back up.
  EXPECT_NEAR(cyc(0), 0.1, 1e-15);
  EXPECT_NEAR(cyc(D), 0.01, 1e-15);
  EXPECT_NEAR(cyc(D + 1), 0.09 * std::sqrt(1 - (D + 1.0) / (2.0 * D)) + 0.01, 1e-15);
  EXPECT_GT(cyc(D + 1), cyc(D));
  EXPECT_NEAR(cyc(250), 0.09 * std::sqrt(1 - 250.0 / 300.0) + 0.01, 1e-15);
}

TEST(Schedules, CosineDecay) {
  CosineDecay s({.initial_learning_rate = 0.1, .decay_steps = D, .alpha = 0.1});
  for (int64_t k : kSteps) {
    double p = std::min<double>(k, D) / D;
    EXPECT_NEAR(s(k), 0.1 * (0.9 * 0.5 * (1 + std::cos(kPi * p)) + 0.1), 1e-15) << k;
  }
  EXPECT_NEAR(s(D), 0.01, 1e-15);
}

// TF's CosineDecayRestarts, written out with explicit period bookkeeping (not the closed form).
double restarts_ref(int64_t step, double lr0, double first, double t_mul, double m_mul, double alpha) {
  double start = 0, len = first, mult = 1;
  while (step >= start + len) {
    start += len;
    len *= t_mul;
    mult *= m_mul;
  }
  double f = (step - start) / len;
  return lr0 * ((1 - alpha) * mult * 0.5 * (1 + std::cos(kPi * f)) + alpha);
}

TEST(Schedules, CosineDecayRestartsAcrossRestarts) {
  CosineDecayRestarts geo({.initial_learning_rate = 0.1, .first_decay_steps = D, .t_mul = 2.0, .m_mul = 0.5, .alpha = 0.05});
  CosineDecayRestarts flat({.initial_learning_rate = 0.1, .first_decay_steps = D, .t_mul = 1.0, .m_mul = 0.8});
  // Periods of geo: [0,100), [100,300), [300,700), ...
  for (int64_t k : {0, 1, 5, 99, 100, 101, 250, 299, 300, 301, 650, 699, 700, 5000}) {
    EXPECT_NEAR(geo(k), restarts_ref(k, 0.1, D, 2.0, 0.5, 0.05), 1e-12) << k;
    EXPECT_NEAR(flat(k), restarts_ref(k, 0.1, D, 1.0, 0.8, 0.0), 1e-12) << k;
  }
  EXPECT_NEAR(geo(D), 0.1 * (0.95 * 0.5 + 0.05), 1e-12);      // second period starts at m_mul
  EXPECT_NEAR(geo(3 * D), 0.1 * (0.95 * 0.25 + 0.05), 1e-12);  // third at m_mul^2
  EXPECT_NEAR(flat(2 * D + 50), 0.1 * 0.64 * 0.5, 1e-12);
}

TEST(Schedules, LinearCosineDecay) {
  LinearCosineDecay s({.initial_learning_rate = 0.1, .decay_steps = D, .num_periods = 2.0, .alpha = 0.1, .beta = 0.01});
  for (int64_t k : kSteps) {
    double t = std::min<double>(k, D);
    double expect = 0.1 * ((0.1 + (D - t) / D) * 0.5 * (1 + std::cos(kPi * 2 * 2.0 * t / D)) + 0.01);
    EXPECT_NEAR(s(k), expect, 1e-15) << k;
  }
}

TEST(Schedules, NoisyLinearCosineDecayIsSeededAndFollowsTheFormula) {
  NoisyLinearCosineDecayOptions o{.initial_learning_rate = 0.1, .decay_steps = D, .seed = 7};
  NoisyLinearCosineDecay a(o), b(o);
  o.seed = 8;
  NoisyLinearCosineDecay c(o);
  int differ = 0;
  for (int64_t k : kSteps) {
    EXPECT_EQ(a(k), b(k)) << k;  // same seed: bit-identical
    EXPECT_EQ(a(k), a(k)) << k;  // pure function of the step
    differ += a.noise(k) != c.noise(k);  // (the rates themselves coincide once the cosine factor is 0)
    double t = std::min<double>(k, D);
    double stddev = std::sqrt(1.0 / std::pow(1 + t, 0.55));
    double expect = 0.1 * ((0.0 + (D - t) / D + a.noise(k) * stddev) * 0.5 * (1 + std::cos(kPi * 2 * 0.5 * t / D)) + 0.001);
    EXPECT_NEAR(a(k), expect, 1e-15) << k;
  }
  EXPECT_EQ(differ, static_cast<int>(kSteps.size()));
  EXPECT_NE(a(5), c(5));
  // Zero variance is the noiseless LinearCosineDecay.
  NoisyLinearCosineDecay quiet({.initial_learning_rate = 0.1, .decay_steps = D, .initial_variance = 0.0, .seed = 3});
  LinearCosineDecay plain({.initial_learning_rate = 0.1, .decay_steps = D});
  for (int64_t k : kSteps) EXPECT_NEAR(quiet(k), plain(k), 1e-16) << k;
  // The draws look standard normal.
  double sum = 0, sq = 0;
  const int n = 4000;
  for (int k = 0; k < n; ++k) {
    double z = a.noise(k);
    sum += z;
    sq += z * z;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.1);
  EXPECT_NEAR(sq / n, 1.0, 0.1);
}

TEST(Schedules, LambdaScheduleAndLearningRateConversions) {
  LambdaSchedule s([](int64_t k) { return 1.0 / (1 + k); });
  EXPECT_EQ(s(3), 0.25);
  LearningRate from_value = 0.5, from_obj = ExponentialDecay({.initial_learning_rate = 1, .decay_steps = 1, .decay_rate = 0.5}),
               from_ptr = std::make_shared<CosineDecay>(CosineDecayOptions{.initial_learning_rate = 1, .decay_steps = 2}),
               from_fn = [](int64_t k) { return 2.0 * k; };
  EXPECT_FALSE(from_value.is_schedule());
  EXPECT_EQ(from_value(7), 0.5);
  EXPECT_EQ(from_obj(2), 0.25);
  EXPECT_EQ(from_obj.schedule()->name(), "ExponentialDecay");
  EXPECT_NEAR(from_ptr(1), 0.5, 1e-16);
  EXPECT_EQ(from_fn(3), 6.0);
}

TEST(SchedulesBadInput, ClearErrors) {
  try {
    PiecewiseConstantDecay({10, 20}, {1.0, 0.5});
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("len(values) == len(boundaries) + 1, got 2 values for 2 boundaries"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(PiecewiseConstantDecay({20, 10}, {1.0, 0.5, 0.1}), ValueError);
  EXPECT_THROW(ExponentialDecay({.initial_learning_rate = 0.1}), ValueError);  // decay_steps not set
  EXPECT_THROW(PolynomialDecay({.decay_steps = -5}), ValueError);
  EXPECT_THROW(CosineDecayRestarts({.first_decay_steps = 10, .t_mul = 0.0}), ValueError);
  EXPECT_THROW(ExponentialDecay({.decay_steps = 10})(-1), ValueError);
  EXPECT_THROW(LambdaSchedule(nullptr), ValueError);
}

}  // namespace
}  // namespace ember
