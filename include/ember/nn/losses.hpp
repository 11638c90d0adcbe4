#pragma once
// Loss objects with the semantics and names of Keras (keras.losses.*): a loss object wraps one of the
// per-sample loss ops of ops/losses.hpp and reduces its per-sample values over the batch.
//
//   auto loss = std::make_shared<losses::SparseCategoricalCrossentropy>(
//       losses::SparseCategoricalCrossentropyOptions{.from_logits = true});
//   Tensor l = (*loss)(labels, logits);            // 0-d, differentiable w.r.t. logits
//   Tensor l = losses::MeanSquaredError()(y, p, w); // value semantics work too
//
// Contract of Loss::operator()(y_true, y_pred, sample_weight):
//  1. v = per_sample(y_true, y_pred): the loss op's values, the last axis reduced, e.g. [N, C] → [N].
//     Dense losses first align ranks as Keras 3 does: y_true [N] with y_pred [N, 1] reads as [N, 1]
//     (and the mirror case); otherwise y_true and y_pred must have equal shapes (ShapeError).
//  2. With a sample_weight: v = v · w, w broadcast over the *leading* (batch) axes of v (see
//     broadcast_sample_weight); a weight that does not fit is a ShapeError.
//  3. Reduction: SumOverBatchSize (Keras's default "auto" / "sum_over_batch_size") = Σv / numel(v),
//     dividing by the number of per-sample values and NOT by Σw, exactly as Keras; 0 for an empty
//     batch (Keras's divide_no_nan). Sum = Σv. None = v itself (the weighted per-sample values).
//  4. With a `mask` (the mask of a model output, e.g. [N, T] for a return_sequences output; bool or
//     0/1, shaped as v or a leading part of it): masked values get weight 0, and SumOverBatchSize
//     divides by the number of unmasked values instead of numel(v) — Σ v·w·m / Σ m, the mean over
//     the unmasked steps (Keras's apply_valid_mask); 0 when all are masked. A mask that does not fit
//     v is a ShapeError naming the loss and both shapes. fit/evaluate pass a model's output masks.
// The result has y_pred's dtype and autograd history back to y_pred (and y_true where it takes part).
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "ember/core/tensor.hpp"

namespace ember::losses {

enum class Reduction {
  SumOverBatchSize,  // Keras "auto" / "sum_over_batch_size": sum / number of per-sample values
  Sum,               // Keras "sum"
  None,              // Keras "none": the per-sample vector
};
// "sum_over_batch_size", "sum", "none" (Keras spellings).
std::string reduction_name(Reduction r);
// Accepts the Keras spellings and "auto" (= SumOverBatchSize); anything else is a ValueError.
Reduction reduction_from_name(const std::string& name);

// The sample weight `sample_weight` made to multiply values of `shape`, cast to `dtype` (Keras's
// squeeze-or-expand then broadcast, aligned on the batch axis):
//  * 0-d: one weight for everything;
//  * rank r <= rank(shape): each dim equal to shape's dim at the same leading position, or 1; trailing
//    axes of size 1 are appended, so [N] weights [N, T] per sample;
//  * rank(shape) + 1 with a trailing axis of size 1 ([N, 1] for [N] values): squeezed.
// Anything else: ShapeError naming `who` and both shapes. Integer and bool weights are cast.
// Carries no autograd history of its own beyond that of sample_weight.
Tensor broadcast_sample_weight(const Tensor& sample_weight, const Shape& shape, DType dtype, const std::string& who);
// The weights a metric gets for a model output with mask `mask` (Keras's apply_mask): the mask as
// 0/1 numbers times sample_weight broadcast over it (`sample_weight` when there is no mask). No
// rescaling: a weighted mean Σ v·w / Σ w is then the mean over the unmasked values.
Tensor masked_sample_weight(const Tensor& mask, const Tensor& sample_weight, const std::string& who);

class Loss {
 public:
  Loss(Reduction reduction, std::string name);
  virtual ~Loss();

  // per_sample, then weighting and reduction as in the contract above.
  Tensor operator()(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight = Tensor(),
                    const Tensor& mask = Tensor()) const;
  // The unreduced, unweighted losses (the last axis reduced), e.g. [N].
  virtual Tensor per_sample(const Tensor& y_true, const Tensor& y_pred) const = 0;

  virtual const std::string& name() const { return name_; }  // "mean_squared_error", ... (Keras default names)
  virtual std::string class_name() const = 0;               // "MeanSquaredError", ... (Keras class names)
  // Keras get_config(): {"name": ..., "reduction": "sum_over_batch_size"|"sum"|"none", class fields...}.
  virtual nlohmann::json get_config() const;
  // {"class_name": ..., "config": get_config()}
  nlohmann::json get_config_json() const;

  Reduction reduction;

 protected:
  std::string name_;
};
using LossPtr = std::shared_ptr<const Loss>;

// ---- options: one aggregate per class; `name` empty = the Keras default name ----

struct LossOptions {
  Reduction reduction = Reduction::SumOverBatchSize;
  std::string name{};  // empty: the Keras default name
};
struct HuberOptions {
  double delta = 1.0;  // > 0 and finite (ValueError)
  Reduction reduction = Reduction::SumOverBatchSize;
  std::string name{};  // empty: the Keras default name
};
struct BinaryCrossentropyOptions {
  bool from_logits = false;
  double label_smoothing = 0.0;  // in [0, 1] (ValueError); y := y·(1−ε) + ε/2
  Reduction reduction = Reduction::SumOverBatchSize;
  std::string name{};  // empty: the Keras default name
};
struct CategoricalCrossentropyOptions {
  bool from_logits = false;
  double label_smoothing = 0.0;  // in [0, 1] (ValueError); y := y·(1−ε) + ε/C, C = y_pred.shape[-1]
  Reduction reduction = Reduction::SumOverBatchSize;
  std::string name{};  // empty: the Keras default name
};
struct SparseCategoricalCrossentropyOptions {
  bool from_logits = false;
  Reduction reduction = Reduction::SumOverBatchSize;
  std::string name{};  // empty: the Keras default name
};
struct MulticlassSvmOptions {
  double margin = 1.0;  // finite (ValueError)
  Reduction reduction = Reduction::SumOverBatchSize;
  std::string name{};  // empty: the Keras default name
};

// mean((y_pred − y_true)², −1). Name "mean_squared_error".
class MeanSquaredError final : public Loss {
 public:
  explicit MeanSquaredError(LossOptions options = {});
  Tensor per_sample(const Tensor& y_true, const Tensor& y_pred) const override;
  std::string class_name() const override { return "MeanSquaredError"; }
  static LossPtr from_config(const nlohmann::json& config);  // reads get_config()'s fields
};

// mean(|y_pred − y_true|, −1). Name "mean_absolute_error".
class MeanAbsoluteError final : public Loss {
 public:
  explicit MeanAbsoluteError(LossOptions options = {});
  Tensor per_sample(const Tensor& y_true, const Tensor& y_pred) const override;
  std::string class_name() const override { return "MeanAbsoluteError"; }
  static LossPtr from_config(const nlohmann::json& config);  // reads get_config()'s fields
};

// ember::huber: 0.5e² where |e| <= delta, else delta(|e| − 0.5 delta); mean over −1. Name "huber_loss".
class Huber final : public Loss {
 public:
  explicit Huber(HuberOptions options = {});
  Tensor per_sample(const Tensor& y_true, const Tensor& y_pred) const override;
  std::string class_name() const override { return "Huber"; }
  static LossPtr from_config(const nlohmann::json& config);  // reads get_config()'s fields
  nlohmann::json get_config() const override;
  double delta() const { return delta_; }

 private:
  double delta_;
};

// ember::binary_crossentropy on smoothed labels, mean over −1. Name "binary_crossentropy".
class BinaryCrossentropy final : public Loss {
 public:
  explicit BinaryCrossentropy(BinaryCrossentropyOptions options = {});
  Tensor per_sample(const Tensor& y_true, const Tensor& y_pred) const override;
  std::string class_name() const override { return "BinaryCrossentropy"; }
  static LossPtr from_config(const nlohmann::json& config);  // reads get_config()'s fields
  nlohmann::json get_config() const override;
  bool from_logits() const { return from_logits_; }
  double label_smoothing() const { return label_smoothing_; }

 private:
  bool from_logits_;
  double label_smoothing_;
};

// ember::categorical_crossentropy on smoothed one-hot/soft labels. Name "categorical_crossentropy".
class CategoricalCrossentropy final : public Loss {
 public:
  explicit CategoricalCrossentropy(CategoricalCrossentropyOptions options = {});
  Tensor per_sample(const Tensor& y_true, const Tensor& y_pred) const override;
  std::string class_name() const override { return "CategoricalCrossentropy"; }
  static LossPtr from_config(const nlohmann::json& config);  // reads get_config()'s fields
  nlohmann::json get_config() const override;
  bool from_logits() const { return from_logits_; }
  double label_smoothing() const { return label_smoothing_; }

 private:
  bool from_logits_;
  double label_smoothing_;
};

// ember::sparse_categorical_crossentropy: integer labels [N...] or [N..., 1] (any integer dtype, or
// floats holding integers), y_pred [N..., C]. Name "sparse_categorical_crossentropy".
class SparseCategoricalCrossentropy final : public Loss {
 public:
  explicit SparseCategoricalCrossentropy(SparseCategoricalCrossentropyOptions options = {});
  Tensor per_sample(const Tensor& y_true, const Tensor& y_pred) const override;
  std::string class_name() const override { return "SparseCategoricalCrossentropy"; }
  static LossPtr from_config(const nlohmann::json& config);  // reads get_config()'s fields
  nlohmann::json get_config() const override;
  bool from_logits() const { return from_logits_; }

 private:
  bool from_logits_;
};

// mean(max(1 − y_true·y_pred, 0), −1). Labels that are all 0 or 1 are first mapped to −1/1 (2y − 1),
// as Keras does; other labels (e.g. already −1/1) are used as they are. Name "hinge".
class Hinge final : public Loss {
 public:
  explicit Hinge(LossOptions options = {});
  Tensor per_sample(const Tensor& y_true, const Tensor& y_pred) const override;
  std::string class_name() const override { return "Hinge"; }
  static LossPtr from_config(const nlohmann::json& config);  // reads get_config()'s fields
};

// mean(max(1 − y_true·y_pred, 0)², −1), labels converted as for Hinge. Name "squared_hinge".
class SquaredHinge final : public Loss {
 public:
  explicit SquaredHinge(LossOptions options = {});
  Tensor per_sample(const Tensor& y_true, const Tensor& y_pred) const override;
  std::string class_name() const override { return "SquaredHinge"; }
  static LossPtr from_config(const nlohmann::json& config);  // reads get_config()'s fields
};

// max(0, max((1 − y_true)·y_pred, −1) − Σ(y_true·y_pred, −1) + 1) for one-hot y_true.
// Name "categorical_hinge".
class CategoricalHinge final : public Loss {
 public:
  explicit CategoricalHinge(LossOptions options = {});
  Tensor per_sample(const Tensor& y_true, const Tensor& y_pred) const override;
  std::string class_name() const override { return "CategoricalHinge"; }
  static LossPtr from_config(const nlohmann::json& config);  // reads get_config()'s fields
};

// The notes' (CS231n) multiclass SVM loss Σ_{j≠y} max(0, s_j − s_y + margin) with integer labels
// as for SparseCategoricalCrossentropy (ember::multiclass_svm_loss). Not a Keras class.
// Name "multiclass_svm".
class MulticlassSvm final : public Loss {
 public:
  explicit MulticlassSvm(MulticlassSvmOptions options = {});
  Tensor per_sample(const Tensor& y_true, const Tensor& y_pred) const override;
  std::string class_name() const override { return "MulticlassSvm"; }
  static LossPtr from_config(const nlohmann::json& config);  // reads get_config()'s fields
  nlohmann::json get_config() const override;
  double margin() const { return margin_; }

 private:
  double margin_;
};

// A loss with Keras defaults from a Keras identifier: "mse" | "mean_squared_error", "mae" |
// "mean_absolute_error", "huber" | "huber_loss", "binary_crossentropy", "categorical_crossentropy",
// "sparse_categorical_crossentropy", "hinge", "squared_hinge", "categorical_hinge", "multiclass_svm",
// or a class name ("MeanSquaredError", ...). Unknown: ValueError listing the known names.
LossPtr get(const std::string& name);
// Keras JSON {"class_name": "Huber", "config": {"delta": 2.0, "reduction": "sum", "name": ...}};
// FormatError for an unknown class or a bad field (ember::ConfigFields wording), ValueError for a
// value the class rejects.
LossPtr from_config(const nlohmann::json& j);
// The class names from_config knows.
std::vector<std::string> registered_classes();

}  // namespace ember::losses
