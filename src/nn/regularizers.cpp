#include "ember/nn/regularizers.hpp"

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "ember/core/config_fields.hpp"
#include "ember/core/error.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/reduce.hpp"

namespace ember::nn::regularizers {

namespace {

double check_coefficient(double v, const char* cls, const char* field) {
  if (!std::isfinite(v) || v < 0)
    throw ValueError(std::string(cls) + ": expected a finite " + field + " >= 0, got " + std::to_string(v));
  return v;
}

void check_weight(const Tensor& w, const char* cls) {
  if (!w.defined()) throw ValueError(std::string(cls) + ": the weight tensor is undefined");
  if (!is_floating(w.dtype()))
    throw DTypeError(std::string(cls) + ": expected a floating weight (float32 or float64), got " +
                     std::string(dtype_name(w.dtype())));
}

// The reader of every regularizer's from_config: null is no value and unknown fields are errors.
ConfigFields fields(const nlohmann::json& config, const char* class_name) {
  return ConfigFields(config, "regularizer", class_name, ConfigFields::Nulls::Invalid);
}

Tensor l1_term(const Tensor& w, double l1) { return sum(abs(w)) * l1; }
Tensor l2_term(const Tensor& w, double l2) { return sum(square(w)) * l2; }

}  // namespace

Regularizer::~Regularizer() = default;

nlohmann::json Regularizer::get_config_json() const {
  return {{"class_name", class_name()}, {"config", get_config()}};
}

L1::L1(L1Options options) : l1_(check_coefficient(options.l1, "L1", "l1")) {}
Tensor L1::operator()(const Tensor& w) const {
  check_weight(w, "L1");
  return l1_term(w, l1_);
}
nlohmann::json L1::get_config() const { return {{"l1", l1_}}; }
RegularizerPtr L1::from_config(const nlohmann::json& config) {
  ConfigFields f = fields(config, "L1");
  L1Options o{.l1 = f.number("l1", L1Options{}.l1)};
  f.finish();
  return std::make_shared<L1>(o);
}

L2::L2(L2Options options) : l2_(check_coefficient(options.l2, "L2", "l2")) {}
Tensor L2::operator()(const Tensor& w) const {
  check_weight(w, "L2");
  return l2_term(w, l2_);
}
nlohmann::json L2::get_config() const { return {{"l2", l2_}}; }
RegularizerPtr L2::from_config(const nlohmann::json& config) {
  ConfigFields f = fields(config, "L2");
  L2Options o{.l2 = f.number("l2", L2Options{}.l2)};
  f.finish();
  return std::make_shared<L2>(o);
}

L1L2::L1L2(L1L2Options options)
    : l1_(check_coefficient(options.l1, "L1L2", "l1")), l2_(check_coefficient(options.l2, "L1L2", "l2")) {}
Tensor L1L2::operator()(const Tensor& w) const {
  check_weight(w, "L1L2");
  if (l1_ != 0 && l2_ != 0) return l1_term(w, l1_) + l2_term(w, l2_);
  if (l1_ != 0) return l1_term(w, l1_);
  if (l2_ != 0) return l2_term(w, l2_);
  return scalar_tensor(0.0, w.dtype());
}
nlohmann::json L1L2::get_config() const { return {{"l1", l1_}, {"l2", l2_}}; }
RegularizerPtr L1L2::from_config(const nlohmann::json& config) {
  ConfigFields f = fields(config, "L1L2");
  L1L2Options o{.l1 = f.number("l1", L1L2Options{}.l1), .l2 = f.number("l2", L1L2Options{}.l2)};
  f.finish();
  return std::make_shared<L1L2>(o);
}

std::shared_ptr<const L2> frobenius(double lambda, int64_t m) {
  if (!std::isfinite(lambda) || lambda < 0)
    throw ValueError("regularizers::frobenius: expected a finite lambda >= 0, got " + std::to_string(lambda));
  if (m < 1) throw ValueError("regularizers::frobenius: expected m >= 1 examples, got " + std::to_string(m));
  return std::make_shared<L2>(L2Options{.l2 = lambda / (2.0 * static_cast<double>(m))});
}

namespace {

// Keras class name (and Keras's snake-case aliases) -> from_config. A new regularizer is one line here.
const ClassTable<RegularizerPtr>& table() {
  static const ClassTable<RegularizerPtr> m("regularizer", {
      {"L1", L1::from_config},
      {"L2", L2::from_config},
      {"L1L2", L1L2::from_config},
      {"l1", L1::from_config},
      {"l2", L2::from_config},
      {"l1_l2", L1L2::from_config},
  });
  return m;
}

}  // namespace

RegularizerPtr get(const std::string& identifier) {
  // Keras's get("l1_l2") is L1L2(l1=0.01, l2=0.01), unlike the class's defaults (0, 0).
  if (identifier == "l1_l2") return std::make_shared<L1L2>(L1L2Options{.l1 = 0.01, .l2 = 0.01});
  auto factory = table().find(identifier);
  if (!factory) {
    throw ValueError("regularizers::get: unknown regularizer \"" + identifier +
                     "\"; known: l1, l2, l1_l2, L1, L2, L1L2");
  }
  return factory(nlohmann::json::object());
}

RegularizerPtr from_config(const nlohmann::json& j) { return table().from_reference(j); }

std::vector<std::string> registered_classes() { return table().names(); }

}  // namespace ember::nn::regularizers
