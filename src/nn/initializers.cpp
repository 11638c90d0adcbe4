#include "ember/nn/initializers.hpp"

#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "ember/autograd/autograd.hpp"
#include "ember/core/error.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/linalg.hpp"
#include "ember/ops/reduce.hpp"
#include "ember/ops/shape.hpp"

namespace ember::nn::initializers {

namespace {

// Std of a unit normal truncated to [-2, 2]; Keras divides by it so truncated draws keep the variance.
constexpr double kTruncatedStdFactor = 0.87962566103423978;

void check_request(const Shape& shape, DType dtype, const std::string& who) {
  check_shape(shape, who.c_str());
  if (!is_floating(dtype))
    throw DTypeError(who + ": expected a floating dtype (float32 or float64), got " + std::string(dtype_name(dtype)));
}

// The Generator a call draws from: a fresh one from `seed` when set (Keras 2 rule), else `gen`.
class SeededDraw {
 public:
  SeededDraw(const std::optional<uint64_t>& seed, Generator& gen) : gen_(&gen) {
    if (seed) {
      local_.emplace(*seed);
      gen_ = &*local_;
    }
  }
  Generator* get() { return gen_; }

 private:
  std::optional<Generator> local_;
  Generator* gen_;
};

nlohmann::json seed_json(const std::optional<uint64_t>& seed) {
  return seed ? nlohmann::json(*seed) : nlohmann::json(nullptr);
}

void check_finite(double v, const char* who, const char* field) {
  if (!std::isfinite(v)) throw ValueError(std::string(who) + ": " + field + " must be finite, got " + std::to_string(v));
}

}  // namespace

Initializer::~Initializer() = default;

nlohmann::json Initializer::get_config_json() const {
  return {{"class_name", class_name()}, {"config", get_config()}};
}

// ---------------------------------------------------------------- fans

Fans compute_fans(const Shape& shape) {
  check_shape(shape, "compute_fans");
  if (shape.empty()) return {1, 1};
  if (shape.size() == 1) return {shape[0], shape[0]};
  if (shape.size() == 2) return {shape[0], shape[1]};
  int64_t receptive = 1;
  for (size_t i = 0; i + 2 < shape.size(); ++i) receptive *= shape[i];
  return {shape[shape.size() - 2] * receptive, shape[shape.size() - 1] * receptive};
}

// ---------------------------------------------------------------- constants

Tensor Zeros::operator()(const Shape& shape, DType dtype, Generator&) const {
  check_request(shape, dtype, "Zeros");
  return zeros(shape, dtype);
}
nlohmann::json Zeros::get_config() const { return nlohmann::json::object(); }

Tensor Ones::operator()(const Shape& shape, DType dtype, Generator&) const {
  check_request(shape, dtype, "Ones");
  return ones(shape, dtype);
}
nlohmann::json Ones::get_config() const { return nlohmann::json::object(); }

Constant::Constant(ConstantOptions options) : options_(options) {}
Tensor Constant::operator()(const Shape& shape, DType dtype, Generator&) const {
  check_request(shape, dtype, "Constant");
  return full(shape, options_.value, dtype);
}
nlohmann::json Constant::get_config() const { return {{"value", options_.value}}; }

// ---------------------------------------------------------------- plain random

RandomNormal::RandomNormal(RandomNormalOptions options) : options_(options) {
  check_finite(options_.mean, "RandomNormal", "mean");
  check_finite(options_.stddev, "RandomNormal", "stddev");
  if (options_.stddev < 0) throw ValueError("RandomNormal: expected stddev >= 0, got " + std::to_string(options_.stddev));
}
Tensor RandomNormal::operator()(const Shape& shape, DType dtype, Generator& gen) const {
  check_request(shape, dtype, "RandomNormal");
  SeededDraw g(options_.seed, gen);
  return randn(shape, {.mean = options_.mean, .stddev = options_.stddev, .dtype = dtype, .generator = g.get()});
}
nlohmann::json RandomNormal::get_config() const {
  return {{"mean", options_.mean}, {"stddev", options_.stddev}, {"seed", seed_json(options_.seed)}};
}

RandomUniform::RandomUniform(RandomUniformOptions options) : options_(options) {
  check_finite(options_.minval, "RandomUniform", "minval");
  check_finite(options_.maxval, "RandomUniform", "maxval");
  if (options_.maxval < options_.minval)
    throw ValueError("RandomUniform: expected minval <= maxval, got minval=" + std::to_string(options_.minval) +
                     " maxval=" + std::to_string(options_.maxval));
}
Tensor RandomUniform::operator()(const Shape& shape, DType dtype, Generator& gen) const {
  check_request(shape, dtype, "RandomUniform");
  SeededDraw g(options_.seed, gen);
  return rand(shape, {.low = options_.minval, .high = options_.maxval, .dtype = dtype, .generator = g.get()});
}
nlohmann::json RandomUniform::get_config() const {
  return {{"minval", options_.minval}, {"maxval", options_.maxval}, {"seed", seed_json(options_.seed)}};
}

TruncatedNormal::TruncatedNormal(TruncatedNormalOptions options) : options_(options) {
  check_finite(options_.mean, "TruncatedNormal", "mean");
  check_finite(options_.stddev, "TruncatedNormal", "stddev");
  if (options_.stddev < 0)
    throw ValueError("TruncatedNormal: expected stddev >= 0, got " + std::to_string(options_.stddev));
}
Tensor TruncatedNormal::operator()(const Shape& shape, DType dtype, Generator& gen) const {
  check_request(shape, dtype, "TruncatedNormal");
  SeededDraw g(options_.seed, gen);
  return truncated_normal(shape, {.mean = options_.mean, .stddev = options_.stddev, .dtype = dtype, .generator = g.get()});
}
nlohmann::json TruncatedNormal::get_config() const {
  return {{"mean", options_.mean}, {"stddev", options_.stddev}, {"seed", seed_json(options_.seed)}};
}

// ---------------------------------------------------------------- variance scaling

std::string to_string(FanMode mode) {
  switch (mode) {
    case FanMode::FanIn: return "fan_in";
    case FanMode::FanOut: return "fan_out";
    case FanMode::FanAvg: return "fan_avg";
  }
  throw ValueError("unknown FanMode");
}

std::string to_string(Distribution distribution) {
  switch (distribution) {
    case Distribution::TruncatedNormal: return "truncated_normal";
    case Distribution::UntruncatedNormal: return "untruncated_normal";
    case Distribution::Uniform: return "uniform";
  }
  throw ValueError("unknown Distribution");
}

FanMode parse_fan_mode(const std::string& s) {
  if (s == "fan_in") return FanMode::FanIn;
  if (s == "fan_out") return FanMode::FanOut;
  if (s == "fan_avg") return FanMode::FanAvg;
  throw ValueError("VarianceScaling: mode must be one of \"fan_in\", \"fan_out\", \"fan_avg\", got \"" + s + "\"");
}

Distribution parse_distribution(const std::string& s) {
  if (s == "truncated_normal" || s == "normal") return Distribution::TruncatedNormal;
  if (s == "untruncated_normal") return Distribution::UntruncatedNormal;
  if (s == "uniform") return Distribution::Uniform;
  throw ValueError(
      "VarianceScaling: distribution must be one of \"truncated_normal\", \"untruncated_normal\", \"uniform\", got \"" +
      s + "\"");
}

VarianceScaling::VarianceScaling(VarianceScalingOptions options) : options_(options) {
  if (!(options_.scale > 0) || !std::isfinite(options_.scale))
    throw ValueError("VarianceScaling: expected a finite scale > 0, got " + std::to_string(options_.scale));
}

Tensor VarianceScaling::operator()(const Shape& shape, DType dtype, Generator& gen) const {
  const std::string who = class_name();
  check_request(shape, dtype, who);
  const Fans fans = compute_fans(shape);
  double n = 1;
  switch (options_.mode) {
    case FanMode::FanIn: n = static_cast<double>(fans.fan_in); break;
    case FanMode::FanOut: n = static_cast<double>(fans.fan_out); break;
    case FanMode::FanAvg: n = (static_cast<double>(fans.fan_in) + static_cast<double>(fans.fan_out)) / 2.0; break;
  }
  const double scale = options_.scale / std::max(1.0, n);
  SeededDraw g(options_.seed, gen);
  switch (options_.distribution) {
    case Distribution::TruncatedNormal:
      return truncated_normal(shape, {.mean = 0.0, .stddev = std::sqrt(scale) / kTruncatedStdFactor, .dtype = dtype, .generator = g.get()});
    case Distribution::UntruncatedNormal:
      return randn(shape, {.mean = 0.0, .stddev = std::sqrt(scale), .dtype = dtype, .generator = g.get()});
    case Distribution::Uniform: {
      const double limit = std::sqrt(3.0 * scale);
      return rand(shape, {.low = -limit, .high = limit, .dtype = dtype, .generator = g.get()});
    }
  }
  throw ValueError(who + ": unknown distribution");
}

nlohmann::json VarianceScaling::get_config() const {
  return {{"scale", options_.scale},
          {"mode", to_string(options_.mode)},
          {"distribution", to_string(options_.distribution)},
          {"seed", seed_json(options_.seed)}};
}

namespace {
VarianceScalingOptions preset(double scale, FanMode mode, Distribution distribution, const SeedOptions& o) {
  return {.scale = scale, .mode = mode, .distribution = distribution, .seed = o.seed};
}
}  // namespace

GlorotNormal::GlorotNormal(SeedOptions o) : VarianceScaling(preset(1.0, FanMode::FanAvg, Distribution::TruncatedNormal, o)) {}
nlohmann::json GlorotNormal::get_config() const { return {{"seed", seed_json(options().seed)}}; }

GlorotUniform::GlorotUniform(SeedOptions o) : VarianceScaling(preset(1.0, FanMode::FanAvg, Distribution::Uniform, o)) {}
nlohmann::json GlorotUniform::get_config() const { return {{"seed", seed_json(options().seed)}}; }

HeNormal::HeNormal(SeedOptions o) : VarianceScaling(preset(2.0, FanMode::FanIn, Distribution::TruncatedNormal, o)) {}
nlohmann::json HeNormal::get_config() const { return {{"seed", seed_json(options().seed)}}; }

HeUniform::HeUniform(SeedOptions o) : VarianceScaling(preset(2.0, FanMode::FanIn, Distribution::Uniform, o)) {}
nlohmann::json HeUniform::get_config() const { return {{"seed", seed_json(options().seed)}}; }

LecunNormal::LecunNormal(SeedOptions o) : VarianceScaling(preset(1.0, FanMode::FanIn, Distribution::TruncatedNormal, o)) {}
nlohmann::json LecunNormal::get_config() const { return {{"seed", seed_json(options().seed)}}; }

LecunUniform::LecunUniform(SeedOptions o) : VarianceScaling(preset(1.0, FanMode::FanIn, Distribution::Uniform, o)) {}
nlohmann::json LecunUniform::get_config() const { return {{"seed", seed_json(options().seed)}}; }

// ---------------------------------------------------------------- structured

Orthogonal::Orthogonal(OrthogonalOptions options) : options_(options) {
  check_finite(options_.gain, "Orthogonal", "gain");
}

Tensor Orthogonal::operator()(const Shape& shape, DType dtype, Generator& gen) const {
  check_request(shape, dtype, "Orthogonal");
  if (shape.size() < 2)
    throw ValueError("Orthogonal: the shape to initialise must be at least 2-D, got " + ember::to_string(shape));
  int64_t rows = 1;
  for (size_t i = 0; i + 1 < shape.size(); ++i) rows *= shape[i];
  const int64_t cols = shape.back();
  if (rows == 0 || cols == 0) return zeros(shape, dtype);
  const int64_t k = std::min(rows, cols);  // number of orthonormal vectors
  const int64_t n = std::max(rows, cols);  // their length

  autograd::NoGradGuard no_grad;
  SeededDraw g(options_.seed, gen);
  // Rows of `a` are the columns of Keras' Gaussian [n, k] matrix. Gram-Schmidt applied in order is
  // QR with R's diagonal positive, i.e. Keras' `q * sign(diag(r))`. Classical Gram-Schmidt run
  // twice per vector ("twice is enough") keeps the result orthogonal to rounding error, in f64.
  Tensor a = randn({k, n}, {.dtype = f64, .generator = g.get()});
  Tensor q = zeros({k, n}, f64);
  for (int64_t j = 0; j < k; ++j) {
    Tensor v = a.slice(0, j, j + 1).contiguous();  // [1, n]
    if (j > 0) {
      Tensor basis = q.slice(0, 0, j);  // [j, n], orthonormal rows
      for (int pass = 0; pass < 2; ++pass) {
        Tensor coeff = matmul(basis, v, {.transpose_b = true});      // [j, 1]
        v = v - matmul(coeff, basis, {.transpose_a = true});         // [1, n]
      }
    }
    const double norm = std::sqrt(sum(square(v)).item<double>());
    if (!(norm > 0)) throw ValueError("Orthogonal: the random matrix is rank-deficient; draw again");
    q.slice(0, j, j + 1).copy_(v / norm);
  }
  // q: [k, n] with orthonormal rows. Wide targets (rows < cols) take it as is; tall ones transposed.
  Tensor w = rows < cols ? q : q.t().contiguous();
  return (w * options_.gain).to(dtype).reshape(shape).contiguous();
}

nlohmann::json Orthogonal::get_config() const {
  return {{"gain", options_.gain}, {"seed", seed_json(options_.seed)}};
}

Identity::Identity(IdentityOptions options) : options_(options) { check_finite(options_.gain, "Identity", "gain"); }

Tensor Identity::operator()(const Shape& shape, DType dtype, Generator&) const {
  check_request(shape, dtype, "Identity");
  if (shape.size() != 2) throw ValueError("Identity: expected a 2-D shape, got " + ember::to_string(shape));
  autograd::NoGradGuard no_grad;
  return (eye(shape[0], shape[1], dtype) * options_.gain).contiguous();
}

nlohmann::json Identity::get_config() const { return {{"gain", options_.gain}}; }

// ---------------------------------------------------------------- the notes' schemes

SmallRandomNormal::SmallRandomNormal(SmallRandomNormalOptions options) : options_(options) {
  check_finite(options_.stddev, "SmallRandomNormal", "stddev");
  if (options_.stddev < 0)
    throw ValueError("SmallRandomNormal: expected stddev >= 0, got " + std::to_string(options_.stddev));
}
Tensor SmallRandomNormal::operator()(const Shape& shape, DType dtype, Generator& gen) const {
  check_request(shape, dtype, "SmallRandomNormal");
  SeededDraw g(options_.seed, gen);
  return randn(shape, {.mean = 0.0, .stddev = options_.stddev, .dtype = dtype, .generator = g.get()});
}
nlohmann::json SmallRandomNormal::get_config() const {
  return {{"stddev", options_.stddev}, {"seed", seed_json(options_.seed)}};
}

StandardUniform::StandardUniform(SeedOptions options) : seed_(options.seed) {}
Tensor StandardUniform::operator()(const Shape& shape, DType dtype, Generator& gen) const {
  check_request(shape, dtype, "StandardUniform");
  const double d = std::max<double>(1.0, static_cast<double>(compute_fans(shape).fan_in));
  const double limit = 1.0 / std::sqrt(d);
  SeededDraw g(seed_, gen);
  return rand(shape, {.low = -limit, .high = limit, .dtype = dtype, .generator = g.get()});
}
nlohmann::json StandardUniform::get_config() const { return {{"seed", seed_json(seed_)}}; }

// ---------------------------------------------------------------- factories

namespace {

// Reads a Keras config object field by field; anything left unread is an unknown field.
class ConfigReader {
 public:
  ConfigReader(const std::string& cls, const nlohmann::json& config) : cls_(cls), config_(config) {
    if (!config_.is_object())
      throw FormatError("initializer " + cls_ + ": \"config\" must be a JSON object, got " + config_.type_name());
  }

  double number(const char* field, double fallback) {
    const nlohmann::json* v = take(field);
    if (!v) return fallback;
    if (!v->is_number())
      throw FormatError("initializer " + cls_ + ": field \"" + field + "\" must be a number, got " + v->type_name());
    return v->get<double>();
  }

  std::string string(const char* field, const std::string& fallback) {
    const nlohmann::json* v = take(field);
    if (!v) return fallback;
    if (!v->is_string())
      throw FormatError("initializer " + cls_ + ": field \"" + field + "\" must be a string, got " + v->type_name());
    return v->get<std::string>();
  }

  std::optional<uint64_t> seed() {
    const nlohmann::json* v = take("seed");
    if (!v || v->is_null()) return std::nullopt;
    if (v->is_number_unsigned()) return v->get<uint64_t>();
    if (v->is_number_integer() && v->get<int64_t>() >= 0) return static_cast<uint64_t>(v->get<int64_t>());
    throw FormatError("initializer " + cls_ + ": field \"seed\" must be null or a non-negative integer, got " +
                      v->dump());
  }

  // Throws for any field that no reader asked for.
  void finish() const {
    for (auto it = config_.begin(); it != config_.end(); ++it)
      if (!read_.count(it.key()))
        throw FormatError("initializer " + cls_ + ": unknown field \"" + it.key() + "\" in config");
  }

 private:
  const nlohmann::json* take(const char* field) {
    read_.insert(field);
    auto it = config_.find(field);
    return it == config_.end() ? nullptr : &*it;
  }

  std::string cls_;
  const nlohmann::json& config_;
  std::set<std::string> read_;
};

using Maker = std::function<InitializerPtr(ConfigReader&)>;

template <typename T>
Maker seed_only() {
  return [](ConfigReader& r) -> InitializerPtr { return std::make_shared<T>(SeedOptions{.seed = r.seed()}); };
}

// Keras class name → maker. Defaults come from the options structs, so they match the constructors.
const std::map<std::string, Maker>& makers() {
  static const std::map<std::string, Maker> m = {
      {"Zeros", [](ConfigReader&) -> InitializerPtr { return std::make_shared<Zeros>(); }},
      {"Ones", [](ConfigReader&) -> InitializerPtr { return std::make_shared<Ones>(); }},
      {"Constant",
       [](ConfigReader& r) -> InitializerPtr {
         return std::make_shared<Constant>(ConstantOptions{.value = r.number("value", ConstantOptions{}.value)});
       }},
      {"RandomNormal",
       [](ConfigReader& r) -> InitializerPtr {
         RandomNormalOptions o;
         o.mean = r.number("mean", o.mean);
         o.stddev = r.number("stddev", o.stddev);
         o.seed = r.seed();
         return std::make_shared<RandomNormal>(o);
       }},
      {"RandomUniform",
       [](ConfigReader& r) -> InitializerPtr {
         RandomUniformOptions o;
         o.minval = r.number("minval", o.minval);
         o.maxval = r.number("maxval", o.maxval);
         o.seed = r.seed();
         return std::make_shared<RandomUniform>(o);
       }},
      {"TruncatedNormal",
       [](ConfigReader& r) -> InitializerPtr {
         TruncatedNormalOptions o;
         o.mean = r.number("mean", o.mean);
         o.stddev = r.number("stddev", o.stddev);
         o.seed = r.seed();
         return std::make_shared<TruncatedNormal>(o);
       }},
      {"VarianceScaling",
       [](ConfigReader& r) -> InitializerPtr {
         VarianceScalingOptions o;
         o.scale = r.number("scale", o.scale);
         o.mode = parse_fan_mode(r.string("mode", to_string(o.mode)));
         o.distribution = parse_distribution(r.string("distribution", to_string(o.distribution)));
         o.seed = r.seed();
         return std::make_shared<VarianceScaling>(o);
       }},
      {"GlorotNormal", seed_only<GlorotNormal>()},
      {"GlorotUniform", seed_only<GlorotUniform>()},
      {"HeNormal", seed_only<HeNormal>()},
      {"HeUniform", seed_only<HeUniform>()},
      {"LecunNormal", seed_only<LecunNormal>()},
      {"LecunUniform", seed_only<LecunUniform>()},
      {"Orthogonal",
       [](ConfigReader& r) -> InitializerPtr {
         OrthogonalOptions o;
         o.gain = r.number("gain", o.gain);
         o.seed = r.seed();
         return std::make_shared<Orthogonal>(o);
       }},
      {"Identity",
       [](ConfigReader& r) -> InitializerPtr {
         return std::make_shared<Identity>(IdentityOptions{.gain = r.number("gain", IdentityOptions{}.gain)});
       }},
      {"SmallRandomNormal",
       [](ConfigReader& r) -> InitializerPtr {
         SmallRandomNormalOptions o;
         o.stddev = r.number("stddev", o.stddev);
         o.seed = r.seed();
         return std::make_shared<SmallRandomNormal>(o);
       }},
      {"StandardUniform", seed_only<StandardUniform>()},
  };
  return m;
}

// Keras snake-case identifiers (and Keras 2 aliases) → class names.
const std::map<std::string, std::string>& aliases() {
  static const std::map<std::string, std::string> m = {
      {"zeros", "Zeros"},
      {"zero", "Zeros"},
      {"ones", "Ones"},
      {"one", "Ones"},
      {"constant", "Constant"},
      {"random_normal", "RandomNormal"},
      {"normal", "RandomNormal"},
      {"random_uniform", "RandomUniform"},
      {"uniform", "RandomUniform"},
      {"truncated_normal", "TruncatedNormal"},
      {"variance_scaling", "VarianceScaling"},
      {"glorot_normal", "GlorotNormal"},
      {"xavier_normal", "GlorotNormal"},
      {"glorot_uniform", "GlorotUniform"},
      {"xavier_uniform", "GlorotUniform"},
      {"he_normal", "HeNormal"},
      {"he_uniform", "HeUniform"},
      {"lecun_normal", "LecunNormal"},
      {"lecun_uniform", "LecunUniform"},
      {"orthogonal", "Orthogonal"},
      {"identity", "Identity"},
      {"small_random_normal", "SmallRandomNormal"},
      {"standard_uniform", "StandardUniform"},
  };
  return m;
}

// Class name for a class name or alias; empty when unknown.
std::string resolve(const std::string& name) {
  if (makers().count(name)) return name;
  auto it = aliases().find(name);
  return it == aliases().end() ? std::string() : it->second;
}

std::string known_names() {
  std::string s;
  for (const auto& [alias, cls] : aliases()) s += (s.empty() ? "" : ", ") + alias;
  return s;
}

}  // namespace

InitializerPtr get(const std::string& identifier) {
  const std::string cls = resolve(identifier);
  if (cls.empty()) throw ValueError("initializers::get: unknown initializer \"" + identifier + "\"; known: " + known_names());
  const nlohmann::json empty = nlohmann::json::object();
  ConfigReader reader(cls, empty);
  return makers().at(cls)(reader);
}

InitializerPtr from_config(const nlohmann::json& j) {
  if (!j.is_object()) throw FormatError(std::string("initializer config: expected a JSON object, got ") + j.type_name());
  auto cn = j.find("class_name");
  if (cn == j.end()) throw FormatError("initializer config: missing \"class_name\"");
  if (!cn->is_string())
    throw FormatError(std::string("initializer config: \"class_name\" must be a string, got ") + cn->type_name());
  const std::string name = cn->get<std::string>();
  const std::string cls = resolve(name);
  if (cls.empty()) throw FormatError("initializer config: unknown initializer class \"" + name + "\"");
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.key() != "class_name" && it.key() != "config" && it.key() != "module" && it.key() != "registered_name")
      throw FormatError("initializer config: unknown key \"" + it.key() + "\"");
  const nlohmann::json empty = nlohmann::json::object();
  auto cfg = j.find("config");
  const nlohmann::json& config = (cfg == j.end() || cfg->is_null()) ? empty : *cfg;
  ConfigReader reader(cls, config);
  InitializerPtr init = makers().at(cls)(reader);
  reader.finish();
  return init;
}

}  // namespace ember::nn::initializers
