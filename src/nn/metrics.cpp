// Streaming metrics: per-sample values composed from ops, accumulated in doubles.
#include "ember/nn/metrics.hpp"

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ember/autograd/autograd.hpp"
#include "ember/core/config_fields.hpp"
#include "ember/core/error.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/losses.hpp"
#include "ember/ops/reduce.hpp"
#include "ember/ops/shape.hpp"

namespace ember::metrics {

namespace {

void check_defined(std::string_view who, const Tensor& y_true, const Tensor& y_pred) {
  if (!y_true.defined()) throw ValueError(std::string(who) + ": y_true is undefined");
  if (!y_pred.defined()) throw ValueError(std::string(who) + ": y_pred is undefined");
}

Tensor as_f64(const Tensor& t) { return t.dtype() == f64 ? t.detach() : cast(t.detach(), f64); }

// Keras 3's squeeze_or_expand_to_same_rank (as in nn/losses.cpp), then equal shapes, both as f64.
std::pair<Tensor, Tensor> aligned_f64(std::string_view who, const Tensor& y_true_in, const Tensor& y_pred_in) {
  check_defined(who, y_true_in, y_pred_in);
  Tensor y_true = y_true_in, y_pred = y_pred_in;
  const int rt = y_true.dim(), rp = y_pred.dim();
  if (rt == rp + 1 && rt > 0 && y_true.shape().back() == 1) {
    if (rp == 1) y_pred = unsqueeze(y_pred, -1);
    else y_true = squeeze(y_true, -1);
  } else if (rp == rt + 1 && rp > 0 && y_pred.shape().back() == 1) {
    if (rt == 1) y_true = unsqueeze(y_true, -1);
    else y_pred = squeeze(y_pred, -1);
  }
  if (y_true.shape() != y_pred.shape())
    throw ShapeError(std::string(who) + ": y_true shape " + to_string(y_true_in.shape()) + " does not match y_pred shape " +
                     to_string(y_pred_in.shape()));
  return {as_f64(y_true), as_f64(y_pred)};
}

void check_class_axis(std::string_view who, const Tensor& y_pred) {
  if (y_pred.dim() == 0 || y_pred.shape().back() == 0)
    throw ShapeError(std::string(who) + ": y_pred must have a non-empty class axis, got shape " + to_string(y_pred.shape()));
}

// Integer labels for y_pred [N..., C]: shape [N...] or [N..., 1], returned as f64 of shape [N...].
Tensor sparse_labels(std::string_view who, const Tensor& y_true, const Tensor& y_pred) {
  check_defined(who, y_true, y_pred);
  check_class_axis(who, y_pred);
  Shape batch(y_pred.shape().begin(), y_pred.shape().end() - 1);
  Shape with_unit = batch;
  with_unit.push_back(1);
  if (y_true.shape() != batch && y_true.shape() != with_unit)
    throw ShapeError(std::string(who) + ": labels shape " + to_string(y_true.shape()) + " does not match y_pred shape " +
                     to_string(y_pred.shape()) + " (expected " + to_string(batch) + " or " + to_string(with_unit) + ")");
  return reshape(as_f64(y_true), batch);
}

Tensor hits(const Tensor& b) { return cast(b, f64); }

// in_top_k for f64 labels [N...] (any value; no integral in-range match = miss) and y_pred [N..., C].
Tensor in_top_k(const Tensor& labels, const Tensor& y_pred, int64_t k) {
  Tensor p = as_f64(y_pred);
  const int64_t classes = p.shape().back();
  Tensor mask = equal(unsqueeze(labels, -1), arange(0.0, static_cast<double>(classes), 1.0, f64));
  Tensor target = sum(where(mask, p, scalar_tensor(0.0, f64)), {-1}, true);
  Tensor higher = sum(hits(greater(p, target)), {-1});
  Tensor valid = logical_and(greater(sum(hits(mask), {-1}), scalar_tensor(0.0, f64)),
                             equal(squeeze(target, -1), squeeze(target, -1)));  // NaN target: miss
  return hits(logical_and(less(higher, scalar_tensor(static_cast<double>(k), f64)), valid));
}

int64_t checked_k(int64_t k, const char* cls) {
  if (k < 1) throw ValueError(std::string(cls) + ": k must be >= 1, got " + std::to_string(k));
  return k;
}

}  // namespace

// ------------------------------------------------------------------ metric functions

Tensor binary_accuracy(const Tensor& y_true, const Tensor& y_pred, double threshold) {
  autograd::NoGradGuard no_grad;
  auto [t, p] = aligned_f64("binary_accuracy", y_true, y_pred);
  Tensor predicted = hits(greater(p, scalar_tensor(threshold, f64)));
  return hits(equal(t, predicted));
}

Tensor categorical_accuracy(const Tensor& y_true, const Tensor& y_pred) {
  autograd::NoGradGuard no_grad;
  check_defined("categorical_accuracy", y_true, y_pred);
  check_class_axis("categorical_accuracy", y_pred);
  if (y_true.shape() != y_pred.shape())
    throw ShapeError("categorical_accuracy: y_true shape " + to_string(y_true.shape()) +
                     " does not match y_pred shape " + to_string(y_pred.shape()) +
                     " (one-hot labels; use sparse_categorical_accuracy for class ids)");
  return hits(equal(argmax(y_true.detach(), -1), argmax(y_pred.detach(), -1)));
}

Tensor sparse_categorical_accuracy(const Tensor& y_true, const Tensor& y_pred) {
  autograd::NoGradGuard no_grad;
  Tensor labels = sparse_labels("sparse_categorical_accuracy", y_true, y_pred);
  return hits(equal(labels, cast(argmax(y_pred.detach(), -1), f64)));
}

Tensor top_k_categorical_accuracy(const Tensor& y_true, const Tensor& y_pred, int64_t k) {
  autograd::NoGradGuard no_grad;
  checked_k(k, "top_k_categorical_accuracy");
  check_defined("top_k_categorical_accuracy", y_true, y_pred);
  check_class_axis("top_k_categorical_accuracy", y_pred);
  if (y_true.shape() != y_pred.shape())
    throw ShapeError("top_k_categorical_accuracy: y_true shape " + to_string(y_true.shape()) +
                     " does not match y_pred shape " + to_string(y_pred.shape()));
  return in_top_k(cast(argmax(y_true.detach(), -1), f64), y_pred, k);
}

Tensor sparse_top_k_categorical_accuracy(const Tensor& y_true, const Tensor& y_pred, int64_t k) {
  autograd::NoGradGuard no_grad;
  checked_k(k, "sparse_top_k_categorical_accuracy");
  return in_top_k(sparse_labels("sparse_top_k_categorical_accuracy", y_true, y_pred), y_pred, k);
}

// ------------------------------------------------------------------ Metric, Mean

Metric::Metric(std::string name) : name_(std::move(name)) {}
Metric::~Metric() = default;

nlohmann::json Metric::get_config() const { return {{"name", name_}, {"dtype", "float32"}}; }
nlohmann::json Metric::get_config_json() const { return {{"class_name", class_name()}, {"config", get_config()}}; }

namespace {

ConfigFields fields(const nlohmann::json& config, const char* class_name) {
  return ConfigFields(config, "metric", class_name);
}

// The metric's "name", or its Keras default.
std::string name_field(const ConfigFields& f, const std::string& fallback) {
  f.string("dtype", "float32");  // Ember's metrics accumulate in double whatever Keras's dtype says
  return f.name().empty() ? fallback : f.name();
}

// from_config of the metrics whose config is only their name.
template <typename M, typename Options>
MetricPtr name_only_from_config(const nlohmann::json& config, const char* class_name) {
  return std::make_shared<M>(Options{.name = name_field(fields(config, class_name), Options{}.name)});
}

// TopKCategoricalAccuracy's and SparseTopKCategoricalAccuracy's from_config.
template <typename M, typename Options>
MetricPtr top_k_from_config(const nlohmann::json& config, const char* class_name) {
  ConfigFields f = fields(config, class_name);
  Options o;
  o.k = f.positive("k", o.k);
  o.name = name_field(f, o.name);
  return std::make_shared<M>(o);
}

// Precision's and Recall's "thresholds": Keras writes a number or a list; Ember's binary metrics
// have one threshold.
double threshold_field(const ConfigFields& f, double fallback) {
  const nlohmann::json* t = f.find("thresholds");
  if (t && t->is_array()) {
    if (t->size() != 1 || !(*t)[0].is_number()) f.fail("thresholds", "a number or a list of one number");
    return (*t)[0].get<double>();
  }
  return f.number("thresholds", fallback);
}

// Precision's and Recall's get_config: Keras's keys, for one threshold.
nlohmann::json threshold_config(nlohmann::json c, double threshold) {
  c["thresholds"] = threshold;
  c["top_k"] = nullptr;
  c["class_id"] = nullptr;
  return c;
}

// Precision's and Recall's from_config.
template <typename M, typename Options>
MetricPtr threshold_metric_from_config(const nlohmann::json& config, const char* class_name) {
  ConfigFields f = fields(config, class_name);
  f.require_null("top_k");
  f.require_null("class_id");
  Options o;
  o.threshold = threshold_field(f, o.threshold);
  o.name = name_field(f, o.name);
  return std::make_shared<M>(o);
}

}  // namespace

Mean::Mean(MeanOptions o) : Metric(std::move(o.name)) {}
nlohmann::json Mean::get_config() const { return Metric::get_config(); }
MetricPtr Mean::from_config(const nlohmann::json& config) {
  return name_only_from_config<Mean, MeanOptions>(config, "Mean");
}

void Mean::update_values(const Tensor& values, const Tensor& sample_weight) {
  autograd::NoGradGuard no_grad;
  if (!values.defined()) throw ValueError(name() + ": values are undefined");
  Tensor v = as_f64(values);
  if (sample_weight.defined()) {
    Tensor w = losses::broadcast_sample_weight(sample_weight.detach(), v.shape(), f64, name());
    total_ += sum(v * w).item<double>();
    count_ += sum(w).item<double>();
  } else {
    total_ += sum(v).item<double>();
    count_ += static_cast<double>(v.numel());
  }
}

void Mean::update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight) {
  autograd::NoGradGuard no_grad;
  update_values(values(y_true, y_pred), sample_weight);
}

double Mean::result() const { return count_ == 0 ? 0.0 : total_ / count_; }
void Mean::reset_state() { total_ = count_ = 0; }

BinaryAccuracy::BinaryAccuracy(BinaryAccuracyOptions o) : Mean({.name = std::move(o.name)}), threshold_(o.threshold) {}
nlohmann::json BinaryAccuracy::get_config() const {
  nlohmann::json c = Metric::get_config();
  c["threshold"] = threshold_;
  return c;
}
MetricPtr BinaryAccuracy::from_config(const nlohmann::json& config) {
  ConfigFields f = fields(config, "BinaryAccuracy");
  BinaryAccuracyOptions o;
  o.threshold = f.number("threshold", o.threshold);
  o.name = name_field(f, o.name);
  return std::make_shared<BinaryAccuracy>(o);
}
Tensor BinaryAccuracy::values(const Tensor& y_true, const Tensor& y_pred) const {
  return binary_accuracy(y_true, y_pred, threshold_);
}

CategoricalAccuracy::CategoricalAccuracy(CategoricalAccuracyOptions o) : Mean({.name = std::move(o.name)}) {}
nlohmann::json CategoricalAccuracy::get_config() const { return Metric::get_config(); }
MetricPtr CategoricalAccuracy::from_config(const nlohmann::json& config) {
  return name_only_from_config<CategoricalAccuracy, CategoricalAccuracyOptions>(config, "CategoricalAccuracy");
}
Tensor CategoricalAccuracy::values(const Tensor& y_true, const Tensor& y_pred) const {
  return categorical_accuracy(y_true, y_pred);
}

SparseCategoricalAccuracy::SparseCategoricalAccuracy(SparseCategoricalAccuracyOptions o)
    : Mean({.name = std::move(o.name)}) {}
nlohmann::json SparseCategoricalAccuracy::get_config() const { return Metric::get_config(); }
MetricPtr SparseCategoricalAccuracy::from_config(const nlohmann::json& config) {
  return name_only_from_config<SparseCategoricalAccuracy, SparseCategoricalAccuracyOptions>(
      config, "SparseCategoricalAccuracy");
}
Tensor SparseCategoricalAccuracy::values(const Tensor& y_true, const Tensor& y_pred) const {
  return sparse_categorical_accuracy(y_true, y_pred);
}

TopKCategoricalAccuracy::TopKCategoricalAccuracy(TopKCategoricalAccuracyOptions o)
    : Mean({.name = std::move(o.name)}), k_(checked_k(o.k, "TopKCategoricalAccuracy")) {}
nlohmann::json TopKCategoricalAccuracy::get_config() const {
  nlohmann::json c = Metric::get_config();
  c["k"] = k_;
  return c;
}
MetricPtr TopKCategoricalAccuracy::from_config(const nlohmann::json& config) {
  return top_k_from_config<TopKCategoricalAccuracy, TopKCategoricalAccuracyOptions>(config, "TopKCategoricalAccuracy");
}
Tensor TopKCategoricalAccuracy::values(const Tensor& y_true, const Tensor& y_pred) const {
  return top_k_categorical_accuracy(y_true, y_pred, k_);
}

SparseTopKCategoricalAccuracy::SparseTopKCategoricalAccuracy(SparseTopKCategoricalAccuracyOptions o)
    : Mean({.name = std::move(o.name)}), k_(checked_k(o.k, "SparseTopKCategoricalAccuracy")) {}
nlohmann::json SparseTopKCategoricalAccuracy::get_config() const {
  nlohmann::json c = Metric::get_config();
  c["k"] = k_;
  return c;
}
MetricPtr SparseTopKCategoricalAccuracy::from_config(const nlohmann::json& config) {
  return top_k_from_config<SparseTopKCategoricalAccuracy, SparseTopKCategoricalAccuracyOptions>(
      config, "SparseTopKCategoricalAccuracy");
}
Tensor SparseTopKCategoricalAccuracy::values(const Tensor& y_true, const Tensor& y_pred) const {
  return sparse_top_k_categorical_accuracy(y_true, y_pred, k_);
}

namespace {
// Regression metrics read a rank-1 y_pred as one value per sample.
std::pair<Tensor, Tensor> regression_pair(std::string_view who, const Tensor& y_true, const Tensor& y_pred) {
  auto [t, p] = aligned_f64(who, y_true, y_pred);
  if (p.dim() == 1) return {unsqueeze(t, -1), unsqueeze(p, -1)};
  if (p.dim() == 0) return {reshape(t, {1, 1}), reshape(p, {1, 1})};
  return {t, p};
}
}  // namespace

MeanSquaredError::MeanSquaredError(MeanSquaredErrorOptions o) : Mean({.name = std::move(o.name)}) {}
nlohmann::json MeanSquaredError::get_config() const { return Metric::get_config(); }
MetricPtr MeanSquaredError::from_config(const nlohmann::json& config) {
  return name_only_from_config<MeanSquaredError, MeanSquaredErrorOptions>(config, "MeanSquaredError");
}
Tensor MeanSquaredError::values(const Tensor& y_true, const Tensor& y_pred) const {
  auto [t, p] = regression_pair(name(), y_true, y_pred);
  return mean_squared_error(t, p);
}

MeanAbsoluteError::MeanAbsoluteError(MeanAbsoluteErrorOptions o) : Mean({.name = std::move(o.name)}) {}
nlohmann::json MeanAbsoluteError::get_config() const { return Metric::get_config(); }
MetricPtr MeanAbsoluteError::from_config(const nlohmann::json& config) {
  return name_only_from_config<MeanAbsoluteError, MeanAbsoluteErrorOptions>(config, "MeanAbsoluteError");
}
Tensor MeanAbsoluteError::values(const Tensor& y_true, const Tensor& y_pred) const {
  auto [t, p] = regression_pair(name(), y_true, y_pred);
  return mean_absolute_error(t, p);
}

// ------------------------------------------------------------------ Precision, Recall

namespace {
struct Decisions {
  Tensor predicted, actual, weight;  // bool, bool, f64 (all y_pred's shape after alignment)
};
Decisions decisions(std::string_view who, const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight,
                    double threshold) {
  auto [t, p] = aligned_f64(who, y_true, y_pred);
  Decisions d;
  d.predicted = greater(p, scalar_tensor(threshold, f64));
  d.actual = not_equal(t, scalar_tensor(0.0, f64));
  d.weight = sample_weight.defined() ? losses::broadcast_sample_weight(sample_weight.detach(), p.shape(), f64, std::string(who))
                                     : ones(p.shape(), f64);
  return d;
}
double weighted_count(const Tensor& cond, const Tensor& w) { return sum(hits(cond) * w).item<double>(); }
}  // namespace

Precision::Precision(PrecisionOptions o) : Metric(std::move(o.name)), threshold_(o.threshold) {}
nlohmann::json Precision::get_config() const { return threshold_config(Metric::get_config(), threshold_); }
MetricPtr Precision::from_config(const nlohmann::json& config) {
  return threshold_metric_from_config<Precision, PrecisionOptions>(config, "Precision");
}
void Precision::update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight) {
  autograd::NoGradGuard no_grad;
  Decisions d = decisions(name(), y_true, y_pred, sample_weight, threshold_);
  tp_ += weighted_count(logical_and(d.predicted, d.actual), d.weight);
  fp_ += weighted_count(logical_and(d.predicted, logical_not(d.actual)), d.weight);
}
double Precision::result() const { return tp_ + fp_ == 0 ? 0.0 : tp_ / (tp_ + fp_); }
void Precision::reset_state() { tp_ = fp_ = 0; }

Recall::Recall(RecallOptions o) : Metric(std::move(o.name)), threshold_(o.threshold) {}
nlohmann::json Recall::get_config() const { return threshold_config(Metric::get_config(), threshold_); }
MetricPtr Recall::from_config(const nlohmann::json& config) {
  return threshold_metric_from_config<Recall, RecallOptions>(config, "Recall");
}
void Recall::update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight) {
  autograd::NoGradGuard no_grad;
  Decisions d = decisions(name(), y_true, y_pred, sample_weight, threshold_);
  tp_ += weighted_count(logical_and(d.predicted, d.actual), d.weight);
  fn_ += weighted_count(logical_and(logical_not(d.predicted), d.actual), d.weight);
}
double Recall::result() const { return tp_ + fn_ == 0 ? 0.0 : tp_ / (tp_ + fn_); }
void Recall::reset_state() { tp_ = fn_ = 0; }

// ------------------------------------------------------------------ accuracy resolution

std::string resolve_accuracy(const Shape& y_true_shape, const Shape& y_pred_shape) {
  if (y_true_shape.empty() || y_pred_shape.empty())
    throw ShapeError("accuracy: cannot resolve the accuracy from rank-0 shapes (y_true " + to_string(y_true_shape) +
                     ", y_pred " + to_string(y_pred_shape) + ")");
  const int64_t true_last = y_true_shape.back(), pred_last = y_pred_shape.back();
  if (pred_last == 1) return "binary_accuracy";
  if (y_true_shape.size() < y_pred_shape.size() || (true_last == 1 && pred_last > 1))
    return "sparse_categorical_accuracy";
  return "categorical_accuracy";
}

namespace {
MetricPtr make_accuracy(const std::string& kind, const std::string& name, double binary_threshold = 0.5) {
  if (kind == "binary_accuracy")
    return std::make_shared<BinaryAccuracy>(BinaryAccuracyOptions{.threshold = binary_threshold, .name = name});
  if (kind == "sparse_categorical_accuracy")
    return std::make_shared<SparseCategoricalAccuracy>(SparseCategoricalAccuracyOptions{.name = name});
  return std::make_shared<CategoricalAccuracy>(CategoricalAccuracyOptions{.name = name});
}
}  // namespace

Accuracy::Accuracy(std::string name) : Metric(std::move(name)) {}
nlohmann::json Accuracy::get_config() const { return Metric::get_config(); }
MetricPtr Accuracy::from_config(const nlohmann::json& config) {
  return std::make_shared<Accuracy>(name_field(fields(config, "Accuracy"), "accuracy"));
}
void Accuracy::update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight) {
  check_defined(name(), y_true, y_pred);
  if (!inner_) {
    std::string kind = resolve_accuracy(y_true.shape(), y_pred.shape());
    inner_ = make_accuracy(kind, name());
    resolved_ = std::move(kind);
  }
  inner_->update_state(y_true, y_pred, sample_weight);
}
double Accuracy::result() const { return inner_ ? inner_->result() : 0.0; }
void Accuracy::reset_state() {
  if (inner_) inner_->reset_state();
}
std::string Accuracy::class_name() const { return inner_ ? inner_->class_name() : "Accuracy"; }

// ------------------------------------------------------------------ factory

namespace {

// Keras class name -> from_config. A new metric is one line here (and its identifiers below).
const ClassTable<MetricPtr>& table() {
  static const ClassTable<MetricPtr> m("metric", {
      {"Accuracy", Accuracy::from_config},
      {"BinaryAccuracy", BinaryAccuracy::from_config},
      {"CategoricalAccuracy", CategoricalAccuracy::from_config},
      {"Mean", Mean::from_config},
      {"MeanAbsoluteError", MeanAbsoluteError::from_config},
      {"MeanSquaredError", MeanSquaredError::from_config},
      {"Precision", Precision::from_config},
      {"Recall", Recall::from_config},
      {"SparseCategoricalAccuracy", SparseCategoricalAccuracy::from_config},
      {"SparseTopKCategoricalAccuracy", SparseTopKCategoricalAccuracy::from_config},
      {"TopKCategoricalAccuracy", TopKCategoricalAccuracy::from_config},
  });
  return m;
}

// Keras identifiers -> class names ("accuracy" is resolved by get() from the loss).
const std::map<std::string, std::string>& identifiers() {
  static const std::map<std::string, std::string> m = {
      {"binary_accuracy", "BinaryAccuracy"},
      {"categorical_accuracy", "CategoricalAccuracy"},
      {"sparse_categorical_accuracy", "SparseCategoricalAccuracy"},
      {"top_k_categorical_accuracy", "TopKCategoricalAccuracy"},
      {"sparse_top_k_categorical_accuracy", "SparseTopKCategoricalAccuracy"},
      {"mse", "MeanSquaredError"},
      {"mean_squared_error", "MeanSquaredError"},
      {"mae", "MeanAbsoluteError"},
      {"mean_absolute_error", "MeanAbsoluteError"},
      {"precision", "Precision"},
      {"recall", "Recall"},
      {"mean", "Mean"},
  };
  return m;
}

}  // namespace

MetricPtr get(const std::string& name, const losses::Loss* loss) {
  if (name == "accuracy" || name == "acc") {
    if (auto* bce = dynamic_cast<const losses::BinaryCrossentropy*>(loss))
      return make_accuracy("binary_accuracy", name, bce->from_logits() ? 0.0 : 0.5);
    if (dynamic_cast<const losses::SparseCategoricalCrossentropy*>(loss) ||
        dynamic_cast<const losses::MulticlassSvm*>(loss))
      return make_accuracy("sparse_categorical_accuracy", name);
    if (dynamic_cast<const losses::CategoricalCrossentropy*>(loss) ||
        dynamic_cast<const losses::CategoricalHinge*>(loss))
      return make_accuracy("categorical_accuracy", name);
    return std::make_shared<Accuracy>(name);
  }
  auto id = identifiers().find(name);
  auto factory = table().find(id == identifiers().end() ? name : id->second);
  if (!factory) {
    std::string known = "accuracy, acc";
    for (const auto& [n, cls] : identifiers()) known += ", " + n;
    for (const auto& cls : table().names()) known += ", " + cls;
    throw ValueError("metrics::get: unknown metric \"" + name + "\"; known: " + known);
  }
  return factory(nlohmann::json{{"name", name}});
}

MetricPtr from_config(const nlohmann::json& j) { return table().from_reference(j); }

std::vector<std::string> registered_classes() { return table().names(); }

}  // namespace ember::metrics
