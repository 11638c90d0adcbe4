#pragma once
// Weight regularizers with Keras semantics and names (keras.regularizers).
//
// A regularizer maps a weight tensor to a differentiable 0-d penalty of the weight's dtype, built
// from ops, so it can be added to the loss and its gradient flows back into the weight:
//
//   auto reg = std::make_shared<nn::regularizers::L2>(nn::regularizers::L2Options{.l2 = 1e-4});
//   Tensor loss = data_loss + (*reg)(dense_kernel);
//
//   L1(l1):      l1 · Σ|w|          (gradient l1·sign(w); 0 at w = 0)
//   L2(l2):      l2 · Σ w²          (gradient 2·l2·w — "weight decay")
//   L1L2(l1,l2): l1 · Σ|w| + l2 · Σ w²
// Coefficients must be finite and >= 0 (ValueError), like Keras.
//
// The study notes write the L2 / Frobenius-norm penalty as
//     J_reg = J + λ/(2m) · Σ_l ‖W^[l]‖²_F,   with dW^[l] += (λ/m)·W^[l],
// where ‖W‖²_F = Σ_ij w_ij² is the squared Frobenius norm and m the number of training examples.
// That is exactly L2 with l2 = λ/(2m) applied to every weight matrix (the "Frobenius norm
// regularization" of the notes is the same thing); frobenius(λ, m) builds it. Keras does not divide
// by m: its penalty is added once per batch to the batch-mean loss, so l2 plays the role of λ/(2m).
#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "ember/core/tensor.hpp"

namespace ember::nn::regularizers {

class Regularizer {
 public:
  virtual ~Regularizer();
  // The penalty: a 0-d tensor of w's dtype (floating only; DTypeError otherwise) with autograd
  // history back to w when w requires grad.
  virtual Tensor operator()(const Tensor& w) const = 0;
  virtual std::string class_name() const = 0;          // "L1", "L2", "L1L2"
  virtual nlohmann::json get_config() const = 0;       // {"l1": 0.01} ...
  nlohmann::json get_config_json() const;              // {"class_name": ..., "config": ...}
};
using RegularizerPtr = std::shared_ptr<const Regularizer>;

struct L1Options {
  double l1 = 0.01;
};
class L1 final : public Regularizer {
 public:
  explicit L1(L1Options options = {});
  Tensor operator()(const Tensor& w) const override;
  std::string class_name() const override { return "L1"; }
  nlohmann::json get_config() const override;
  static RegularizerPtr from_config(const nlohmann::json& config);  // reads get_config()'s fields
  double l1() const { return l1_; }

 private:
  double l1_;
};

struct L2Options {
  double l2 = 0.01;
};
class L2 final : public Regularizer {
 public:
  explicit L2(L2Options options = {});
  Tensor operator()(const Tensor& w) const override;
  std::string class_name() const override { return "L2"; }
  nlohmann::json get_config() const override;
  static RegularizerPtr from_config(const nlohmann::json& config);  // reads get_config()'s fields
  double l2() const { return l2_; }

 private:
  double l2_;
};

struct L1L2Options {
  double l1 = 0.0;  // Keras' class defaults; get("l1_l2") uses 0.01 for both, like keras.regularizers.l1_l2()
  double l2 = 0.0;
};
class L1L2 final : public Regularizer {
 public:
  explicit L1L2(L1L2Options options = {});
  // Σ|w| and Σw² are only built for non-zero coefficients; with both 0 the penalty is a constant 0.
  Tensor operator()(const Tensor& w) const override;
  std::string class_name() const override { return "L1L2"; }
  nlohmann::json get_config() const override;
  static RegularizerPtr from_config(const nlohmann::json& config);  // reads get_config()'s fields
  double l1() const { return l1_; }
  double l2() const { return l2_; }

 private:
  double l1_, l2_;
};

// The notes' λ/(2m)·‖W‖²_F: L2 with l2 = λ/(2m). λ >= 0, m >= 1 (ValueError otherwise).
std::shared_ptr<const L2> frobenius(double lambda, int64_t m);

// Keras identifiers with their defaults: "l1" → L1(0.01), "l2" → L2(0.01), "l1_l2" → L1L2(0.01, 0.01)
// (keras.regularizers.l1_l2()), or a class name "L1" | "L2" | "L1L2" with the class defaults.
// Unknown names: ValueError.
RegularizerPtr get(const std::string& identifier);
// Keras JSON {"class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.01}}; class names "L1", "L2",
// "L1L2" and the aliases "l1", "l2", "l1_l2" (fields missing from config take the class defaults).
// FormatError for a non-object, a missing/non-string class_name, an unknown class (naming it), an
// unknown field or a non-numeric one (naming it); ValueError for negative or non-finite values.
RegularizerPtr from_config(const nlohmann::json& j);
// The class names (and aliases) from_config knows.
std::vector<std::string> registered_classes();

}  // namespace ember::nn::regularizers
