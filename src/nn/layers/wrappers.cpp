#include "ember/nn/layers/wrappers.hpp"

#include <nlohmann/json.hpp>

#include "ember/nn/config.hpp"
#include "ember/nn/layer_fields.hpp"
#include "ember/nn/layers/conv.hpp"  // detail::single_input
#include "ember/ops/shape.hpp"

namespace ember::nn {

TimeDistributed::TimeDistributed(LayerPtr layer, TimeDistributedOptions options)
    : LayerBase("TimeDistributed", options.name) {
  if (!layer) fail<ValueError>("needs a layer to wrap");
  layers_ = {std::move(layer)};
}

Shape TimeDistributed::step_shape(const Shape& s) const {
  if (s.size() < 3) {
    fail<ShapeError>("expected an input of shape (batch, time, ...) of rank >= 3, got " + to_string(s));
  }
  Shape step(s.begin() + 1, s.end());
  step[0] = s[0] < 0 || s[1] < 0 ? -1 : checked_product(*this, {s[0], s[1]}, "batch x time of input " + to_string(s));
  return step;
}

void TimeDistributed::build(const std::vector<Shape>& shapes) {
  if (shapes.size() != 1) fail<ValueError>("expected one input, got " + std::to_string(shapes.size()));
  Layer& inner = layer();
  Shape step = step_shape(shapes[0]);
  step[0] = -1;
  if (!inner.built()) inner.build({step});
  mark_built(shapes);
}

void TimeDistributed::check_input_shapes(const std::vector<Shape>& shapes) const {
  if (shapes.size() != 1) fail<ValueError>("expected one input, got " + std::to_string(shapes.size()));
  Shape step = step_shape(shapes[0]);
  step[0] = -1;
  const std::vector<Shape>& built = built_input_shapes();
  if (!built.empty() && built[0].size() != shapes[0].size()) {
    fail<ShapeError>("expected input of shape " + keras_shape(built[0]) + ", got " + to_string(shapes[0]));
  }
  layer().check_input_shapes({step});
}

Shape TimeDistributed::compute_output_shape(const std::vector<Shape>& shapes) {
  check_input_shapes(shapes);
  const Shape& s = shapes[0];
  Shape step = step_shape(s);
  Shape inner = layer().compute_output_shape({step});
  if (inner.empty()) fail<ShapeError>("the wrapped layer's output has no batch axis");
  Shape out{s[0], s[1]};
  out.insert(out.end(), inner.begin() + 1, inner.end());
  return out;
}

Tensor TimeDistributed::call(const std::vector<Tensor>& inputs, bool training) {
  const Tensor& x = detail::single_input(inputs, *this);
  const int64_t batch = x.size(0), steps = x.size(1);
  Shape step = x.shape();
  step.erase(step.begin());
  step[0] = batch * steps;
  Tensor y = layer()(reshape(x, step), training);
  if (y.dim() < 1 || y.size(0) != batch * steps) {
    fail<ShapeError>("the wrapped layer turned steps " + to_string(step) + " into " + to_string(y.shape()) +
                     ", which has not one row per step");
  }
  Shape out{batch, steps};
  out.insert(out.end(), y.shape().begin() + 1, y.shape().end());
  return reshape(y, out);
}

nlohmann::json TimeDistributed::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["layer"] = {{"class_name", layer().class_name()}, {"config", layer().get_config()}};
  return c;
}

LayerPtr TimeDistributed::from_config(const nlohmann::json& config) {
  LayerFields f(config, "TimeDistributed");
  const nlohmann::json* inner = f.find("layer");
  if (!inner || !inner->is_object()) f.fail("layer", "an object {\"class_name\", \"config\"} (the wrapped layer)");
  return std::make_shared<TimeDistributed>(layer_from_config(*inner), TimeDistributedOptions{.name = f.name()});
}

}  // namespace ember::nn
