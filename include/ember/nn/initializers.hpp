#pragma once
// Weight initializers with Keras semantics and Keras names (keras.initializers).
//
// An initializer is a small immutable value held as `InitializerPtr` (shared_ptr<const Initializer>):
//
//   auto init = std::make_shared<nn::initializers::RandomNormal>(nn::initializers::RandomNormalOptions{.stddev = 0.1});
//   Generator gen(42);
//   Tensor w = (*init)({784, 256}, f32, gen);
//   auto same = nn::initializers::get("glorot_uniform");          // Keras identifier
//   auto back = nn::initializers::from_config(init->get_config_json());  // {"class_name", "config"}
//
// Contract of operator()(shape, dtype, gen):
//   - returns a fresh contiguous tensor of `shape` and floating `dtype` (f32 or f64; other dtypes
//     throw DTypeError), with no autograd history;
//   - all randomness is drawn from `gen`, serially, so the same Generator state gives the same tensor.
//     The `seed` option exists for Keras round trips: when it is set, the call draws from a fresh
//     Generator(seed) instead of `gen` (the Keras 2 rule: a seeded initializer gives the same values
//     on every call).
//
// Fans follow Keras `_compute_fans` (see compute_fans). The variance-scaling family (Glorot, He,
// LeCun) are VarianceScaling presets exactly as Keras defines them; their normal variants draw from
// a normal truncated at ±2σ whose σ is divided by 0.87962566103423978 (the std of a unit normal
// truncated to [-2, 2]), so the *resulting* std is sqrt(scale / n).
//
// The study notes' two textbook schemes are here too, under their own names:
//   - SmallRandomNormal  : notes' 随机初始化, `np.random.randn(...) * 0.01` → N(0, 0.01²).
//                          (note 003 says "mean 1, std 1"; the code in note 004 is the intended one.)
//   - StandardUniform    : notes' 标准初始化, U(−1/√d, 1/√d) with d = fan_in (the inputs per neuron).
//   The notes' Xavier (std sqrt(2/(n_in+n_out))) is GlorotNormal/GlorotUniform, and their He
//   (std sqrt(2/n_in)) is HeNormal/HeUniform.
#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ember/core/dtype.hpp"
#include "ember/core/generator.hpp"
#include "ember/core/shape.hpp"
#include "ember/core/tensor.hpp"

namespace ember::nn::initializers {

class Initializer {
 public:
  virtual ~Initializer();
  virtual Tensor operator()(const Shape& shape, DType dtype, Generator& gen) const = 0;
  // The Keras class name ("GlorotUniform") and constructor arguments ({"seed": null}).
  virtual std::string class_name() const = 0;
  virtual nlohmann::json get_config() const = 0;
  // {"class_name": class_name(), "config": get_config()}, the form from_config() reads.
  nlohmann::json get_config_json() const;
};
using InitializerPtr = std::shared_ptr<const Initializer>;

// ---------------------------------------------------------------- fans

struct Fans {
  int64_t fan_in = 1;
  int64_t fan_out = 1;
};
// Keras `_compute_fans`: 0-D: (1, 1); 1-D: (shape[0], shape[0]); 2-D: (shape[0], shape[1]);
// conv kernels (HWIO, ≥ 3-D): receptive = prod(shape[:-2]), fan_in = shape[-2]·receptive,
// fan_out = shape[-1]·receptive.
Fans compute_fans(const Shape& shape);

// ---------------------------------------------------------------- constants

class Zeros final : public Initializer {
 public:
  Tensor operator()(const Shape& shape, DType dtype, Generator& gen) const override;
  std::string class_name() const override { return "Zeros"; }
  nlohmann::json get_config() const override;
  static InitializerPtr from_config(const nlohmann::json& config);
};

class Ones final : public Initializer {
 public:
  Tensor operator()(const Shape& shape, DType dtype, Generator& gen) const override;
  std::string class_name() const override { return "Ones"; }
  nlohmann::json get_config() const override;
  static InitializerPtr from_config(const nlohmann::json& config);
};

struct ConstantOptions {
  double value = 0.0;
};
class Constant final : public Initializer {
 public:
  explicit Constant(ConstantOptions options = {});
  Tensor operator()(const Shape& shape, DType dtype, Generator& gen) const override;
  std::string class_name() const override { return "Constant"; }
  nlohmann::json get_config() const override;
  static InitializerPtr from_config(const nlohmann::json& config);
  const ConstantOptions& options() const { return options_; }

 private:
  ConstantOptions options_;
};

// ---------------------------------------------------------------- plain random

struct RandomNormalOptions {
  double mean = 0.0;
  double stddev = 0.05;  // must be >= 0
  std::optional<uint64_t> seed = std::nullopt;  // see "seed" in the contract above
};
// N(mean, stddev²).
class RandomNormal final : public Initializer {
 public:
  explicit RandomNormal(RandomNormalOptions options = {});
  Tensor operator()(const Shape& shape, DType dtype, Generator& gen) const override;
  std::string class_name() const override { return "RandomNormal"; }
  nlohmann::json get_config() const override;
  static InitializerPtr from_config(const nlohmann::json& config);
  const RandomNormalOptions& options() const { return options_; }

 private:
  RandomNormalOptions options_;
};

struct RandomUniformOptions {
  double minval = -0.05;
  double maxval = 0.05;  // must be >= minval
  std::optional<uint64_t> seed = std::nullopt;  // see "seed" in the contract above
};
// U[minval, maxval).
class RandomUniform final : public Initializer {
 public:
  explicit RandomUniform(RandomUniformOptions options = {});
  Tensor operator()(const Shape& shape, DType dtype, Generator& gen) const override;
  std::string class_name() const override { return "RandomUniform"; }
  nlohmann::json get_config() const override;
  static InitializerPtr from_config(const nlohmann::json& config);
  const RandomUniformOptions& options() const { return options_; }

 private:
  RandomUniformOptions options_;
};

struct TruncatedNormalOptions {
  double mean = 0.0;
  double stddev = 0.05;  // σ of the normal before truncation; must be >= 0
  std::optional<uint64_t> seed = std::nullopt;  // see "seed" in the contract above
};
// N(mean, stddev²) with values more than 2·stddev from the mean redrawn (so the sample std is
// ≈ 0.8796·stddev, as in Keras).
class TruncatedNormal final : public Initializer {
 public:
  explicit TruncatedNormal(TruncatedNormalOptions options = {});
  Tensor operator()(const Shape& shape, DType dtype, Generator& gen) const override;
  std::string class_name() const override { return "TruncatedNormal"; }
  nlohmann::json get_config() const override;
  static InitializerPtr from_config(const nlohmann::json& config);
  const TruncatedNormalOptions& options() const { return options_; }

 private:
  TruncatedNormalOptions options_;
};

// ---------------------------------------------------------------- variance scaling

enum class FanMode { FanIn, FanOut, FanAvg };
enum class Distribution { TruncatedNormal, UntruncatedNormal, Uniform };
// Keras spellings: "fan_in" | "fan_out" | "fan_avg"; "truncated_normal" | "untruncated_normal" |
// "uniform" ("normal" is read as "truncated_normal", as Keras 2 did). Others throw ValueError.
std::string to_string(FanMode mode);
std::string to_string(Distribution distribution);
FanMode parse_fan_mode(const std::string& s);
Distribution parse_distribution(const std::string& s);

struct VarianceScalingOptions {
  double scale = 1.0;  // must be > 0
  FanMode mode = FanMode::FanIn;
  Distribution distribution = Distribution::TruncatedNormal;
  std::optional<uint64_t> seed = std::nullopt;  // see "seed" in the contract above
};
// With n = max(1, fan_in | fan_out | (fan_in + fan_out)/2) by `mode`:
//   truncated_normal:   N(0, σ²) truncated at ±2σ, σ = sqrt(scale/n) / 0.87962566103423978
//   untruncated_normal: N(0, scale/n)
//   uniform:            U[−limit, limit), limit = sqrt(3·scale/n)
class VarianceScaling : public Initializer {
 public:
  explicit VarianceScaling(VarianceScalingOptions options = {});
  Tensor operator()(const Shape& shape, DType dtype, Generator& gen) const override;
  std::string class_name() const override { return "VarianceScaling"; }
  nlohmann::json get_config() const override;  // scale, mode, distribution, seed
  static InitializerPtr from_config(const nlohmann::json& config);
  const VarianceScalingOptions& options() const { return options_; }

 private:
  VarianceScalingOptions options_;
};

struct SeedOptions {
  std::optional<uint64_t> seed = std::nullopt;  // see "seed" in the contract above
};

// The Keras presets; their config is only {"seed": ...}, like Keras.
//   GlorotNormal  = VarianceScaling(1, fan_avg, truncated_normal)  (Xavier normal)
//   GlorotUniform = VarianceScaling(1, fan_avg, uniform): limit sqrt(6/(fan_in+fan_out))  (Keras default for Dense/Conv kernels)
//   HeNormal      = VarianceScaling(2, fan_in, truncated_normal): std sqrt(2/fan_in)
//   HeUniform     = VarianceScaling(2, fan_in, uniform): limit sqrt(6/fan_in)
//   LecunNormal   = VarianceScaling(1, fan_in, truncated_normal): std sqrt(1/fan_in)
//   LecunUniform  = VarianceScaling(1, fan_in, uniform): limit sqrt(3/fan_in)
class GlorotNormal final : public VarianceScaling {
 public:
  explicit GlorotNormal(SeedOptions options = {});
  std::string class_name() const override { return "GlorotNormal"; }
  nlohmann::json get_config() const override;
  static InitializerPtr from_config(const nlohmann::json& config);
};
class GlorotUniform final : public VarianceScaling {
 public:
  explicit GlorotUniform(SeedOptions options = {});
  std::string class_name() const override { return "GlorotUniform"; }
  nlohmann::json get_config() const override;
  static InitializerPtr from_config(const nlohmann::json& config);
};
class HeNormal final : public VarianceScaling {
 public:
  explicit HeNormal(SeedOptions options = {});
  std::string class_name() const override { return "HeNormal"; }
  nlohmann::json get_config() const override;
  static InitializerPtr from_config(const nlohmann::json& config);
};
class HeUniform final : public VarianceScaling {
 public:
  explicit HeUniform(SeedOptions options = {});
  std::string class_name() const override { return "HeUniform"; }
  nlohmann::json get_config() const override;
  static InitializerPtr from_config(const nlohmann::json& config);
};
class LecunNormal final : public VarianceScaling {
 public:
  explicit LecunNormal(SeedOptions options = {});
  std::string class_name() const override { return "LecunNormal"; }
  nlohmann::json get_config() const override;
  static InitializerPtr from_config(const nlohmann::json& config);
};
class LecunUniform final : public VarianceScaling {
 public:
  explicit LecunUniform(SeedOptions options = {});
  std::string class_name() const override { return "LecunUniform"; }
  nlohmann::json get_config() const override;
  static InitializerPtr from_config(const nlohmann::json& config);
};

// ---------------------------------------------------------------- structured

struct OrthogonalOptions {
  double gain = 1.0;
  std::optional<uint64_t> seed = std::nullopt;  // see "seed" in the contract above
};
// Keras Orthogonal: the shape (rank ≥ 2, else ValueError) is flattened to rows = prod(shape[:-1]),
// cols = shape[-1]; a Gaussian matrix is orthonormalised (QR with R's diagonal made positive) so
// that WᵀW = gain²·I when rows ≥ cols and WWᵀ = gain²·I when rows < cols.
class Orthogonal final : public Initializer {
 public:
  explicit Orthogonal(OrthogonalOptions options = {});
  Tensor operator()(const Shape& shape, DType dtype, Generator& gen) const override;
  std::string class_name() const override { return "Orthogonal"; }
  nlohmann::json get_config() const override;
  static InitializerPtr from_config(const nlohmann::json& config);
  const OrthogonalOptions& options() const { return options_; }

 private:
  OrthogonalOptions options_;
};

struct IdentityOptions {
  double gain = 1.0;
};
// Keras Identity: gain·eye(rows, cols) for 2-D shapes (others: ValueError).
class Identity final : public Initializer {
 public:
  explicit Identity(IdentityOptions options = {});
  Tensor operator()(const Shape& shape, DType dtype, Generator& gen) const override;
  std::string class_name() const override { return "Identity"; }
  nlohmann::json get_config() const override;
  static InitializerPtr from_config(const nlohmann::json& config);
  const IdentityOptions& options() const { return options_; }

 private:
  IdentityOptions options_;
};

// ---------------------------------------------------------------- the notes' schemes (not Keras)

struct SmallRandomNormalOptions {
  double stddev = 0.01;  // the notes' factor in randn(...) * 0.01
  std::optional<uint64_t> seed = std::nullopt;  // see "seed" in the contract above
};
// The notes' "random initialisation": w = randn(shape) · 0.01, i.e. N(0, 0.01²). Small weights keep
// tanh/sigmoid out of saturation; they must not all be 0, or every neuron of a layer stays identical.
class SmallRandomNormal final : public Initializer {
 public:
  explicit SmallRandomNormal(SmallRandomNormalOptions options = {});
  Tensor operator()(const Shape& shape, DType dtype, Generator& gen) const override;
  std::string class_name() const override { return "SmallRandomNormal"; }
  nlohmann::json get_config() const override;  // stddev, seed
  static InitializerPtr from_config(const nlohmann::json& config);
  const SmallRandomNormalOptions& options() const { return options_; }

 private:
  SmallRandomNormalOptions options_;
};

// The notes' "standard initialisation": w ~ U(−1/√d, 1/√d) with d = fan_in (Keras fans; d ≥ 1),
// so Var(w) = 1/(3d).
class StandardUniform final : public Initializer {
 public:
  explicit StandardUniform(SeedOptions options = {});
  Tensor operator()(const Shape& shape, DType dtype, Generator& gen) const override;
  std::string class_name() const override { return "StandardUniform"; }
  nlohmann::json get_config() const override;  // seed
  static InitializerPtr from_config(const nlohmann::json& config);
  std::optional<uint64_t> seed() const { return seed_; }

 private:
  std::optional<uint64_t> seed_;
};

// ---------------------------------------------------------------- factories

// A Keras identifier with default arguments: snake-case names ("zeros", "ones", "constant",
// "random_normal", "random_uniform", "truncated_normal", "variance_scaling", "glorot_normal",
// "glorot_uniform", "he_normal", "he_uniform", "lecun_normal", "lecun_uniform", "orthogonal",
// "identity", "small_random_normal", "standard_uniform"), the Keras 2 aliases "zero", "one",
// "normal", "uniform", or a class name ("GlorotUniform"). Unknown names throw ValueError listing
// the known ones.
InitializerPtr get(const std::string& identifier);
// Each class's static from_config(config) reads its "config" object: missing fields take the
// defaults; FormatError (ember::ConfigFields wording) for a field of the wrong type, null, or one
// the class does not have.
// Keras JSON {"class_name": "RandomNormal", "config": {"mean": 0, "stddev": 0.05, "seed": null}}
// ("config" may be omitted; Keras 3's "module"/"registered_name" keys are ignored). Missing fields
// take the defaults. Throws FormatError for a non-object, a missing/non-string class_name, an
// unknown class (naming it), an unknown field or a field of the wrong type (naming the field);
// ValueError for values the constructor rejects (negative stddev, mode "fan_sideways", ...).
InitializerPtr from_config(const nlohmann::json& j);
// The class names from_config knows (each class's own from_config reads its "config" object).
std::vector<std::string> registered_classes();

}  // namespace ember::nn::initializers
