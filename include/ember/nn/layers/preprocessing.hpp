#pragma once
// Keras's image augmentation layers (keras.layers.RandomFlip, RandomRotation, RandomTranslation,
// RandomZoom, RandomContrast, RandomCrop, and Keras 3's RandomErasing, i.e. cutout): random in training, the identity at inference (RandomCrop:
// a centre crop). Inputs are NHWC float batches [N, H, W, C] (ShapeError otherwise). Geometry goes
// through ops::image_transform (TensorFlow's ImageProjectiveTransformV3 rules), one transform per
// image, differentiable with respect to the images. Randomness as Dropout: with a seed the layer owns
// a Generator seeded with it (saved in checkpoints), else it draws from the layer's generator; the
// draws are made serially in call(), so a seed gives the same images on every run and thread count.
// Parameters are drawn per image (RandomCrop: one offset per batch, as Keras's tf.image.random_crop).
#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "ember/core/generator.hpp"
#include "ember/nn/layer.hpp"
#include "ember/ops/image.hpp"

namespace ember::nn {

// A Keras factor: a number f means [-f, f], a pair [lower, upper].
struct Factor {
  double lower = 0, upper = 0;
  Factor() = default;
  Factor(double f) : lower(-f), upper(f) {}  // NOLINT: implicit, as Keras's float
  Factor(double lo, double hi) : lower(lo), upper(hi) {}
  bool operator==(const Factor&) const = default;
};

namespace detail {
// The shared part of the random image layers: the optional seeded generator, rank-4 input checks,
// the same output shape as the input.
template <typename Derived>
class RandomImageLayer : public LayerBase<Derived> {
 public:
  RandomImageLayer(const char* class_name, const std::string& name, std::optional<uint64_t> seed)
      : LayerBase<Derived>(class_name, name) {
    if (seed) gen_.emplace(*seed);
  }
  Generator* own_generator() override { return gen_ ? &*gen_ : nullptr; }
  void check_input_shapes(const std::vector<Shape>& shapes) const override;
  Shape compute_output_shape(const std::vector<Shape>& shapes) override;

 protected:
  Generator& rng() { return gen_ ? *gen_ : this->generator(); }
  // The single [N, H, W, C] floating input of call().
  const Tensor& image_input(const std::vector<Tensor>& inputs) const;

 private:
  std::optional<Generator> gen_;
};
}  // namespace detail

enum class FlipMode { Horizontal, Vertical, HorizontalAndVertical };

struct RandomFlipOptions {
  FlipMode mode = FlipMode::HorizontalAndVertical;  // each enabled flip with probability 1/2
  std::optional<uint64_t> seed;
  std::string name = "";
};

class RandomFlip : public detail::RandomImageLayer<RandomFlip> {
 public:
  explicit RandomFlip(RandomFlipOptions options = {});
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);
  const RandomFlipOptions& options() const { return opt_; }

 private:
  RandomFlipOptions opt_;
};

struct RandomRotationOptions {
  Factor factor;  // fractions of a full turn: angle ~ U(lower, upper) * 2π, counter-clockwise positive
  FillMode fill_mode = FillMode::Reflect;
  Interpolation interpolation = Interpolation::Bilinear;
  double fill_value = 0.0;
  std::optional<uint64_t> seed;
  std::string name = "";
};

class RandomRotation : public detail::RandomImageLayer<RandomRotation> {
 public:
  explicit RandomRotation(RandomRotationOptions options = {});
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);
  const RandomRotationOptions& options() const { return opt_; }

 private:
  RandomRotationOptions opt_;
};

struct RandomTranslationOptions {
  Factor height_factor;  // fractions of the height: shift ~ U(lower, upper) * H, positive = down
  Factor width_factor;   // fractions of the width, positive = right
  FillMode fill_mode = FillMode::Reflect;
  Interpolation interpolation = Interpolation::Bilinear;
  double fill_value = 0.0;
  std::optional<uint64_t> seed;
  std::string name = "";
};

class RandomTranslation : public detail::RandomImageLayer<RandomTranslation> {
 public:
  explicit RandomTranslation(RandomTranslationOptions options = {});
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);
  const RandomTranslationOptions& options() const { return opt_; }

 private:
  RandomTranslationOptions opt_;
};

struct RandomZoomOptions {
  Factor height_factor;                // zoom ~ 1 + U(lower, upper); positive = zoom out (content shrinks)
  std::optional<Factor> width_factor;  // unset: the height's zoom on both axes (aspect kept)
  FillMode fill_mode = FillMode::Reflect;
  Interpolation interpolation = Interpolation::Bilinear;
  double fill_value = 0.0;
  std::optional<uint64_t> seed;
  std::string name = "";
};

class RandomZoom : public detail::RandomImageLayer<RandomZoom> {
 public:
  explicit RandomZoom(RandomZoomOptions options = {});
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);
  const RandomZoomOptions& options() const { return opt_; }

 private:
  RandomZoomOptions opt_;
};

struct RandomContrastOptions {
  // Keras: a number f or a pair (lower, upper) of magnitudes; contrast ~ U(1 - lower, 1 + upper).
  // Stored as Factor{-lower, upper}. The result is not clipped (tf.image.adjust_contrast).
  Factor factor;
  std::optional<uint64_t> seed;
  std::string name = "";
};

// Per image and channel: (x - mean) * contrast + mean, mean over height and width.
class RandomContrast : public detail::RandomImageLayer<RandomContrast> {
 public:
  explicit RandomContrast(RandomContrastOptions options = {});
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);
  const RandomContrastOptions& options() const { return opt_; }

 private:
  RandomContrastOptions opt_;
};

struct RandomCropOptions {
  int64_t height = 0, width = 0;  // the output size; > 0 and <= the input's (ShapeError otherwise)
  std::optional<uint64_t> seed;
  std::string name = "";
};

class RandomCrop : public detail::RandomImageLayer<RandomCrop> {
 public:
  explicit RandomCrop(RandomCropOptions options = {});
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  Shape compute_output_shape(const std::vector<Shape>& shapes) override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);
  const RandomCropOptions& options() const { return opt_; }

 private:
  RandomCropOptions opt_;
};

struct RandomErasingOptions {
  double factor = 1.0;                             // probability that an image gets a rectangle erased
  std::array<double, 2> scale{0.02, 0.33};         // erased area as a fraction of H*W, ~ U(lower, upper)
  std::array<double, 2> ratio{0.3, 3.3};           // rectangle width/height, log-uniform (torchvision's default)
  double fill_value = 0.0;                         // the erased pixels' value (every channel)
  std::optional<uint64_t> seed;
  std::string name = "";
};

// Cutout / random erasing (Zhong et al.; torchvision.transforms.RandomErasing, Keras 3's
// RandomErasing with a constant fill): in training, with probability `factor` per image, one
// axis-aligned rectangle of the drawn area and aspect ratio (clamped to the image) is set to
// fill_value. Keras 3's random-noise fill (fill_value None) is not implemented (FormatError from a
// config). Differentiable: the gradient is 0 inside the rectangle, 1 elsewhere.
class RandomErasing : public detail::RandomImageLayer<RandomErasing> {
 public:
  explicit RandomErasing(RandomErasingOptions options = {});
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);
  const RandomErasingOptions& options() const { return opt_; }

 private:
  RandomErasingOptions opt_;
};

}  // namespace ember::nn
