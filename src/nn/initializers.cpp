#include "ember/nn/initializers.hpp"

#include <cmath>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "ember/autograd/autograd.hpp"
#include "ember/core/config_fields.hpp"
#include "ember/core/error.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/linalg.hpp"
#include "ember/ops/reduce.hpp"
#include "ember/ops/shape.hpp"

namespace ember::nn::initializers {

namespace {

// Std of a unit normal truncated to [-2, 2]; Keras divides by it so truncated draws keep the variance.
constexpr double kTruncatedStdFactor = 0.87962566103423978;

// The reader of every initializer's from_config: every field has a value (null is an error, except
// for "seed") and a field the class does not have is an error (finish()).
ConfigFields fields(const nlohmann::json& config, const char* class_name) {
  return ConfigFields(config, "initializer", class_name, ConfigFields::Nulls::Invalid);
}

// from_config of the presets whose config is only {"seed": ...}.
template <typename T>
InitializerPtr seed_only(const nlohmann::json& config, const char* class_name) {
  ConfigFields f = fields(config, class_name);
  SeedOptions o{.seed = f.seed()};
  f.finish();
  return std::make_shared<T>(o);
}

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
InitializerPtr Zeros::from_config(const nlohmann::json& config) {
  fields(config, "Zeros").finish();
  return std::make_shared<Zeros>();
}

Tensor Ones::operator()(const Shape& shape, DType dtype, Generator&) const {
  check_request(shape, dtype, "Ones");
  return ones(shape, dtype);
}
nlohmann::json Ones::get_config() const { return nlohmann::json::object(); }
InitializerPtr Ones::from_config(const nlohmann::json& config) {
  fields(config, "Ones").finish();
  return std::make_shared<Ones>();
}

Constant::Constant(ConstantOptions options) : options_(options) {}
Tensor Constant::operator()(const Shape& shape, DType dtype, Generator&) const {
  check_request(shape, dtype, "Constant");
  return full(shape, options_.value, dtype);
}
nlohmann::json Constant::get_config() const { return {{"value", options_.value}}; }
InitializerPtr Constant::from_config(const nlohmann::json& config) {
  ConfigFields f = fields(config, "Constant");
  ConstantOptions o;
  o.value = f.number("value", o.value);
  f.finish();
  return std::make_shared<Constant>(o);
}

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
InitializerPtr RandomNormal::from_config(const nlohmann::json& config) {
  ConfigFields f = fields(config, "RandomNormal");
  RandomNormalOptions o;
  o.mean = f.number("mean", o.mean);
  o.stddev = f.number("stddev", o.stddev);
  o.seed = f.seed();
  f.finish();
  return std::make_shared<RandomNormal>(o);
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
InitializerPtr RandomUniform::from_config(const nlohmann::json& config) {
  ConfigFields f = fields(config, "RandomUniform");
  RandomUniformOptions o;
  o.minval = f.number("minval", o.minval);
  o.maxval = f.number("maxval", o.maxval);
  o.seed = f.seed();
  f.finish();
  return std::make_shared<RandomUniform>(o);
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
InitializerPtr TruncatedNormal::from_config(const nlohmann::json& config) {
  ConfigFields f = fields(config, "TruncatedNormal");
  TruncatedNormalOptions o;
  o.mean = f.number("mean", o.mean);
  o.stddev = f.number("stddev", o.stddev);
  o.seed = f.seed();
  f.finish();
  return std::make_shared<TruncatedNormal>(o);
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
InitializerPtr VarianceScaling::from_config(const nlohmann::json& config) {
  ConfigFields f = fields(config, "VarianceScaling");
  VarianceScalingOptions o;
  o.scale = f.number("scale", o.scale);
  o.mode = parse_fan_mode(f.string("mode", to_string(o.mode)));
  o.distribution = parse_distribution(f.string("distribution", to_string(o.distribution)));
  o.seed = f.seed();
  f.finish();
  return std::make_shared<VarianceScaling>(o);
}

namespace {
VarianceScalingOptions preset(double scale, FanMode mode, Distribution distribution, const SeedOptions& o) {
  return {.scale = scale, .mode = mode, .distribution = distribution, .seed = o.seed};
}
}  // namespace

GlorotNormal::GlorotNormal(SeedOptions o) : VarianceScaling(preset(1.0, FanMode::FanAvg, Distribution::TruncatedNormal, o)) {}
nlohmann::json GlorotNormal::get_config() const { return {{"seed", seed_json(options().seed)}}; }
InitializerPtr GlorotNormal::from_config(const nlohmann::json& config) {
  return seed_only<GlorotNormal>(config, "GlorotNormal");
}

GlorotUniform::GlorotUniform(SeedOptions o) : VarianceScaling(preset(1.0, FanMode::FanAvg, Distribution::Uniform, o)) {}
nlohmann::json GlorotUniform::get_config() const { return {{"seed", seed_json(options().seed)}}; }
InitializerPtr GlorotUniform::from_config(const nlohmann::json& config) {
  return seed_only<GlorotUniform>(config, "GlorotUniform");
}

HeNormal::HeNormal(SeedOptions o) : VarianceScaling(preset(2.0, FanMode::FanIn, Distribution::TruncatedNormal, o)) {}
nlohmann::json HeNormal::get_config() const { return {{"seed", seed_json(options().seed)}}; }
InitializerPtr HeNormal::from_config(const nlohmann::json& config) { return seed_only<HeNormal>(config, "HeNormal"); }

HeUniform::HeUniform(SeedOptions o) : VarianceScaling(preset(2.0, FanMode::FanIn, Distribution::Uniform, o)) {}
nlohmann::json HeUniform::get_config() const { return {{"seed", seed_json(options().seed)}}; }
InitializerPtr HeUniform::from_config(const nlohmann::json& config) {
  return seed_only<HeUniform>(config, "HeUniform");
}

LecunNormal::LecunNormal(SeedOptions o) : VarianceScaling(preset(1.0, FanMode::FanIn, Distribution::TruncatedNormal, o)) {}
nlohmann::json LecunNormal::get_config() const { return {{"seed", seed_json(options().seed)}}; }
InitializerPtr LecunNormal::from_config(const nlohmann::json& config) {
  return seed_only<LecunNormal>(config, "LecunNormal");
}

LecunUniform::LecunUniform(SeedOptions o) : VarianceScaling(preset(1.0, FanMode::FanIn, Distribution::Uniform, o)) {}
nlohmann::json LecunUniform::get_config() const { return {{"seed", seed_json(options().seed)}}; }
InitializerPtr LecunUniform::from_config(const nlohmann::json& config) {
  return seed_only<LecunUniform>(config, "LecunUniform");
}

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
InitializerPtr Orthogonal::from_config(const nlohmann::json& config) {
  ConfigFields f = fields(config, "Orthogonal");
  OrthogonalOptions o;
  o.gain = f.number("gain", o.gain);
  o.seed = f.seed();
  f.finish();
  return std::make_shared<Orthogonal>(o);
}

Identity::Identity(IdentityOptions options) : options_(options) { check_finite(options_.gain, "Identity", "gain"); }

Tensor Identity::operator()(const Shape& shape, DType dtype, Generator&) const {
  check_request(shape, dtype, "Identity");
  if (shape.size() != 2) throw ValueError("Identity: expected a 2-D shape, got " + ember::to_string(shape));
  autograd::NoGradGuard no_grad;
  return (eye(shape[0], shape[1], dtype) * options_.gain).contiguous();
}

nlohmann::json Identity::get_config() const { return {{"gain", options_.gain}}; }
InitializerPtr Identity::from_config(const nlohmann::json& config) {
  ConfigFields f = fields(config, "Identity");
  IdentityOptions o;
  o.gain = f.number("gain", o.gain);
  f.finish();
  return std::make_shared<Identity>(o);
}

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
InitializerPtr SmallRandomNormal::from_config(const nlohmann::json& config) {
  ConfigFields f = fields(config, "SmallRandomNormal");
  SmallRandomNormalOptions o;
  o.stddev = f.number("stddev", o.stddev);
  o.seed = f.seed();
  f.finish();
  return std::make_shared<SmallRandomNormal>(o);
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
InitializerPtr StandardUniform::from_config(const nlohmann::json& config) {
  return seed_only<StandardUniform>(config, "StandardUniform");
}

// ---------------------------------------------------------------- the table

namespace {

// Keras class name -> from_config. A new initializer is one line here.
const ClassTable<InitializerPtr>& table() {
  static const ClassTable<InitializerPtr> m("initializer", {
      {"Constant", Constant::from_config},
      {"GlorotNormal", GlorotNormal::from_config},
      {"GlorotUniform", GlorotUniform::from_config},
      {"HeNormal", HeNormal::from_config},
      {"HeUniform", HeUniform::from_config},
      {"Identity", Identity::from_config},
      {"LecunNormal", LecunNormal::from_config},
      {"LecunUniform", LecunUniform::from_config},
      {"Ones", Ones::from_config},
      {"Orthogonal", Orthogonal::from_config},
      {"RandomNormal", RandomNormal::from_config},
      {"RandomUniform", RandomUniform::from_config},
      {"SmallRandomNormal", SmallRandomNormal::from_config},
      {"StandardUniform", StandardUniform::from_config},
      {"TruncatedNormal", TruncatedNormal::from_config},
      {"VarianceScaling", VarianceScaling::from_config},
      {"Zeros", Zeros::from_config},
  });
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
  if (table().find(name)) return name;
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
  return table().find(cls)(nlohmann::json::object());
}

InitializerPtr from_config(const nlohmann::json& j) {
  ConfigReference ref = read_reference(j, "initializer");
  const std::string cls = resolve(ref.class_name);
  if (cls.empty()) throw_unknown_class("initializer", ref.class_name);
  return table().find(cls)(*ref.config);
}

std::vector<std::string> registered_classes() { return table().names(); }

}  // namespace ember::nn::initializers
