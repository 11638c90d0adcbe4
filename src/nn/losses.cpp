// Loss objects: the per-sample loss ops of ops/losses.hpp plus Keras's weighting and reduction.
// Everything is composed from ops, so autograd needs nothing of its own here.
#include "ember/nn/losses.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "ember/autograd/autograd.hpp"
#include "ember/core/config_fields.hpp"
#include "ember/core/error.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/losses.hpp"
#include "ember/ops/reduce.hpp"
#include "ember/ops/shape.hpp"

namespace ember::losses {

namespace {

std::string or_default(const std::string& name, const char* fallback) { return name.empty() ? fallback : name; }

double checked_smoothing(double eps, const char* cls) {
  if (!std::isfinite(eps) || eps < 0 || eps > 1)
    throw ValueError(std::string(cls) + ": label_smoothing must be in [0, 1], got " + std::to_string(eps));
  return eps;
}

void check_defined(const std::string& who, const Tensor& y_true, const Tensor& y_pred) {
  if (!y_true.defined()) throw ValueError(who + ": y_true is undefined");
  if (!y_pred.defined()) throw ValueError(who + ": y_pred is undefined");
}

// Keras 3's squeeze_or_expand_to_same_rank(y_true, y_pred): a trailing unit axis on one side only is
// dropped, except that a rank-1 partner is expanded instead ([N] with [N, 1] reads as [N, 1]).
std::pair<Tensor, Tensor> same_rank(Tensor y_true, Tensor y_pred) {
  const int rt = y_true.dim(), rp = y_pred.dim();
  if (rt == rp + 1 && rt > 0 && y_true.shape().back() == 1) {
    if (rp == 1) y_pred = unsqueeze(y_pred, -1);
    else y_true = squeeze(y_true, -1);
  } else if (rp == rt + 1 && rp > 0 && y_pred.shape().back() == 1) {
    if (rt == 1) y_true = unsqueeze(y_true, -1);
    else y_pred = squeeze(y_pred, -1);
  }
  return {y_true, y_pred};
}

// Dense losses: ranks aligned, y_pred floating with a last axis, shapes equal, y_true cast to y_pred's dtype.
std::pair<Tensor, Tensor> dense_pair(const std::string& who, const Tensor& y_true_in, const Tensor& y_pred_in) {
  check_defined(who, y_true_in, y_pred_in);
  auto [y_true, y_pred] = same_rank(y_true_in, y_pred_in);
  if (!is_floating(y_pred.dtype()))
    throw DTypeError(who + ": y_pred must be float32 or float64, got " + std::string(dtype_name(y_pred.dtype())));
  if (y_pred.dim() == 0) throw ShapeError(who + ": y_pred must have rank >= 1, got shape []");
  if (y_true.shape() != y_pred.shape())
    throw ShapeError(who + ": y_true shape " + to_string(y_true_in.shape()) + " does not match y_pred shape " +
                     to_string(y_pred_in.shape()));
  if (y_true.dtype() != y_pred.dtype()) y_true = cast(y_true, y_pred.dtype());
  return {y_true, y_pred};
}

Tensor zero_of(const Tensor& like) { return scalar_like(0, like); }

// Keras's _maybe_convert_labels: labels that are all 0 or 1 become −1 / 1.
Tensor hinge_labels(const Tensor& y) {
  bool binary;
  {
    autograd::NoGradGuard no_grad;
    Tensor yd = y.detach();
    Tensor ok = logical_or(equal(yd, scalar_like(0, yd)), equal(yd, scalar_like(1, yd)));
    binary = sum(cast(logical_not(ok), f64)).item<double>() == 0.0;
  }
  return binary ? y * 2.0 - 1.0 : y;
}

Tensor hinge_margin(const Tensor& y, const Tensor& p) {
  Tensor m = 1.0 - y * p;
  return maximum(m, zero_of(m));
}

}  // namespace

std::string reduction_name(Reduction r) {
  switch (r) {
    case Reduction::SumOverBatchSize: return "sum_over_batch_size";
    case Reduction::Sum: return "sum";
    case Reduction::None: return "none";
  }
  return "sum_over_batch_size";
}

Reduction reduction_from_name(const std::string& name) {
  if (name == "auto" || name == "sum_over_batch_size") return Reduction::SumOverBatchSize;
  if (name == "sum") return Reduction::Sum;
  if (name == "none") return Reduction::None;
  throw ValueError("losses: unknown reduction \"" + name + "\"; known: auto, sum_over_batch_size, sum, none");
}

Tensor broadcast_sample_weight(const Tensor& sample_weight, const Shape& shape, DType dtype, const std::string& who) {
  if (!sample_weight.defined()) return Tensor();
  Shape s = sample_weight.shape();
  auto mismatch = [&] {
    return ShapeError(who + ": sample_weight shape " + to_string(sample_weight.shape()) +
                      " cannot weight values of shape " + to_string(shape) +
                      " (expected a scalar, the batch shape, or a prefix of it, each dim equal or 1)");
  };
  if (s.size() == shape.size() + 1 && s.back() == 1) s.pop_back();
  if (s.size() > shape.size()) throw mismatch();
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] != shape[i] && s[i] != 1) throw mismatch();
  Shape padded = s;
  padded.resize(shape.size(), 1);
  Tensor w = sample_weight.dtype() == dtype ? sample_weight : cast(sample_weight, dtype);
  return expand(reshape(w, padded), shape);
}

// ------------------------------------------------------------------ Loss

namespace {

ConfigFields fields(const nlohmann::json& config, const char* class_name) {
  return ConfigFields(config, "loss", class_name);
}

// Keras's "reduction" field, "sum_over_batch_size" when absent.
Reduction reduction_field(const ConfigFields& f) {
  std::string r = f.string("reduction", "sum_over_batch_size");
  try {
    return reduction_from_name(r);
  } catch (const ValueError&) {
    f.fail("reduction", "\"sum_over_batch_size\", \"sum\", \"none\" or \"auto\"");
  }
}

}  // namespace

Loss::Loss(Reduction reduction_, std::string name) : reduction(reduction_), name_(std::move(name)) {}
Loss::~Loss() = default;

Tensor masked_sample_weight(const Tensor& mask, const Tensor& sample_weight, const std::string& who) {
  if (!mask.defined()) return sample_weight;
  Tensor m = cast(mask.detach(), f32);
  if (!sample_weight.defined()) return m;
  return m * broadcast_sample_weight(sample_weight.detach(), m.shape(), f32, who);
}

Tensor Loss::operator()(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight, const Tensor& mask) const {
  check_defined(name(), y_true, y_pred);
  Tensor v = per_sample(y_true, y_pred);
  if (sample_weight.defined()) v = v * broadcast_sample_weight(sample_weight, v.shape(), v.dtype(), name());
  double count = static_cast<double>(v.numel());
  if (mask.defined()) {
    Tensor m;
    try {
      m = broadcast_sample_weight(mask.detach(), v.shape(), v.dtype(), name());
    } catch (const ShapeError&) {
      throw ShapeError(name() + ": mask shape " + to_string(mask.shape()) + " does not fit the loss values of shape " +
                       to_string(v.shape()) + " (expected the values' shape or a leading part of it)");
    }
    v = v * m;
    autograd::NoGradGuard no_grad;
    count = sum(m).item<double>();
  }
  switch (reduction) {
    case Reduction::None: return v;
    case Reduction::Sum: return sum(v);
    case Reduction::SumOverBatchSize: break;
  }
  // Keras divides by the number of (unmasked) values, not by Σw; none gives 0 (divide_no_nan).
  return count > 0 ? sum(v) / count : sum(v) * 0.0;
}

nlohmann::json Loss::get_config() const { return {{"name", name()}, {"reduction", reduction_name(reduction)}}; }

nlohmann::json Loss::get_config_json() const { return {{"class_name", class_name()}, {"config", get_config()}}; }

// ------------------------------------------------------------------ regression

MeanSquaredError::MeanSquaredError(LossOptions o) : Loss(o.reduction, or_default(o.name, "mean_squared_error")) {}
LossPtr MeanSquaredError::from_config(const nlohmann::json& config) {
  ConfigFields f = fields(config, "MeanSquaredError");
  return std::make_shared<MeanSquaredError>(LossOptions{.reduction = reduction_field(f), .name = f.name()});
}
Tensor MeanSquaredError::per_sample(const Tensor& y_true, const Tensor& y_pred) const {
  auto [y, p] = dense_pair(name(), y_true, y_pred);
  return mean_squared_error(y, p);
}

MeanAbsoluteError::MeanAbsoluteError(LossOptions o) : Loss(o.reduction, or_default(o.name, "mean_absolute_error")) {}
LossPtr MeanAbsoluteError::from_config(const nlohmann::json& config) {
  ConfigFields f = fields(config, "MeanAbsoluteError");
  return std::make_shared<MeanAbsoluteError>(LossOptions{.reduction = reduction_field(f), .name = f.name()});
}
Tensor MeanAbsoluteError::per_sample(const Tensor& y_true, const Tensor& y_pred) const {
  auto [y, p] = dense_pair(name(), y_true, y_pred);
  return mean_absolute_error(y, p);
}

Huber::Huber(HuberOptions o) : Loss(o.reduction, or_default(o.name, "huber_loss")), delta_(o.delta) {
  if (!std::isfinite(delta_) || delta_ <= 0)
    throw ValueError("Huber: delta must be positive and finite, got " + std::to_string(delta_));
}
Tensor Huber::per_sample(const Tensor& y_true, const Tensor& y_pred) const {
  auto [y, p] = dense_pair(name(), y_true, y_pred);
  return huber(y, p, delta_);
}
nlohmann::json Huber::get_config() const {
  nlohmann::json j = Loss::get_config();
  j["delta"] = delta_;
  return j;
}
LossPtr Huber::from_config(const nlohmann::json& config) {
  ConfigFields f = fields(config, "Huber");
  return std::make_shared<Huber>(HuberOptions{
      .delta = f.number("delta", HuberOptions{}.delta), .reduction = reduction_field(f), .name = f.name()});
}

// ------------------------------------------------------------------ cross-entropies

BinaryCrossentropy::BinaryCrossentropy(BinaryCrossentropyOptions o)
    : Loss(o.reduction, or_default(o.name, "binary_crossentropy")),
      from_logits_(o.from_logits),
      label_smoothing_(checked_smoothing(o.label_smoothing, "BinaryCrossentropy")) {}
Tensor BinaryCrossentropy::per_sample(const Tensor& y_true, const Tensor& y_pred) const {
  auto [y, p] = dense_pair(name(), y_true, y_pred);
  if (label_smoothing_ != 0) y = y * (1.0 - label_smoothing_) + 0.5 * label_smoothing_;
  return binary_crossentropy(y, p, from_logits_);
}
nlohmann::json BinaryCrossentropy::get_config() const {
  nlohmann::json j = Loss::get_config();
  j["from_logits"] = from_logits_;
  j["label_smoothing"] = label_smoothing_;
  return j;
}
LossPtr BinaryCrossentropy::from_config(const nlohmann::json& config) {
  ConfigFields f = fields(config, "BinaryCrossentropy");
  return std::make_shared<BinaryCrossentropy>(
      BinaryCrossentropyOptions{.from_logits = f.boolean("from_logits", false),
                                .label_smoothing = f.number("label_smoothing", 0.0),
                                .reduction = reduction_field(f),
                                .name = f.name()});
}

CategoricalCrossentropy::CategoricalCrossentropy(CategoricalCrossentropyOptions o)
    : Loss(o.reduction, or_default(o.name, "categorical_crossentropy")),
      from_logits_(o.from_logits),
      label_smoothing_(checked_smoothing(o.label_smoothing, "CategoricalCrossentropy")) {}
Tensor CategoricalCrossentropy::per_sample(const Tensor& y_true, const Tensor& y_pred) const {
  auto [y, p] = dense_pair(name(), y_true, y_pred);
  if (label_smoothing_ != 0) {
    const double classes = static_cast<double>(p.shape().back());
    y = y * (1.0 - label_smoothing_) + label_smoothing_ / classes;
  }
  return categorical_crossentropy(y, p, from_logits_);
}
nlohmann::json CategoricalCrossentropy::get_config() const {
  nlohmann::json j = Loss::get_config();
  j["from_logits"] = from_logits_;
  j["label_smoothing"] = label_smoothing_;
  return j;
}
LossPtr CategoricalCrossentropy::from_config(const nlohmann::json& config) {
  ConfigFields f = fields(config, "CategoricalCrossentropy");
  return std::make_shared<CategoricalCrossentropy>(
      CategoricalCrossentropyOptions{.from_logits = f.boolean("from_logits", false),
                                     .label_smoothing = f.number("label_smoothing", 0.0),
                                     .reduction = reduction_field(f),
                                     .name = f.name()});
}

SparseCategoricalCrossentropy::SparseCategoricalCrossentropy(SparseCategoricalCrossentropyOptions o)
    : Loss(o.reduction, or_default(o.name, "sparse_categorical_crossentropy")), from_logits_(o.from_logits) {}
Tensor SparseCategoricalCrossentropy::per_sample(const Tensor& y_true, const Tensor& y_pred) const {
  check_defined(name(), y_true, y_pred);
  return sparse_categorical_crossentropy(y_true, y_pred, from_logits_);
}
nlohmann::json SparseCategoricalCrossentropy::get_config() const {
  nlohmann::json j = Loss::get_config();
  j["from_logits"] = from_logits_;
  return j;
}
LossPtr SparseCategoricalCrossentropy::from_config(const nlohmann::json& config) {
  ConfigFields f = fields(config, "SparseCategoricalCrossentropy");
  f.require_null("ignore_class");
  return std::make_shared<SparseCategoricalCrossentropy>(SparseCategoricalCrossentropyOptions{
      .from_logits = f.boolean("from_logits", false), .reduction = reduction_field(f), .name = f.name()});
}

// ------------------------------------------------------------------ hinges

Hinge::Hinge(LossOptions o) : Loss(o.reduction, or_default(o.name, "hinge")) {}
LossPtr Hinge::from_config(const nlohmann::json& config) {
  ConfigFields f = fields(config, "Hinge");
  return std::make_shared<Hinge>(LossOptions{.reduction = reduction_field(f), .name = f.name()});
}
Tensor Hinge::per_sample(const Tensor& y_true, const Tensor& y_pred) const {
  auto [y, p] = dense_pair(name(), y_true, y_pred);
  return mean(hinge_margin(hinge_labels(y), p), {-1});
}

SquaredHinge::SquaredHinge(LossOptions o) : Loss(o.reduction, or_default(o.name, "squared_hinge")) {}
LossPtr SquaredHinge::from_config(const nlohmann::json& config) {
  ConfigFields f = fields(config, "SquaredHinge");
  return std::make_shared<SquaredHinge>(LossOptions{.reduction = reduction_field(f), .name = f.name()});
}
Tensor SquaredHinge::per_sample(const Tensor& y_true, const Tensor& y_pred) const {
  auto [y, p] = dense_pair(name(), y_true, y_pred);
  return mean(square(hinge_margin(hinge_labels(y), p)), {-1});
}

CategoricalHinge::CategoricalHinge(LossOptions o) : Loss(o.reduction, or_default(o.name, "categorical_hinge")) {}
LossPtr CategoricalHinge::from_config(const nlohmann::json& config) {
  ConfigFields f = fields(config, "CategoricalHinge");
  return std::make_shared<CategoricalHinge>(LossOptions{.reduction = reduction_field(f), .name = f.name()});
}
Tensor CategoricalHinge::per_sample(const Tensor& y_true, const Tensor& y_pred) const {
  auto [y, p] = dense_pair(name(), y_true, y_pred);
  Tensor pos = sum(y * p, {-1});
  Tensor neg = max((1.0 - y) * p, {-1});
  Tensor m = neg - pos + 1.0;
  return maximum(m, zero_of(m));
}

MulticlassSvm::MulticlassSvm(MulticlassSvmOptions o)
    : Loss(o.reduction, or_default(o.name, "multiclass_svm")), margin_(o.margin) {
  if (!std::isfinite(margin_)) throw ValueError("MulticlassSvm: margin must be finite, got " + std::to_string(margin_));
}
Tensor MulticlassSvm::per_sample(const Tensor& y_true, const Tensor& y_pred) const {
  check_defined(name(), y_true, y_pred);
  return multiclass_svm_loss(y_true, y_pred, margin_);
}
nlohmann::json MulticlassSvm::get_config() const {
  nlohmann::json j = Loss::get_config();
  j["margin"] = margin_;
  return j;
}
LossPtr MulticlassSvm::from_config(const nlohmann::json& config) {
  ConfigFields f = fields(config, "MulticlassSvm");
  return std::make_shared<MulticlassSvm>(MulticlassSvmOptions{
      .margin = f.number("margin", MulticlassSvmOptions{}.margin), .reduction = reduction_field(f), .name = f.name()});
}

// ------------------------------------------------------------------ factory

namespace {

// Keras class name -> from_config. A new loss is one line here (and its identifiers below).
const ClassTable<LossPtr>& table() {
  static const ClassTable<LossPtr> m("loss", {
      {"BinaryCrossentropy", BinaryCrossentropy::from_config},
      {"CategoricalCrossentropy", CategoricalCrossentropy::from_config},
      {"CategoricalHinge", CategoricalHinge::from_config},
      {"Hinge", Hinge::from_config},
      {"Huber", Huber::from_config},
      {"MeanAbsoluteError", MeanAbsoluteError::from_config},
      {"MeanSquaredError", MeanSquaredError::from_config},
      {"MulticlassSvm", MulticlassSvm::from_config},
      {"SparseCategoricalCrossentropy", SparseCategoricalCrossentropy::from_config},
      {"SquaredHinge", SquaredHinge::from_config},
  });
  return m;
}

// Keras identifiers -> class names.
const std::map<std::string, std::string>& identifiers() {
  static const std::map<std::string, std::string> m = {
      {"mse", "MeanSquaredError"},
      {"mean_squared_error", "MeanSquaredError"},
      {"mae", "MeanAbsoluteError"},
      {"mean_absolute_error", "MeanAbsoluteError"},
      {"huber", "Huber"},
      {"huber_loss", "Huber"},
      {"binary_crossentropy", "BinaryCrossentropy"},
      {"categorical_crossentropy", "CategoricalCrossentropy"},
      {"sparse_categorical_crossentropy", "SparseCategoricalCrossentropy"},
      {"hinge", "Hinge"},
      {"squared_hinge", "SquaredHinge"},
      {"categorical_hinge", "CategoricalHinge"},
      {"multiclass_svm", "MulticlassSvm"},
  };
  return m;
}

}  // namespace

LossPtr get(const std::string& name) {
  auto id = identifiers().find(name);
  auto factory = table().find(id == identifiers().end() ? name : id->second);
  if (!factory) {
    std::string known;
    for (const auto& [n, cls] : identifiers()) known += (known.empty() ? "" : ", ") + n;
    for (const auto& cls : table().names()) known += ", " + cls;
    throw ValueError("losses::get: unknown loss \"" + name + "\"; known: " + known);
  }
  return factory(nlohmann::json::object());
}

LossPtr from_config(const nlohmann::json& j) { return table().from_reference(j); }

std::vector<std::string> registered_classes() { return table().names(); }

}  // namespace ember::losses
