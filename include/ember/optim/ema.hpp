#pragma once
// Exponential moving average of named parameters (the notes' EWMA; tf.train.ExponentialMovingAverage),
// for evaluating with averaged weights.
//
//   optim::ExponentialMovingAverage ema({.decay = 0.999});
//   ... after each optimizer step: ema.update(params);
//   ema.apply_to(params);  evaluate(model);  ema.restore(params);
//
// Per parameter name, each update with decay d:
//   shadow = d*shadow + (1-d)*w
// bias_correction = true (default, the notes): shadow starts at 0 and average() = shadow / (1 - prod d_i)
//   over that name's updates (= shadow / (1 - decay^t) for a fixed decay).
// bias_correction = false (TensorFlow): shadow starts as a copy of w at its first update;
//   average() = shadow.
// use_num_updates = true: d = min(decay, (1 + n)/(10 + n)) with n the number of updates made before
//   this one (TensorFlow's num_updates argument driven by a step counter starting at 0).
// Shadows keep the parameter's dtype; updates run a fused kernel under NoGradGuard.
#include <cstdint>
#include <map>
#include <string>

#include "ember/core/tensor.hpp"
#include "ember/optim/optimizer.hpp"

namespace ember::optim {

struct EMAOptions {
  double decay = 0.999;  // in [0, 1]
  bool bias_correction = true;
  bool use_num_updates = false;
};

class ExponentialMovingAverage {
 public:
  explicit ExponentialMovingAverage(EMAOptions o = {});

  void update(const NamedParams& params);
  // The (bias-corrected) average of `name`: a new tensor. ValueError for unknown names.
  Tensor average(const std::string& name) const;
  bool contains(const std::string& name) const { return shadows_.count(name) != 0; }
  int64_t num_updates() const { return num_updates_; }  // calls to update()

  // Copies the averages into the parameters, keeping their current values aside; restore() puts
  // them back. ValueError for names never updated, or for apply_to twice without restore.
  void apply_to(const NamedParams& params);
  void restore(const NamedParams& params);
  void swap_in(const NamedParams& params) { apply_to(params); }
  void swap_out(const NamedParams& params) { restore(params); }

  // Shadows keyed "<param name>/average", plus "<param name>/decay_product" (0-d f64) and the
  // update count in `iterations`.
  OptimizerState state() const;
  void load_state(const OptimizerState& s);

 private:
  EMAOptions o_;
  int64_t num_updates_ = 0;
  std::map<std::string, Tensor> shadows_;
  std::map<std::string, double> decay_products_;
  std::map<std::string, Tensor> backup_;
};

}  // namespace ember::optim
