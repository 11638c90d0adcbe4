#include "ember/graph/meta_graph.hpp"

#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "ember/core/error.hpp"
#include "ember/graph/ops.hpp"
#include "ember/io/atomic_file.hpp"

namespace ember::graph {

using nlohmann::json;

namespace {

constexpr const char* kFormat = "ember.meta_graph";
constexpr int kVersion = 1;
constexpr int64_t kMaxShapeElements = int64_t{1} << 22;
constexpr int64_t kMaxFileElements = int64_t{1} << 26;
constexpr std::uintmax_t kMaxFileBytes = std::uintmax_t{1} << 30;

// ---- export -------------------------------------------------------------------------------------------

class NullContext : public RunContext {
 public:
  Tensor& variable(const Node* var) override { throw ValueError("graph: export read variable " + var->name); }
  void set_variable(const Node* var, Tensor) override { throw ValueError("graph: export wrote variable " + var->name); }
};

json number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

json const_attrs(const Node& n) {
  NullContext ctx;
  Values v = n.fn(ctx, {});
  if (const auto* s = std::get_if<std::string>(&v.at(0))) return {{"string", *s}};
  const Tensor& t = std::get<Tensor>(v.at(0));
  json values = json::array();
  if (is_floating(t.dtype())) {
    for (double x : t.to_vector<double>()) values.push_back(number(x));
  } else {
    for (int64_t x : t.to_vector<int64_t>()) values.push_back(x);
  }
  return {{"dtype", std::string(dtype_name(t.dtype()))},
          {"shape", std::vector<int64_t>(t.shape().begin(), t.shape().end())},
          {"values", std::move(values)}};
}

std::string input_name(const Output& o) { return o.op().name() + ":" + std::to_string(o.index()); }

}  // namespace

std::string meta_graph_json(const Graph& graph, std::vector<std::string>* omitted) {
  std::unordered_set<const Node*> initializers, left_out;
  for (const Operation& v : graph.variables()) initializers.insert(v.node()->initializer.node());
  json nodes = json::array(), omitted_names = json::array();
  for (const Operation& op : graph.operations()) {
    const Node& n = *op.node();
    if (initializers.count(&n)) continue;  // rebuilt with its variable
    bool ok = !n.attrs.empty();
    if (n.kind == NodeKind::Variable) ok = ok && !left_out.count(n.initializer.node()->inputs.at(0).node());
    for (const Output& in : n.inputs) ok = ok && !left_out.count(in.node());
    for (const Operation& c : n.control_inputs) ok = ok && !left_out.count(c.node());
    if (!ok) {
      left_out.insert(&n);
      omitted_names.push_back(n.name);
      continue;
    }
    json j = {{"name", n.name}, {"op", n.type}};
    json inputs = json::array(), control = json::array();
    if (n.kind == NodeKind::Variable) {
      const Node& init = *n.initializer.node();
      inputs.push_back(input_name(init.inputs.at(0)));  // the initial value
    }
    for (const Output& in : n.inputs) inputs.push_back(input_name(in));
    for (const Operation& c : n.control_inputs) control.push_back(c.name());
    j["inputs"] = std::move(inputs);
    j["control_inputs"] = std::move(control);
    json attrs = json::parse(n.attrs);
    if (n.kind == NodeKind::Placeholder) {
      const OutputSpec& s = n.outputs.at(0);
      attrs["dtype"] = s.type.is_string ? std::string("string") : std::string(dtype_name(s.type.dtype));
      attrs["shape"] = s.shape.known_rank ? json(s.shape.dims) : json(nullptr);
    } else if (n.type == "Const" && n.kind == NodeKind::Compute && n.inputs.empty()) {
      attrs = const_attrs(n);
    }
    j["attrs"] = std::move(attrs);
    nodes.push_back(std::move(j));
  }
  if (omitted) omitted->assign(omitted_names.begin(), omitted_names.end());
  json doc = {{"format", kFormat}, {"version", kVersion}, {"nodes", std::move(nodes)}, {"omitted", std::move(omitted_names)}};
  return doc.dump();
}

std::vector<std::string> export_meta_graph(const std::string& path, const Graph& graph) {
  std::vector<std::string> omitted;
  io::write_file_atomically(path, meta_graph_json(graph, &omitted));
  return omitted;
}

// ---- import -------------------------------------------------------------------------------------------

namespace {

// One node of the file, with checked accessors: every failure names the node.
class NodeReader {
 public:
  NodeReader(std::string source, int64_t& elements) : source_(std::move(source)), elements_(elements) {}
  std::string name, op;
  const json* attrs = nullptr;

  [[noreturn]] void fail(const std::string& what) const {
    throw FormatError("meta graph " + source_ + ": node '" + name + "' (" + op + "): " + what);
  }
  const json& attr(const char* key) const {
    auto it = attrs->find(key);
    if (it == attrs->end()) fail(std::string("attribute '") + key + "' is missing");
    return *it;
  }
  bool has(const char* key) const { return attrs->contains(key); }
  int64_t integer(const json& v, const std::string& what, int64_t lo, int64_t hi) const {
    if (!v.is_number_integer()) fail(what + " must be an integer, got " + v.dump().substr(0, 60));
    if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
      fail(what + " is out of range");
    int64_t x = v.get<int64_t>();
    if (x < lo || x > hi) fail(what + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + std::to_string(x));
    return x;
  }
  int64_t integer(const char* key, int64_t lo, int64_t hi) const { return integer(attr(key), std::string("attribute '") + key + "'", lo, hi); }
  double real(const json& v, const std::string& what, bool allow_special = false) const {
    if (allow_special && v.is_string()) {
      const std::string& s = v.get_ref<const std::string&>();
      if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
      if (s == "inf") return std::numeric_limits<double>::infinity();
      if (s == "-inf") return -std::numeric_limits<double>::infinity();
    }
    if (!v.is_number()) fail(what + " must be a number, got " + v.dump().substr(0, 60));
    double x = v.get<double>();
    if (!std::isfinite(x)) fail(what + " must be finite");
    return x;
  }
  double real(const char* key) const { return real(attr(key), std::string("attribute '") + key + "'"); }
  bool boolean(const char* key) const {
    const json& v = attr(key);
    if (!v.is_boolean()) fail(std::string("attribute '") + key + "' must be true or false");
    return v.get<bool>();
  }
  const std::string& string(const char* key) const {
    const json& v = attr(key);
    if (!v.is_string()) fail(std::string("attribute '") + key + "' must be a string");
    return v.get_ref<const std::string&>();
  }
  std::vector<int64_t> ints(const char* key, size_t max_len, int64_t lo, int64_t hi) const {
    const json& v = attr(key);
    if (!v.is_array() || v.size() > max_len)
      fail(std::string("attribute '") + key + "' must be a list of at most " + std::to_string(max_len) + " integers");
    std::vector<int64_t> r;
    for (size_t i = 0; i < v.size(); ++i) r.push_back(integer(v[i], std::string("attribute '") + key + "'[" + std::to_string(i) + "]", lo, hi));
    return r;
  }
  std::array<int64_t, 2> pair(const char* key, int64_t lo, int64_t hi) const {
    std::vector<int64_t> v = ints(key, 2, lo, hi);
    if (v.size() != 2) fail(std::string("attribute '") + key + "' must have 2 entries");
    return {v[0], v[1]};
  }
  Axes axes(const char* key) const {
    std::vector<int64_t> v = ints(key, kMaxDims, -kMaxDims, kMaxDims - 1);
    return Axes(v.begin(), v.end());
  }
  // A static shape: dims >= 0 (or -1 where `unknown_ok`), at most kMaxDims, bounded element count.
  std::vector<int64_t> shape(const char* key, bool unknown_ok) const {
    std::vector<int64_t> dims = ints(key, kMaxDims, unknown_ok ? -1 : 0, kMaxShapeElements);
    count_elements(dims);
    return dims;
  }
  void count_elements(const std::vector<int64_t>& dims) const {
    int64_t n = 1;
    for (int64_t d : dims) {
      if (d <= 0) { n = d < 0 ? n : 0; continue; }
      if (n > kMaxShapeElements / d) fail("a shape of more than 2^22 elements");
      n *= d;
    }
    if (n > kMaxShapeElements) fail("a shape of more than 2^22 elements");
    elements_ += n;
    if (elements_ > kMaxFileElements) fail("the file declares more than 2^26 elements in all");
  }
  DType dtype(const char* key) const {
    const std::string& s = string(key);
    for (DType d : {f32, f64, i32, i64, u8, DType::b8})
      if (dtype_name(d) == s) return d;
    fail("attribute '" + std::string(key) + "': unknown dtype '" + s.substr(0, 40) + "'");
  }
  Padding padding() const {
    const std::string& s = string("padding");
    if (s == "same") return Padding::Same;
    if (s == "valid") return Padding::Valid;
    fail("attribute 'padding' must be \"same\" or \"valid\"");
  }

 private:
  std::string source_;
  int64_t& elements_;
};

using In = std::vector<Output>;
struct OpEntry {
  int arity;  // -1: one or more
  std::function<Output(const NodeReader&, const In&)> build;
};

Tensor const_value(const NodeReader& r) {
  DType dt = r.dtype("dtype");
  std::vector<int64_t> dims = r.shape("shape", false);
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  const json& values = r.attr("values");
  if (!values.is_array() || int64_t(values.size()) != n)
    r.fail("attribute 'values' must be a list of " + std::to_string(n) + " numbers (the shape's element count)");
  Shape shape(dims.begin(), dims.end());
  if (is_floating(dt)) {
    std::vector<double> v;
    v.reserve(size_t(n));
    for (size_t i = 0; i < values.size(); ++i) v.push_back(r.real(values[i], "values[" + std::to_string(i) + "]", true));
    return from_vector(v, shape, dt);
  }
  int64_t lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max();
  if (dt == i32) lo = std::numeric_limits<int32_t>::min(), hi = std::numeric_limits<int32_t>::max();
  if (dt == u8) lo = 0, hi = 255;
  if (dt == DType::b8) lo = 0, hi = 1;
  std::vector<int64_t> v;
  v.reserve(size_t(n));
  for (size_t i = 0; i < values.size(); ++i) v.push_back(r.integer(values[i], "values[" + std::to_string(i) + "]", lo, hi));
  return from_vector(v, shape, dt);
}

Conv2dOptions conv_options(const NodeReader& r) {
  return {.strides = r.pair("strides", 1, 1 << 16), .padding = r.padding(), .dilation = r.pair("dilation", 1, 1 << 16)};
}
Pool2dOptions pool_options(const NodeReader& r) {
  return {.pool_size = r.pair("pool_size", 1, 1 << 16), .strides = r.pair("strides", 1, 1 << 16), .padding = r.padding()};
}

const std::map<std::string, OpEntry>& registry() {
  using U = Output (*)(const Output&, const std::string&);
  using B = Output (*)(const Output&, const Output&, const std::string&);
  static const std::map<std::string, OpEntry> table = [] {
    std::map<std::string, OpEntry> t;
    auto unary = [&](const char* type, U f) { t[type] = {1, [f](const NodeReader& r, const In& in) { return f(in[0], r.name); }}; };
    auto binary = [&](const char* type, B f) { t[type] = {2, [f](const NodeReader& r, const In& in) { return f(in[0], in[1], r.name); }}; };
    binary("Add", &add);
    binary("Sub", &subtract);
    binary("Mul", &multiply);
    binary("RealDiv", &divide);
    binary("Maximum", &maximum);
    binary("Minimum", &minimum);
    binary("Pow", &pow);
    binary("Equal", &equal);
    binary("NotEqual", &not_equal);
    binary("Less", &less);
    binary("Greater", &greater);
    binary("GreaterEqual", &greater_equal);
    binary("LessEqual", &less_equal);
    binary("LogicalAnd", &logical_and);
    binary("LogicalOr", &logical_or);
    binary("MatMul", &matmul);
    binary("logistic_loss", &nn::sigmoid_cross_entropy_with_logits);
    binary("BiasAdd", &nn::bias_add);
    binary("SoftmaxCrossEntropyWithLogits", &nn::softmax_cross_entropy_with_logits);
    binary("SparseSoftmaxCrossEntropyWithLogits", &nn::sparse_softmax_cross_entropy_with_logits);
    binary("Dropout", &nn::dropout);
    unary("LogicalNot", &logical_not);
    unary("Neg", &negative);
    unary("Exp", &exp);
    unary("Log", &log);
    unary("Sqrt", &sqrt);
    unary("Square", &square);
    unary("Abs", &abs);
    unary("Rsqrt", &rsqrt);
    unary("Sign", &sign);
    unary("Relu", &nn::relu);
    unary("Sigmoid", &nn::sigmoid);
    unary("Tanh", &nn::tanh);
    unary("Elu", &nn::elu);
    unary("Softplus", &nn::softplus);
    unary("swish", &nn::swish);
    unary("Softmax", &nn::softmax);
    unary("LogSoftmax", &nn::log_softmax);
    t["NoOp"] = {0, nullptr};  // built from its control inputs (group)
    t["Select"] = {3, [](const NodeReader& r, const In& in) { return where(in[0], in[1], in[2], r.name); }};
    t["ClipByValue"] = {1, [](const NodeReader& r, const In& in) { return clip_by_value(in[0], r.real("low"), r.real("high"), r.name); }};
    t["Cast"] = {1, [](const NodeReader& r, const In& in) { return cast(in[0], r.dtype("dtype"), r.name); }};
    using Reduce = Output (*)(const Output&, const Axes&, bool, const std::string&);
    for (const auto& entry : {std::pair<const char*, Reduce>{"Sum", &reduce_sum}, {"Mean", &reduce_mean}, {"Max", &reduce_max},
                           {"Min", &reduce_min}, {"Prod", &reduce_prod}})
      t[entry.first] = {1, [f = entry.second](const NodeReader& r, const In& in) { return f(in[0], r.axes("axes"), r.boolean("keepdims"), r.name); }};
    using AxisOp = Output (*)(const Output&, int64_t, const std::string&);
    for (const auto& entry : {std::pair<const char*, AxisOp>{"ArgMax", &argmax}, {"ArgMin", &argmin}, {"Squeeze", &squeeze},
                           {"ExpandDims", &expand_dims}})
      t[entry.first] = {1, [f = entry.second](const NodeReader& r, const In& in) { return f(in[0], r.integer("axis", -kMaxDims - 1, kMaxDims), r.name); }};
    t["Transpose"] = {1, [](const NodeReader& r, const In& in) { return transpose(in[0], r.axes("perm"), r.name); }};
    t["ConcatV2"] = {-1, [](const NodeReader& r, const In& in) { return concat(in, r.integer("axis", -kMaxDims, kMaxDims - 1), r.name); }};
    t["Reshape"] = {1, [](const NodeReader& r, const In& in) {
      std::vector<int64_t> s = r.shape("shape", true);
      if (std::count(s.begin(), s.end(), -1) > 1) r.fail("attribute 'shape' has more than one -1");
      return reshape(in[0], s, r.name);
    }};
    t["OneHot"] = {1, [](const NodeReader& r, const In& in) { return one_hot(in[0], r.integer("depth", 1, 1 << 16), r.name); }};
    t["LeakyRelu"] = {1, [](const NodeReader& r, const In& in) { return nn::leaky_relu(in[0], r.real("alpha"), r.name); }};
    t["Conv2D"] = {2, [](const NodeReader& r, const In& in) { return nn::conv2d(in[0], in[1], conv_options(r), r.name); }};
    t["MaxPool"] = {1, [](const NodeReader& r, const In& in) { return nn::max_pool(in[0], pool_options(r), r.name); }};
    t["AvgPool"] = {1, [](const NodeReader& r, const In& in) { return nn::avg_pool(in[0], pool_options(r), r.name); }};
    t["TruncatedNormal"] = {0, [](const NodeReader& r, const In&) {
      return truncated_normal(r.shape("shape", false), r.real("stddev"), r.real("mean"), r.name);
    }};
    t["RandomStandardNormal"] = {0, [](const NodeReader& r, const In&) {
      return random_normal(r.shape("shape", false), r.real("stddev"), r.real("mean"), r.name);
    }};
    t["RandomUniform"] = {0, [](const NodeReader& r, const In&) {
      return random_uniform(r.shape("shape", false), r.real("minval"), r.real("maxval"), r.name);
    }};
    t["Placeholder"] = {0, [](const NodeReader& r, const In&) {
      if (r.string("dtype") == "string") return string_placeholder(r.name);
      DType dt = r.dtype("dtype");
      if (r.attr("shape").is_null()) return placeholder(dt, PartialShape::unknown(), r.name);
      return placeholder(dt, PartialShape(r.shape("shape", true)), r.name);
    }};
    t["Const"] = {0, [](const NodeReader& r, const In&) {
      if (r.has("string")) return constant(r.string("string"), r.name);
      return constant(const_value(r), r.name);
    }};
    t["VariableV2"] = {1, [](const NodeReader& r, const In& in) {
      return Variable(in[0], {.trainable = r.boolean("trainable"), .name = r.name}).value();
    }};
    using AssignFn = Output (Variable::*)(const Output&) const;
    for (const auto& entry : {std::pair<const char*, AssignFn>{"Assign", &Variable::assign}, {"AssignAdd", &Variable::assign_add},
                           {"AssignSub", &Variable::assign_sub}})
      t[entry.first] = {1, [f = entry.second](const NodeReader& r, const In& in) {
        Operation var;
        try {
          var = get_default_graph().get_operation_by_name(r.string("variable"));
        } catch (const ValueError&) {
          r.fail("attribute 'variable' names no earlier node");
        }
        if (var.node()->kind != NodeKind::Variable) r.fail("attribute 'variable' names '" + var.name() + "', which is not a variable");
        return (as_variable(var).*f)(in[0]);
      }};
    return t;
  }();
  return table;
}

std::string node_label(const json& j, size_t index) {
  if (j.is_object()) {
    auto it = j.find("name");
    if (it != j.end() && it->is_string()) return it->get<std::string>();
  }
  return "#" + std::to_string(index);
}

}  // namespace

void import_meta_graph_json(std::string_view text, const std::string& source) {
  json doc = json::parse(text, nullptr, false);
  const std::string where = "meta graph " + source + ": ";
  if (doc.is_discarded()) throw FormatError(where + "not valid JSON");
  if (!doc.is_object()) throw FormatError(where + "expected a JSON object");
  auto fmt = doc.find("format");
  if (fmt == doc.end() || !fmt->is_string() || *fmt != kFormat)
    throw FormatError(where + "\"format\" must be \"" + kFormat + "\"");
  auto ver = doc.find("version");
  if (ver == doc.end() || !ver->is_number_integer() || *ver != kVersion)
    throw FormatError(where + "\"version\" must be " + std::to_string(kVersion));
  auto nodes = doc.find("nodes");
  if (nodes == doc.end() || !nodes->is_array()) throw FormatError(where + "\"nodes\" must be a list");

  Graph& g = get_default_graph();
  const auto& ops = registry();
  int64_t elements = 0;
  for (size_t i = 0; i < nodes->size(); ++i) {
    const json& j = (*nodes)[i];
    NodeReader r(source, elements);
    r.name = node_label(j, i);
    r.op = "?";
    if (!j.is_object()) r.fail("expected an object");
    auto name = j.find("name");
    if (name == j.end() || !name->is_string() || name->get_ref<const std::string&>().empty()) r.fail("\"name\" must be a non-empty string");
    auto op = j.find("op");
    if (op == j.end() || !op->is_string()) r.fail("\"op\" must be a string");
    r.op = op->get<std::string>();
    auto entry = ops.find(r.op);
    if (entry == ops.end()) r.fail("unknown op type '" + r.op.substr(0, 60) + "'");
    auto attrs = j.find("attrs");
    if (attrs == j.end() || !attrs->is_object()) r.fail("\"attrs\" must be an object");
    r.attrs = &*attrs;
    try {
      g.get_operation_by_name(r.name);
      r.fail("the name is already taken in the graph (import into a fresh Graph)");
    } catch (const ValueError&) {
    }
    // Inputs: "node:index" of earlier nodes.
    In inputs;
    auto ins = j.find("inputs");
    if (ins == j.end() || !ins->is_array()) r.fail("\"inputs\" must be a list");
    for (const json& in : *ins) {
      if (!in.is_string()) r.fail("an input must be a string \"node:index\"");
      try {
        inputs.push_back(g.get_tensor_by_name(in.get<std::string>()));
      } catch (const ValueError& e) {
        r.fail("input '" + in.get<std::string>().substr(0, 80) + "': " + e.what());
      }
    }
    const int arity = entry->second.arity;
    if (arity >= 0 ? int64_t(inputs.size()) != arity : inputs.empty())
      r.fail("expected " + (arity >= 0 ? std::to_string(arity) : std::string("at least 1")) + " input(s), got " +
             std::to_string(inputs.size()));
    std::vector<Operation> control;
    auto ctl = j.find("control_inputs");
    if (ctl != j.end()) {
      if (!ctl->is_array()) r.fail("\"control_inputs\" must be a list");
      for (const json& c : *ctl) {
        if (!c.is_string()) r.fail("a control input must be a node name");
        try {
          control.push_back(g.get_operation_by_name(c.get<std::string>()));
        } catch (const ValueError& e) {
          r.fail("control input: " + std::string(e.what()));
        }
      }
    }
    if (!control.empty() && r.op != "NoOp") r.fail("only NoOp nodes may have control inputs in a meta graph");
    Operation built;
    try {
      if (r.op == "NoOp") built = group(control, r.name);
      else built = entry->second.build(r, inputs).op();
    } catch (const FormatError&) {
      throw;
    } catch (const Error& e) {
      r.fail(e.what());
    }
    if (built.name() != r.name)
      r.fail("rebuilt as '" + built.name() + "' (imported inside a name scope, or a name the file uses twice)");
  }
}

std::optional<Saver> import_meta_graph(const std::string& path, SaverOptions o) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw IOError("cannot open the meta graph '" + path + "'");
  std::string text;
  char buf[1 << 16];
  while (f.read(buf, sizeof buf) || f.gcount() > 0) {
    text.append(buf, size_t(f.gcount()));
    if (text.size() > kMaxFileBytes) throw FormatError("meta graph '" + path + "': larger than 1 GiB");
  }
  if (f.bad()) throw IOError("cannot read the meta graph '" + path + "'");
  Graph& g = get_default_graph();
  const size_t before = g.variables().size();
  import_meta_graph_json(text, "'" + path + "'");
  std::vector<Variable> vars;
  for (size_t i = before; i < g.variables().size(); ++i) vars.push_back(as_variable(g.variables()[i]));
  if (vars.empty()) return std::nullopt;
  return Saver(vars, std::move(o));
}

}  // namespace ember::graph
