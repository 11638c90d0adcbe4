#include "ember/graph/ops.hpp"

#include <nlohmann/json.hpp>

#include "ember/core/error.hpp"
#include "ember/ops/activation.hpp"
#include "ember/ops/conv.hpp"
#include "ember/ops/pool.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/linalg.hpp"
#include "ember/ops/losses.hpp"
#include "ember/ops/normalization.hpp"
#include "ember/ops/shape.hpp"
#include "ember/ops/softmax.hpp"

namespace ember::graph {

namespace {

// Records the op's attributes (the meta graph, graph/meta_graph.hpp, rebuilds it from them).
Output tag(Output o, const nlohmann::json& attrs = nlohmann::json::object()) {
  o.node()->attrs = attrs.dump();
  return o;
}
std::vector<int64_t> vec(const Axes& a) { return {a.begin(), a.end()}; }
const char* padding_name(Padding p) { return p == Padding::Same ? "same" : "valid"; }

const Tensor& T(std::span<const Value> in, size_t i) {
  const Tensor* t = std::get_if<Tensor>(&in[i]);
  if (!t) throw DTypeError("graph: a numeric op got a string input");
  return *t;
}

Graph& graph_of(std::initializer_list<const Output*> xs) {
  Graph* g = nullptr;
  for (const Output* x : xs) {
    if (!x->valid()) throw ValueError("graph: an op got an empty tensor (e.g. a None gradient) as input");
    if (!g) g = &x->graph();
    else if (g != &x->graph())
      throw ValueError("graph: '" + x->name() + "' is from another graph than '" + (*xs.begin())->name() + "'");
  }
  return g ? *g : get_default_graph();
}

void no_strings(const Output& x, const std::string& op) {
  if (x.type().is_string) throw DTypeError("graph: " + op + " of the string tensor '" + x.name() + "'");
}

Output single(Graph& g, const std::string& type, const std::string& name, std::vector<Output> in, OpFn fn,
              std::vector<OutputSpec> specs = {}) {
  GraphScope scope(g);
  return Output(g.add_op(type, name, std::move(in), std::move(fn), std::move(specs)).node(), 0);
}

template <typename F>
Output unary(const Output& x, const std::string& type, const std::string& name, F f) {
  Graph& g = graph_of({&x});
  no_strings(x, type);
  return single(g, type, name, {x}, [f](RunContext&, std::span<const Value> in) {
    return Values{f(T(in, 0))};
  });
}

// TF1: both inputs of a binary op have one dtype; no implicit promotion.
template <typename F>
Output binary(const Output& a, const Output& b, const std::string& type, const std::string& name, F f) {
  Graph& g = graph_of({&a, &b});
  no_strings(a, type);
  no_strings(b, type);
  if (a.dtype() != b.dtype())
    throw DTypeError("graph: " + type + " '" + name + "': '" + a.name() + "' is " + a.type().str() + " but '" +
                     b.name() + "' is " + b.type().str() + " (TF1 does not convert; cast one of them)");
  return single(g, type, name, {a, b}, [f](RunContext&, std::span<const Value> in) {
    return Values{f(T(in, 0), T(in, 1))};
  });
}

}  // namespace

Output add(const Output& a, const Output& b, const std::string& name) {
  return tag(binary(a, b, "Add", name, [](const Tensor& x, const Tensor& y) { return ember::add(x, y); }));
}
Output subtract(const Output& a, const Output& b, const std::string& name) {
  return tag(binary(a, b, "Sub", name, [](const Tensor& x, const Tensor& y) { return ember::sub(x, y); }));
}
Output multiply(const Output& a, const Output& b, const std::string& name) {
  return tag(binary(a, b, "Mul", name, [](const Tensor& x, const Tensor& y) { return ember::mul(x, y); }));
}
Output divide(const Output& a, const Output& b, const std::string& name) {
  return tag(binary(a, b, "RealDiv", name, [](const Tensor& x, const Tensor& y) { return ember::div(x, y); }));
}
Output maximum(const Output& a, const Output& b, const std::string& name) {
  return tag(binary(a, b, "Maximum", name, [](const Tensor& x, const Tensor& y) { return ember::maximum(x, y); }));
}
Output minimum(const Output& a, const Output& b, const std::string& name) {
  return tag(binary(a, b, "Minimum", name, [](const Tensor& x, const Tensor& y) { return ember::minimum(x, y); }));
}
Output pow(const Output& a, const Output& b, const std::string& name) {
  return tag(binary(a, b, "Pow", name, [](const Tensor& x, const Tensor& y) { return ember::pow(x, y); }));
}
Output equal(const Output& a, const Output& b, const std::string& name) {
  return tag(binary(a, b, "Equal", name, [](const Tensor& x, const Tensor& y) { return ember::equal(x, y); }));
}
Output not_equal(const Output& a, const Output& b, const std::string& name) {
  return tag(binary(a, b, "NotEqual", name, [](const Tensor& x, const Tensor& y) { return ember::not_equal(x, y); }));
}
Output less(const Output& a, const Output& b, const std::string& name) {
  return tag(binary(a, b, "Less", name, [](const Tensor& x, const Tensor& y) { return ember::less(x, y); }));
}
Output greater(const Output& a, const Output& b, const std::string& name) {
  return tag(binary(a, b, "Greater", name, [](const Tensor& x, const Tensor& y) { return ember::greater(x, y); }));
}
Output greater_equal(const Output& a, const Output& b, const std::string& name) {
  return tag(binary(a, b, "GreaterEqual", name, [](const Tensor& x, const Tensor& y) { return ember::greater_equal(x, y); }));
}
Output less_equal(const Output& a, const Output& b, const std::string& name) {
  return tag(binary(a, b, "LessEqual", name, [](const Tensor& x, const Tensor& y) { return ember::less_equal(x, y); }));
}
Output logical_and(const Output& a, const Output& b, const std::string& name) {
  return tag(binary(a, b, "LogicalAnd", name, [](const Tensor& x, const Tensor& y) { return ember::logical_and(x, y); }));
}
Output logical_or(const Output& a, const Output& b, const std::string& name) {
  return tag(binary(a, b, "LogicalOr", name, [](const Tensor& x, const Tensor& y) { return ember::logical_or(x, y); }));
}
Output logical_not(const Output& x, const std::string& name) {
  return tag(unary(x, "LogicalNot", name, [](const Tensor& t) { return ember::logical_not(t); }));
}
Output where(const Output& cond, const Output& a, const Output& b, const std::string& name) {
  Graph& g = graph_of({&cond, &a, &b});
  for (const Output* o : {&cond, &a, &b}) no_strings(*o, "Select");
  if (a.dtype() != b.dtype())
    throw DTypeError("graph: Select '" + name + "': '" + a.name() + "' is " + a.type().str() + " but '" + b.name() +
                     "' is " + b.type().str());
  return tag(single(g, "Select", name, {cond, a, b}, [](RunContext&, std::span<const Value> in) {
    return Values{ember::where(T(in, 0), T(in, 1), T(in, 2))};
  }));
}
Output matmul(const Output& a, const Output& b, const std::string& name) {
  return tag(binary(a, b, "MatMul", name, [](const Tensor& x, const Tensor& y) { return ember::matmul(x, y); }));
}

Output negative(const Output& x, const std::string& name) {
  return tag(unary(x, "Neg", name, [](const Tensor& t) { return ember::neg(t); }));
}
Output exp(const Output& x, const std::string& name) {
  return tag(unary(x, "Exp", name, [](const Tensor& t) { return ember::exp(t); }));
}
Output log(const Output& x, const std::string& name) {
  return tag(unary(x, "Log", name, [](const Tensor& t) { return ember::log(t); }));
}
Output sqrt(const Output& x, const std::string& name) {
  return tag(unary(x, "Sqrt", name, [](const Tensor& t) { return ember::sqrt(t); }));
}
Output square(const Output& x, const std::string& name) {
  return tag(unary(x, "Square", name, [](const Tensor& t) { return ember::square(t); }));
}
Output abs(const Output& x, const std::string& name) {
  return tag(unary(x, "Abs", name, [](const Tensor& t) { return ember::abs(t); }));
}
Output rsqrt(const Output& x, const std::string& name) {
  return tag(unary(x, "Rsqrt", name, [](const Tensor& t) { return ember::rsqrt(t); }));
}
Output sign(const Output& x, const std::string& name) {
  return tag(unary(x, "Sign", name, [](const Tensor& t) { return ember::sign(t); }));
}
Output clip_by_value(const Output& x, double low, double high, const std::string& name) {
  return tag(unary(x, "ClipByValue", name, [low, high](const Tensor& t) { return ember::clip(t, low, high); }), {{"low", low}, {"high", high}});
}
Output cast(const Output& x, DType dtype, const std::string& name) {
  return tag(unary(x, "Cast", name, [dtype](const Tensor& t) { return ember::cast(t, dtype); }), {{"dtype", std::string(dtype_name(dtype))}});
}

Output reduce_sum(const Output& x, const Axes& axes, bool keepdims, const std::string& name) {
  return tag(unary(x, "Sum", name, [axes, keepdims](const Tensor& t) { return ember::sum(t, axes, keepdims); }), {{"axes", vec(axes)}, {"keepdims", keepdims}});
}
Output reduce_mean(const Output& x, const Axes& axes, bool keepdims, const std::string& name) {
  return tag(unary(x, "Mean", name, [axes, keepdims](const Tensor& t) { return ember::mean(t, axes, keepdims); }), {{"axes", vec(axes)}, {"keepdims", keepdims}});
}
Output reduce_max(const Output& x, const Axes& axes, bool keepdims, const std::string& name) {
  return tag(unary(x, "Max", name, [axes, keepdims](const Tensor& t) { return ember::max(t, axes, keepdims); }), {{"axes", vec(axes)}, {"keepdims", keepdims}});
}
Output reduce_min(const Output& x, const Axes& axes, bool keepdims, const std::string& name) {
  return tag(unary(x, "Min", name, [axes, keepdims](const Tensor& t) { return ember::min(t, axes, keepdims); }), {{"axes", vec(axes)}, {"keepdims", keepdims}});
}
Output reduce_prod(const Output& x, const Axes& axes, bool keepdims, const std::string& name) {
  return tag(unary(x, "Prod", name, [axes, keepdims](const Tensor& t) { return ember::prod(t, axes, keepdims); }), {{"axes", vec(axes)}, {"keepdims", keepdims}});
}
Output argmin(const Output& x, int64_t axis, const std::string& name) {
  return tag(unary(x, "ArgMin", name, [axis](const Tensor& t) { return ember::argmin(t, axis); }), {{"axis", axis}});
}
Output transpose(const Output& x, const Axes& perm, const std::string& name) {
  return tag(unary(x, "Transpose", name, [perm](const Tensor& t) { return ember::permute(t, perm); }), {{"perm", vec(perm)}});
}
Output squeeze(const Output& x, int64_t axis, const std::string& name) {
  return tag(unary(x, "Squeeze", name, [axis](const Tensor& t) { return ember::squeeze(t, axis); }), {{"axis", axis}});
}
Output expand_dims(const Output& x, int64_t axis, const std::string& name) {
  return tag(unary(x, "ExpandDims", name, [axis](const Tensor& t) { return ember::unsqueeze(t, axis); }), {{"axis", axis}});
}
Output concat(const std::vector<Output>& xs, int64_t axis, const std::string& name) {
  if (xs.empty()) throw ValueError("graph: concat of no tensors");
  Graph& g = graph_of({&xs[0]});
  for (const Output& x : xs) {
    graph_of({&xs[0], &x});
    no_strings(x, "ConcatV2");
    if (x.dtype() != xs[0].dtype())
      throw DTypeError("graph: concat '" + name + "': '" + xs[0].name() + "' is " + xs[0].type().str() + " but '" +
                       x.name() + "' is " + x.type().str());
  }
  return tag(single(g, "ConcatV2", name, xs, [axis](RunContext&, std::span<const Value> in) {
    std::vector<Tensor> ts;
    for (size_t i = 0; i < in.size(); ++i) ts.push_back(T(in, i));
    return Values{ember::concat(ts, axis)};
  }), {{"axis", axis}});
}
Output argmax(const Output& x, int64_t axis, const std::string& name) {
  return tag(unary(x, "ArgMax", name, [axis](const Tensor& t) { return ember::argmax(t, axis); }), {{"axis", axis}});
}
Output reshape(const Output& x, const std::vector<int64_t>& shape, const std::string& name) {
  Shape s(shape.begin(), shape.end());
  return tag(unary(x, "Reshape", name, [s](const Tensor& t) { return ember::reshape(t, s); }), {{"shape", shape}});
}
Output one_hot(const Output& indices, int64_t depth, const std::string& name) {
  return tag(unary(indices, "OneHot", name, [depth](const Tensor& t) { return ember::one_hot(t, depth); }), {{"depth", depth}});
}

namespace {
Output random_source(const std::vector<int64_t>& shape, const std::string& type, const std::string& name,
                     Tensor (*draw)(const Shape&, RandnOptions), double mean, double stddev) {
  Shape s(shape.begin(), shape.end());
  Graph& g = get_default_graph();
  OpFn fn = [s, draw, mean, stddev](RunContext&, std::span<const Value>) {
    return Values{draw(s, {.mean = mean, .stddev = stddev})};
  };
  // Explicit spec: probing would consume random numbers at build time.
  return single(g, type, name, {}, fn, {{{.dtype = f32}, PartialShape(shape)}});
}
}  // namespace

Output truncated_normal(const std::vector<int64_t>& shape, double stddev, double mean, const std::string& name) {
  return tag(random_source(shape, "TruncatedNormal", name, &ember::truncated_normal, mean, stddev), {{"shape", shape}, {"stddev", stddev}, {"mean", mean}});
}
Output random_normal(const std::vector<int64_t>& shape, double stddev, double mean, const std::string& name) {
  return tag(random_source(shape, "RandomStandardNormal", name, &ember::randn, mean, stddev), {{"shape", shape}, {"stddev", stddev}, {"mean", mean}});
}
Output random_uniform(const std::vector<int64_t>& shape, double minval, double maxval, const std::string& name) {
  if (!(minval <= maxval))
    throw ValueError("graph: random_uniform needs minval <= maxval, got " + std::to_string(minval) + " and " + std::to_string(maxval));
  Shape s(shape.begin(), shape.end());
  OpFn fn = [s, minval, maxval](RunContext&, std::span<const Value>) {
    return Values{ember::rand(s, {.low = minval, .high = maxval})};
  };
  return tag(single(get_default_graph(), "RandomUniform", name, {}, fn, {{{.dtype = f32}, PartialShape(shape)}}),
             {{"shape", shape}, {"minval", minval}, {"maxval", maxval}});
}
Output zeros(const std::vector<int64_t>& shape, DType dtype, const std::string& name) {
  return constant(ember::zeros(Shape(shape.begin(), shape.end()), dtype), name);
}

namespace nn {
Output relu(const Output& x, const std::string& name) {
  return tag(unary(x, "Relu", name, [](const Tensor& t) { return ember::relu(t); }));
}
Output sigmoid(const Output& x, const std::string& name) {
  return tag(unary(x, "Sigmoid", name, [](const Tensor& t) { return ember::sigmoid(t); }));
}
Output tanh(const Output& x, const std::string& name) {
  return tag(unary(x, "Tanh", name, [](const Tensor& t) { return ember::tanh(t); }));
}
Output elu(const Output& x, const std::string& name) {
  return tag(unary(x, "Elu", name, [](const Tensor& t) { return ember::elu(t); }));
}
Output leaky_relu(const Output& x, double alpha, const std::string& name) {
  return tag(unary(x, "LeakyRelu", name, [alpha](const Tensor& t) { return ember::leaky_relu(t, alpha); }), {{"alpha", alpha}});
}
Output softplus(const Output& x, const std::string& name) {
  return tag(unary(x, "Softplus", name, [](const Tensor& t) { return ember::softplus(t); }));
}
Output swish(const Output& x, const std::string& name) {
  return tag(unary(x, "swish", name, [](const Tensor& t) { return ember::swish(t); }));
}
Output log_softmax(const Output& logits, const std::string& name) {
  return tag(unary(logits, "LogSoftmax", name, [](const Tensor& t) { return ember::log_softmax(t); }));
}
Output sigmoid_cross_entropy_with_logits(const Output& labels, const Output& logits, const std::string& name) {
  return tag(binary(labels, logits, "logistic_loss", name,
                [](const Tensor& l, const Tensor& z) { return ember::sigmoid_cross_entropy_with_logits(l, z); }));
}
Output conv2d(const Output& x, const Output& filter, Conv2dOptions opt, const std::string& name) {
  return tag(binary(x, filter, "Conv2D", name, [opt](const Tensor& a, const Tensor& f) { return ember::conv2d(a, f, opt); }), {{"strides", opt.strides}, {"padding", padding_name(opt.padding)}, {"dilation", opt.dilation}});
}
Output bias_add(const Output& x, const Output& bias, const std::string& name) {
  return tag(binary(x, bias, "BiasAdd", name, [](const Tensor& a, const Tensor& b) { return ember::bias_add(a, b); }));
}
Output max_pool(const Output& x, Pool2dOptions opt, const std::string& name) {
  return tag(unary(x, "MaxPool", name, [opt](const Tensor& t) { return ember::max_pool2d(t, opt); }), {{"pool_size", opt.pool_size}, {"strides", opt.strides.value_or(opt.pool_size)}, {"padding", padding_name(opt.padding)}});
}
Output avg_pool(const Output& x, Pool2dOptions opt, const std::string& name) {
  return tag(unary(x, "AvgPool", name, [opt](const Tensor& t) { return ember::avg_pool2d(t, opt); }), {{"pool_size", opt.pool_size}, {"strides", opt.strides.value_or(opt.pool_size)}, {"padding", padding_name(opt.padding)}});
}
Output softmax(const Output& logits, const std::string& name) {
  return tag(unary(logits, "Softmax", name, [](const Tensor& t) { return ember::softmax(t); }));
}
Output softmax_cross_entropy_with_logits(const Output& labels, const Output& logits, const std::string& name) {
  return tag(binary(labels, logits, "SoftmaxCrossEntropyWithLogits", name,
                [](const Tensor& l, const Tensor& z) { return ember::softmax_cross_entropy_with_logits(l, z); }));
}
Output sparse_softmax_cross_entropy_with_logits(const Output& labels, const Output& logits, const std::string& name) {
  // Labels are integers, logits floating: the one op whose inputs differ in dtype by design.
  Graph& g = graph_of({&labels, &logits});
  no_strings(labels, "SparseSoftmaxCrossEntropyWithLogits");
  no_strings(logits, "SparseSoftmaxCrossEntropyWithLogits");
  return tag(single(g, "SparseSoftmaxCrossEntropyWithLogits", name, {labels, logits},
                [](RunContext&, std::span<const Value> in) {
                  return Values{ember::sparse_softmax_cross_entropy_with_logits(T(in, 0), T(in, 1))};
                }));
}
Output dropout(const Output& x, const Output& keep_prob, const std::string& name) {
  Graph& g = graph_of({&x, &keep_prob});
  no_strings(x, "dropout");
  no_strings(keep_prob, "dropout");
  // Explicit spec: a probe would draw a mask (keep_prob 0 is invalid too).
  return tag(single(g, "Dropout", name, {x, keep_prob}, [](RunContext&, std::span<const Value> in) {
    const Tensor& kp = T(in, 1);
    if (kp.numel() != 1) throw ShapeError("graph: dropout's keep_prob must be a scalar, got shape " + to_string(kp.shape()));
    double keep = ember::cast(kp, f64).item<double>();
    if (!(keep > 0.0 && keep <= 1.0)) throw ValueError("graph: dropout's keep_prob must be in (0, 1], got " + std::to_string(keep));
    return Values{ember::dropout(T(in, 0), 1.0 - keep, keep < 1.0)};
  }, {x.op().node()->outputs[x.index()]}));
}
}  // namespace nn

Output operator+(const Output& a, const Output& b) { return add(a, b); }
Output operator-(const Output& a, const Output& b) { return subtract(a, b); }
Output operator*(const Output& a, const Output& b) { return multiply(a, b); }
Output operator/(const Output& a, const Output& b) { return divide(a, b); }
Output operator-(const Output& x) { return negative(x); }

}  // namespace ember::graph
