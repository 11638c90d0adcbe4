#include "ember/nn/layers/merging.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "ember/nn/layer_fields.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/linalg.hpp"
#include "ember/ops/reduce.hpp"
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
  // Keras 2's elementwise merges broadcast an axis of size 1 against any size (a squeeze-and-
  // excitation block multiplies [N, H, W, C] by [N, 1, 1, C]); the batch axis and the rank must agree.
  const bool broadcast = free < 0;
  Shape out = first;
  for (std::size_t i = 1; i < shapes.size(); ++i) {
    const Shape& s = shapes[i];
    bool ok = s.size() == first.size();
    for (std::size_t d = 1; ok && d < s.size(); ++d) {
      if (static_cast<int64_t>(d) == free) continue;
      if (out[d] < 0 || s[d] < 0 || out[d] == s[d]) continue;
      ok = broadcast && (out[d] == 1 || s[d] == 1);
      if (ok && out[d] == 1) out[d] = s[d];
    }
    if (!ok) {
      std::string rule = !broadcast ? "inputs with equal shapes except along axis " + std::to_string(free)
                                    : "inputs of equal shape (an axis of size 1 broadcasts, as Keras; the batch axis and the rank must agree)";
      fail<ShapeError>("expected " + rule + ", got " + shapes_list(shapes));
    }
  }
}

void Merge::check_inputs(const std::vector<Tensor>& inputs) const {
  std::vector<Shape> shapes;
  for (const Tensor& x : inputs) shapes.push_back(x.shape());
  check_input_shapes(shapes);
}

Tensor Merge::fold(const std::vector<Tensor>& inputs, Tensor (*op)(const Tensor&, const Tensor&)) const {
  check_inputs(inputs);
  Tensor y = inputs[0];
  for (std::size_t i = 1; i < inputs.size(); ++i) y = op(y, inputs[i]);
  return y;
}

Tensor Merge::compute_merged_mask(const std::vector<Tensor>&, const Tensor&, const std::vector<Tensor>& masks) const {
  Tensor out;
  for (const Tensor& m : masks) {
    if (!m.defined()) continue;
    if (out.defined() && m.shape() != out.shape()) {
      fail<ShapeError>("the inputs' masks must have one shape, got " + to_string(out.shape()) + " and " + to_string(m.shape()));
    }
    out = out.defined() ? logical_and(out, m) : m;
  }
  return out;
}

void Merge::build(const std::vector<Shape>& shapes) {
  check_input_shapes(shapes);
  mark_built(shapes);
}

Shape Merge::compute_output_shape(const std::vector<Shape>& shapes) {
  check_input_shapes(shapes);
  // Each axis from whichever input knows it; a size 1 gives way to a larger size, and to an unknown
  // one unless a known larger size is there.
  Shape out = shapes[0];
  for (std::size_t d = 0; d < out.size(); ++d) {
    int64_t largest = -1;
    bool unknown = false;
    for (const Shape& s : shapes) {
      if (s[d] < 0) unknown = true;
      else largest = std::max(largest, s[d]);
    }
    out[d] = (unknown && largest <= 1) ? -1 : largest;
  }
  return out;
}

// ------------------------------------------------------------------ Add, Multiply

Add::Add(std::string name) : Merge("Add", std::move(name)) {}

LayerPtr Add::from_config(const nlohmann::json& config) {
  return std::make_shared<Add>(LayerFields(config, "Add").name());
}

Tensor Add::call(const std::vector<Tensor>& inputs, bool) { return fold(inputs, add); }

LayerPtr Add::move_into_shared() && { return std::make_shared<Add>(std::move(*this)); }

Multiply::Multiply(std::string name) : Merge("Multiply", std::move(name)) {}

LayerPtr Multiply::from_config(const nlohmann::json& config) {
  return std::make_shared<Multiply>(LayerFields(config, "Multiply").name());
}

Tensor Multiply::call(const std::vector<Tensor>& inputs, bool) { return fold(inputs, mul); }

LayerPtr Multiply::move_into_shared() && { return std::make_shared<Multiply>(std::move(*this)); }

// ------------------------------------------------------------------ Subtract, Average, Maximum, Minimum

Subtract::Subtract(std::string name) : Merge("Subtract", std::move(name)) {}

LayerPtr Subtract::from_config(const nlohmann::json& config) {
  return std::make_shared<Subtract>(LayerFields(config, "Subtract").name());
}

void Subtract::check_input_shapes(const std::vector<Shape>& shapes) const {
  if (shapes.size() != 2) {
    fail<ValueError>("Subtract must be called on a list of exactly 2 inputs, got " + std::to_string(shapes.size()));
  }
  Merge::check_input_shapes(shapes);
}

Tensor Subtract::call(const std::vector<Tensor>& inputs, bool) { return fold(inputs, sub); }

LayerPtr Subtract::move_into_shared() && { return std::make_shared<Subtract>(std::move(*this)); }

Average::Average(std::string name) : Merge("Average", std::move(name)) {}

LayerPtr Average::from_config(const nlohmann::json& config) {
  return std::make_shared<Average>(LayerFields(config, "Average").name());
}

Tensor Average::call(const std::vector<Tensor>& inputs, bool) {
  return fold(inputs, add) / static_cast<double>(inputs.size());
}

LayerPtr Average::move_into_shared() && { return std::make_shared<Average>(std::move(*this)); }

Maximum::Maximum(std::string name) : Merge("Maximum", std::move(name)) {}

LayerPtr Maximum::from_config(const nlohmann::json& config) {
  return std::make_shared<Maximum>(LayerFields(config, "Maximum").name());
}

Tensor Maximum::call(const std::vector<Tensor>& inputs, bool) { return fold(inputs, maximum); }

LayerPtr Maximum::move_into_shared() && { return std::make_shared<Maximum>(std::move(*this)); }

Minimum::Minimum(std::string name) : Merge("Minimum", std::move(name)) {}

LayerPtr Minimum::from_config(const nlohmann::json& config) {
  return std::make_shared<Minimum>(LayerFields(config, "Minimum").name());
}

Tensor Minimum::call(const std::vector<Tensor>& inputs, bool) { return fold(inputs, minimum); }

LayerPtr Minimum::move_into_shared() && { return std::make_shared<Minimum>(std::move(*this)); }

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

Tensor Concatenate::compute_merged_mask(const std::vector<Tensor>& xs, const Tensor&, const std::vector<Tensor>& masks) const {
  bool any = false;
  for (const Tensor& m : masks) any = any || m.defined();
  if (!any || xs.size() != masks.size()) return {};
  std::vector<Tensor> full;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const Tensor& x = xs[i];
    const Tensor& m = masks[i];
    if (!m.defined()) {
      full.push_back(ones(x.shape(), DType::b8));
      continue;
    }
    Tensor b = m.dim() + 1 == x.dim() ? unsqueeze(m, -1) : m;
    bool fits = b.dim() == x.dim();
    for (int d = 0; fits && d + 1 < x.dim(); ++d) fits = b.size(d) == x.size(d);
    if (!fits) {
      fail<ShapeError>("the mask of input " + std::to_string(i) + " has shape " + to_string(m.shape()) +
                       ", which does not fit the input's shape " + to_string(x.shape()));
    }
    full.push_back(expand(b, x.shape()));
  }
  // AND over the last axis: min of 0/1 values.
  Tensor joined = cast(concat(full, free_axis(xs[0].dim())), DType::i64);
  return cast(min(joined, {-1}), DType::b8);
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

// ------------------------------------------------------------------ Dot

namespace {

// tf.math.l2_normalize: x / sqrt(max(sum(x^2), 1e-12)) along `axis`.
Tensor l2_normalize(const Tensor& x, int64_t axis) {
  Tensor ss = sum(square(x), {axis}, true);
  return x * rsqrt(maximum(ss, scalar_like(1e-12, ss)));
}

// x with axis `from` moved to position `to`.
Tensor move_axis(const Tensor& x, int64_t from, int64_t to) {
  Axes order;
  for (int64_t d = 0, rest = 0; d < x.dim(); ++d) {
    if (d == to) {
      order.push_back(from);
    } else {
      rest += rest == from ? 1 : 0;
      order.push_back(rest++);
    }
  }
  return permute(x, order);
}

}  // namespace

Dot::Dot(DotOptions options) : Merge("Dot", options.name), opt_(std::move(options)) {
  if (opt_.axes[0] == 0 || opt_.axes[1] == 0) {
    fail<ValueError>("cannot contract the batch axis 0, got axes [" + std::to_string(opt_.axes[0]) + ", " +
                     std::to_string(opt_.axes[1]) + "]");
  }
}

std::array<int64_t, 2> Dot::resolved_axes(std::size_t rank_x, std::size_t rank_y) const {
  std::array<int64_t, 2> out{};
  const std::size_t ranks[2] = {rank_x, rank_y};
  for (int i = 0; i < 2; ++i) {
    const int64_t r = static_cast<int64_t>(ranks[i]);
    const int64_t a = opt_.axes[i] < 0 ? opt_.axes[i] + r : opt_.axes[i];
    if (a < 1 || a >= r) {
      fail<ValueError>("axis " + std::to_string(opt_.axes[i]) + " is not a non-batch axis of input " +
                       std::to_string(i) + " of rank " + std::to_string(r));
    }
    out[i] = a;
  }
  return out;
}

void Dot::check_input_shapes(const std::vector<Shape>& shapes) const {
  if (shapes.size() != 2) {
    fail<ValueError>("Dot must be called on a list of exactly 2 inputs, got " + std::to_string(shapes.size()));
  }
  for (const Shape& s : shapes) {
    if (s.size() < 2) fail<ShapeError>("expected inputs of rank >= 2 (batch first), got " + shapes_list(shapes));
  }
  auto [a, b] = resolved_axes(shapes[0].size(), shapes[1].size());
  const int64_t ka = shapes[0][a], kb = shapes[1][b];
  if (ka >= 0 && kb >= 0 && ka != kb) {
    fail<ShapeError>("the contracted axes differ in size: axis " + std::to_string(a) + " of the first input is " +
                     std::to_string(ka) + ", axis " + std::to_string(b) + " of the second is " + std::to_string(kb) +
                     ": " + shapes_list(shapes));
  }
}

Shape Dot::compute_output_shape(const std::vector<Shape>& shapes) {
  check_input_shapes(shapes);
  auto [a, b] = resolved_axes(shapes[0].size(), shapes[1].size());
  Shape out{shapes[0][0] >= 0 ? shapes[0][0] : shapes[1][0]};
  for (std::size_t d = 1; d < shapes[0].size(); ++d) {
    if (static_cast<int64_t>(d) != a) out.push_back(shapes[0][d]);
  }
  for (std::size_t d = 1; d < shapes[1].size(); ++d) {
    if (static_cast<int64_t>(d) != b) out.push_back(shapes[1][d]);
  }
  if (out.size() == 1) out.push_back(1);
  return out;
}

Tensor Dot::call(const std::vector<Tensor>& inputs, bool) {
  check_inputs(inputs);
  auto [a, b] = resolved_axes(inputs[0].dim(), inputs[1].dim());
  Tensor x = inputs[0], y = inputs[1];
  if (opt_.normalize) {
    x = l2_normalize(x, a);
    y = l2_normalize(y, b);
  }
  const int64_t n = x.size(0), k = x.size(a);
  // One batched matrix product: x as [N, P, K], y as [N, K, Q].
  Tensor xm = move_axis(x, a, x.dim() - 1), ym = move_axis(y, b, 1);
  const int64_t p = k == 0 ? 0 : xm.numel() / std::max<int64_t>(n * k, 1);
  const int64_t q = k == 0 ? 0 : ym.numel() / std::max<int64_t>(n * k, 1);
  Tensor z = matmul(reshape(contiguous(xm), {n, p, k}), reshape(contiguous(ym), {n, k, q}));
  std::vector<Shape> shapes{x.shape(), y.shape()};
  return reshape(z, compute_output_shape(shapes));
}

LayerPtr Dot::move_into_shared() && { return std::make_shared<Dot>(std::move(*this)); }

nlohmann::json Dot::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["axes"] = nlohmann::json::array({opt_.axes[0], opt_.axes[1]});
  c["normalize"] = opt_.normalize;
  return c;
}

LayerPtr Dot::from_config(const nlohmann::json& config) {
  LayerFields f(config, "Dot");
  auto axes = f.ints("axes", 2, std::nullopt, -ConfigFields::kMaxInt);
  return std::make_shared<Dot>(DotOptions{.axes = {axes[0], axes[1]}, .normalize = f.boolean("normalize", false),
                                          .name = f.name()});
}

}  // namespace ember::nn
