#include "ember/nn/layers/merging.hpp"

#include <nlohmann/json.hpp>

#include "ember/nn/layer_fields.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/shape.hpp"

namespace ember::nn {

namespace {

std::string shapes_list(const std::vector<Shape>& shapes) {
  std::string s;
  for (std::size_t i = 0; i < shapes.size(); ++i) s += (i ? ", " : "") + keras_shape(shapes[i]);
  return s;
}

}  // namespace

// ------------------------------------------------------------------ Merge

void Merge::check_input_shapes(const std::vector<Shape>& shapes) const {
  if (shapes.size() < 2) {
    fail<ValueError>("a merge layer must be called on a list of at least 2 inputs, got " +
                     std::to_string(shapes.size()));
  }
  const Shape& first = shapes[0];
  int64_t free = free_axis(first.size());
  for (std::size_t i = 1; i < shapes.size(); ++i) {
    const Shape& s = shapes[i];
    bool ok = s.size() == first.size();
    for (std::size_t d = 1; ok && d < s.size(); ++d) {
      if (static_cast<int64_t>(d) == free) continue;
      ok = first[d] < 0 || s[d] < 0 || first[d] == s[d];
    }
    if (!ok) {
      std::string rule = free < 0 ? "inputs of equal shape" : "inputs with equal shapes except along axis " + std::to_string(free);
      fail<ShapeError>("expected " + rule + ", got " + shapes_list(shapes));
    }
  }
}

void Merge::build(const std::vector<Shape>& shapes) {
  check_input_shapes(shapes);
  mark_built(shapes);
}

Shape Merge::compute_output_shape(const std::vector<Shape>& shapes) {
  check_input_shapes(shapes);
  // Equal shapes; take each axis from whichever input knows it.
  Shape out = shapes[0];
  for (const Shape& s : shapes) {
    for (std::size_t d = 0; d < out.size(); ++d) {
      if (out[d] < 0) out[d] = s[d];
    }
  }
  return out;
}

// ------------------------------------------------------------------ Add, Multiply

Add::Add(std::string name) : Merge("Add", std::move(name)) {}

LayerPtr Add::from_config(const nlohmann::json& config) {
  return std::make_shared<Add>(LayerFields(config, "Add").name());
}

Tensor Add::call(const std::vector<Tensor>& inputs, bool) {
  std::vector<Shape> shapes;
  for (const Tensor& x : inputs) shapes.push_back(x.shape());
  check_input_shapes(shapes);
  Tensor y = inputs[0];
  for (std::size_t i = 1; i < inputs.size(); ++i) y = add(y, inputs[i]);
  return y;
}

LayerPtr Add::move_into_shared() && { return std::make_shared<Add>(std::move(*this)); }

Multiply::Multiply(std::string name) : Merge("Multiply", std::move(name)) {}

LayerPtr Multiply::from_config(const nlohmann::json& config) {
  return std::make_shared<Multiply>(LayerFields(config, "Multiply").name());
}

Tensor Multiply::call(const std::vector<Tensor>& inputs, bool) {
  std::vector<Shape> shapes;
  for (const Tensor& x : inputs) shapes.push_back(x.shape());
  check_input_shapes(shapes);
  Tensor y = inputs[0];
  for (std::size_t i = 1; i < inputs.size(); ++i) y = mul(y, inputs[i]);
  return y;
}

LayerPtr Multiply::move_into_shared() && { return std::make_shared<Multiply>(std::move(*this)); }

// ------------------------------------------------------------------ Concatenate

Concatenate::Concatenate(ConcatenateOptions options) : Merge("Concatenate", options.name), opt_(std::move(options)) {
  if (opt_.axis == 0) {
    fail<ValueError>("cannot concatenate along the batch axis 0");
  }
}

int64_t Concatenate::free_axis(std::size_t rank) const {
  int64_t r = static_cast<int64_t>(rank);
  int64_t a = opt_.axis < 0 ? opt_.axis + r : opt_.axis;
  if (a < 1 || a >= r) {
    fail<ValueError>("axis " + std::to_string(opt_.axis) + " is not a non-batch axis of rank-" + std::to_string(rank) +
                     " inputs");
  }
  return a;
}

Shape Concatenate::compute_output_shape(const std::vector<Shape>& shapes) {
  Shape out = Merge::compute_output_shape(shapes);
  int64_t a = free_axis(out.size());
  int64_t total = 0;
  for (const Shape& s : shapes) {
    if (s[a] < 0) {
      total = -1;
      break;
    }
    total = checked_sum(*this, total, s[a], "the concatenated size of axis " + std::to_string(a));
  }
  out[a] = total;
  return out;
}

Tensor Concatenate::call(const std::vector<Tensor>& inputs, bool) {
  std::vector<Shape> shapes;
  for (const Tensor& x : inputs) shapes.push_back(x.shape());
  check_input_shapes(shapes);
  return concat(inputs, free_axis(inputs[0].dim()));
}

LayerPtr Concatenate::move_into_shared() && { return std::make_shared<Concatenate>(std::move(*this)); }

nlohmann::json Concatenate::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["axis"] = opt_.axis;
  return c;
}

LayerPtr Concatenate::from_config(const nlohmann::json& config) {
  LayerFields f(config, "Concatenate");
  return std::make_shared<Concatenate>(ConcatenateOptions{.axis = f.integer("axis", -1), .name = f.name()});
}

}  // namespace ember::nn
