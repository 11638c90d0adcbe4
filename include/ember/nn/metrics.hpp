#pragma once
// Streaming metrics with the semantics and names of Keras (keras.metrics.*).
//
//   metrics::SparseCategoricalAccuracy acc;
//   for (auto& [x, y] : batches) acc.update_state(y, model(x));
//   double a = acc.result();   // the metric over everything seen since the last reset_state()
//
// State is kept in doubles (weighted totals and counts), so the result over several batches equals
// the result on their concatenation. update_state runs under autograd::NoGradGuard and records
// nothing. result() of a metric that has seen no (or only zero-weighted) values is 0, like Keras's
// divide_no_nan.
//
// Sample weights broadcast over the leading (batch) axes of the per-sample values, with the rules of
// losses::broadcast_sample_weight (ShapeError otherwise); the weighted mean is Σ(v·w) / Σw, where Σw
// counts each broadcast weight once per value (Keras's Mean).
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "ember/core/tensor.hpp"
#include "ember/nn/losses.hpp"

namespace ember::metrics {

class Metric;
using MetricPtr = std::shared_ptr<Metric>;

class Metric {
 public:
  explicit Metric(std::string name);
  virtual ~Metric();

  virtual void update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight = Tensor()) = 0;
  virtual double result() const = 0;
  virtual void reset_state() = 0;

  const std::string& name() const { return name_; }  // the Keras name ("accuracy", "binary_accuracy", ...)
  virtual std::string class_name() const = 0;         // the Keras class ("BinaryAccuracy", ...)
  // Keras get_config(): {"name": ..., "dtype": "float32", class fields...}; each class's static
  // from_config(config) reads it back.
  virtual nlohmann::json get_config() const;
  nlohmann::json get_config_json() const;  // {"class_name": ..., "config": get_config()}

 private:
  std::string name_;
};

// ---- per-sample metric functions (Keras's metric functions), used by the classes below; each
// returns float64 values, 1 for a hit and 0 for a miss ----

// Elementwise y_true == (y_pred > threshold), ranks aligned as for the losses ([N] with [N, 1] fine).
Tensor binary_accuracy(const Tensor& y_true, const Tensor& y_pred, double threshold = 0.5);
// argmax(y_true, −1) == argmax(y_pred, −1); equal shapes [N..., C] → [N...].
Tensor categorical_accuracy(const Tensor& y_true, const Tensor& y_pred);
// y_true == argmax(y_pred, −1): y_true [N...] or [N..., 1] of any integer dtype or floats holding
// integers; y_pred [N..., C] (probabilities or logits: the argmax is the same) → [N...].
Tensor sparse_categorical_accuracy(const Tensor& y_true, const Tensor& y_pred);
// TensorFlow's in_top_k: the target class is a hit when fewer than k classes score strictly higher
// (ties at the boundary count as hits); a NaN target score or an out-of-range label is a miss.
// k >= 1 (ValueError). One-hot y_true [N..., C]:
Tensor top_k_categorical_accuracy(const Tensor& y_true, const Tensor& y_pred, int64_t k = 5);
// Integer labels as for sparse_categorical_accuracy:
Tensor sparse_top_k_categorical_accuracy(const Tensor& y_true, const Tensor& y_pred, int64_t k = 5);

// ---- mean metrics ----

struct MeanOptions {
  std::string name = "mean";
};
// The weighted mean of values (Keras's Mean).
class Mean : public Metric {
 public:
  explicit Mean(MeanOptions options = {});
  // Keras's Mean.update_state(values, sample_weight): values of any numeric dtype and shape.
  void update_values(const Tensor& values, const Tensor& sample_weight = Tensor());
  // For Mean itself, y_pred holds the values and y_true is ignored (may be undefined). Subclasses
  // compute per-sample values from (y_true, y_pred) and pass them to update_values.
  void update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight = Tensor()) override;
  double result() const override;
  void reset_state() override;
  std::string class_name() const override { return "Mean"; }
  nlohmann::json get_config() const override;
  static MetricPtr from_config(const nlohmann::json& config);
  double total() const { return total_; }  // Σ v·w
  double count() const { return count_; }  // Σ w

 protected:
  virtual Tensor values(const Tensor& y_true, const Tensor& y_pred) const { return y_pred; }

 private:
  double total_ = 0, count_ = 0;
};

struct BinaryAccuracyOptions {
  double threshold = 0.5;  // y_pred > threshold is class 1; use 0 for logits
  std::string name = "binary_accuracy";
};
class BinaryAccuracy final : public Mean {
 public:
  explicit BinaryAccuracy(BinaryAccuracyOptions options = {});
  std::string class_name() const override { return "BinaryAccuracy"; }
  nlohmann::json get_config() const override;
  static MetricPtr from_config(const nlohmann::json& config);
  double threshold() const { return threshold_; }

 protected:
  Tensor values(const Tensor& y_true, const Tensor& y_pred) const override;

 private:
  double threshold_;
};

struct CategoricalAccuracyOptions {
  std::string name = "categorical_accuracy";
};
class CategoricalAccuracy final : public Mean {
 public:
  explicit CategoricalAccuracy(CategoricalAccuracyOptions options = {});
  std::string class_name() const override { return "CategoricalAccuracy"; }
  nlohmann::json get_config() const override;
  static MetricPtr from_config(const nlohmann::json& config);

 protected:
  Tensor values(const Tensor& y_true, const Tensor& y_pred) const override;
};

struct SparseCategoricalAccuracyOptions {
  std::string name = "sparse_categorical_accuracy";
};
class SparseCategoricalAccuracy final : public Mean {
 public:
  explicit SparseCategoricalAccuracy(SparseCategoricalAccuracyOptions options = {});
  std::string class_name() const override { return "SparseCategoricalAccuracy"; }
  nlohmann::json get_config() const override;
  static MetricPtr from_config(const nlohmann::json& config);

 protected:
  Tensor values(const Tensor& y_true, const Tensor& y_pred) const override;
};

struct TopKCategoricalAccuracyOptions {
  int64_t k = 5;
  std::string name = "top_k_categorical_accuracy";
};
class TopKCategoricalAccuracy final : public Mean {
 public:
  explicit TopKCategoricalAccuracy(TopKCategoricalAccuracyOptions options = {});
  std::string class_name() const override { return "TopKCategoricalAccuracy"; }
  nlohmann::json get_config() const override;
  static MetricPtr from_config(const nlohmann::json& config);
  int64_t k() const { return k_; }

 protected:
  Tensor values(const Tensor& y_true, const Tensor& y_pred) const override;

 private:
  int64_t k_;
};

struct SparseTopKCategoricalAccuracyOptions {
  int64_t k = 5;
  std::string name = "sparse_top_k_categorical_accuracy";
};
class SparseTopKCategoricalAccuracy final : public Mean {
 public:
  explicit SparseTopKCategoricalAccuracy(SparseTopKCategoricalAccuracyOptions options = {});
  std::string class_name() const override { return "SparseTopKCategoricalAccuracy"; }
  nlohmann::json get_config() const override;
  static MetricPtr from_config(const nlohmann::json& config);
  int64_t k() const { return k_; }

 protected:
  Tensor values(const Tensor& y_true, const Tensor& y_pred) const override;

 private:
  int64_t k_;
};

// Regression metrics: the mean over the last axis per sample, then the weighted mean over samples.
// A rank-1 y_pred [N] is read as [N, 1] (one value per sample), so that streaming over batches equals
// the metric on their concatenation (Keras would reduce a rank-1 batch to one value).
struct MeanSquaredErrorOptions {
  std::string name = "mean_squared_error";
};
class MeanSquaredError final : public Mean {
 public:
  explicit MeanSquaredError(MeanSquaredErrorOptions options = {});
  std::string class_name() const override { return "MeanSquaredError"; }
  nlohmann::json get_config() const override;
  static MetricPtr from_config(const nlohmann::json& config);

 protected:
  Tensor values(const Tensor& y_true, const Tensor& y_pred) const override;
};

struct MeanAbsoluteErrorOptions {
  std::string name = "mean_absolute_error";
};
class MeanAbsoluteError final : public Mean {
 public:
  explicit MeanAbsoluteError(MeanAbsoluteErrorOptions options = {});
  std::string class_name() const override { return "MeanAbsoluteError"; }
  nlohmann::json get_config() const override;
  static MetricPtr from_config(const nlohmann::json& config);

 protected:
  Tensor values(const Tensor& y_true, const Tensor& y_pred) const override;
};

// ---- binary precision and recall (Keras's Precision / Recall with one threshold) ----
// Every element is one binary decision: predicted positive when y_pred > threshold, actually positive
// when y_true != 0. Weighted true/false positives and false negatives are accumulated.

struct PrecisionOptions {
  double threshold = 0.5;
  std::string name = "precision";
};
// tp / (tp + fp)
class Precision final : public Metric {
 public:
  explicit Precision(PrecisionOptions options = {});
  void update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight = Tensor()) override;
  double result() const override;
  void reset_state() override;
  std::string class_name() const override { return "Precision"; }
  nlohmann::json get_config() const override;
  static MetricPtr from_config(const nlohmann::json& config);
  double true_positives() const { return tp_; }
  double false_positives() const { return fp_; }

 private:
  double threshold_;
  double tp_ = 0, fp_ = 0;
};

struct RecallOptions {
  double threshold = 0.5;
  std::string name = "recall";
};
// tp / (tp + fn)
class Recall final : public Metric {
 public:
  explicit Recall(RecallOptions options = {});
  void update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight = Tensor()) override;
  double result() const override;
  void reset_state() override;
  std::string class_name() const override { return "Recall"; }
  nlohmann::json get_config() const override;
  static MetricPtr from_config(const nlohmann::json& config);
  double true_positives() const { return tp_; }
  double false_negatives() const { return fn_; }

 private:
  double threshold_;
  double tp_ = 0, fn_ = 0;
};

// ---- "accuracy" ----

// Keras's shape rule for "accuracy" (compile_utils): y_pred's last dim 1 → "binary_accuracy";
// else y_true of lower rank than y_pred, or y_true's last dim 1 with y_pred's > 1 →
// "sparse_categorical_accuracy"; else "categorical_accuracy". Rank-0 shapes: ShapeError.
std::string resolve_accuracy(const Shape& y_true_shape, const Shape& y_pred_shape);

// "accuracy" when no loss decides: resolves with resolve_accuracy on the shapes of its first
// update_state and keeps that choice (also across reset_state).
class Accuracy final : public Metric {
 public:
  explicit Accuracy(std::string name = "accuracy");
  void update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight = Tensor()) override;
  double result() const override;
  void reset_state() override;
  std::string class_name() const override;  // the resolved class, "Accuracy" before the first update
  nlohmann::json get_config() const override;
  static MetricPtr from_config(const nlohmann::json& config);
  // "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy", or "" before resolution.
  const std::string& resolved() const { return resolved_; }

 private:
  std::string resolved_;
  std::shared_ptr<Metric> inner_;
};

// A metric from a Keras identifier; the metric's name is the identifier as given (Keras reports
// "acc" for "acc", "mse" for "mse"):
//  * "accuracy" | "acc": with `loss` a BinaryCrossentropy → BinaryAccuracy (threshold 0 when the loss
//    is from_logits, since sigmoid(x) > 0.5 ⟺ x > 0 — Keras would wrongly threshold logits at 0.5);
//    SparseCategoricalCrossentropy or MulticlassSvm → SparseCategoricalAccuracy;
//    CategoricalCrossentropy or CategoricalHinge → CategoricalAccuracy; any other loss, or none →
//    Accuracy, resolved from the shapes of the first batch (resolve_accuracy).
//  * "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
//    "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "mse" | "mean_squared_error",
//    "mae" | "mean_absolute_error", "precision", "recall", "mean"; or the class names.
// Unknown: ValueError listing the known names.
MetricPtr get(const std::string& name, const losses::Loss* loss = nullptr);
// Keras JSON {"class_name": "BinaryAccuracy", "config": {"name": ..., "threshold": 0.5}}; FormatError
// for an unknown class or a bad field (ember::ConfigFields wording).
MetricPtr from_config(const nlohmann::json& j);
// The class names from_config knows.
std::vector<std::string> registered_classes();

}  // namespace ember::metrics
