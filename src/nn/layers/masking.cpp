#include "ember/nn/layers/masking.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "ember/autograd/autograd.hpp"
#include "ember/nn/layer_fields.hpp"
#include "ember/nn/layers/conv.hpp"  // detail::single_input
#include "ember/ops/elementwise.hpp"
#include "ember/ops/reduce.hpp"
#include "ember/ops/shape.hpp"

namespace ember::nn {

namespace {
// 1 where some feature of the step differs from `value`, else 0, in x's dtype: [..., 1].
Tensor keep_column(const Tensor& x, double value) {
  autograd::NoGradGuard no_grad;
  Tensor xd = x.detach();
  return max(cast(not_equal(xd, scalar_like(value, xd)), x.dtype()), {-1}, true);
}
}  // namespace

Masking::Masking(MaskingOptions options) : LayerBase("Masking", options.name), opt_(std::move(options)) {
  if (std::isnan(opt_.mask_value)) fail<ValueError>("mask_value must be a number, got NaN (no value equals NaN)");
}

void Masking::check_input_shapes(const std::vector<Shape>& shapes) const {
  if (shapes.size() != 1 || shapes[0].size() < 3) {
    fail<ShapeError>("expected one input of shape (batch, time, features), got " +
                     (shapes.size() == 1 ? to_string(shapes[0]) : std::to_string(shapes.size()) + " inputs"));
  }
  if (!built_input_shapes().empty() && built_input_shapes()[0].size() == shapes[0].size()) {
    const Shape& want = built_input_shapes()[0];
    for (std::size_t i = 2; i < want.size(); ++i) {
      if (want[i] >= 0 && shapes[0][i] >= 0 && want[i] != shapes[0][i]) {
        fail<ShapeError>("expected input of shape " + keras_shape(want) + ", got " + to_string(shapes[0]));
      }
    }
  } else if (!built_input_shapes().empty()) {
    fail<ShapeError>("expected input of shape " + keras_shape(built_input_shapes()[0]) + ", got " + to_string(shapes[0]));
  }
}

Shape Masking::compute_output_shape(const std::vector<Shape>& shapes) {
  check_input_shapes(shapes);
  return shapes[0];
}

Tensor Masking::call(const std::vector<Tensor>& inputs, bool) {
  const Tensor& x = detail::single_input(inputs, *this);
  if (!is_floating(x.dtype())) fail<DTypeError>("expected a floating-point input, got " + std::string(dtype_name(x.dtype())));
  return x * keep_column(x, opt_.mask_value);
}

Tensor Masking::compute_mask(const Tensor& x) const {
  if (x.dim() < 3) fail<ShapeError>("expected an input of shape (batch, time, features), got " + to_string(x.shape()));
  autograd::NoGradGuard no_grad;
  Tensor xd = x.detach();
  return squeeze(greater(keep_column(xd, opt_.mask_value), scalar_like(0, xd)), -1);
}

Tensor Masking::compute_output_mask(const Tensor& x, const Tensor&, const Tensor&) const { return compute_mask(x); }

nlohmann::json Masking::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["mask_value"] = opt_.mask_value;
  return c;
}

LayerPtr Masking::from_config(const nlohmann::json& config) {
  LayerFields f(config, "Masking");
  return std::make_shared<Masking>(MaskingOptions{.mask_value = f.number("mask_value", 0.0), .name = f.name()});
}

}  // namespace ember::nn
