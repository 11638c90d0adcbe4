#include "ember/nn/layer.hpp"

#include <cstdio>
#include <fstream>
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

namespace {
// Clears a layer's reusable call lists on the way out (also when the call throws).
struct CallScope {
  std::vector<Tensor>* args;
  std::vector<Shape>* shapes;
  bool* in_call;
  ~CallScope() {
    if (!in_call) return;
    if (args) args->clear();
    shapes->clear();
    *in_call = false;
  }
};
}  // namespace

Tensor Layer::compute_output_mask(const Tensor& x, const Tensor& y, const Tensor& mask) const {
  if (!mask.defined() || y.dim() < 3 || x.dim() < 2 || y.size(0) != x.size(0) || y.size(1) != x.size(1)) return {};
  return mask;
}

Tensor Layer::call_with_mask(Tensor& slot, const Tensor& x, const Tensor& mask, bool training) {
  struct Clear {
    Tensor& t;
    ~Clear() { t = Tensor(); }
  } clear{slot};
  slot = mask;
  return (*this)(x, training);
}

Tensor Layer::compute_merged_mask(const std::vector<Tensor>&, const Tensor&, const std::vector<Tensor>&) const { return {}; }

Tensor Layer::operator()(const Tensor& x, bool training) {
  if (in_call_) return (*this)(std::vector<Tensor>{x}, training);
  call_args_.clear();
  call_args_.push_back(x);
  Tensor y = (*this)(call_args_, training);
  call_args_.clear();  // (on an exception, the next call clears it)
  return y;
}

Tensor Layer::operator()(const std::vector<Tensor>& xs, bool training) {
  std::vector<Shape> fresh;
  const bool reuse = !in_call_;
  std::vector<Shape>& shapes = reuse ? call_shapes_ : fresh;
  CallScope scope{nullptr, &shapes, reuse ? &in_call_ : nullptr};
  in_call_ = true;
  shapes.clear();
  for (const Tensor& x : xs) shapes.push_back(x.shape());
  if (!built_) {
    build(shapes);
    mark_built(shapes);
  }
  check_input_shapes(shapes);
  materialize_weights();
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
  data->extra_shapes = extra_output_shapes(shapes);
  data->node_index = inbound_nodes_++;
  return SymbolicTensor(std::move(data));
}

std::vector<SymbolicTensor> outputs_of(const SymbolicTensor& y) {
  if (!y.defined()) throw ValueError("outputs_of: called on an undefined symbolic tensor");
  std::shared_ptr<SymbolicTensor::Data> first = y.data();
  if (first->output_index > 0) first = first->inputs.at(0);
  std::vector<SymbolicTensor> out{SymbolicTensor(first)};
  first->extra_outputs.resize(first->extra_shapes.size());
  for (std::size_t k = 0; k < first->extra_shapes.size(); ++k) {
    std::shared_ptr<SymbolicTensor::Data> d = first->extra_outputs[k].lock();
    if (!d) {
      d = std::make_shared<SymbolicTensor::Data>();
      d->shape = first->extra_shapes[k];
      d->dtype = first->dtype;
      d->layer = first->layer;
      d->inputs = {first};
      d->node_index = first->node_index;
      d->output_index = static_cast<int>(k) + 1;
      first->extra_outputs[k] = d;
    }
    out.emplace_back(std::move(d));
  }
  return out;
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
    // The probe is a real tensor: a file must not be able to make it huge. Layers whose inputs can
    // be that large answer from shapes (override compute_output_shape), as every built-in one does.
    constexpr int64_t kMaxProbe = int64_t{1} << 24;
    if (checked_product(*this, s, "input " + keras_shape(s)) > kMaxProbe) {
      fail<ShapeError>("cannot infer the output shape of input " + keras_shape(s) +
                       " by running the layer on it (more than " + std::to_string(kMaxProbe) +
                       " elements); the layer must override compute_output_shape");
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

// The deferred initialisation of one weight: the initializer's draws, made when the weight is first
// used or when its generator is next drawn from, whichever comes first.
struct Weight::Pending final : Generator::Deferred {
  std::string what;  // "layer 'dense' (Dense): weight 'kernel'", for messages
  Shape shape;
  DType dtype = f32;
  InitializerPtr init;
  bool requires_grad = false;
  Tensor result;

  void draw(Generator& gen) override {
    Tensor value = (*init)(shape, dtype, gen);
    if (value.shape() != shape) {
      throw ShapeError(what + ": the initializer gave shape " + to_string(value.shape()) + " for shape " +
                       to_string(shape));
    }
    if (requires_grad) value.requires_grad_(true);
    result = std::move(value);
  }
};

Tensor& Weight::value() {
  if (pending_) {
    pending_->run_now();
    if (!pending_->result.defined()) {
      // Only when an earlier attempt threw (its draws were consumed then and are not repeated).
      throw ValueError(pending_->what + ": its initialisation failed earlier");
    }
    value_ = std::move(pending_->result);
    pending_.reset();
  }
  return value_;
}

int64_t Weight::nbytes() const {
  int64_t bytes = 0;
  if (__builtin_mul_overflow(numel_, static_cast<int64_t>(itemsize(dtype)), &bytes)) return INT64_MAX;
  return bytes;
}

Weight& Layer::add_weight(const std::string& name, const Shape& shape, const InitializerPtr& init, bool trainable,
                          const RegularizerPtr& regularizer, DType dtype) {
  if (Weight* w = find_weight(name)) return *w;
  std::string what = with_layer_prefix(name_, class_name_, "weight '" + name + "'");  // for later messages
  if (!init) fail<ValueError>("weight '" + name + "' has no initializer");
  for (int64_t d : shape) {
    if (d < 0) fail<ShapeError>("weight '" + name + "': negative dimension in shape " + to_string(shape));
  }
  Weight w;
  w.name = name;
  w.shape = shape;
  w.dtype = dtype;
  w.trainable = trainable;
  w.regularizer = regularizer;
  w.initializer = init;
  w.numel_ = checked_product(*this, shape, "weight '" + name + "'");
  auto pending = std::make_shared<Weight::Pending>();
  pending->what = std::move(what);
  pending->shape = shape;
  pending->dtype = dtype;
  pending->init = init;
  pending->requires_grad = trainable;
  generator().defer(pending);
  w.pending_ = std::move(pending);
  weights_.push_back(std::move(w));
  materialized_ = false;
  return weights_.back();
}

Weight* Layer::find_weight(const std::string& local_name) {
  for (Weight& w : weights_) {
    if (w.name == local_name) return &w;
  }
  return nullptr;
}

std::vector<Layer::NamedWeight> Layer::named_weights() {
  std::vector<NamedWeight> out;
  // Iterative depth-first walk; `enclosing` carries the frozen state of the parents, `prefix` the
  // names of the models between this one and the layer ("" for this layer's own sublayers): two
  // nested models built from one architecture hold layers of the same names, and their weights must
  // not share a name (a safetensors file or a checkpoint would keep one of them).
  struct Visit {
    Layer* layer;
    bool enclosing;
    std::string prefix;
  };
  std::vector<Visit> stack{{this, true, ""}};
  while (!stack.empty()) {
    Visit v = std::move(stack.back());
    stack.pop_back();
    const bool effective = v.enclosing && v.layer->trainable_;
    for (Weight& w : v.layer->weights_) out.push_back({v.prefix + v.layer->name_ + "/" + w.name, &w, effective && w.trainable});
    const auto& subs = v.layer->sublayers();
    const std::string inner = v.layer == this ? std::string() : v.prefix + v.layer->name_ + "/";
    for (auto it = subs.rbegin(); it != subs.rend(); ++it) stack.push_back({it->get(), effective, inner});
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

const std::vector<Shape>& Layer::shape_list(const Shape& shape) {
  shape_list_.clear();
  shape_list_.push_back(shape);
  return shape_list_;
}

const std::vector<LayerPtr>& Layer::sublayers() const {
  static const std::vector<LayerPtr> none;
  return none;
}

void Layer::collect_weights(std::vector<WeightEntry>& out) {
  // Depth first as named_weights(); nesting is shallow (models in models), so recursion is fine.
  auto walk = [&out](auto& self, Layer& layer, bool enclosing) -> void {
    const bool effective = enclosing && layer.trainable_;
    for (Weight& w : layer.weights_) {
      bool seen = false;
      for (const WeightEntry& e : out) seen = seen || e.weight == &w;
      if (!seen) out.push_back({&w, effective && w.trainable});
    }
    for (const LayerPtr& sub : layer.sublayers()) self(self, *sub, effective);
  };
  walk(walk, *this, true);
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
  for (const NamedWeight& w : named_weights()) n = checked_sum(*this, n, w.weight->numel(), "the parameter count");
  return n;
}

void Layer::materialize_weights() {
  if (materialized_) return;
  std::vector<NamedWeight> ws = named_weights();
  // Only what is not materialised yet needs new memory.
  int64_t total = 0, count = 0;
  const NamedWeight* largest = nullptr;
  for (const NamedWeight& w : ws) {
    if (w.weight->materialized()) continue;
    int64_t b = w.weight->nbytes();
    total = b > INT64_MAX - total ? INT64_MAX : total + b;
    count = w.weight->numel() > INT64_MAX - count ? INT64_MAX : count + w.weight->numel();
    if (!largest || b > largest->weight->nbytes()) largest = &w;
  }
  if (largest) {
    ParamMemoryBudget budget = param_memory_budget();
    if (total > budget.bytes) {
      const Weight& big = *largest->weight;
      // NamedWeight names are "<layer>/<weight>"; the layer's class comes from a walk to its owner.
      std::string owner = largest->name.substr(0, largest->name.size() - big.name.size() - 1);
      std::string cls;
      std::vector<Layer*> stack{this};
      while (!stack.empty() && cls.empty()) {
        Layer* l = stack.back();
        stack.pop_back();
        for (Weight& x : l->weights_) {
          if (&x == &big) cls = l->class_name_;
        }
        for (const LayerPtr& sub : l->sublayers()) stack.push_back(sub.get());
      }
      std::string weight =
          with_layer_prefix(owner, cls, big.name + " " + to_string(big.shape) + " " + std::string(dtype_name(big.dtype)));
      std::string limit = "the parameter budget is " + format_bytes(budget.bytes) + " (" + budget.source + ")";
      if (big.nbytes() > budget.bytes) {
        throw MemoryError(weight + " needs " + format_bytes(big.nbytes()) + "; " + limit);
      }
      throw MemoryError("model '" + name_ + "' (" + class_name_ + "): its " + std::to_string(count) +
                        " parameters not yet in memory need " + format_bytes(total) + "; " + limit +
                        " (the largest weight is " + weight + ", " + format_bytes(big.nbytes()) + ")");
    }
  }
  for (const NamedWeight& w : ws) w.weight->value();
  materialized_ = true;
}

Tensor Layer::regularization_loss() {
  Tensor total;
  auto add = [&](const Tensor& t) { total = total.defined() ? total + t : t; };
  for (Weight& w : weights_) {
    if (w.regularizer) add((*w.regularizer)(w.value()));
  }
  if (activity_regularizer_ && activity_loss_.defined()) add(activity_loss_);
  for (const LayerPtr& sub : sublayers()) {
    Tensor t = sub->regularization_loss();
    if (t.defined()) add(t);
  }
  return total;
}

// ------------------------------------------------------------------ memory budget, checked arithmetic

namespace {

std::mutex g_budget_mu;
std::optional<ParamMemoryBudget>& budget_override() {
  static std::optional<ParamMemoryBudget> b;
  return b;
}

// MemAvailable from /proc/meminfo in bytes, or nullopt where there is none (not Linux).
std::optional<int64_t> memory_available() {
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  int64_t kib = 0;
  while (in >> key >> kib) {
    std::getline(in, unit);
    if (key == "MemAvailable:" && kib >= 0 && kib < INT64_MAX / 1024) return kib * 1024;
  }
  return std::nullopt;
}

}  // namespace

ParamMemoryBudget param_memory_budget() {
  {
    std::lock_guard<std::mutex> lock(g_budget_mu);
    if (budget_override()) return *budget_override();
  }
  if (std::optional<int64_t> avail = memory_available()) return {*avail, "memory available"};
  return {INT64_MAX, "unlimited"};
}

void set_param_memory_budget(std::optional<int64_t> bytes, std::string source) {
  if (bytes && *bytes < 0) throw ValueError("set_param_memory_budget: the budget must be >= 0 bytes, got " + std::to_string(*bytes));
  std::lock_guard<std::mutex> lock(g_budget_mu);
  if (bytes) {
    budget_override() = ParamMemoryBudget{*bytes, std::move(source)};
  } else {
    budget_override().reset();
  }
}

std::string format_bytes(int64_t bytes) {
  static const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return std::to_string(bytes) + " bytes";
  double v = static_cast<double>(bytes);
  int u = -1;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f %s", v, units[u]);
  return buf;
}

int64_t checked_product(const Layer& layer, const Shape& dims, const std::string& what) {
  try {
    return numel(dims);
  } catch (const ShapeError&) {
    layer.fail<ShapeError>(what + ": the product of " + to_string(dims) + " does not fit in 64 bits");
  }
}

int64_t checked_sum(const Layer& layer, int64_t a, int64_t b, const std::string& what) {
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) {
    layer.fail<ShapeError>(what + " overflows 64 bits (" + std::to_string(a) + " + " + std::to_string(b) + ")");
  }
  return r;
}

LayerRef::LayerRef(const SymbolicTensor& input) {
  if (!input.defined() || !input.data()->inputs.empty()) {
    throw ValueError("only the symbolic tensor of an nn::Input can stand for a layer in a Sequential model");
  }
  ptr_ = input.layer();
}

}  // namespace ember::nn
