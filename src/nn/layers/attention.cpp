#include "ember/nn/layers/attention.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "ember/nn/layer_fields.hpp"
#include "ember/nn/layers/conv.hpp"  // detail helpers
#include "ember/ops/elementwise.hpp"
#include "ember/ops/linalg.hpp"
#include "ember/ops/normalization.hpp"
#include "ember/ops/reduce.hpp"
#include "ember/ops/shape.hpp"
#include "ember/ops/softmax.hpp"

namespace ember::nn {

using detail::throw_input_shape;

namespace {

std::string axes_str(const Axes& axes) {
  std::string s = "[";
  for (std::size_t i = 0; i < axes.size(); ++i) s += (i ? ", " : "") + std::to_string(axes[i]);
  return s + "]";
}

// Keras writes an axis as an int or a list of ints; -> Axes (unchecked; build() checks them).
Axes read_axes(const LayerFields& f, const std::string& key, const nlohmann::json& v) {
  Axes axes;
  auto one = [&](const nlohmann::json& a) {
    if (!a.is_number_integer() || std::abs(a.get<int64_t>()) >= ConfigFields::kMaxInt || axes.size() >= kMaxDims) {
      f.fail(key, "an integer or a list of at most " + std::to_string(kMaxDims) + " integers");
    }
    axes.push_back(a.get<int64_t>());
  };
  if (v.is_array()) {
    for (const auto& a : v) one(a);
  } else {
    one(v);
  }
  return axes;
}

nlohmann::json axes_json(const Axes& axes) {
  nlohmann::json a = nlohmann::json::array();
  for (int64_t x : axes) a.push_back(x);
  return a;
}

}  // namespace

// ------------------------------------------------------------------ LayerNormalization

LayerNormalization::LayerNormalization(LayerNormalizationOptions options)
    : LayerBase("LayerNormalization", options.name), opt_(std::move(options)) {
  if (!(opt_.epsilon > 0.0) || !std::isfinite(opt_.epsilon)) {
    fail<ValueError>("epsilon must be positive, got " + std::to_string(opt_.epsilon));
  }
  if (opt_.axis.empty()) fail<ValueError>("axis must name at least one axis");
  if ((opt_.scale && !opt_.gamma_initializer) || (opt_.center && !opt_.beta_initializer)) {
    fail<ValueError>("every used initializer must be set");
  }
}

void LayerNormalization::build(const std::vector<Shape>& shapes) {
  if (shapes.size() != 1) fail<ShapeError>("expected one input, got " + std::to_string(shapes.size()));
  const Shape& in = shapes[0];
  const int64_t rank = static_cast<int64_t>(in.size());
  Axes axes;
  for (int64_t a : opt_.axis) {
    int64_t n = a < 0 ? a + rank : a;
    if (n < 1 || n >= rank) {
      fail<ValueError>("axis " + axes_str(opt_.axis) + " does not fit input " + keras_shape(in) +
                       " (every axis must be a feature axis: not the batch axis 0, and below the rank)");
    }
    if (std::find(axes.begin(), axes.end(), n) != axes.end()) {
      fail<ValueError>("axis " + axes_str(opt_.axis) + " names axis " + std::to_string(n) + " twice");
    }
    if (in[n] <= 0) throw_input_shape(*this, "with a known size along axis " + std::to_string(n), in);
    axes.push_back(n);
  }
  std::sort(axes.begin(), axes.end());
  axes_ = axes;
  Shape param;
  for (int64_t a : axes_) param.push_back(in[a]);
  if (opt_.scale) add_weight("gamma", param, opt_.gamma_initializer, true, opt_.gamma_regularizer);
  if (opt_.center) add_weight("beta", param, opt_.beta_initializer, true, opt_.beta_regularizer);
  mark_built(shapes);
}

void LayerNormalization::check_input_shapes(const std::vector<Shape>& shapes) const {
  if (shapes.size() != 1) fail<ShapeError>("expected one input, got " + std::to_string(shapes.size()));
  const Shape& want = built_input_shapes()[0];
  const Shape& got = shapes[0];
  bool ok = got.size() == want.size();
  for (int64_t a : axes_) ok = ok && (got[a] < 0 || got[a] == want[a]);
  if (!ok) {
    Shape spec(want.size(), -1);
    for (int64_t a : axes_) spec[a] = want[a];
    throw_input_shape(*this, keras_shape(spec), got);
  }
}

Shape LayerNormalization::compute_output_shape(const std::vector<Shape>& shapes) {
  check_input_shapes(shapes);
  return shapes[0];
}

Tensor LayerNormalization::call(const std::vector<Tensor>& inputs, bool) {
  const Tensor& x = detail::single_input(inputs, *this);
  if (!is_floating(x.dtype())) fail<DTypeError>("expected a float32 or float64 input, got " + std::string(dtype_name(x.dtype())));
  Tensor m = mean(x, axes_, /*keepdims=*/true);
  Tensor v = var(x, axes_, /*keepdims=*/true);
  Tensor y = (x - m) * rsqrt(v + opt_.epsilon);
  // gamma and beta hold the normalised axes' sizes; broadcast them with 1 on every other axis.
  Shape bshape(x.dim(), 1);
  for (int64_t a : axes_) bshape[a] = x.size(a);
  if (Weight* g = find_weight("gamma")) y = y * g->value().reshape(bshape);
  if (Weight* b = find_weight("beta")) y = y + b->value().reshape(bshape);
  return y;
}

nlohmann::json LayerNormalization::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["axis"] = axes_json(opt_.axis);
  c["epsilon"] = opt_.epsilon;
  c["center"] = opt_.center;
  c["scale"] = opt_.scale;
  c["beta_initializer"] = detail::initializer_json(opt_.beta_initializer);
  c["gamma_initializer"] = detail::initializer_json(opt_.gamma_initializer);
  c["beta_regularizer"] = detail::regularizer_json(opt_.beta_regularizer);
  c["gamma_regularizer"] = detail::regularizer_json(opt_.gamma_regularizer);
  c["beta_constraint"] = nullptr;
  c["gamma_constraint"] = nullptr;
  return c;
}

LayerPtr LayerNormalization::from_config(const nlohmann::json& config) {
  LayerFields f(config, "LayerNormalization");
  f.no_constraints({"beta_constraint", "gamma_constraint"});
  f.ignore({"rms_scaling"});  // Keras 3; false (the default) is this layer
  if (const nlohmann::json* r = f.find("rms_scaling"); r && !(r->is_boolean() && !r->get<bool>())) {
    f.fail("rms_scaling", "false (RMS normalisation is not implemented)");
  }
  Axes axis = {-1};
  if (const nlohmann::json* a = f.find("axis")) axis = read_axes(f, "axis", *a);
  return std::make_shared<LayerNormalization>(LayerNormalizationOptions{
      .axis = axis,
      .epsilon = f.number("epsilon", 1e-3),
      .center = f.boolean("center", true),
      .scale = f.boolean("scale", true),
      .beta_initializer = f.initializer("beta_initializer", "zeros"),
      .gamma_initializer = f.initializer("gamma_initializer", "ones"),
      .beta_regularizer = f.regularizer("beta_regularizer"),
      .gamma_regularizer = f.regularizer("gamma_regularizer"),
      .name = f.name()});
}

// ------------------------------------------------------------------ MultiHeadAttention

MultiHeadAttention::MultiHeadAttention(MultiHeadAttentionOptions options)
    : LayerBase("MultiHeadAttention", options.name), opt_(std::move(options)) {
  detail::check_positive(*this, "num_heads", opt_.num_heads);
  detail::check_positive(*this, "key_dim", opt_.key_dim);
  if (opt_.value_dim) detail::check_positive(*this, "value_dim", *opt_.value_dim);
  if (!(opt_.dropout >= 0.0 && opt_.dropout < 1.0)) {
    fail<ValueError>("dropout must be in [0, 1), got " + std::to_string(opt_.dropout));
  }
  if (opt_.output_shape) {
    if (opt_.output_shape->empty()) fail<ValueError>("output_shape must have at least one dimension");
    for (int64_t d : *opt_.output_shape) detail::check_positive(*this, "each output_shape dimension", d);
  }
  if (opt_.attention_axes && opt_.attention_axes->empty()) fail<ValueError>("attention_axes must not be empty");
  if (!opt_.kernel_initializer || (opt_.use_bias && !opt_.bias_initializer)) {
    fail<ValueError>("every used initializer must be set");
  }
  if (opt_.seed) dropout_gen_.emplace(*opt_.seed);
}

Axes MultiHeadAttention::attention_axes_for(int64_t rank) const {
  Axes axes;
  if (!opt_.attention_axes) {
    for (int64_t a = 1; a < rank - 1; ++a) axes.push_back(a);
    return axes;
  }
  for (int64_t a : *opt_.attention_axes) {
    int64_t n = a < 0 ? a + rank : a;
    if (n < 1 || n >= rank - 1 || std::find(axes.begin(), axes.end(), n) != axes.end()) {
      fail<ValueError>("attention_axes " + axes_str(*opt_.attention_axes) + " do not fit a rank-" +
                       std::to_string(rank) + " input (each must be distinct, not the batch axis 0 and not the "
                       "feature axis " + std::to_string(rank - 1) + ")");
    }
    axes.push_back(n);
  }
  std::sort(axes.begin(), axes.end());
  return axes;
}

void MultiHeadAttention::build(const std::vector<Shape>& shapes) {
  if (shapes.size() < 2 || shapes.size() > 4) {
    fail<ShapeError>("expected inputs [query, value], [query, value, key] or [query, value, key, attention_mask], got " +
                     std::to_string(shapes.size()) + " input(s)");
  }
  const Shape& q = shapes[0];
  const Shape& v = shapes[1];
  const Shape& k = shapes.size() >= 3 ? shapes[2] : shapes[1];
  for (const Shape* s : {&q, &v, &k}) {
    if (s->size() < 3) {
      throw_input_shape(*this, "query, value and key of rank >= 3 ([batch, positions..., features])", *s);
    }
    if (s->back() <= 0) throw_input_shape(*this, "with a known feature (last) size (it sizes the kernels)", *s);
  }
  if (v.size() != q.size() || k.size() != q.size()) {
    fail<ShapeError>("query, value and key must have the same rank, got query " + keras_shape(q) + ", value " +
                     keras_shape(v) + ", key " + keras_shape(k));
  }
  attention_axes_for(static_cast<int64_t>(q.size()));  // validates
  const int64_t h = opt_.num_heads, kd = opt_.key_dim, vd = value_dim();
  Shape out = opt_.output_shape.value_or(Shape{q.back()});
  Shape out_kernel = {h, vd};
  for (int64_t d : out) out_kernel.push_back(d);
  checked_product(*this, {q.back(), h, kd}, "query/kernel");
  checked_product(*this, {v.back(), h, vd}, "value/kernel");
  checked_product(*this, out_kernel, "attention_output/kernel");
  add_weight("query/kernel", {q.back(), h, kd}, opt_.kernel_initializer, true, opt_.kernel_regularizer);
  if (opt_.use_bias) add_weight("query/bias", {h, kd}, opt_.bias_initializer, true, opt_.bias_regularizer);
  add_weight("key/kernel", {k.back(), h, kd}, opt_.kernel_initializer, true, opt_.kernel_regularizer);
  if (opt_.use_bias) add_weight("key/bias", {h, kd}, opt_.bias_initializer, true, opt_.bias_regularizer);
  add_weight("value/kernel", {v.back(), h, vd}, opt_.kernel_initializer, true, opt_.kernel_regularizer);
  if (opt_.use_bias) add_weight("value/bias", {h, vd}, opt_.bias_initializer, true, opt_.bias_regularizer);
  add_weight("attention_output/kernel", out_kernel, opt_.kernel_initializer, true, opt_.kernel_regularizer);
  if (opt_.use_bias) add_weight("attention_output/bias", out, opt_.bias_initializer, true, opt_.bias_regularizer);
  mark_built(shapes);
}

void MultiHeadAttention::check_input_shapes(const std::vector<Shape>& shapes) const {
  if (shapes.size() < 2 || shapes.size() > 4) {
    fail<ShapeError>("expected inputs [query, value], [query, value, key] or [query, value, key, attention_mask], got " +
                     std::to_string(shapes.size()) + " input(s)");
  }
  const std::vector<Shape>& built = built_input_shapes();
  const Shape& bk = built.size() >= 3 ? built[2] : built[1];
  const char* names[] = {"query", "value", "key"};
  const Shape* want[] = {&built[0], &built[1], &bk};
  for (std::size_t i = 0; i < 3; ++i) {
    const Shape& got = i < shapes.size() ? shapes[i] : shapes[1];  // key defaults to value
    const Shape& w = *want[i];
    if (got.size() != w.size() || (got.back() >= 0 && got.back() != w.back())) {
      Shape spec(w.size(), -1);
      spec.back() = w.back();
      fail<ShapeError>(std::string("expected ") + names[i] + " shape " + keras_shape(spec) + ", got " +
                       keras_shape(got));
    }
  }
}

Shape MultiHeadAttention::compute_output_shape(const std::vector<Shape>& shapes) {
  check_input_shapes(shapes);
  Shape out = shapes[0];
  out.pop_back();
  for (int64_t d : opt_.output_shape.value_or(Shape{built_input_shapes()[0].back()})) out.push_back(d);
  return out;
}

Tensor MultiHeadAttention::call(const std::vector<Tensor>& inputs, bool training) {
  // operator() has checked the count (2 to 4) and the shapes.
  AttentionCallArgs args{.use_causal_mask = opt_.use_causal_mask};
  if (inputs.size() >= 3) args.key = inputs[2];
  if (inputs.size() >= 4) args.attention_mask = inputs[3];
  return attend(inputs[0], inputs[1], args, training);
}

Tensor MultiHeadAttention::call_masked_inputs(const std::vector<Tensor>& xs, const std::vector<Tensor>& masks,
                                              bool training) {
  // Keras's _compute_attention_mask: the masks of query, value and key (inputs 0, 1, 2; a mask on
  // the attention_mask input itself means nothing) become [B, T, S] and are AND-ed together and
  // with the attention_mask input; the causal mask is AND-ed in by attend().
  auto mask_of = [&](std::size_t i) { return i < masks.size() && i < xs.size() && i < 3 ? masks[i] : Tensor(); };
  const Tensor qm = mask_of(0), vm = mask_of(1), km = mask_of(2);
  if (!qm.defined() && !vm.defined() && !km.defined()) return (*this)(xs, training);
  if (xs.size() < 2) return (*this)(xs, training);  // operator() reports the count
  const Tensor& query = xs[0];
  const Tensor& value = xs[1];
  const Tensor& key = xs.size() >= 3 ? xs[2] : value;
  const char* names[] = {"query", "value", "key"};
  const Tensor* inputs[] = {&query, &value, &key};
  const Tensor* given[] = {&qm, &vm, &km};
  for (int i = 0; i < 3; ++i) {
    const Tensor& m = *given[i];
    if (!m.defined()) continue;
    const Tensor& x = *inputs[i];
    if (x.dim() != 3) {
      fail<ValueError>(std::string("a Keras mask on the ") + names[i] + " is supported for inputs of rank 3 (batch, " +
                       "time, features), got " + names[i] + " shape " + keras_shape(x.shape()));
    }
    if (m.dim() != 2 || m.size(0) != x.size(0) || m.size(1) != x.size(1)) {
      fail<ShapeError>(std::string("the ") + names[i] + "'s mask must have shape (" + std::to_string(x.size(0)) + ", " +
                       std::to_string(x.size(1)) + "), got " + keras_shape(m.shape()));
    }
  }
  auto as_bool = [](const Tensor& m) { return m.dtype() == DType::b8 ? m.detach() : not_equal(m.detach(), zeros({}, m.dtype())); };
  Tensor mask;
  auto and_in = [&](const Tensor& m) { mask = mask.defined() ? logical_and(mask, m) : m; };
  if (qm.defined()) and_in(unsqueeze(as_bool(qm), 2));  // [B, T, 1]
  if (vm.defined()) and_in(unsqueeze(as_bool(vm), 1));  // [B, 1, S]
  if (km.defined()) and_in(unsqueeze(as_bool(km), 1));
  if (xs.size() >= 4) and_in(as_bool(xs[3]));
  // [B, T, S] (a broadcast explicit mask of another shape is checked by attend()).
  mask = contiguous(mask.expand({query.size(0), query.size(1), value.size(1)}));
  return (*this)({query, value, key, mask}, training);
}

Tensor MultiHeadAttention::compute_merged_mask(const std::vector<Tensor>&, const Tensor&,
                                               const std::vector<Tensor>& masks) const {
  return masks.empty() ? Tensor() : masks[0];
}

Tensor MultiHeadAttention::project(const Tensor& x, const char* sublayer, int64_t head_size) {
  const std::string s = sublayer;
  const Tensor& kernel = find_weight(s + "/kernel")->value();
  const int64_t d = x.size(-1), h = opt_.num_heads;
  Shape out = x.shape();
  out.back() = h;
  out.push_back(head_size);
  // [N, d] x [d, H*head] as one GEMM, then split the heads.
  Tensor y = matmul(x.reshape({-1, d}), kernel.reshape({d, h * head_size}));
  if (Weight* b = find_weight(s + "/bias")) y = y + b->value().reshape({h * head_size});
  return y.reshape(out);
}

Tensor MultiHeadAttention::attend(const Tensor& query, const Tensor& value, const AttentionCallArgs& args,
                                  bool training) {
  const Tensor& key = args.key.defined() ? args.key : value;
  if (!built()) {
    // attend() called directly: build (and check) as operator() would.
    build({query.shape(), value.shape(), key.shape()});
    materialize_weights();
  } else {
    check_input_shapes({query.shape(), value.shape(), key.shape()});
  }
  const int64_t rank = query.dim();
  const Axes att = attention_axes_for(rank);
  // Batch-like axes: 0 and every position axis not attended over; they must agree between inputs.
  Axes batch_axes;
  for (int64_t a = 0; a < rank - 1; ++a) {
    if (std::find(att.begin(), att.end(), a) == att.end()) batch_axes.push_back(a);
  }
  for (int64_t a : batch_axes) {
    if (value.size(a) != query.size(a) || key.size(a) != query.size(a)) {
      fail<ShapeError>("query " + keras_shape(query.shape()) + ", value " + keras_shape(value.shape()) + " and key " +
                       keras_shape(key.shape()) + " differ along axis " + std::to_string(a) +
                       ", which is not attended over");
    }
  }
  for (int64_t a : att) {
    if (key.size(a) != value.size(a)) {
      fail<ShapeError>("key " + keras_shape(key.shape()) + " and value " + keras_shape(value.shape()) +
                       " differ along attended axis " + std::to_string(a));
    }
  }
  const int64_t h = opt_.num_heads, kd = opt_.key_dim, vd = value_dim();
  int64_t nb = 1, t = 1, s = 1;
  for (int64_t a : batch_axes) nb *= query.size(a);
  for (int64_t a : att) {
    t *= query.size(a);
    s *= value.size(a);
  }
  // Projections are [B..., H, head] with the head axis at `rank - 1`; bring them to
  // [batch axes..., H, attended axes..., head] and flatten to [nb, H, positions, head].
  Axes perm = batch_axes;
  perm.push_back(rank - 1);
  for (int64_t a : att) perm.push_back(a);
  perm.push_back(rank);
  auto heads_first = [&](const Tensor& p, int64_t positions, int64_t head) {
    return contiguous(p.permute(perm)).reshape({nb, h, positions, head});
  };
  Tensor q = heads_first(project(query, "query", kd), t, kd);
  Tensor k = heads_first(project(key, "key", kd), s, kd);
  Tensor v = heads_first(project(value, "value", vd), s, vd);
  // Keras scales the query before the dot product.
  q = q * (1.0 / std::sqrt(static_cast<double>(kd)));
  Tensor scores = matmul(q, k, {.transpose_b = true});  // [nb, H, T, S]

  Tensor mask;  // [nb, 1, T, S] of the scores' dtype: 1 = attend
  if (args.attention_mask.defined()) {
    Shape want;  // [batch axes..., query attended axes..., value attended axes...]
    for (int64_t a : batch_axes) want.push_back(query.size(a));
    for (int64_t a : att) want.push_back(query.size(a));
    for (int64_t a : att) want.push_back(value.size(a));
    const Shape& got = args.attention_mask.shape();
    bool ok = got.size() <= want.size();
    for (std::size_t i = 0; ok && i < got.size(); ++i) {
      int64_t g = got[got.size() - 1 - i], w = want[want.size() - 1 - i];
      ok = g == w || g == 1;
    }
    if (!ok) {
      fail<ShapeError>("attention_mask must have shape " + keras_shape(want) + " (or one that broadcasts to it), got " +
                       keras_shape(got) + " for query " + keras_shape(query.shape()) + " and value " +
                       keras_shape(value.shape()));
    }
    mask = args.attention_mask.dtype() == scores.dtype() ? args.attention_mask
                                                          : cast(args.attention_mask, scores.dtype());
    mask = contiguous(mask.expand(want)).reshape({nb, 1, t, s});
  }
  if (args.use_causal_mask) {
    // Keras: position i of the query attends to positions j <= i of the key.
    Tensor rows = arange(t).reshape({t, 1}), cols = arange(s).reshape({1, s});
    Tensor causal = cast(greater_equal(rows, cols), scores.dtype()).reshape({1, 1, t, s});
    mask = mask.defined() ? mask * causal : causal;
  }
  if (mask.defined()) scores = scores + (1.0 - mask) * -1e9;
  Tensor probs = softmax(scores, -1);
  if (args.attention_scores) {
    // Keras's shape: [batch axes..., H, query attended..., value attended...].
    Shape ss;
    for (int64_t a : batch_axes) ss.push_back(query.size(a));
    ss.push_back(h);
    for (int64_t a : att) ss.push_back(query.size(a));
    for (int64_t a : att) ss.push_back(value.size(a));
    *args.attention_scores = probs.reshape(ss);
  }
  probs = dropout(probs, opt_.dropout, training, dropout_gen_ ? &*dropout_gen_ : nullptr);
  Tensor ctx = matmul(probs, v);  // [nb, H, T, vd]
  // Back to [query's position axes..., H*vd] in the query's axis order.
  Shape split;
  for (int64_t a : batch_axes) split.push_back(query.size(a));
  split.push_back(h);
  for (int64_t a : att) split.push_back(query.size(a));
  split.push_back(vd);
  Axes inverse(perm.size());
  for (std::size_t i = 0; i < perm.size(); ++i) inverse[perm[i]] = static_cast<int64_t>(i);
  ctx = contiguous(ctx.reshape(split).permute(inverse));  // [B..., H, vd]
  Shape out = query.shape();
  out.pop_back();
  const Tensor& wo = find_weight("attention_output/kernel")->value();
  int64_t out_size = wo.numel() / (h * vd);
  Tensor y = matmul(ctx.reshape({-1, h * vd}), wo.reshape({h * vd, out_size}));
  if (Weight* b = find_weight("attention_output/bias")) y = y + b->value().reshape({out_size});
  for (int64_t d : opt_.output_shape.value_or(Shape{query.size(-1)})) out.push_back(d);
  return y.reshape(out);
}

nlohmann::json MultiHeadAttention::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["num_heads"] = opt_.num_heads;
  c["key_dim"] = opt_.key_dim;
  c["value_dim"] = value_dim();
  c["dropout"] = opt_.dropout;
  c["use_bias"] = opt_.use_bias;
  c["output_shape"] = opt_.output_shape ? nlohmann::json(std::vector<int64_t>(opt_.output_shape->begin(),
                                                                              opt_.output_shape->end()))
                                        : nlohmann::json(nullptr);
  c["attention_axes"] = opt_.attention_axes ? axes_json(*opt_.attention_axes) : nlohmann::json(nullptr);
  c["kernel_initializer"] = detail::initializer_json(opt_.kernel_initializer);
  c["bias_initializer"] = detail::initializer_json(opt_.bias_initializer);
  c["kernel_regularizer"] = detail::regularizer_json(opt_.kernel_regularizer);
  c["bias_regularizer"] = detail::regularizer_json(opt_.bias_regularizer);
  c["activity_regularizer"] = nullptr;
  c["kernel_constraint"] = nullptr;
  c["bias_constraint"] = nullptr;
  c["seed"] = opt_.seed ? nlohmann::json(*opt_.seed) : nlohmann::json(nullptr);
  if (built()) {
    // Keras 2 writes the build shapes so that a loaded layer can be built before its weights load.
    auto shape_json = [](const Shape& s) {
      nlohmann::json j = nlohmann::json::array();
      for (int64_t d : s) j.push_back(d < 0 ? nlohmann::json(nullptr) : nlohmann::json(d));
      return j;
    };
    const auto& b = built_input_shapes();
    c["query_shape"] = shape_json(b[0]);
    c["value_shape"] = shape_json(b[1]);
    c["key_shape"] = shape_json(b.size() >= 3 ? b[2] : b[1]);
  }
  return c;
}

LayerPtr MultiHeadAttention::from_config(const nlohmann::json& config) {
  LayerFields f(config, "MultiHeadAttention");
  f.no_constraints({"kernel_constraint", "bias_constraint", "activity_regularizer"});
  f.ignore({"query_shape", "value_shape", "key_shape"});  // built again from the first call
  MultiHeadAttentionOptions o{.num_heads = f.positive("num_heads"), .key_dim = f.positive("key_dim")};
  if (const nlohmann::json* v = f.find("value_dim")) {
    (void)v;
    o.value_dim = f.positive("value_dim");
  }
  o.dropout = f.number("dropout", 0.0);
  o.use_bias = f.boolean("use_bias", true);
  if (const nlohmann::json* s = f.find("output_shape")) {
    Axes dims = read_axes(f, "output_shape", *s);
    o.output_shape = Shape(dims.begin(), dims.end());
  }
  if (const nlohmann::json* a = f.find("attention_axes")) o.attention_axes = read_axes(f, "attention_axes", *a);
  o.kernel_initializer = f.initializer("kernel_initializer", "glorot_uniform");
  o.bias_initializer = f.initializer("bias_initializer", "zeros");
  o.kernel_regularizer = f.regularizer("kernel_regularizer");
  o.bias_regularizer = f.regularizer("bias_regularizer");
  o.seed = f.seed();
  o.name = f.name();
  return std::make_shared<MultiHeadAttention>(std::move(o));
}

}  // namespace ember::nn
