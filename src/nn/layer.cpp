#include "ember/nn/layer.hpp"

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>

#include "ember/autograd/autograd.hpp"
#include "ember/ops/elementwise.hpp"
#include "ember/ops/reduce.hpp"

namespace ember::nn {

namespace {

std::mutex g_names_mu;
std::map<std::string, int>& name_counters() {
  static std::map<std::string, int> counters;
  return counters;
}

// Keras's to_snake_case: "MaxPooling2D" -> "max_pooling2d", "Conv2D" -> "conv2d".
std::string snake_case(const std::string& s) {
  std::string a = std::regex_replace(s, std::regex("(.)([A-Z][a-z0-9]+)"), "$1_$2");
  a = std::regex_replace(a, std::regex("([a-z])([A-Z])"), "$1_$2");
  for (char& c : a) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return a;
}

}  // namespace

std::string unique_layer_name(const std::string& base) {
  std::lock_guard<std::mutex> lock(g_names_mu);
  int& n = name_counters()[base];
  std::string name = n == 0 ? base : base + "_" + std::to_string(n);
  ++n;
  return name;
}

void reset_layer_names() {
  std::lock_guard<std::mutex> lock(g_names_mu);
  name_counters().clear();
}

std::string with_layer_prefix(const std::string& name, const std::string& class_name, const std::string& message) {
  std::string prefix = "layer '" + name + "' (" + class_name + "): ";
  return message.rfind(prefix, 0) == 0 ? message : prefix + message;
}

std::string keras_shape(const Shape& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += shape[i] < 0 ? "None" : std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

Layer::Layer(std::string class_name, std::string name) : class_name_(std::move(class_name)) {
  if (name.empty()) {
    // Keras numbers Input layers from 1 ("input_1"); all others from 0 ("dense", "dense_1").
    if (class_name_ == "InputLayer") {
      std::lock_guard<std::mutex> lock(g_names_mu);
      name_ = "input_" + std::to_string(++name_counters()["input"]);
    } else {
      name_ = unique_layer_name(snake_case(class_name_));
    }
  } else {
    name_ = std::move(name);
  }
}

// ------------------------------------------------------------------ calls

Tensor Layer::operator()(const Tensor& x, bool training) { return (*this)(std::vector<Tensor>{x}, training); }

Tensor Layer::operator()(const std::vector<Tensor>& xs, bool training) {
  std::vector<Shape> shapes;
  for (const Tensor& x : xs) shapes.push_back(x.shape());
  if (!built_) {
    build(shapes);
    mark_built(shapes);
  }
  check_input_shapes(shapes);
  Tensor y = call(xs, training);
  if (activity_regularizer_) {
    // Keras divides the activity penalty by the batch size.
    double batch = y.dim() > 0 ? static_cast<double>(std::max<int64_t>(y.size(0), 1)) : 1.0;
    activity_loss_ = (*activity_regularizer_)(y) / batch;
  }
  return y;
}

SymbolicTensor Layer::operator()(const SymbolicTensor& x) & { return (*this)(std::vector<SymbolicTensor>{x}); }

SymbolicTensor Layer::operator()(const std::vector<SymbolicTensor>& xs) & {
  LayerPtr self;
  try {
    self = shared_from_this();
  } catch (const std::bad_weak_ptr&) {
    fail<ValueError>(
        "to call a named layer object on symbolic tensors, hold it in a nn::LayerRef "
        "(e.g. nn::LayerRef dense = nn::Dense({...});)");
  }
  return call_symbolic(self, xs);
}

SymbolicTensor Layer::operator()(const SymbolicTensor& x) && {
  return std::move(*this)(std::vector<SymbolicTensor>{x});
}

SymbolicTensor Layer::operator()(const std::vector<SymbolicTensor>& xs) && {
  LayerPtr self = std::move(*this).move_into_shared();
  return self->call_symbolic(self, xs);
}

SymbolicTensor Layer::call_symbolic(const LayerPtr& self, const std::vector<SymbolicTensor>& xs) {
  std::vector<Shape> shapes;
  auto data = std::make_shared<SymbolicTensor::Data>();
  for (const SymbolicTensor& x : xs) {
    if (!x.defined()) fail<ValueError>("called on an undefined symbolic tensor");
    shapes.push_back(x.shape());
    data->inputs.push_back(x.data());
  }
  if (!built_) {
    build(shapes);
    mark_built(shapes);
  }
  check_input_shapes(shapes);
  data->shape = compute_output_shape(shapes);
  data->dtype = xs.empty() ? f32 : xs[0].dtype();
  data->layer = self;
  data->node_index = inbound_nodes_++;
  return SymbolicTensor(std::move(data));
}

void Layer::build(const std::vector<Shape>& input_shapes) { mark_built(input_shapes); }

void Layer::mark_built(const std::vector<Shape>& input_shapes) {
  if (!built_) {
    // The batch axis is never part of what a layer is built for.
    built_shapes_ = input_shapes;
    for (Shape& s : built_shapes_) {
      if (!s.empty()) s[0] = -1;
    }
  }
  built_ = true;
}

Shape Layer::compute_output_shape(const std::vector<Shape>& input_shapes) {
  // Run the layer on a batch of one in inference mode; the batch axis is reported as unknown.
  autograd::NoGradGuard no_grad;
  std::vector<Tensor> probes;
  bool unknown_batch = false;
  for (Shape s : input_shapes) {
    if (!s.empty() && s[0] < 0) {
      s[0] = 1;
      unknown_batch = true;
    }
    for (int64_t d : s) {
      if (d < 0) fail<ShapeError>("cannot infer the output shape of input " + keras_shape(s));
    }
    probes.push_back(zeros(s));
  }
  Tensor y = call(probes, false);
  Shape out = y.shape();
  if (unknown_batch && !out.empty()) out[0] = -1;
  return out;
}

void Layer::check_input_shapes(const std::vector<Shape>& shapes) const {
  auto mismatch = [&](const Shape& want, const Shape& got) {
    fail<ShapeError>("expected input shape " + keras_shape(want) + ", got " + to_string(got));
  };
  if (shapes.size() != built_shapes_.size()) {
    fail<ShapeError>("expected " + std::to_string(built_shapes_.size()) + " inputs, got " +
                     std::to_string(shapes.size()));
  }
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    const Shape& want = built_shapes_[i];
    const Shape& got = shapes[i];
    if (want.size() != got.size()) mismatch(want, got);
    for (std::size_t d = 1; d < want.size(); ++d) {
      if (want[d] >= 0 && got[d] >= 0 && want[d] != got[d]) mismatch(want, got);
    }
  }
}

nlohmann::json Layer::get_config() const {
  return {{"name", name_}, {"trainable", trainable_}, {"dtype", "float32"}};
}

// ------------------------------------------------------------------ weights

Tensor Layer::add_weight(const std::string& name, const Shape& shape, const InitializerPtr& init, bool trainable,
                         const RegularizerPtr& regularizer, DType dtype) {
  if (Weight* w = find_weight(name)) return w->value;
  if (!init) throw ValueError("layer '" + name_ + "': weight '" + name + "' has no initializer");
  Tensor value = (*init)(shape, dtype, generator());
  if (value.shape() != shape) {
    throw ShapeError("layer '" + name_ + "': initializer gave shape " + to_string(value.shape()) + " for weight '" +
                     name + "' of shape " + to_string(shape));
  }
  if (trainable) value.requires_grad_(true);
  weights_.push_back(Weight{name, value, trainable, regularizer});
  return value;
}

Weight* Layer::find_weight(const std::string& local_name) {
  for (Weight& w : weights_) {
    if (w.name == local_name) return &w;
  }
  return nullptr;
}

std::vector<Layer::NamedWeight> Layer::named_weights() {
  std::vector<NamedWeight> out;
  // Iterative depth-first walk; `enclosing` carries the frozen state of the parents.
  std::vector<std::pair<Layer*, bool>> stack{{this, true}};
  while (!stack.empty()) {
    auto [layer, enclosing] = stack.back();
    stack.pop_back();
    bool effective = enclosing && layer->trainable_;
    for (Weight& w : layer->weights_) out.push_back({layer->name_ + "/" + w.name, &w, effective && w.trainable});
    auto subs = layer->sublayers();
    for (auto it = subs.rbegin(); it != subs.rend(); ++it) stack.push_back({it->get(), effective});
  }
  // A layer shared by several paths appears once.
  std::vector<NamedWeight> unique;
  for (const NamedWeight& nw : out) {
    bool seen = false;
    for (const NamedWeight& u : unique) seen = seen || u.weight == nw.weight;
    if (!seen) unique.push_back(nw);
  }
  return unique;
}

std::vector<Layer::NamedWeight> Layer::trainable_weights() {
  std::vector<NamedWeight> out;
  for (const NamedWeight& w : named_weights()) if (w.trainable) out.push_back(w);
  return out;
}

std::vector<Layer::NamedWeight> Layer::non_trainable_weights() {
  std::vector<NamedWeight> out;
  for (const NamedWeight& w : named_weights()) if (!w.trainable) out.push_back(w);
  return out;
}

int64_t Layer::count_params() {
  int64_t n = 0;
  for (const NamedWeight& w : named_weights()) n += w.weight->value.numel();
  return n;
}

Tensor Layer::regularization_loss() {
  Tensor total;
  auto add = [&](const Tensor& t) { total = total.defined() ? total + t : t; };
  for (Weight& w : weights_) {
    if (w.regularizer) add((*w.regularizer)(w.value));
  }
  if (activity_regularizer_ && activity_loss_.defined()) add(activity_loss_);
  for (const LayerPtr& sub : sublayers()) {
    Tensor t = sub->regularization_loss();
    if (t.defined()) add(t);
  }
  return total;
}

LayerRef::LayerRef(const SymbolicTensor& input) {
  if (!input.defined() || !input.data()->inputs.empty()) {
    throw ValueError("only the symbolic tensor of an nn::Input can stand for a layer in a Sequential model");
  }
  ptr_ = input.layer();
}

}  // namespace ember::nn
