#include "ember/nn/model.hpp"

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <set>
#include <sstream>
#include <unordered_map>
#include <typeinfo>
#include <unordered_set>

#include "ember/nn/layers/core.hpp"
#include "ember/nn/layers/normalization.hpp"

namespace ember::nn {

using Data = SymbolicTensor::Data;

Model::Model(std::string class_name, std::string name)
    : Layer(std::move(class_name), name.empty() ? unique_layer_name("model") : std::move(name)) {}

Model::Model(const std::vector<SymbolicTensor>& inputs, const std::vector<SymbolicTensor>& outputs, std::string name)
    : Model("Functional", std::move(name)) {
  init_graph(inputs, outputs);
}

Model::Model(const SymbolicTensor& input, const SymbolicTensor& output, std::string name)
    : Model(std::vector<SymbolicTensor>{input}, std::vector<SymbolicTensor>{output}, std::move(name)) {}

void Model::init_graph(const std::vector<SymbolicTensor>& inputs, const std::vector<SymbolicTensor>& outputs) {
  if (inputs.empty() || outputs.empty()) throw ValueError("model '" + name() + "': needs at least one input and one output");
  inputs_ = inputs;
  outputs_ = outputs;
  std::unordered_set<const Data*> input_set;
  for (const SymbolicTensor& in : inputs) {
    if (!in.defined() || !in.data()->inputs.empty()) {
      throw ValueError("model '" + name() + "': inputs must be the tensors returned by nn::Input");
    }
    input_set.insert(in.data().get());
  }
  // Iterative post-order walk from the outputs gives an evaluation order.
  order_.clear();
  std::unordered_set<const Data*> done;
  std::vector<std::pair<std::shared_ptr<Data>, bool>> stack;
  for (auto it = outputs.rbegin(); it != outputs.rend(); ++it) stack.push_back({it->data(), false});
  while (!stack.empty()) {
    auto [d, expanded] = stack.back();
    stack.pop_back();
    if (done.count(d.get())) continue;
    if (expanded || d->inputs.empty()) {
      if (d->inputs.empty() && !input_set.count(d.get())) {
        throw ValueError("model '" + name() + "': an output depends on input '" + d->layer->name() +
                         "', which is not among the model's inputs");
      }
      done.insert(d.get());
      order_.push_back(d);
      continue;
    }
    stack.push_back({d, true});
    for (auto it = d->inputs.rbegin(); it != d->inputs.rend(); ++it) {
      if (!done.count(it->get())) stack.push_back({*it, false});
    }
  }
  // Inputs first, in the order given, then the rest.
  std::vector<std::shared_ptr<Data>> ordered;
  for (const SymbolicTensor& in : inputs) ordered.push_back(in.data());
  for (const auto& d : order_) {
    if (!input_set.count(d.get())) ordered.push_back(d);
  }
  order_ = std::move(ordered);
  eval_.args.clear();  // the evaluation plan follows order_ (rebuilt on the next call)
  layers_.clear();
  std::set<std::string> names;
  for (const auto& d : order_) {
    if (std::find(layers_.begin(), layers_.end(), d->layer) != layers_.end()) continue;
    if (!names.insert(d->layer->name()).second) {
      throw ValueError("model '" + name() + "': two different layers are named '" + d->layer->name() + "'");
    }
    layers_.push_back(d->layer);
  }
  std::vector<Shape> shapes;
  for (const SymbolicTensor& in : inputs) shapes.push_back(in.shape());
  mark_built(shapes);
}

namespace {

// One node of a graph: `layer` on `args`, whose masks are `arg_masks` (undefined: none), with
// Keras's mask rules. Returns the output; `out_mask` gets its mask.
Tensor run_node(Layer& layer, const std::vector<Tensor>& args, const std::vector<Tensor>& arg_masks, bool training,
                Tensor& out_mask) {
  if (args.size() == 1) {
    const Tensor& m = arg_masks[0];
    Tensor y = m.defined() ? layer.call_masked(args[0], m, training) : layer(args, training);
    out_mask = layer.compute_output_mask(args[0], y, m);
    return y;
  }
  bool any = false;
  for (const Tensor& m : arg_masks) any = any || m.defined();
  Tensor y = any ? layer.call_masked_inputs(args, arg_masks, training) : layer(args, training);
  out_mask = any ? layer.compute_merged_mask(args, y, arg_masks) : Tensor();
  return y;
}

// The value of extra output `index` (1, 2, ...) of the call of `layer` that has just run.
Tensor extra_output(const Layer& layer, const std::vector<Tensor>& extras, int index) {
  if (index < 1 || static_cast<std::size_t>(index) > extras.size()) {
    throw ValueError(with_layer_prefix(layer.name(), layer.class_name(),
                                       "output " + std::to_string(index) + " was asked for, but the call gave " +
                                           std::to_string(extras.size() + 1) + " output(s)"));
  }
  return extras[static_cast<std::size_t>(index) - 1];
}

}  // namespace

Tensor Model::call_masked(const Tensor& x, const Tensor& mask, bool training) {
  return call_with_mask(input_mask_, x, mask, training);
}

Tensor Model::compute_output_mask(const Tensor&, const Tensor&, const Tensor&) const {
  return output_masks_.empty() ? Tensor() : output_masks_[0];
}

std::vector<Tensor> Model::call_all(const std::vector<Tensor>& inputs, bool training) {
  if (outputs_.empty()) {
    throw ValueError("model '" + name() + "': a subclassed model must override call()");
  }
  if (inputs.size() != inputs_.size()) {
    throw ValueError("model '" + name() + "': expected " + std::to_string(inputs_.size()) + " inputs, got " +
                     std::to_string(inputs.size()));
  }
  std::unordered_map<const Data*, Tensor> values, masks;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    values[inputs_[i].data().get()] = inputs[i];
    masks[inputs_[i].data().get()] = i == 0 ? input_mask_ : Tensor();
  }
  for (const auto& d : order_) {
    if (values.count(d.get())) continue;  // an input, or an extra output filled by its call
    std::vector<Tensor> args, arg_masks;
    for (const auto& in : d->inputs) {
      args.push_back(values.at(in.get()));
      arg_masks.push_back(masks.at(in.get()));
    }
    values[d.get()] = run_node(*d->layer, args, arg_masks, training, masks[d.get()]);
    if (d->extra_outputs.empty()) continue;
    const std::vector<Tensor> extras = d->layer->extra_outputs();
    for (std::size_t k = 0; k < d->extra_outputs.size(); ++k) {
      if (auto e = d->extra_outputs[k].lock()) {
        values[e.get()] = extra_output(*d->layer, extras, e->output_index);
        masks[e.get()] = Tensor();  // states carry no mask (Keras)
      }
    }
  }
  std::vector<Tensor> outs;
  output_masks_.clear();
  for (const SymbolicTensor& o : outputs_) {
    outs.push_back(values.at(o.data().get()));
    output_masks_.push_back(masks.at(o.data().get()));
  }
  return outs;
}

Tensor Model::call(const std::vector<Tensor>& inputs, bool training) { return call_all(inputs, training)[0]; }

std::vector<Tensor> Model::forward(const std::vector<Tensor>& inputs, bool training) {
  std::vector<Tensor> outs;
  forward_into(inputs, training, outs);
  return outs;
}

void Model::forward_into(const std::vector<Tensor>& inputs, bool training, std::vector<Tensor>& outputs) {
  std::vector<Shape>& shapes = forward_shapes_;
  shapes.clear();
  for (const Tensor& x : inputs) shapes.push_back(x.shape());
  if (!built()) {
    build(shapes);
    mark_built(shapes);
  }
  check_input_shapes(shapes);
  materialize_weights();
  output_masks_.clear();  // (a subclassed model's call leaves it empty)
  call_all_into(inputs, training, outputs);
}

void Model::call_all_into(const std::vector<Tensor>& inputs, bool training, std::vector<Tensor>& outputs) {
  // A plain functional model runs its graph from a plan of positions in order_ with reused lists;
  // anything that may override call_all (subclasses) goes through it.
  if (typeid(*this) != typeid(Model) || outputs_.empty() || inputs.size() != inputs_.size()) {
    outputs = call_all(inputs, training);
    return;
  }
  if (eval_.args.size() != order_.size()) {
    // Where each node's inputs and each output sit in order_ (order_ starts with the inputs).
    auto position = [&](const Data* d) {
      for (std::size_t k = 0; k < order_.size(); ++k) {
        if (order_[k].get() == d) return k;
      }
      throw ValueError("model '" + name() + "': a layer input is missing from the graph");
    };
    eval_.args.assign(order_.size(), {});
    eval_.extras.assign(order_.size(), {});
    for (std::size_t k = inputs_.size(); k < order_.size(); ++k) {
      for (const auto& in : order_[k]->inputs) eval_.args[k].push_back(position(in.get()));
      if (order_[k]->output_index > 0) eval_.extras[eval_.args[k][0]].push_back({order_[k]->output_index, k});
    }
    eval_.outputs.clear();
    for (const SymbolicTensor& o : outputs_) eval_.outputs.push_back(position(o.data().get()));
    plan_relu_fusion();
  }
  std::vector<Tensor>& values = eval_.values;
  std::vector<Tensor>& args = eval_.arg_values;
  std::vector<Tensor>& masks = eval_.masks;
  std::vector<Tensor>& arg_masks = eval_.arg_masks;
  // Leave no activation referenced once the call is over (also when a layer throws).
  struct Release {
    std::vector<Tensor>* lists[4];
    ~Release() {
      for (std::vector<Tensor>* l : lists) l->clear();
    }
  } release{{&values, &args, &masks, &arg_masks}};
  values.assign(inputs.begin(), inputs.end());
  values.resize(order_.size());
  masks.assign(order_.size(), Tensor());
  if (!masks.empty()) masks[0] = input_mask_;
  for (std::size_t k = inputs_.size(); k < order_.size(); ++k) {
    if (order_[k]->output_index > 0) continue;  // filled when its call ran (below)
    if (values[k].defined()) continue;          // a ReLU run with the batch norm before it
    args.clear();
    arg_masks.clear();
    for (std::size_t j : eval_.args[k]) {
      args.push_back(values[j]);
      arg_masks.push_back(masks[j]);
    }
    if (const std::size_t relu = eval_.relu_after[k]; relu != 0 && fusable_now(k, relu, arg_masks[0])) {
      // The ReLU's output directly; nothing else reads the batch norm's.
      values[relu] = static_cast<BatchNormalization&>(*order_[k]->layer).call_then_relu(args[0], training);
      continue;
    }
    values[k] = run_node(*order_[k]->layer, args, arg_masks, training, masks[k]);
    if (!eval_.extras[k].empty()) {
      const std::vector<Tensor> extras = order_[k]->layer->extra_outputs();
      for (auto [index, pos] : eval_.extras[k]) values[pos] = extra_output(*order_[k]->layer, extras, index);
    }
  }
  outputs.clear();
  output_masks_.clear();
  for (std::size_t j : eval_.outputs) {
    outputs.push_back(values[j]);
    output_masks_.push_back(masks[j]);
  }
}

void Model::plan_relu_fusion() {
  // BatchNormalization → Activation("relu") where the batch norm's output goes nowhere else (not to
  // another layer, not out of the model) and neither layer has an activity penalty (it would see the
  // other's output): one op, batch_norm_relu, with the same values and gradients in fewer passes.
  std::vector<int> consumers(order_.size(), 0);
  for (std::size_t k = inputs_.size(); k < order_.size(); ++k) {
    for (std::size_t j : eval_.args[k]) ++consumers[j];
  }
  for (std::size_t j : eval_.outputs) ++consumers[j];
  eval_.relu_after.assign(order_.size(), 0);
  for (std::size_t k = inputs_.size(); k < order_.size(); ++k) {
    const auto* act = dynamic_cast<const ActivationLayer*>(order_[k]->layer.get());
    if (!act || act->activation() != Activation::ReLU || act->has_activity_regularizer() || eval_.args[k].size() != 1) continue;
    const std::size_t bn = eval_.args[k][0];
    if (bn < inputs_.size() || consumers[bn] != 1 || order_[bn]->output_index != 0 || !eval_.extras[bn].empty()) continue;
    const Layer& layer = *order_[bn]->layer;
    if (typeid(layer) != typeid(BatchNormalization) || layer.has_activity_regularizer()) continue;
    eval_.relu_after[bn] = k;
  }
}

bool Model::fusable_now(std::size_t bn, std::size_t relu, const Tensor& mask) const {
  // What may have changed since the plan was made: a mask on this call, an activity penalty set
  // since, and the ReLU layer not yet built (its first call builds it).
  const Layer& b = *order_[bn]->layer;
  const Layer& r = *order_[relu]->layer;
  return !mask.defined() && r.built() && !b.has_activity_regularizer() && !r.has_activity_regularizer();
}

void Model::check_input_shapes(const std::vector<Shape>& shapes) const { Layer::check_input_shapes(shapes); }

Shape Model::compute_output_shape(const std::vector<Shape>& shapes) {
  if (outputs_.empty() || inputs_.empty()) return Layer::compute_output_shape(shapes);
  check_input_shapes(shapes);
  Shape out = outputs_[0].shape();
  if (!out.empty() && !shapes.empty() && !shapes[0].empty()) out[0] = shapes[0][0];
  return out;
}

void Model::set_trainable(bool trainable) {
  Layer::set_trainable(trainable);
  for (const LayerPtr& l : layers_) l->set_trainable(trainable);
}

LayerPtr Model::get_layer(const std::string& layer_name) const {
  for (const LayerPtr& l : layers_) {
    if (l->name() == layer_name) return l;
  }
  throw ValueError("model '" + name() + "' has no layer named '" + layer_name + "'");
}

LayerRef Model::track(LayerRef layer) {
  if (!layer) throw ValueError("model '" + name() + "': track() got an empty layer");
  layers_.push_back(layer.ptr());
  return layer;
}

LayerPtr Model::move_into_shared() && {
  if (typeid(*this) != typeid(Model)) {
    throw ValueError("model '" + name() + "': a subclassed model used as a layer must be created with std::make_shared");
  }
  return std::make_shared<Model>(std::move(*this));
}

// ------------------------------------------------------------------ summary

namespace {

std::string with_commas(int64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

// Prints fields into columns ending at `positions`; text too long for a column wraps onto
// following lines, as Keras does.
void print_row(std::ostream& os, std::vector<std::string> fields, const std::vector<int>& positions) {
  bool more = true;
  while (more) {
    more = false;
    std::string line;
    int start = 0;
    for (std::size_t i = 0; i < fields.size(); ++i) {
      int width = positions[i] - start;
      std::string part = fields[i].substr(0, static_cast<std::size_t>(std::max(width - 1, 1)));
      fields[i] = fields[i].substr(part.size());
      if (!fields[i].empty()) more = true;
      line += part + std::string(static_cast<std::size_t>(std::max(width - static_cast<int>(part.size()), 0)), ' ');
      start = positions[i];
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    os << line << "\n";
  }
}

}  // namespace

void Model::summary() { summary(std::cout); }

void Model::summary(std::ostream& os) {
  // Output shapes of each layer from the symbolic graph (first call of each layer).
  std::unordered_map<const Layer*, std::vector<const Data*>> calls;
  for (const auto& d : order_) {
    if (d->output_index == 0) calls[d->layer.get()].push_back(d.get());  // extra outputs are not calls
  }
  bool sequential_like = true;
  if (is_functional() && class_name() != "Sequential") {
    for (const auto& d : order_) {
      if (d->inputs.size() > 1 || d->output_index > 0 || calls[d->layer.get()].size() > 1) sequential_like = false;
    }
  }
  const int line_length = sequential_like ? 65 : 98;
  std::vector<int> positions = sequential_like ? std::vector<int>{29, 55, 65} : std::vector<int>{32, 53, 65, 98};
  std::vector<std::string> header = {"Layer (type)", "Output Shape", "Param #"};
  if (!sequential_like) header.push_back("Connected to");

  os << "Model: \"" << name() << "\"\n";
  os << std::string(line_length, '_') << "\n";
  print_row(os, header, positions);
  os << std::string(line_length, '=') << "\n";
  std::vector<LayerPtr> rows = layers_;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const LayerPtr& layer = rows[i];
    const auto& cs = calls[layer.get()];
    std::string shape;
    if (cs.empty()) {
      shape = "multiple";
    } else if (layer->class_name() == "InputLayer") {
      shape = "[" + keras_shape(cs[0]->shape) + "]";
    } else {
      shape = cs.size() > 1 ? "multiple" : keras_shape(cs[0]->shape);
      if (cs.size() == 1 && !cs[0]->extra_shapes.empty()) {  // Keras lists every output's shape
        shape = "[" + shape;
        for (const Shape& s : cs[0]->extra_shapes) shape += ", " + keras_shape(s);
        shape += "]";
      }
    }
    std::vector<std::string> fields = {layer->name() + " (" + layer->class_name() + ")", shape,
                                       with_commas(layer->count_params())};
    if (!sequential_like) {
      std::vector<std::string> links;
      for (const Data* d : cs) {
        for (const auto& in : d->inputs) {
          links.push_back(in->layer->name() + "[" + std::to_string(in->node_index) + "][" +
                          std::to_string(in->output_index) + "]");
        }
      }
      fields.push_back(links.empty() ? "[]" : links[0]);
      print_row(os, fields, positions);
      for (std::size_t k = 1; k < links.size(); ++k) print_row(os, {"", "", "", links[k]}, positions);
    } else {
      print_row(os, fields, positions);
    }
    if (i + 1 < rows.size()) os << (sequential_like ? "" : std::string(line_length, '_')) << "\n";
  }
  os << std::string(line_length, '=') << "\n";
  // From the declared shapes: a summary never materialises weights.
  int64_t trainable = 0, frozen = 0;
  for (const NamedWeight& w : named_weights()) {
    int64_t& n = w.trainable ? trainable : frozen;
    n = checked_sum(*this, n, w.weight->numel(), "the parameter count");
  }
  checked_sum(*this, trainable, frozen, "the parameter count");
  os << "Total params: " << with_commas(trainable + frozen) << "\n";
  os << "Trainable params: " << with_commas(trainable) << "\n";
  os << "Non-trainable params: " << with_commas(frozen) << "\n";
  os << std::string(line_length, '_') << "\n";
}

std::string Model::summary_string() {
  std::ostringstream os;
  summary(os);
  return os.str();
}

// ------------------------------------------------------------------ Sequential

Sequential::Sequential(std::initializer_list<LayerRef> layers, std::string name)
    : Model("Sequential", name.empty() ? unique_layer_name("sequential") : std::move(name)) {
  for (const LayerRef& l : layers) add(l);
}

void Sequential::add(LayerRef layer) {
  if (!layer) throw ValueError("Sequential.add: empty layer");
  if (layer->class_name() == "InputLayer") {
    if (!layers_.empty() || !inputs_.empty()) {
      throw ValueError("Sequential '" + name() + "': an Input can only come first");
    }
    auto* input = static_cast<InputLayer*>(layer.ptr().get());
    inputs_ = {input->output()};
    outputs_ = inputs_;
    order_ = {inputs_[0].data()};
    mark_built({inputs_[0].shape()});
    return;
  }
  if (!outputs_.empty()) {
    SymbolicTensor out = layer(outputs_[0]);
    outputs_ = {out};
    order_.push_back(out.data());
  }
  layers_.push_back(layer.ptr());
}

void Sequential::build_from_input_shape(Shape s) {
  // First use without an Input: learn the input shape and build every layer symbolically, so
  // that summary() and shape checks work afterwards.
  if (!s.empty()) s[0] = -1;
  Shape features(s.begin() + (s.empty() ? 0 : 1), s.end());
  SymbolicTensor x = Input(features);
  inputs_ = {x};
  order_ = {x.data()};
  for (const LayerPtr& l : layers_) {
    x = LayerRef(l)(x);
    order_.push_back(x.data());
  }
  outputs_ = {x};
}

Shape Sequential::compute_output_shape(const std::vector<Shape>& shapes) {
  if (inputs_.empty() && shapes.size() == 1 && !layers_.empty()) build_from_input_shape(shapes[0]);
  return Model::compute_output_shape(shapes);
}

Tensor Sequential::call(const std::vector<Tensor>& inputs, bool training) {
  if (inputs.size() != 1) {
    throw ValueError("Sequential '" + name() + "': expected one input, got " + std::to_string(inputs.size()));
  }
  if (inputs_.empty()) build_from_input_shape(inputs[0].shape());
  Tensor x = inputs[0], mask = input_mask_;
  for (const LayerPtr& l : layers_) {
    // Masks pass from layer to layer as in Keras (an Embedding with mask_zero starts one; see
    // Layer::compute_output_mask).
    Tensor in = x;
    x = mask.defined() ? l->call_masked(in, mask, training) : (*l)(in, training);
    mask = l->compute_output_mask(in, x, mask);
  }
  output_masks_.clear();
  output_masks_.push_back(mask);
  return x;
}

std::vector<Tensor> Sequential::call_all(const std::vector<Tensor>& inputs, bool training) {
  return {call(inputs, training)};
}

void Sequential::call_all_into(const std::vector<Tensor>& inputs, bool training, std::vector<Tensor>& outputs) {
  Tensor y = call(inputs, training);
  outputs.clear();
  outputs.push_back(std::move(y));
}

LayerPtr Sequential::move_into_shared() && {
  if (typeid(*this) != typeid(Sequential)) {
    throw ValueError("model '" + name() + "': a subclassed model used as a layer must be created with std::make_shared");
  }
  return std::make_shared<Sequential>(std::move(*this));
}

}  // namespace ember::nn
