#include "ember/nn/regularizers.hpp"

#include <cmath>
#include <string>

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

L2::L2(L2Options options) : l2_(check_coefficient(options.l2, "L2", "l2")) {}
Tensor L2::operator()(const Tensor& w) const {
  check_weight(w, "L2");
  return l2_term(w, l2_);
}
nlohmann::json L2::get_config() const { return {{"l2", l2_}}; }

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

std::shared_ptr<const L2> frobenius(double lambda, int64_t m) {
  if (!std::isfinite(lambda) || lambda < 0)
    throw ValueError("regularizers::frobenius: expected a finite lambda >= 0, got " + std::to_string(lambda));
  if (m < 1) throw ValueError("regularizers::frobenius: expected m >= 1 examples, got " + std::to_string(m));
  return std::make_shared<L2>(L2Options{.l2 = lambda / (2.0 * static_cast<double>(m))});
}

RegularizerPtr get(const std::string& identifier) {
  if (identifier == "l1") return std::make_shared<L1>();
  if (identifier == "l2") return std::make_shared<L2>();
  if (identifier == "l1_l2") return std::make_shared<L1L2>(L1L2Options{.l1 = 0.01, .l2 = 0.01});
  if (identifier == "L1") return std::make_shared<L1>();
  if (identifier == "L2") return std::make_shared<L2>();
  if (identifier == "L1L2") return std::make_shared<L1L2>();
  throw ValueError("regularizers::get: unknown regularizer \"" + identifier +
                   "\"; known: l1, l2, l1_l2, L1, L2, L1L2");
}

RegularizerPtr from_config(const nlohmann::json& j) {
  if (!j.is_object()) throw FormatError(std::string("regularizer config: expected a JSON object, got ") + j.type_name());
  auto cn = j.find("class_name");
  if (cn == j.end()) throw FormatError("regularizer config: missing \"class_name\"");
  if (!cn->is_string())
    throw FormatError(std::string("regularizer config: \"class_name\" must be a string, got ") + cn->type_name());
  std::string cls = cn->get<std::string>();
  if (cls == "l1") cls = "L1";
  if (cls == "l2") cls = "L2";
  if (cls == "l1_l2") cls = "L1L2";
  if (cls != "L1" && cls != "L2" && cls != "L1L2")
    throw FormatError("regularizer config: unknown regularizer class \"" + cn->get<std::string>() + "\"");
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.key() != "class_name" && it.key() != "config" && it.key() != "module" && it.key() != "registered_name")
      throw FormatError("regularizer config: unknown key \"" + it.key() + "\"");

  const nlohmann::json empty = nlohmann::json::object();
  auto cfg = j.find("config");
  const nlohmann::json& config = (cfg == j.end() || cfg->is_null()) ? empty : *cfg;
  if (!config.is_object())
    throw FormatError("regularizer " + cls + ": \"config\" must be a JSON object, got " + config.type_name());
  const bool has_l1 = cls != "L2", has_l2 = cls != "L1";
  for (auto it = config.begin(); it != config.end(); ++it) {
    const std::string& key = it.key();
    if (!((key == "l1" && has_l1) || (key == "l2" && has_l2)))
      throw FormatError("regularizer " + cls + ": unknown field \"" + key + "\" in config");
    if (!it->is_number())
      throw FormatError("regularizer " + cls + ": field \"" + key + "\" must be a number, got " + it->type_name());
  }
  auto number = [&](const char* field, double fallback) {
    auto it = config.find(field);
    return it == config.end() ? fallback : it->get<double>();
  };
  if (cls == "L1") return std::make_shared<L1>(L1Options{.l1 = number("l1", L1Options{}.l1)});
  if (cls == "L2") return std::make_shared<L2>(L2Options{.l2 = number("l2", L2Options{}.l2)});
  return std::make_shared<L1L2>(L1L2Options{.l1 = number("l1", L1L2Options{}.l1), .l2 = number("l2", L1L2Options{}.l2)});
}

}  // namespace ember::nn::regularizers
