#pragma once
// Reshaping layers (Keras Reshape, ZeroPadding2D, Cropping2D, UpSampling2D). All are weightless and differentiable w.r.t.
// their input.
#include <array>
#include <cstdint>
#include <string>

#include "ember/nn/layer.hpp"

namespace ember::nn {

// [N, ...] -> [N, target_shape...]. target_shape excludes the batch axis; at most one entry may be
// -1 (inferred from the element count). Other non-positive entries, or two -1s, throw ValueError;
// an input whose per-sample element count does not fit throws ShapeError naming the layer and both
// shapes.
class Reshape : public LayerBase<Reshape> {
 public:
  explicit Reshape(Shape target_shape, std::string name = "");
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;
  void check_input_shapes(const std::vector<Shape>& shapes) const override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);  // beside get_config; see Dense
  // None: Keras's Reshape does not support masking (a mask ends here).
  Tensor compute_output_mask(const Tensor&, const Tensor&, const Tensor&) const override { return {}; }
  const Shape& target_shape() const { return target_; }

 private:
  // The output shape (batch axis included) for an input shape; -1 where unknown.
  Shape output_shape_for(const Shape& in) const;
  Shape target_;
};

struct ZeroPadding2DOptions {
  // {{top, bottom}, {left, right}} rows / columns of zeros, each >= 0 (else ValueError).
  std::array<std::array<int64_t, 2>, 2> padding{{{1, 1}, {1, 1}}};
  std::string name = "";
};

// Pads [N, H, W, C] with zeros to [N, top + H + bottom, left + W + right, C].
class ZeroPadding2D : public LayerBase<ZeroPadding2D> {
 public:
  explicit ZeroPadding2D(ZeroPadding2DOptions options = {});
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;
  void check_input_shapes(const std::vector<Shape>& shapes) const override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);  // beside get_config; see Dense
  const ZeroPadding2DOptions& options() const { return opt_; }

 private:
  ZeroPadding2DOptions opt_;
};

struct Cropping2DOptions {
  // {{top, bottom}, {left, right}} rows / columns removed, each >= 0 (else ValueError).
  std::array<std::array<int64_t, 2>, 2> cropping{{{0, 0}, {0, 0}}};
  std::string name = "";
};

// Crops [N, H, W, C] to [N, H - top - bottom, W - left - right, C]. An input that is not larger
// than its cropping along an axis throws ShapeError naming the layer and the shape.
class Cropping2D : public LayerBase<Cropping2D> {
 public:
  explicit Cropping2D(Cropping2DOptions options = {});
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;
  void check_input_shapes(const std::vector<Shape>& shapes) const override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);  // beside get_config; see Dense
  const Cropping2DOptions& options() const { return opt_; }

 private:
  Cropping2DOptions opt_;
};

enum class UpSamplingInterpolation { Nearest, Bilinear };

struct UpSampling2DOptions {
  std::array<int64_t, 2> size{2, 2};  // (rows, columns) factors, each >= 1 (else ValueError)
  UpSamplingInterpolation interpolation = UpSamplingInterpolation::Nearest;
  std::string name = "";
};

// Keras UpSampling2D: [N, H, W, C] -> [N, H * size0, W * size1, C]. Nearest repeats every row and
// column; bilinear is tf.image.resize(method="bilinear") as Keras 2 calls it: half-pixel centres,
// source = (out + 0.5) / size - 0.5, clamped at the borders (PyTorch's align_corners=False).
class UpSampling2D : public LayerBase<UpSampling2D> {
 public:
  explicit UpSampling2D(UpSampling2DOptions options = {});
  Tensor call(const std::vector<Tensor>& inputs, bool training) override;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) override;
  void check_input_shapes(const std::vector<Shape>& shapes) const override;
  nlohmann::json get_config() const override;
  static LayerPtr from_config(const nlohmann::json& config);  // beside get_config; see Dense
  const UpSampling2DOptions& options() const { return opt_; }

 private:
  UpSampling2DOptions opt_;
};

}  // namespace ember::nn
