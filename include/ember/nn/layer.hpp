#pragma once
// Layer: the Keras building block. A layer owns named weights, is built on its first call from
// the input shape, runs in training or inference mode, and can be called eagerly on Tensors or
// symbolically on SymbolicTensors to build functional models.
//
// Contract for a layer class L (see the LayerClass concept below):
//   build(shapes)     requires: shapes are the input shapes, batch axis first (-1 = unknown).
//                     ensures:  every weight is declared (add_weight; materialised on first use),
//                               built() is true. Shape arithmetic is checked (checked_product).
//   call(xs, training) requires: built(); xs match the shapes seen by build in every axis but the
//                     batch one (check_input_shapes, overridable); ensures: returns the output and
//                     records autograd history through ops only (layers never touch raw memory).
//   get_config()      returns the Keras config fields of the layer (name, trainable, dtype, ...).
//   Shapes: compute_output_shape is derived by default by running call on a batch of one
//   (no grad, inference mode); layers may override it.
#include <concepts>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ember/core/error.hpp"
#include "ember/core/tensor.hpp"
#include "ember/nn/initializers.hpp"
#include "ember/nn/regularizers.hpp"

namespace ember::nn {

using initializers::InitializerPtr;
using regularizers::RegularizerPtr;

// A weight of a layer: `name` is local ("kernel"); models prefix it with the layer name.
//
// Weights are materialised lazily. add_weight records the declaration (shape, dtype, initializer, ...)
// and defers the initializer's draws on the layer's generator; the tensor is created and initialised
// on the first call of value() (a layer's first eager call, loading, set-weights, training and the
// optimizers all go through it). Because the draws are deferred on the Generator (see
// core/generator.hpp), the values are bit-identical to drawing them at build time, whatever else draws
// from that generator in between. Shape-only questions (summary, count_params, the memory budget)
// use `shape` and `dtype` and never allocate.
class Weight {
 public:
  std::string name;
  Shape shape;            // as declared; value() has this shape unless a caller replaced the tensor
  DType dtype = f32;
  bool trainable = true;  // false for statistics such as moving_mean
  RegularizerPtr regularizer;
  InitializerPtr initializer;

  // The tensor, materialised on first access (may throw MemoryError, or the initializer's error).
  // Assigning through the reference replaces it (tests put f64 weights in for gradient checks).
  Tensor& value();
  bool materialized() const { return pending_ == nullptr; }
  int64_t numel() const { return numel_; }  // from the declared shape: never allocates
  // Bytes the materialised tensor takes (saturates at INT64_MAX).
  int64_t nbytes() const;

 private:
  friend class Layer;
  struct Pending;
  Tensor value_;
  std::shared_ptr<Pending> pending_;  // the deferred initialisation; null once materialised
  int64_t numel_ = 0;
};

class Layer;
class SymbolicTensor;
// "layer 'name' (Class): " + message, unless `message` already starts with that prefix (an error
// of the layer re-wrapped by a model builder must name the layer once).
std::string with_layer_prefix(const std::string& name, const std::string& class_name, const std::string& message);
using LayerPtr = std::shared_ptr<Layer>;

// A placeholder for a tensor in a functional model: shape with -1 for the unknown batch axis and
// any other unknown dimension (Keras's None, e.g. a time axis), and the layer call that produces it.
class SymbolicTensor {
 public:
  struct Data {
    Shape shape;
    DType dtype = f32;
    LayerPtr layer;                                 // the layer whose call produced it
    std::vector<std::shared_ptr<Data>> inputs;      // that call's inputs (empty for Input)
    int node_index = 0;                             // which call of `layer` (Keras inbound node)
    // A layer call with several outputs (a recurrent layer with return_state: output, then the
    // final states) gives one Data per output. The first is the call itself; output k > 0 has
    // output_index k and `inputs` = {the first}, so that every graph walk orders it after the call.
    int output_index = 0;
    std::vector<Shape> extra_shapes;                   // (the first) the shapes of outputs 1, 2, ...
    std::vector<std::weak_ptr<Data>> extra_outputs;    // (the first) outputs 1, 2, ... once asked for
  };
  SymbolicTensor() = default;
  explicit SymbolicTensor(std::shared_ptr<Data> d) : d_(std::move(d)) {}
  const Shape& shape() const { return d_->shape; }
  DType dtype() const { return d_->dtype; }
  const LayerPtr& layer() const { return d_->layer; }
  const std::shared_ptr<Data>& data() const { return d_; }
  bool defined() const { return d_ != nullptr; }

 private:
  std::shared_ptr<Data> d_;
};

// Every output of the layer call that produced `y`, `y` first: Keras's
// `output, h, c = LSTM(64, return_state=True)(x)` is
//   auto outs = nn::outputs_of(nn::LSTM({.units = 64, .return_state = true})(x));  // outs[1] = h, outs[2] = c
// For a single-output layer it is {y}. Asking twice gives the same symbolic tensors.
std::vector<SymbolicTensor> outputs_of(const SymbolicTensor& y);

class Layer : public std::enable_shared_from_this<Layer> {
 public:
  // `class_name` is the Keras class ("Dense"); an empty `name` gets a unique automatic one
  // derived from it ("dense", "dense_1", ...).
  Layer(std::string class_name, std::string name);
  virtual ~Layer() = default;
  Layer(Layer&&) = default;
  Layer& operator=(Layer&&) = delete;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  const std::string& name() const { return name_; }
  const std::string& class_name() const { return class_name_; }
  bool trainable() const { return trainable_; }
  virtual void set_trainable(bool trainable) { trainable_ = trainable; }
  bool built() const { return built_; }

  // ---- eager calls: build on first use, check shapes, run call() ----
  Tensor operator()(const Tensor& x, bool training = false);
  Tensor operator()(const std::vector<Tensor>& xs, bool training = false);
  // ---- symbolic calls (functional API) ----
  // On an lvalue the layer must already be owned by a shared_ptr (use LayerRef / nn::shared);
  // on a temporary (`nn::Dense({...})(x)`) the layer is moved into one.
  SymbolicTensor operator()(const SymbolicTensor& x) &;
  SymbolicTensor operator()(const std::vector<SymbolicTensor>& xs) &;
  SymbolicTensor operator()(const SymbolicTensor& x) &&;
  SymbolicTensor operator()(const std::vector<SymbolicTensor>& xs) &&;

  // ---- the subclass contract ----
  virtual void build(const std::vector<Shape>& input_shapes);
  virtual Tensor call(const std::vector<Tensor>& inputs, bool training) = 0;
  virtual Shape compute_output_shape(const std::vector<Shape>& input_shapes);
  // Layers with more than one output (Keras's return_state): the shapes of the outputs after the
  // first for these input shapes, and their values from the last call (with their autograd
  // history, so a model can train through them). Default: none.
  virtual std::vector<Shape> extra_output_shapes(const std::vector<Shape>& input_shapes) { return {}; }
  virtual std::vector<Tensor> extra_outputs() const { return {}; }
  // Throws ShapeError naming the layer and both shapes when `shapes` do not fit the built layer.
  virtual void check_input_shapes(const std::vector<Shape>& shapes) const;
  // Keras config fields; the base writes name, trainable and dtype. Each concrete class also has
  // `static LayerPtr from_config(const nlohmann::json&)` beside its get_config (the registry's
  // factory), and from_config(get_config()) re-creates the layer.
  virtual nlohmann::json get_config() const;

  // ---- masks (Keras's mask propagation: Sequential and functional models pass them from layer to layer) ----
  // A mask is a [batch, time] bool tensor: which steps of a sequence are real (Embedding with
  // mask_zero makes one). call_masked runs the layer on `x` knowing its mask; by default the mask is
  // not needed and this is operator() (the recurrent layers override it to skip masked steps).
  virtual Tensor call_masked(const Tensor& x, const Tensor& mask, bool training) { return (*this)(x, training); }
  // The mask of this layer's output `y` for input `x` with mask `mask` (undefined: none). Default: the
  // input's mask when the output keeps the input's batch and time axes (rank >= 3, e.g. Dense or
  // Dropout on a sequence), else none.
  virtual Tensor compute_output_mask(const Tensor& x, const Tensor& y, const Tensor& mask) const;
  // The same for a call on several inputs (functional models), `masks[i]` input i's (undefined:
  // none). Default: none, as Keras's layers that take several inputs and do not merge them; the
  // merge layers (Add, Concatenate, ...) combine them as Keras does.
  virtual Tensor compute_merged_mask(const std::vector<Tensor>& xs, const Tensor& y, const std::vector<Tensor>& masks) const;
  // A call on several inputs of which at least one carries a mask (`masks[i]` input i's, undefined:
  // none). Default: the masks are not needed and this is operator()(xs, training); MultiHeadAttention
  // overrides it to turn the query / value / key masks into its attention mask, as Keras does.
  virtual Tensor call_masked_inputs(const std::vector<Tensor>& xs, const std::vector<Tensor>& masks, bool training) {
    (void)masks;
    return (*this)(xs, training);
  }

  // ---- errors ----
  // Throws E with the message prefixed "layer 'name' (Class): " — the one way a layer reports an
  // error, so that every message names the layer once.
  template <typename E>
  [[noreturn]] void fail(const std::string& message) const {
    throw E(with_layer_prefix(name_, class_name_, message));
  }
  // Moves this object into a shared_ptr of its dynamic type (LayerBase implements it).
  virtual LayerPtr move_into_shared() && = 0;

  // ---- weights ----
  // A weight with its model-wide name "<layer>/<weight>" and its effective trainability (false
  // when the weight, its layer or any enclosing layer is frozen). A layer inside a nested model is
  // named through it, "<model>/<layer>/<weight>" (Keras 3's weight paths), so that two nested models
  // of one architecture keep apart.
  struct NamedWeight {
    std::string name;
    Weight* weight;
    bool trainable;
  };
  // This layer's weights and those of its sublayers, depth first.
  std::vector<NamedWeight> named_weights();
  std::vector<NamedWeight> trainable_weights();
  std::vector<NamedWeight> non_trainable_weights();
  Weight* find_weight(const std::string& local_name);  // this layer's own, or nullptr
  // Number of parameters from the declared shapes (nothing is materialised); ShapeError naming the
  // layer if the total does not fit in 64 bits.
  int64_t count_params();
  // Materialises every weight of this layer and its sublayers that is not yet, after checking that
  // together they fit the parameter memory budget (param_memory_budget()): MemoryError naming the
  // largest weight, its layer and the sizes, before anything is allocated. The first eager call,
  // compile() and the loaders call it; calling it again is cheap.
  void materialize_weights();
  // Layers nested in this one (a model's layers); empty for plain layers.
  virtual const std::vector<LayerPtr>& sublayers() const;
  // The weights of this layer and its sublayers with their effective trainability, in
  // named_weights() order (a shared layer's once), appended to `out` — without building names, so
  // it allocates nothing once `out` has the capacity (the training loop calls it every step).
  struct WeightEntry {
    Weight* weight;
    bool trainable;
  };
  void collect_weights(std::vector<WeightEntry>& out);
  // Sum of the weight and activity regularization penalties of this layer and its sublayers
  // (activity terms from the last call); an undefined tensor when there are none.
  Tensor regularization_loss();
  void set_activity_regularizer(RegularizerPtr r) { activity_regularizer_ = std::move(r); }
  bool has_activity_regularizer() const { return activity_regularizer_ != nullptr; }

  const std::vector<Shape>& built_input_shapes() const { return built_shapes_; }
  int inbound_node_count() const { return inbound_nodes_; }

  // Generator used for this layer's weight initialisation (the default generator unless set).
  void set_generator(Generator* gen) { gen_ = gen; }
  // The random generator this layer owns and draws from in calls (Dropout with a seed), or nullptr.
  // Checkpoints save and restore its state by the layer's name (train/saver.hpp); a generator given
  // to set_generator belongs to the caller, who saves it.
  virtual Generator* own_generator() { return nullptr; }

 protected:
  // Declares (or returns the existing) weight `name` initialised by `init`; the tensor is created on
  // first use (see Weight). ShapeError naming the layer if the shape's element count overflows.
  // The reference is valid until the next add_weight on this layer.
  Weight& add_weight(const std::string& name, const Shape& shape, const InitializerPtr& init, bool trainable = true,
                    const RegularizerPtr& regularizer = nullptr, DType dtype = f32);
  Generator& generator() { return gen_ ? *gen_ : default_generator(); }
  // Marks the layer built with these input shapes (the base build() does this).
  void mark_built(const std::vector<Shape>& input_shapes);
  // For call_masked overrides: operator()(x, training) (build, shape checks, activity penalty) with
  // `mask` held in `slot` for call() to read; the slot is cleared afterwards, also on an exception.
  Tensor call_with_mask(Tensor& slot, const Tensor& x, const Tensor& mask, bool training);
  // {shape} as a list for compute_output_shape & co., in a member reused by every call (valid until
  // the next call of this function): lets call() re-check its window without allocating.
  const std::vector<Shape>& shape_list(const Shape& shape);

  std::vector<Weight> weights_;

 private:
  SymbolicTensor call_symbolic(const LayerPtr& self, const std::vector<SymbolicTensor>& xs);

  std::string class_name_;
  std::string name_;
  bool trainable_ = true;
  bool built_ = false;
  std::vector<Shape> built_shapes_;
  int inbound_nodes_ = 0;
  RegularizerPtr activity_regularizer_;
  Tensor activity_loss_;
  Generator* gen_ = nullptr;
  bool materialized_ = false;  // materialize_weights() ran since the last add_weight
  // Argument and shape lists of eager calls, reused (cleared after each call, capacity kept) so that
  // a call allocates nothing; a re-entrant call of the same layer uses fresh ones.
  std::vector<Tensor> call_args_;
  std::vector<Shape> call_shapes_, shape_list_;
  bool in_call_ = false;
};

// CRTP helper that supplies move_into_shared for a concrete layer class.
template <typename Derived>
class LayerBase : public Layer {
 public:
  using Layer::Layer;
  LayerPtr move_into_shared() && override {
    return std::make_shared<Derived>(std::move(static_cast<Derived&>(*this)));
  }
};

// The layer contract as a concept: a movable Layer subclass with a call().
template <typename L>
concept LayerClass = std::derived_from<L, Layer> && std::move_constructible<L> &&
                     requires(L& l, const std::vector<Tensor>& xs, bool training) {
                       { l.call(xs, training) } -> std::same_as<Tensor>;
                     };

// A shared handle to a layer, accepted wherever a model takes layers: converts from a layer
// temporary (moved into the handle), from a shared_ptr, and from the SymbolicTensor of an Input.
class LayerRef {
 public:
  LayerRef() = default;
  template <LayerClass L>
    requires(!std::is_lvalue_reference_v<L>)
  LayerRef(L&& layer) : ptr_(std::make_shared<L>(std::move(layer))) {}  // NOLINT: implicit by design
  template <LayerClass L>
  LayerRef(std::shared_ptr<L> p) : ptr_(std::move(p)) {}  // NOLINT
  LayerRef(LayerPtr p) : ptr_(std::move(p)) {}           // NOLINT
  LayerRef(const SymbolicTensor& input);                  // NOLINT: an nn::Input in a Sequential

  Layer* operator->() const { return ptr_.get(); }
  Layer& operator*() const { return *ptr_; }
  const LayerPtr& ptr() const { return ptr_; }
  explicit operator bool() const { return ptr_ != nullptr; }

  Tensor operator()(const Tensor& x, bool training = false) const { return (*ptr_)(x, training); }
  SymbolicTensor operator()(const SymbolicTensor& x) const { return (*ptr_)(x); }
  SymbolicTensor operator()(const std::vector<SymbolicTensor>& xs) const { return (*ptr_)(xs); }

 private:
  LayerPtr ptr_;
};

// ---- the parameter memory budget ----
// Models whose weights would need more bytes than the budget are refused before anything is
// allocated (Layer::materialize_weights). The budget is the one set here, else the memory the
// system reports available (MemAvailable in /proc/meminfo), else unlimited.
struct ParamMemoryBudget {
  int64_t bytes = INT64_MAX;
  std::string source;  // how it was chosen, for messages: "memory available", "--max-param-memory", ...
};
ParamMemoryBudget param_memory_budget();
// Sets the budget process-wide (nullopt: back to the default); `source` names it in messages.
void set_param_memory_budget(std::optional<int64_t> bytes, std::string source = "set_param_memory_budget");
// "16.00 GiB", "512.0 MiB", "12 bytes": the unit in messages about sizes.
std::string format_bytes(int64_t bytes);

// ---- checked shape arithmetic for shape inference ----
// The product of `dims` (all >= 0), or ShapeError "layer 'r' (Reshape): <what>: the product of [...]
// does not fit in 64 bits" (the same check as core's numel).
int64_t checked_product(const Layer& layer, const Shape& dims, const std::string& what);
// a + b, or ShapeError naming `layer` and `what` on overflow.
int64_t checked_sum(const Layer& layer, int64_t a, int64_t b, const std::string& what);

// The next automatic name for `base` ("dense", then "dense_1", ...).
std::string unique_layer_name(const std::string& base);
// Keras's clear_session() for names: the next "dense" is "dense" again.
void reset_layer_names();
// Formats a shape Keras-style: "(None, 28, 28, 1)".
std::string keras_shape(const Shape& shape);

}  // namespace ember::nn
