#pragma once
// Learning-rate schedules: the formulas of tf.keras.optimizers.schedules (and of TF1's
// tf.compat.v1.train.*_decay for NaturalExpDecay, LinearCosineDecay, NoisyLinearCosineDecay),
// evaluated in double. A schedule maps the optimizer's step counter (0 for the first update, as
// Keras passes `optimizer.iterations` before incrementing it) to a learning rate.
//
//   optim::Adam({.learning_rate = optim::ExponentialDecay({.initial_learning_rate = 1e-3,
//                                                          .decay_steps = 1000, .decay_rate = 0.96})});
//
// Options are validated on construction (decay_steps >= 1, rates finite, ...): ValueError otherwise.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ember::optim {

class LearningRateSchedule {
 public:
  virtual ~LearningRateSchedule() = default;
  virtual double operator()(int64_t step) const = 0;
  virtual std::string name() const = 0;  // the Keras class name, e.g. "ExponentialDecay"
};

// lr = values[0] for step <= boundaries[0], values[i] for boundaries[i-1] < step <= boundaries[i],
// values.back() for step > boundaries.back(). Needs values.size() == boundaries.size() + 1 and
// non-decreasing boundaries.
class PiecewiseConstantDecay final : public LearningRateSchedule {
 public:
  PiecewiseConstantDecay(std::vector<int64_t> boundaries, std::vector<double> values);
  double operator()(int64_t step) const override;
  std::string name() const override { return "PiecewiseConstantDecay"; }

 private:
  std::vector<int64_t> boundaries_;
  std::vector<double> values_;
};

// lr = initial * decay_rate^(step/decay_steps)   (exponent floored when staircase)
struct ExponentialDecayOptions {
  double initial_learning_rate = 0.01;
  int64_t decay_steps = 0;  // required, >= 1
  double decay_rate = 0.96;
  bool staircase = false;
};
class ExponentialDecay final : public LearningRateSchedule {
 public:
  explicit ExponentialDecay(ExponentialDecayOptions o);
  double operator()(int64_t step) const override;
  std::string name() const override { return "ExponentialDecay"; }
  const ExponentialDecayOptions& options() const { return o_; }

 private:
  ExponentialDecayOptions o_;
};

// lr = initial * exp(-decay_rate * step/decay_steps)   (TF1 natural_exp_decay; floored when staircase)
struct NaturalExpDecayOptions {
  double initial_learning_rate = 0.01;
  int64_t decay_steps = 0;  // required, >= 1
  double decay_rate = 0.5;
  bool staircase = false;
};
class NaturalExpDecay final : public LearningRateSchedule {
 public:
  explicit NaturalExpDecay(NaturalExpDecayOptions o);
  double operator()(int64_t step) const override;
  std::string name() const override { return "NaturalExpDecay"; }

 private:
  NaturalExpDecayOptions o_;
};

// lr = initial / (1 + decay_rate * step/decay_steps)   (floored when staircase; the notes' "1/t decay")
struct InverseTimeDecayOptions {
  double initial_learning_rate = 0.01;
  int64_t decay_steps = 0;  // required, >= 1
  double decay_rate = 0.5;
  bool staircase = false;
};
class InverseTimeDecay final : public LearningRateSchedule {
 public:
  explicit InverseTimeDecay(InverseTimeDecayOptions o);
  double operator()(int64_t step) const override;
  std::string name() const override { return "InverseTimeDecay"; }

 private:
  InverseTimeDecayOptions o_;
};

// The notes' per-epoch decay  r = r0 / (1 + decay_rate * epoch_num).
// With steps_per_epoch == 0 the argument IS the epoch number (for an epoch-driven scheduler
// callback). With steps_per_epoch > 0 the argument is the optimizer step and
// epoch_num = step / steps_per_epoch + 1, the notes' 1-based count (steps of the first epoch use
// r0 / (1 + decay_rate)).
struct EpochInverseDecayOptions {
  double initial_learning_rate = 0.2;
  double decay_rate = 1.0;
  int64_t steps_per_epoch = 0;
};
class EpochInverseDecay final : public LearningRateSchedule {
 public:
  explicit EpochInverseDecay(EpochInverseDecayOptions o);
  double operator()(int64_t step_or_epoch) const override;
  double at_epoch(int64_t epoch_num) const;
  std::string name() const override { return "EpochInverseDecay"; }

 private:
  EpochInverseDecayOptions o_;
};

// TF PolynomialDecay:
//   cycle = false: t = min(step, decay_steps), D = decay_steps
//   cycle = true:  t = step, D = decay_steps * ceil(step/decay_steps)  (ceil taken as 1 at step 0)
//   lr = (initial - end) * (1 - t/D)^power + end
struct PolynomialDecayOptions {
  double initial_learning_rate = 0.01;
  int64_t decay_steps = 0;  // required, >= 1
  double end_learning_rate = 1e-4;
  double power = 1.0;
  bool cycle = false;
};
class PolynomialDecay final : public LearningRateSchedule {
 public:
  explicit PolynomialDecay(PolynomialDecayOptions o);
  double operator()(int64_t step) const override;
  std::string name() const override { return "PolynomialDecay"; }

 private:
  PolynomialDecayOptions o_;
};

// TF CosineDecay (no warm-up): p = min(step, decay_steps)/decay_steps,
//   lr = initial * ((1 - alpha) * 0.5 * (1 + cos(pi p)) + alpha)
struct CosineDecayOptions {
  double initial_learning_rate = 0.01;
  int64_t decay_steps = 0;  // required, >= 1
  double alpha = 0.0;
};
class CosineDecay final : public LearningRateSchedule {
 public:
  explicit CosineDecay(CosineDecayOptions o);
  double operator()(int64_t step) const override;
  std::string name() const override { return "CosineDecay"; }

 private:
  CosineDecayOptions o_;
};

// TF CosineDecayRestarts (SGDR): period i lasts first_decay_steps * t_mul^i steps and starts from
// initial * m_mul^i; inside a period lr = initial * ((1 - alpha) * m_mul^i * 0.5 * (1 + cos(pi f)) + alpha).
struct CosineDecayRestartsOptions {
  double initial_learning_rate = 0.01;
  int64_t first_decay_steps = 0;  // required, >= 1
  double t_mul = 2.0;
  double m_mul = 1.0;
  double alpha = 0.0;
};
class CosineDecayRestarts final : public LearningRateSchedule {
 public:
  explicit CosineDecayRestarts(CosineDecayRestartsOptions o);
  double operator()(int64_t step) const override;
  std::string name() const override { return "CosineDecayRestarts"; }

 private:
  CosineDecayRestartsOptions o_;
};

// TF1 linear_cosine_decay: t = min(step, decay_steps),
//   lr = initial * ((alpha + (decay_steps - t)/decay_steps) * 0.5 * (1 + cos(2 pi num_periods t/decay_steps)) + beta)
struct LinearCosineDecayOptions {
  double initial_learning_rate = 0.01;
  int64_t decay_steps = 0;  // required, >= 1
  double num_periods = 0.5;
  double alpha = 0.0;
  double beta = 0.001;
};
class LinearCosineDecay final : public LearningRateSchedule {
 public:
  explicit LinearCosineDecay(LinearCosineDecayOptions o);
  double operator()(int64_t step) const override;
  std::string name() const override { return "LinearCosineDecay"; }

 private:
  LinearCosineDecayOptions o_;
};

// TF1 noisy_linear_cosine_decay: as LinearCosineDecay with the linear term plus noise
// z * sqrt(initial_variance / (1 + t)^variance_decay), z ~ N(0, 1).
// Unlike TF (a fresh draw per evaluation), z is a pure function of (seed, step): an ember::Generator
// seeded from both. Evaluating the same step twice gives the same rate; same seed, same run.
struct NoisyLinearCosineDecayOptions {
  double initial_learning_rate = 0.01;
  int64_t decay_steps = 0;  // required, >= 1
  double initial_variance = 1.0;
  double variance_decay = 0.55;
  double num_periods = 0.5;
  double alpha = 0.0;
  double beta = 0.001;
  uint64_t seed = 0;
};
class NoisyLinearCosineDecay final : public LearningRateSchedule {
 public:
  explicit NoisyLinearCosineDecay(NoisyLinearCosineDecayOptions o);
  double operator()(int64_t step) const override;
  double noise(int64_t step) const;  // the standard-normal draw z used at `step`
  std::string name() const override { return "NoisyLinearCosineDecay"; }

 private:
  NoisyLinearCosineDecayOptions o_;
};

// Any function of the step.
class LambdaSchedule final : public LearningRateSchedule {
 public:
  explicit LambdaSchedule(std::function<double(int64_t)> fn);
  double operator()(int64_t step) const override { return fn_(step); }
  std::string name() const override { return "LambdaSchedule"; }

 private:
  std::function<double(int64_t)> fn_;
};

}  // namespace ember::optim
