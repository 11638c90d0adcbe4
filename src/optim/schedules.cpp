#include "ember/optim/schedules.hpp"

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <numbers>

#include "ember/core/error.hpp"
#include "ember/core/generator.hpp"

namespace ember::optim {

namespace {

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

void check_finite(const char* cls, const char* field, double v) {
  if (!std::isfinite(v)) throw ValueError(std::string(cls) + ": " + field + " must be finite, got " + num(v));
}
void check_non_negative(const char* cls, const char* field, double v) {
  check_finite(cls, field, v);
  if (v < 0) throw ValueError(std::string(cls) + ": " + field + " must be >= 0, got " + num(v));
}
void check_steps(const char* cls, const char* field, int64_t v) {
  if (v < 1) throw ValueError(std::string(cls) + ": " + field + " must be >= 1, got " + std::to_string(v));
}
void check_step(const char* cls, int64_t step) {
  if (step < 0) throw ValueError(std::string(cls) + ": step must be >= 0, got " + std::to_string(step));
}

double fraction(int64_t step, int64_t decay_steps, bool staircase) {
  double p = static_cast<double>(step) / static_cast<double>(decay_steps);
  return staircase ? std::floor(p) : p;
}

}  // namespace

PiecewiseConstantDecay::PiecewiseConstantDecay(std::vector<int64_t> boundaries, std::vector<double> values)
    : boundaries_(std::move(boundaries)), values_(std::move(values)) {
  if (values_.size() != boundaries_.size() + 1) {
    throw ValueError("PiecewiseConstantDecay: needs len(values) == len(boundaries) + 1, got " +
                     std::to_string(values_.size()) + " values for " + std::to_string(boundaries_.size()) +
                     " boundaries");
  }
  for (std::size_t i = 1; i < boundaries_.size(); ++i) {
    if (boundaries_[i] < boundaries_[i - 1]) {
      throw ValueError("PiecewiseConstantDecay: boundaries must be non-decreasing, got " +
                       std::to_string(boundaries_[i - 1]) + " then " + std::to_string(boundaries_[i]));
    }
  }
  for (double v : values_) check_finite("PiecewiseConstantDecay", "values", v);
}

double PiecewiseConstantDecay::operator()(int64_t step) const {
  // First boundary >= step: its index is the piece.
  auto it = std::lower_bound(boundaries_.begin(), boundaries_.end(), step);
  return values_[static_cast<std::size_t>(it - boundaries_.begin())];
}

ExponentialDecay::ExponentialDecay(ExponentialDecayOptions o) : o_(o) {
  check_finite("ExponentialDecay", "initial_learning_rate", o.initial_learning_rate);
  check_steps("ExponentialDecay", "decay_steps", o.decay_steps);
  check_non_negative("ExponentialDecay", "decay_rate", o.decay_rate);
}
double ExponentialDecay::operator()(int64_t step) const {
  check_step("ExponentialDecay", step);
  return o_.initial_learning_rate * std::pow(o_.decay_rate, fraction(step, o_.decay_steps, o_.staircase));
}

NaturalExpDecay::NaturalExpDecay(NaturalExpDecayOptions o) : o_(o) {
  check_finite("NaturalExpDecay", "initial_learning_rate", o.initial_learning_rate);
  check_steps("NaturalExpDecay", "decay_steps", o.decay_steps);
  check_finite("NaturalExpDecay", "decay_rate", o.decay_rate);
}
double NaturalExpDecay::operator()(int64_t step) const {
  check_step("NaturalExpDecay", step);
  return o_.initial_learning_rate * std::exp(-o_.decay_rate * fraction(step, o_.decay_steps, o_.staircase));
}

InverseTimeDecay::InverseTimeDecay(InverseTimeDecayOptions o) : o_(o) {
  check_finite("InverseTimeDecay", "initial_learning_rate", o.initial_learning_rate);
  check_steps("InverseTimeDecay", "decay_steps", o.decay_steps);
  check_non_negative("InverseTimeDecay", "decay_rate", o.decay_rate);
}
double InverseTimeDecay::operator()(int64_t step) const {
  check_step("InverseTimeDecay", step);
  return o_.initial_learning_rate / (1.0 + o_.decay_rate * fraction(step, o_.decay_steps, o_.staircase));
}

EpochInverseDecay::EpochInverseDecay(EpochInverseDecayOptions o) : o_(o) {
  check_finite("EpochInverseDecay", "initial_learning_rate", o.initial_learning_rate);
  check_non_negative("EpochInverseDecay", "decay_rate", o.decay_rate);
  if (o.steps_per_epoch < 0) {
    throw ValueError("EpochInverseDecay: steps_per_epoch must be >= 0 (0 = argument is the epoch), got " +
                     std::to_string(o.steps_per_epoch));
  }
}
double EpochInverseDecay::at_epoch(int64_t epoch_num) const {
  check_step("EpochInverseDecay", epoch_num);
  return o_.initial_learning_rate / (1.0 + o_.decay_rate * static_cast<double>(epoch_num));
}
double EpochInverseDecay::operator()(int64_t step_or_epoch) const {
  check_step("EpochInverseDecay", step_or_epoch);
  if (o_.steps_per_epoch == 0) return at_epoch(step_or_epoch);
  return at_epoch(step_or_epoch / o_.steps_per_epoch + 1);
}

PolynomialDecay::PolynomialDecay(PolynomialDecayOptions o) : o_(o) {
  check_finite("PolynomialDecay", "initial_learning_rate", o.initial_learning_rate);
  check_steps("PolynomialDecay", "decay_steps", o.decay_steps);
  check_finite("PolynomialDecay", "end_learning_rate", o.end_learning_rate);
  check_non_negative("PolynomialDecay", "power", o.power);
}
double PolynomialDecay::operator()(int64_t step) const {
  check_step("PolynomialDecay", step);
  double t = static_cast<double>(step), d = static_cast<double>(o_.decay_steps);
  if (o_.cycle) {
    double mult = step == 0 ? 1.0 : std::ceil(t / d);
    d *= mult;
  } else {
    t = std::min(t, d);
  }
  return (o_.initial_learning_rate - o_.end_learning_rate) * std::pow(1.0 - t / d, o_.power) + o_.end_learning_rate;
}

CosineDecay::CosineDecay(CosineDecayOptions o) : o_(o) {
  check_finite("CosineDecay", "initial_learning_rate", o.initial_learning_rate);
  check_steps("CosineDecay", "decay_steps", o.decay_steps);
  check_finite("CosineDecay", "alpha", o.alpha);
}
double CosineDecay::operator()(int64_t step) const {
  check_step("CosineDecay", step);
  double p = static_cast<double>(std::min(step, o_.decay_steps)) / static_cast<double>(o_.decay_steps);
  double cosine = 0.5 * (1.0 + std::cos(std::numbers::pi * p));
  return o_.initial_learning_rate * ((1.0 - o_.alpha) * cosine + o_.alpha);
}

CosineDecayRestarts::CosineDecayRestarts(CosineDecayRestartsOptions o) : o_(o) {
  check_finite("CosineDecayRestarts", "initial_learning_rate", o.initial_learning_rate);
  check_steps("CosineDecayRestarts", "first_decay_steps", o.first_decay_steps);
  check_finite("CosineDecayRestarts", "t_mul", o.t_mul);
  if (o.t_mul <= 0) throw ValueError("CosineDecayRestarts: t_mul must be > 0, got " + num(o.t_mul));
  check_non_negative("CosineDecayRestarts", "m_mul", o.m_mul);
  check_finite("CosineDecayRestarts", "alpha", o.alpha);
}
double CosineDecayRestarts::operator()(int64_t step) const {
  check_step("CosineDecayRestarts", step);
  double f = static_cast<double>(step) / static_cast<double>(o_.first_decay_steps);
  double i_restart;
  if (o_.t_mul == 1.0) {
    i_restart = std::floor(f);
    f -= i_restart;
  } else {
    // Periods 1, t, t^2, ...: restart i starts at (1 - t^i)/(1 - t) in units of first_decay_steps.
    i_restart = std::floor(std::log(1.0 - f * (1.0 - o_.t_mul)) / std::log(o_.t_mul));
    double sum_r = (1.0 - std::pow(o_.t_mul, i_restart)) / (1.0 - o_.t_mul);
    f = (f - sum_r) / std::pow(o_.t_mul, i_restart);
  }
  double cosine = 0.5 * std::pow(o_.m_mul, i_restart) * (1.0 + std::cos(std::numbers::pi * f));
  return o_.initial_learning_rate * ((1.0 - o_.alpha) * cosine + o_.alpha);
}

LinearCosineDecay::LinearCosineDecay(LinearCosineDecayOptions o) : o_(o) {
  check_finite("LinearCosineDecay", "initial_learning_rate", o.initial_learning_rate);
  check_steps("LinearCosineDecay", "decay_steps", o.decay_steps);
  check_finite("LinearCosineDecay", "num_periods", o.num_periods);
  check_finite("LinearCosineDecay", "alpha", o.alpha);
  check_finite("LinearCosineDecay", "beta", o.beta);
}
double LinearCosineDecay::operator()(int64_t step) const {
  check_step("LinearCosineDecay", step);
  double d = static_cast<double>(o_.decay_steps), t = std::min(static_cast<double>(step), d);
  double linear = (d - t) / d;
  double cosine = 0.5 * (1.0 + std::cos(std::numbers::pi * 2.0 * o_.num_periods * t / d));
  return o_.initial_learning_rate * ((o_.alpha + linear) * cosine + o_.beta);
}

NoisyLinearCosineDecay::NoisyLinearCosineDecay(NoisyLinearCosineDecayOptions o) : o_(o) {
  check_finite("NoisyLinearCosineDecay", "initial_learning_rate", o.initial_learning_rate);
  check_steps("NoisyLinearCosineDecay", "decay_steps", o.decay_steps);
  check_non_negative("NoisyLinearCosineDecay", "initial_variance", o.initial_variance);
  check_finite("NoisyLinearCosineDecay", "variance_decay", o.variance_decay);
  check_finite("NoisyLinearCosineDecay", "num_periods", o.num_periods);
  check_finite("NoisyLinearCosineDecay", "alpha", o.alpha);
  check_finite("NoisyLinearCosineDecay", "beta", o.beta);
}
double NoisyLinearCosineDecay::noise(int64_t step) const {
  // splitmix64-style mixing of (seed, step) so neighbouring steps get unrelated streams.
  uint64_t z = o_.seed + 0x9E3779B97F4A7C15ULL * (static_cast<uint64_t>(step) + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  Generator gen(z ^ (z >> 31));
  return gen.normal();
}
double NoisyLinearCosineDecay::operator()(int64_t step) const {
  check_step("NoisyLinearCosineDecay", step);
  double d = static_cast<double>(o_.decay_steps), t = std::min(static_cast<double>(step), d);
  double stddev = std::sqrt(o_.initial_variance / std::pow(1.0 + t, o_.variance_decay));
  double linear = (d - t) / d + noise(step) * stddev;
  double cosine = 0.5 * (1.0 + std::cos(std::numbers::pi * 2.0 * o_.num_periods * t / d));
  return o_.initial_learning_rate * ((o_.alpha + linear) * cosine + o_.beta);
}

LambdaSchedule::LambdaSchedule(std::function<double(int64_t)> fn) : fn_(std::move(fn)) {
  if (!fn_) throw ValueError("LambdaSchedule: needs a callable, got an empty std::function");
}

}  // namespace ember::optim
